"""Dates, seat maps and seat holds (SPEC #2, #2b, #3) against the real stack.

Each test works on a private far-future date (fresh_date) so that it sees
no other test's holds and cannot run out of seats.
"""

import datetime
import re
import time

import pytest

from helpers import *  # noqa: F401,F403
from helpers import _my_dates, uhex
from invariants import check_invariants

# util_mysql_to_iso: milliseconds, always three digits
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# The API's availability rule (src/api_reservation.c): free, or held past the deadline.
SEAT_AVAILABLE = ("(s.state = 0 OR (s.state = 1 AND"
                  " s.hold_expires_at <= UTC_TIMESTAMP(3)))")


def dates():
    r = api("GET", "/reservations/dates")
    assert r.status == 200, r
    return r.json


def seat_map(date):
    r = api("GET", "/reservations/seats?date=" + date)
    assert r.status == 200, r
    return {s["seatNumber"]: s for s in r.json}


def parse_iso(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def token_seconds_left(tok):
    """CEIL of the seconds before the token's expires_at (remainingTime while ACTIVE)."""
    return int(scalar("SELECT IFNULL(CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3),"
                      " expires_at) / 1000000), 0) FROM queue_tokens"
                      " WHERE token = UNHEX('%s')" % tok))


# ---------------------------------------------------------------- dates

def test_dates_are_ascending_unique_future_iso_dates():
    ds = dates()
    assert isinstance(ds, list) and ds, ds
    for d in ds:
        assert re.match(r"^\d{4}-\d\d-\d\d$", d), d
    assert ds == sorted(set(ds))
    # exactly the dates from today on with an available seat
    want = [d for (d,) in sql(
        "SELECT d.concert_date FROM concert_dates d WHERE d.concert_id = 1"
        " AND d.concert_date >= UTC_DATE() AND EXISTS (SELECT 1 FROM seats s"
        " WHERE s.concert_id = 1 AND s.concert_date = d.concert_date AND "
        + SEAT_AVAILABLE + ") ORDER BY 1")]
    assert ds == want, sorted(set(ds) ^ set(want))


def test_date_with_seats_is_listed_in_order():
    d = fresh_date(seats=3)
    ds = dates()
    assert d in ds
    assert ds == sorted(ds)


def test_sold_out_date_is_not_listed_and_lazily_expired_hold_relists_it():
    d = fresh_date(seats=3)
    try:
        sql("UPDATE seats SET state = 2, reservation_id = UNHEX(REPEAT('00',"
            " 16)) WHERE concert_date = '%s'" % d)
        assert d not in dates()
        # one seat under a live hold: still not available
        sql("UPDATE seats SET state = 1, hold_expires_at = UTC_TIMESTAMP(3)"
            " + INTERVAL 1 HOUR WHERE concert_date = '%s' AND seat_number = 1"
            % d)
        assert d not in dates()
        # that hold's deadline passes: available again, no consumer needed
        sql("UPDATE seats SET hold_expires_at = UTC_TIMESTAMP(3) - INTERVAL"
            " 1 SECOND WHERE concert_date = '%s' AND seat_number = 1" % d)
        assert d in dates()
        assert seat_map(d)[1]["available"] is True
    finally:
        sql("UPDATE seats SET state = 0, reservation_id = NULL,"
            " hold_expires_at = NULL WHERE concert_date = '%s'" % d)


def test_date_without_seats_is_not_listed_and_seats_is_empty():
    d = fresh_date(seats=0)
    assert d not in dates()
    r = api("GET", "/reservations/seats?date=" + d)
    assert r.status == 200 and r.json == [], r


def test_past_date_is_not_listed():
    d = "2001-01-0%d" % __import__("random").randint(1, 9)
    sql("INSERT IGNORE INTO concert_dates (concert_date) VALUES ('%s');"
        "INSERT IGNORE INTO seats (concert_date, seat_number, price)"
        " VALUES ('%s', 1, 1000)" % (d, d))
    _my_dates.append(d)
    assert d not in dates()


# ---------------------------------------------------------------- seats

def test_seat_map_shape_order_and_prices():
    d = fresh_date(seats=12, price=lambda n: 5000 + 100 * n)
    r = api("GET", "/reservations/seats?date=" + d)
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert [s["seatNumber"] for s in r.json] == list(range(1, 13))
    for s in r.json:
        assert set(s) == {"seatNumber", "available", "price"}, s
        assert s["available"] is True
        assert s["price"] == 5000 + 100 * s["seatNumber"]


def test_seat_map_accepts_json_body_on_get():
    d = fresh_date(seats=2)
    r = api("GET", "/reservations/seats", {"date": d})
    assert r.status == 200 and len(r.json) == 2, r


def test_demo_dates_have_seat_maps():
    for d in dates()[:3]:
        r = api("GET", "/reservations/seats?date=" + d)
        assert r.status == 200, r
        want = [{"seatNumber": int(n), "price": int(p), "available": a == "1"}
                for n, p, a in sql("SELECT s.seat_number, s.price, " + SEAT_AVAILABLE +
                                   " FROM seats s WHERE s.concert_id = 1"
                                   " AND s.concert_date = '%s'"
                                   " ORDER BY s.seat_number" % d)]
        assert want and r.json == want, (d, r)
        assert all(s["price"] > 0 for s in want)


@pytest.mark.parametrize("date", ["2098-13-01", "2024-02-30", "tomorrow",
                                  "2099-1-1", ""])
def test_seat_map_bad_date_is_400(date):
    r = api("GET", "/reservations/seats?date=" + date)
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert err.get("field") == "date"


def test_seat_map_unknown_date_is_404():
    r = api("GET", "/reservations/seats?date=2069-06-15")
    assert_error(r, 404, "DATE_NOT_FOUND")


def test_seat_map_without_date_is_400_missing_field():
    err = assert_error(api("GET", "/reservations/seats"), 400,
                       "MISSING_FIELD")
    assert err["field"] == "date"


# ---------------------------------------------------------------- holds

def test_hold_answers_201_and_makes_the_seat_unavailable():
    d = fresh_date(seats=5, price=lambda n: 7000)
    user = new_user()
    tok = active_token(user)
    t0 = utc_now()
    r = hold(tok, d, 3)
    t1 = utc_now()
    assert r.status == 201, r
    b = r.json
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                    r"[0-9a-f]{12}$", b["reservationId"]), b
    assert ISO_UTC.match(b["expiresAt"]), b
    assert b["date"] == d and b["seatNumber"] == 3 and b["price"] == 7000
    # the hold time from the moment of the request (ms precision, same clock)
    ttl = datetime.timedelta(seconds=conf_int("hold_ttl_seconds", 300))
    ms = datetime.timedelta(milliseconds=1)
    exp = parse_iso(b["expiresAt"])
    assert t0 + ttl - ms <= exp <= t1 + ttl, (t0, exp, t1)
    db_exp = scalar("SELECT DATE_FORMAT(expires_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ')"
                    " FROM reservations WHERE id = %s" % uhex(b["reservationId"]))
    assert parse_iso(db_exp).replace(microsecond=parse_iso(db_exp).microsecond
                                     // 1000 * 1000) == exp, (db_exp, b)
    m = seat_map(d)
    assert m[3]["available"] is False
    assert all(m[n]["available"] for n in (1, 2, 4, 5))
    row = sql("SELECT r.state, s.state, HEX(s.reservation_id) = HEX(r.id),"
              " s.hold_user = r.user_id, r.user_id = %s"
              " FROM reservations r JOIN seats s ON s.concert_date ="
              " r.concert_date AND s.seat_number = r.seat_number"
              " WHERE r.id = %s" % (uhex(user), uhex(b["reservationId"])))
    assert row == [("0", "1", "1", "1", "1")], row
    # the same seat again, even by the same user: taken
    assert_error(hold(tok, d, 3), 409, "SEAT_UNAVAILABLE")


def test_hold_by_bearer_header():
    d = fresh_date(seats=1)
    tok = active_token(new_user())
    for i, base in enumerate(WEB_URLS):
        r = api("POST", "/reservations", {"date": d, "seatNumber": 1},
                headers={"Authorization": "Bearer " + tok}, base=base)
        # the first front door gets the seat; after that it is taken, even
        # for the same user
        if i == 0:
            assert r.status == 201, (base, r)
        else:
            assert_error(r, 409, "SEAT_UNAVAILABLE")
    assert scalar("SELECT state FROM seats WHERE concert_date = '%s'" % d) \
        == "1"


def test_expired_hold_is_free_at_once_and_can_be_reheld_by_another_user():
    d = fresh_date(seats=2)
    t1, t2 = active_token(new_user()), active_token(new_user())
    r1 = hold(t1, d, 1)
    assert r1.status == 201, r1
    assert_error(hold(t2, d, 1), 409, "SEAT_UNAVAILABLE")
    rid = r1.json["reservationId"]
    sql("UPDATE seats SET hold_expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE concert_date = '%s' AND seat_number = 1;"
        "UPDATE reservations SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE id = %s" % (d, uhex(rid)))
    assert seat_map(d)[1]["available"] is True
    r2 = hold(t2, d, 1)
    assert r2.status == 201, r2
    assert r2.json["reservationId"] != rid
    assert seat_map(d)[1]["available"] is False
    # the first user can no longer pay the old hold
    assert_error(pay(t1, rid, r1.json["price"]), 409, "RESERVATION_EXPIRED")
    assert scalar("SELECT HEX(reservation_id) FROM seats WHERE concert_date"
                  " = '%s' AND seat_number = 1" % d) == \
        r2.json["reservationId"].replace("-", "").upper()


def test_unknown_seat_is_404():
    d = fresh_date(seats=2)
    tok = active_token(new_user())
    assert_error(hold(tok, d, 3), 404, "SEAT_NOT_FOUND")
    assert_error(hold(tok, "2069-06-15", 1), 404, "SEAT_NOT_FOUND")


def test_hold_on_past_concert_is_refused():
    d = "2001-01-1%d" % __import__("random").randint(0, 9)
    sql("INSERT IGNORE INTO concert_dates (concert_date) VALUES ('%s');"
        "INSERT IGNORE INTO seats (concert_date, seat_number, price)"
        " VALUES ('%s', 1, 1000)" % (d, d))
    _my_dates.append(d)
    tok = active_token(new_user())
    r = hold(tok, d, 1)
    assert_error(r, 409, "CONCERT_PASSED")
    assert scalar("SELECT state FROM seats WHERE concert_date = '%s'" % d) \
        == "0"


def test_thirty_users_race_for_one_seat_exactly_one_wins():
    d = fresh_date(seats=1)
    users = active_tokens(30)
    res = parallel(30, lambda i: hold(users[i][1], d, 1))
    ok = [r for r in res if r.status == 201]
    assert len(ok) == 1, [r.status for r in res]
    for r in res:
        if r.status != 201:
            assert_error(r, 409, "SEAT_UNAVAILABLE")
    rows = sql("SELECT HEX(id), state FROM reservations WHERE concert_date ="
               " '%s' AND seat_number = 1" % d)
    assert rows == [(ok[0].json["reservationId"].replace("-", "").upper(),
                     "0")], rows
    check_invariants()


def test_hold_limit_holds_under_concurrency():
    limit = conf_int("max_holds_per_user", 4)
    d = fresh_date(seats=10)
    user = new_user()
    tok = active_token(user)
    res = parallel(10, lambda i: hold(tok, d, i + 1))
    statuses = sorted(r.status for r in res)
    assert statuses.count(201) == limit, statuses
    for r in res:
        if r.status != 201:
            assert_error(r, 409, "HOLD_LIMIT_REACHED")
    assert scalar("SELECT COUNT(*) FROM reservations WHERE user_id = %s"
                  % uhex(user)) == str(limit)
    # the refused seats stay free
    m = seat_map(d)
    assert sum(1 for s in m.values() if not s["available"]) == limit
    check_invariants()


def test_expired_holds_do_not_count_against_the_limit():
    limit = conf_int("max_holds_per_user", 4)
    d = fresh_date(seats=limit + 1)
    user = new_user()
    tok = active_token(user)
    for n in range(1, limit + 1):
        assert hold(tok, d, n).status == 201
    assert_error(hold(tok, d, limit + 1), 409, "HOLD_LIMIT_REACHED")
    sql("UPDATE reservations SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE user_id = %s AND seat_number = 1;"
        "UPDATE seats SET hold_expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE concert_date = '%s' AND seat_number = 1"
        % (uhex(user), d))
    assert hold(tok, d, limit + 1).status == 201


def test_waiting_token_is_403_token_not_active_with_position():
    d = fresh_date(seats=1)
    tok = active_token(new_user())
    # Keep the consumer from re-admitting while the token is WAITING.
    with QueueLock():
        sql("UPDATE queue_tokens SET state = 0, expires_at = NULL"
            " WHERE token = UNHEX('%s')" % tok)
        r = hold(tok, d, 1)
        g = api("GET", "/token?token=" + tok)
    err = assert_error(r, 403, "TOKEN_NOT_ACTIVE")
    assert isinstance(err.get("queuePosition"), int), err
    assert g.json["status"] == "WAITING", g
    assert seat_map(d)[1]["available"] is True


def test_released_token_is_403_token_expired():
    d = fresh_date(seats=1)
    tok = active_token(new_user())
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + tok})
    assert r.status == 200 and r.json["status"] == "EXPIRED", r
    assert_error(hold(tok, d, 1), 403, "TOKEN_EXPIRED")
    assert seat_map(d)[1]["available"] is True


def test_lapsed_active_token_is_403_token_expired():
    d = fresh_date(seats=1)
    tok = active_token(new_user())
    sql("UPDATE queue_tokens SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE token = UNHEX('%s')" % tok)
    assert_error(hold(tok, d, 1), 403, "TOKEN_EXPIRED")


def test_missing_and_unknown_token_are_401():
    d = fresh_date(seats=1)
    r = api("POST", "/reservations", {"date": d, "seatNumber": 1})
    assert_error(r, 401, "TOKEN_REQUIRED")
    assert_error(hold("0" * 32, d, 1), 401, "TOKEN_INVALID")
    assert_error(hold("xyz", d, 1), 401, "TOKEN_INVALID")


def test_hold_extends_the_token_past_the_hold_deadline():
    d = fresh_date(seats=1)
    tok = active_token(new_user())
    # an admission about to lapse
    sql("UPDATE queue_tokens SET expires_at = UTC_TIMESTAMP(3) + INTERVAL 5"
        " SECOND WHERE token = UNHEX('%s')" % tok)
    t0 = time.monotonic()
    r = hold(tok, d, 1)
    elapsed_us = int((time.monotonic() - t0) * 1e6)
    assert r.status == 201, r
    # the admission now ends 1 s after the hold (both set in the request)
    gap = int(scalar("SELECT TIMESTAMPDIFF(MICROSECOND, r.expires_at, t.expires_at)"
                     " FROM queue_tokens t, reservations r WHERE t.token ="
                     " UNHEX('%s') AND r.id = %s" % (tok, uhex(r.json["reservationId"]))))
    assert 1000000 <= gap <= 1000000 + elapsed_us, (gap, elapsed_us)
    hi = token_seconds_left(tok)
    g = api("GET", "/token?token=" + tok)
    lo = token_seconds_left(tok)
    assert g.json["status"] == "ACTIVE"
    assert lo <= g.json["remainingTime"] <= hi, (lo, g, hi)
    assert hi <= conf_int("hold_ttl_seconds", 300) + 1


def test_consumer_expires_an_overdue_hold():
    d = fresh_date(seats=1)
    tok = active_token(new_user())
    r = hold(tok, d, 1)
    assert r.status == 201, r
    rid = uhex(r.json["reservationId"])
    sql("UPDATE reservations SET expires_at = UTC_TIMESTAMP(3) + INTERVAL 1"
        " SECOND WHERE id = %s; UPDATE seats SET hold_expires_at ="
        " UTC_TIMESTAMP(3) + INTERVAL 1 SECOND WHERE concert_date = '%s'"
        % (rid, d))

    def tidied():
        row = sql("SELECT r.state, s.state, s.reservation_id IS NULL,"
                  " s.hold_user IS NULL FROM reservations r, seats s"
                  " WHERE r.id = %s AND s.concert_date = '%s'" % (rid, d))
        return row == [("2", "0", "1", "1")]
    wait_until(tidied, 6, 0.1, "the consumer to expire the hold")
    assert seat_map(d)[1]["available"] is True
    assert_error(pay(tok, r.json["reservationId"], r.json["price"]), 409,
                 "RESERVATION_EXPIRED")


def test_hold_through_both_web_servers():
    d = fresh_date(seats=len(WEB_URLS))
    tok = active_token(new_user())
    for i, base in enumerate(WEB_URLS):
        r = hold(tok, d, i + 1, base=base)
        assert r.status == 201, (base, r)
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        assert r.headers["cache-control"] == "no-store"
