"""Bad input on every endpoint, through nginx and Apache: always a 4xx in
the JSON error envelope, never a 5xx, never a partial write.

Bodies are raw text templates; placeholders:
  {U} a fresh user UUID (afterwards: no users row may exist for it)
  {D} a private date with free seat 1 (afterwards: still free, no new
      reservation)
  {T} an ACTIVE token of the context user
  {R} a live hold of the context user (afterwards: still HELD, balance
      unchanged)
"""

import pytest

from helpers import *  # noqa: F401,F403
from helpers import uhex

FUTURE = "2099-12-31"
GOOD_UUID = "123e4567-e89b-42d3-a456-426614174000"
BIG = "9" * 30
UNICODE = "\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9 \U0001f600 \u202e"
JSON = "application/json"

# (id, method, path, body template or None, headers, status, code, field)
CASES = [
    # ---- routing
    ("unknown-path", "GET", "/api/v1/nope", None, {}, 404, "NOT_FOUND",
     None),
    ("unknown-root", "GET", "/api/v2/token", None, {}, 404, "NOT_FOUND",
     None),
    ("trailing-slash", "GET", "/api/v1/reservations/dates/", None, {}, 404,
     "NOT_FOUND", None),
    ("case-sensitive", "GET", "/api/v1/TOKEN", None, {}, 404, "NOT_FOUND",
     None),
    ("put-token", "PUT", "/api/v1/token", '{"userId": "{U}"}', {}, 405,
     "METHOD_NOT_ALLOWED", None),
    ("delete-balance", "DELETE", "/api/v1/balance", None, {}, 405,
     "METHOD_NOT_ALLOWED", None),
    ("post-dates", "POST", "/api/v1/reservations/dates", "{}", {}, 405,
     "METHOD_NOT_ALLOWED", None),
    ("delete-payments", "DELETE", "/api/v1/payments", None, {}, 405,
     "METHOD_NOT_ALLOWED", None),
    ("patch-reservations", "PATCH", "/api/v1/reservations", "{}", {}, 405,
     "METHOD_NOT_ALLOWED", None),
    ("post-ping", "POST", "/api/v1/ping", "{}", {}, 405,
     "METHOD_NOT_ALLOWED", None),
    # ---- body framing
    ("text-plain", "POST", "/api/v1/token", '{"userId": "{U}"}',
     {"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    ("no-content-type", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5}', {"Content-Type": None}, 415,
     "UNSUPPORTED_MEDIA_TYPE", None),
    ("form-encoded", "POST", "/api/v1/payments",
     "reservationId={R}&amount=1000&token={T}",
     {"Content-Type": "application/x-www-form-urlencoded"}, 415,
     "UNSUPPORTED_MEDIA_TYPE", None),
    ("json-lookalike-type", "POST", "/api/v1/token", '{"userId": "{U}"}',
     {"Content-Type": "application/jsonx"}, 415, "UNSUPPORTED_MEDIA_TYPE",
     None),
    ("empty-body", "POST", "/api/v1/token", "", {}, 400, "INVALID_JSON",
     None),
    ("truncated-json", "POST", "/api/v1/token", '{"userId": "{U}"', {}, 400,
     "INVALID_JSON", None),
    ("trailing-garbage", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5} x', {}, 400, "INVALID_JSON", None),
    ("two-objects", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5}{}', {}, 400, "INVALID_JSON", None),
    ("array-body", "POST", "/api/v1/token", '["{U}"]', {}, 400,
     "INVALID_JSON", None),
    ("string-body", "POST", "/api/v1/token", '"{U}"', {}, 400,
     "INVALID_JSON", None),
    ("null-body", "POST", "/api/v1/balance", "null", {}, 400,
     "INVALID_JSON", None),
    ("single-quotes", "POST", "/api/v1/token", "{'userId': '{U}'}", {}, 400,
     "INVALID_JSON", None),
    ("trailing-comma", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5,}', {}, 400, "INVALID_JSON", None),
    ("nul-byte", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5}\x00', {}, 400, "INVALID_JSON", None),
    ("deep-nesting", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5, "x": ' + "[" * 200 + "]" * 200 + "}",
     {}, 400, "INVALID_JSON", None),
    ("bad-utf8", "POST", "/api/v1/token", b'{"userId": "\xff\xfe"}', {},
     400, "INVALID_JSON", None),
    ("nan-amount", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": NaN}', {}, 400, "INVALID_JSON", None),
    ("nan-ignored-field", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5, "x": NaN}', {}, 400, "INVALID_JSON",
     None),
    ("infinity-ignored-field", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5, "x": -Infinity}', {}, 400,
     "INVALID_JSON", None),
    # ---- token
    ("token-missing-user", "POST", "/api/v1/token", "{}", {}, 400,
     "MISSING_FIELD", "userId"),
    ("token-null-user", "POST", "/api/v1/token", '{"userId": null}', {}, 400,
     "MISSING_FIELD", "userId"),
    ("token-user-number", "POST", "/api/v1/token", '{"userId": 12345}', {},
     400, "VALIDATION_ERROR", "userId"),
    ("token-user-bool", "POST", "/api/v1/token", '{"userId": true}', {}, 400,
     "VALIDATION_ERROR", "userId"),
    ("token-user-object", "POST", "/api/v1/token",
     '{"userId": {"id": "{U}"}}', {}, 400, "VALIDATION_ERROR", "userId"),
    ("token-user-not-uuid", "POST", "/api/v1/token",
     '{"userId": "not-a-uuid"}', {}, 400, "VALIDATION_ERROR", "userId"),
    ("token-user-no-dashes", "POST", "/api/v1/token",
     '{"userId": "123e4567e89b42d3a456426614174000"}', {}, 400,
     "VALIDATION_ERROR", "userId"),
    ("token-user-braces", "POST", "/api/v1/token",
     '{"userId": "{%s}"}' % GOOD_UUID, {}, 400, "VALIDATION_ERROR",
     "userId"),
    ("token-user-long", "POST", "/api/v1/token",
     '{"userId": "%s"}' % ("a" * 5000), {}, 400, "VALIDATION_ERROR",
     "userId"),
    ("token-user-unicode", "POST", "/api/v1/token",
     '{"userId": "%s"}' % UNICODE, {}, 400, "VALIDATION_ERROR", "userId"),
    ("token-user-nonhex", "POST", "/api/v1/token",
     '{"userId": "123e4567-e89b-42d3-a456-42661417400g"}', {}, 400,
     "VALIDATION_ERROR", "userId"),
    ("token-get-none", "GET", "/api/v1/token", None, {}, 401,
     "TOKEN_REQUIRED", None),
    ("token-get-short", "GET", "/api/v1/token?token=abc", None, {}, 401,
     "TOKEN_INVALID", None),
    ("token-get-pct-junk", "GET", "/api/v1/token?token=%zz", None, {}, 401,
     "TOKEN_INVALID", None),
    ("token-get-pct-nul", "GET", "/api/v1/token?token=%00" + "0" * 31, None,
     {}, 401, "TOKEN_INVALID", None),
    ("token-get-long", "GET", "/api/v1/token?token=" + "a" * 300, None, {},
     401, "TOKEN_INVALID", None),
    # A token we did not sign is refused before any database work.
    ("token-get-unknown", "GET", "/api/v1/token?token=" + "0" * 32, None,
     {}, 401, "TOKEN_INVALID", None),
    ("token-bearer-junk", "GET", "/api/v1/token", None,
     {"Authorization": "Bearer !!!"}, 401, "TOKEN_INVALID", None),
    ("token-bearer-long", "GET", "/api/v1/token", None,
     {"Authorization": "Bearer " + "f" * 100}, 401, "TOKEN_INVALID", None),
    ("token-delete-none", "DELETE", "/api/v1/token", None, {}, 401,
     "TOKEN_REQUIRED", None),
    # ---- ?token= is taken by GET /token only (query strings are logged)
    ("token-in-query-delete", "DELETE", "/api/v1/token?token={T}", None, {},
     400, "TOKEN_IN_QUERY", None),
    ("token-in-query-hold", "POST", "/api/v1/reservations?token={T}",
     '{"date": "{D}", "seatNumber": 1}', {}, 400, "TOKEN_IN_QUERY", None),
    ("token-in-query-and-body-hold", "POST", "/api/v1/reservations?token={T}",
     '{"date": "{D}", "seatNumber": 1, "token": "{T}"}', {}, 400,
     "TOKEN_IN_QUERY", None),
    ("token-in-query-pay", "POST", "/api/v1/payments?token={T}",
     '{"reservationId": "{R}", "amount": 1000, "token": "{T}"}', {}, 400,
     "TOKEN_IN_QUERY", None),
    # a valid header does not cover a malformed query value
    ("token-get-bearer-and-bad-query", "GET", "/api/v1/token?token=abc", None,
     {"Authorization": "Bearer " + "0" * 32}, 401, "TOKEN_INVALID", None),
    ("token-delete-unknown", "DELETE", "/api/v1/token", None,
     {"Authorization": "Bearer " + "1" * 32}, 401, "TOKEN_INVALID", None),
    # ---- seats
    ("seats-no-date", "GET", "/api/v1/reservations/seats", None, {}, 400,
     "MISSING_FIELD", "date"),
    ("seats-feb-30", "GET", "/api/v1/reservations/seats?date=2024-02-30",
     None, {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-feb-29-nonleap", "GET",
     "/api/v1/reservations/seats?date=2099-02-29", None, {}, 400,
     "VALIDATION_ERROR", "date"),
    ("seats-month-13", "GET", "/api/v1/reservations/seats?date=2099-13-01",
     None, {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-day-00", "GET", "/api/v1/reservations/seats?date=2099-01-00",
     None, {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-slashes", "GET", "/api/v1/reservations/seats?date=2099/01/01",
     None, {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-datetime", "GET",
     "/api/v1/reservations/seats?date=2099-01-01T00:00:00", None, {}, 400,
     "VALIDATION_ERROR", "date"),
    ("seats-empty", "GET", "/api/v1/reservations/seats?date=", None, {},
     400, "VALIDATION_ERROR", "date"),
    ("seats-pct-junk", "GET", "/api/v1/reservations/seats?date=%zz", None,
     {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-pct-trunc", "GET", "/api/v1/reservations/seats?date=2099-01-0%",
     None, {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-sql-ish", "GET",
     "/api/v1/reservations/seats?date=2099-01-01'%20OR%20'1'='1", None, {},
     400, "VALIDATION_ERROR", "date"),
    ("seats-long", "GET", "/api/v1/reservations/seats?date=" + "1" * 500,
     None, {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-body-number", "GET", "/api/v1/reservations/seats",
     '{"date": 20990101}', {}, 400, "VALIDATION_ERROR", "date"),
    ("seats-unknown", "GET", "/api/v1/reservations/seats?date=2069-01-01",
     None, {}, 404, "DATE_NOT_FOUND", None),
    # ---- hold
    ("hold-missing-date", "POST", "/api/v1/reservations",
     '{"seatNumber": 1, "token": "{T}"}', {}, 400, "MISSING_FIELD", "date"),
    ("hold-missing-seat", "POST", "/api/v1/reservations",
     '{"date": "{D}", "token": "{T}"}', {}, 400, "MISSING_FIELD",
     "seatNumber"),
    ("hold-missing-token", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1}', {}, 401, "TOKEN_REQUIRED", None),
    ("hold-seat-string", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": "1", "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-float", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1.5, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-float-int", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1.0, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-exp", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1e0, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-zero", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 0, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-negative", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": -1, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-huge", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": %s, "token": "{T}"}' % BIG, {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-int64-wrap", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 18446744073709551617, "token": "{T}"}',
     {}, 400, "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-bool", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": true, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-seat-array", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": [1], "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "seatNumber"),
    ("hold-date-impossible", "POST", "/api/v1/reservations",
     '{"date": "2024-02-30", "seatNumber": 1, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "date"),
    ("hold-date-unicode", "POST", "/api/v1/reservations",
     '{"date": "%s", "seatNumber": 1, "token": "{T}"}' % UNICODE, {}, 400,
     "VALIDATION_ERROR", "date"),
    ("hold-date-number", "POST", "/api/v1/reservations",
     '{"date": 20991231, "seatNumber": 1, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "date"),
    ("hold-token-number", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1, "token": 42}', {}, 401,
     "TOKEN_INVALID", None),
    ("hold-token-short", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1, "token": "abcd"}', {}, 401,
     "TOKEN_INVALID", None),
    ("hold-token-unicode", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1, "token": "%s"}' % UNICODE, {}, 401,
     "TOKEN_INVALID", None),
    ("hold-token-unknown", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1, "token": "%s"}' % ("e" * 32), {},
     401, "TOKEN_INVALID", None),
    ("hold-unknown-seat", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 999, "token": "{T}"}', {}, 404,
     "SEAT_NOT_FOUND", None),
    ("hold-bad-idem-key-long", "POST", "/api/v1/reservations",
     '{"date": "{D}", "seatNumber": 1, "token": "{T}"}',
     {"Idempotency-Key": "k" * 201}, 400, "INVALID_IDEMPOTENCY_KEY", None),
    # ---- balance
    ("charge-missing-amount", "POST", "/api/v1/balance", '{"userId": "{U}"}',
     {}, 400, "MISSING_FIELD", "amount"),
    ("charge-missing-user", "POST", "/api/v1/balance", '{"amount": 5}', {},
     400, "MISSING_FIELD", "userId"),
    ("charge-amount-string", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": "100"}', {}, 400, "VALIDATION_ERROR",
     "amount"),
    ("charge-amount-float", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 100.5}', {}, 400, "VALIDATION_ERROR",
     "amount"),
    ("charge-amount-zero", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 0}', {}, 422, "INVALID_AMOUNT", "amount"),
    ("charge-amount-negative", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": -100}', {}, 422, "INVALID_AMOUNT",
     "amount"),
    ("charge-amount-over", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 10000001}', {}, 422, "INVALID_AMOUNT",
     "amount"),
    ("charge-amount-int64max", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 9223372036854775807}', {}, 422,
     "INVALID_AMOUNT", "amount"),
    ("charge-amount-int64min", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": -9223372036854775808}', {}, 422,
     "INVALID_AMOUNT", "amount"),
    ("charge-amount-huge", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": %s}' % BIG, {}, 422, "INVALID_AMOUNT",
     "amount"),
    ("charge-amount-wrap", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 18446744073709551716}', {}, 422,
     "INVALID_AMOUNT", "amount"),
    ("charge-user-bad", "POST", "/api/v1/balance",
     '{"userId": "xyz", "amount": 5}', {}, 400, "VALIDATION_ERROR",
     "userId"),
    ("charge-bad-idem-key-space", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5}', {"Idempotency-Key": "a b"}, 400,
     "INVALID_IDEMPOTENCY_KEY", None),
    ("charge-bad-idem-key-long", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5}', {"Idempotency-Key": "x" * 201}, 400,
     "INVALID_IDEMPOTENCY_KEY", None),
    ("charge-bad-idem-key-8bit", "POST", "/api/v1/balance",
     '{"userId": "{U}", "amount": 5}', {"Idempotency-Key": "cl\u00e9"}, 400,
     "INVALID_IDEMPOTENCY_KEY", None),
    ("balance-no-user", "GET", "/api/v1/balance", None, {}, 400,
     "MISSING_FIELD", "userId"),
    ("balance-bad-user", "GET", "/api/v1/balance?userId=123", None, {}, 400,
     "VALIDATION_ERROR", "userId"),
    ("balance-pct-junk", "GET", "/api/v1/balance?userId=%zz", None, {}, 400,
     "VALIDATION_ERROR", "userId"),
    ("balance-unknown", "GET", "/api/v1/balance?userId={U}", None, {}, 404,
     "USER_NOT_FOUND", None),
    # ---- payments
    ("pay-missing-rid", "POST", "/api/v1/payments",
     '{"amount": 1000, "token": "{T}"}', {}, 400, "MISSING_FIELD",
     "reservationId"),
    ("pay-missing-amount", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "token": "{T}"}', {}, 400, "MISSING_FIELD",
     "amount"),
    ("pay-missing-token", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": 1000}', {}, 401, "TOKEN_REQUIRED",
     None),
    ("pay-rid-not-uuid", "POST", "/api/v1/payments",
     '{"reservationId": "r-1", "amount": 1000, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "reservationId"),
    ("pay-rid-number", "POST", "/api/v1/payments",
     '{"reservationId": 7, "amount": 1000, "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "reservationId"),
    ("pay-amount-zero", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": 0, "token": "{T}"}', {}, 422,
     "INVALID_AMOUNT", "amount"),
    ("pay-amount-negative", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": -1000, "token": "{T}"}', {}, 422,
     "INVALID_AMOUNT", "amount"),
    ("pay-amount-huge", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": %s, "token": "{T}"}' % BIG, {},
     422, "INVALID_AMOUNT", "amount"),
    ("pay-amount-string", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": "1000", "token": "{T}"}', {}, 400,
     "VALIDATION_ERROR", "amount"),
    ("pay-amount-mismatch", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": 999, "token": "{T}"}', {}, 422,
     "AMOUNT_MISMATCH", None),
    ("pay-unknown-rid", "POST", "/api/v1/payments",
     '{"reservationId": "%s", "amount": 1000, "token": "{T}"}' % GOOD_UUID,
     {}, 404, "RESERVATION_NOT_FOUND", None),
    ("pay-token-junk", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": 1000, "token": "zz"}', {}, 401,
     "TOKEN_INVALID", None),
    ("pay-bad-idem-key", "POST", "/api/v1/payments",
     '{"reservationId": "{R}", "amount": 1000, "token": "{T}"}',
     {"Idempotency-Key": "z" * 500}, 400, "INVALID_IDEMPOTENCY_KEY", None),
]


@pytest.fixture(scope="module")
def ctx():
    d = fresh_date(seats=2, price=lambda n: 1000)
    user = funded_user(100000)
    tok = active_token(user)
    r = hold(tok, d, 2)
    assert r.status == 201, r
    return {"D": d, "T": tok, "R": r.json["reservationId"], "user": user}


def render(tpl, values):
    if tpl is None:
        return None
    is_bytes = isinstance(tpl, bytes)
    s = tpl.decode("latin-1") if is_bytes else tpl
    for k, v in values.items():
        s = s.replace("{%s}" % k, v)
    return s.encode("latin-1") if is_bytes else s.encode("utf-8")


def send(base, method, path, body, headers):
    hdrs = {}
    ctype = JSON
    for k, v in headers.items():
        if k.lower() == "content-type":
            ctype = v
        else:
            hdrs[k] = v
    if isinstance(method, bytes):
        method = method.decode()
    if body is not None and ctype is not None:
        hdrs["Content-Type"] = ctype
    # http.client encodes header values as latin-1: fine for the 8-bit key
    return api(method, path, body, headers=hdrs, base=base,
               content_type=None)


def assert_no_writes(ctx, user):
    assert balance_of(ctx["user"]) == 100000
    assert scalar("SELECT state FROM reservations WHERE id = %s"
                  % uhex(ctx["R"])) == "0"
    assert sql("SELECT state, reservation_id IS NULL FROM seats WHERE"
               " concert_date = '%s' AND seat_number = 1" % ctx["D"]) == \
        [("0", "1")]
    assert scalar("SELECT COUNT(*) FROM reservations WHERE concert_date ="
                  " '%s'" % ctx["D"]) == "1"
    assert scalar("SELECT COUNT(*) FROM users WHERE id = %s"
                  % uhex(user)) == "0"
    assert scalar("SELECT COUNT(*) FROM payments WHERE reservation_id = %s"
                  % uhex(ctx["R"])) == "0"


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(web, case, ctx):
    name, method, path, body, headers, status, code, field = case
    user = new_user()
    values = {"U": user, "D": ctx["D"], "T": ctx["T"], "R": ctx["R"]}
    path = render(path, values).decode()
    r = send(web, method, path, render(body, values), headers)
    assert r.status < 500, r
    err = assert_error(r, status, code)
    if field is not None:
        assert err.get("field") == field, r
    assert r.headers.get("content-type") == "application/json; charset=utf-8"
    assert r.headers.get("cache-control") == "no-store"
    if status == 405:
        allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
        assert allow == EXPECTED_ALLOW[path], r.headers
    assert_no_writes(ctx, user)


EXPECTED_ALLOW = {
    "/api/v1/token": {"GET", "POST", "DELETE"},
    "/api/v1/balance": {"GET", "POST"},
    "/api/v1/reservations": {"POST", "GET"},
    "/api/v1/reservations/dates": {"GET"},
    "/api/v1/reservations/123e4567-e89b-12d3-a456-426614174000": {"GET", "DELETE"},
    "/api/v1/reservations/123e4567-e89b-12d3-a456-426614174000/cancel": {"POST"},
    "/api/v1/payments": {"POST", "GET"},
    "/api/v1/ping": {"GET"},
}


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
@pytest.mark.parametrize("path", sorted(EXPECTED_ALLOW))
def test_405_allow_header_lists_the_route_methods(web, path):
    r = api("PUT", path, "{}", base=web)
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    # the route table's methods; HEAD is served by GET and never listed
    allow = {m.strip() for m in r.headers["allow"].split(",")}
    assert allow == EXPECTED_ALLOW[path], r.headers["allow"]


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
@pytest.mark.parametrize("size", [16 * 1024 + 1, 17 * 1024, 64 * 1024])
def test_oversized_body_is_413_and_writes_nothing(web, size, ctx):
    user = new_user()
    pad = "x" * size
    body = '{"userId": "%s", "amount": 5, "pad": "%s"}' % (user, pad)
    r = api("POST", "/balance", body, base=web)
    assert r.status == 413, r
    assert_error(r, 413)
    assert balance_of(user) is None


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_body_just_under_the_limit_is_accepted(web):
    user = new_user()
    head = '{"userId": "%s", "amount": 5, "pad": "' % user
    body = head + "x" * (16 * 1024 - len(head) - 2) + '"}'
    assert len(body) == 16 * 1024
    r = api("POST", "/balance", body, base=web)
    assert r.status == 200 and r.json == {"newBalance": 5}, r


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_content_type_with_charset_is_json(web):
    user = new_user()
    r = api("POST", "/balance", {"userId": user, "amount": 7}, base=web,
            headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 200 and r.json == {"newBalance": 7}, r


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_percent_encoded_query_is_decoded(web, ctx):
    r = api("GET", "/reservations/seats?date=" + ctx["D"].replace(
        "-", "%2D"), base=web)
    assert r.status == 200 and len(r.json) == 2, r


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_unknown_fields_are_ignored(web):
    user = new_user()
    r = api("POST", "/balance", {"userId": user, "amount": 3, "x": [1, {}],
                                 "note": UNICODE}, base=web)
    assert r.status == 200 and r.json == {"newBalance": 3}, r


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_every_success_has_json_and_no_store_headers(web):
    for path in ("/ping", "/reservations/dates"):
        r = api("GET", path, base=web)
        assert r.status == 200, r
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_head_is_served_by_get_without_body(web):
    r = api("HEAD", "/reservations/dates", base=web)
    assert r.status == 200 and r.text == "", r
