"""Idempotency keys belong to one caller and one whole request (issue 9
item 12).  The key's scope used to be method + path + key, and its hash
covered only the raw body: a second user sending the same key and body
(the token in the Authorization header) got the first user's stored
answer, and a request with another query string was taken for a retry.
"""

import random

from helpers import api, new_user, sql, sql_value, wait_until


def active_token(user):
    r = api("POST", "/token", {"userId": user})
    assert r.status == 201, r
    tok = r.json["token"]
    wait_until(lambda: api("GET", "/token?token=" + tok).json["status"]
               == "ACTIVE", 15, 0.05, "token of %s to become ACTIVE" % user)
    return tok


def private_date(seats):
    """A concert date of this test's own, far ahead, with `seats` seats."""
    for _ in range(50):
        d = "%04d-%02d-%02d" % (random.randint(2070, 2099),
                                random.randint(1, 12), random.randint(1, 28))
        if sql_value("INSERT IGNORE INTO concert_dates (concert_date, title)"
                     " VALUES ('%s', 'idem scope'); SELECT ROW_COUNT();"
                     % d) == "1":
            break
    else:
        raise AssertionError("no free date found")
    sql("INSERT INTO seats (concert_date, seat_number, price) VALUES "
        + ",".join("('%s', %d, 1000)" % (d, n) for n in range(1, seats + 1)))
    return d


def bearer(tok, key):
    return {"Authorization": "Bearer " + tok, "Idempotency-Key": key}


def test_same_key_and_body_from_another_user_is_not_their_answer():
    d = private_date(1)
    a, b = active_token(new_user()), active_token(new_user())
    key = "hold-" + new_user()
    body = {"date": d, "seatNumber": 1}
    first = api("POST", "/reservations", body, headers=bearer(a, key))
    assert first.status == 201, first
    other = api("POST", "/reservations", body, headers=bearer(b, key))
    # B's own request ran: the seat is A's, and nothing of A's answer leaks
    assert other.status == 409, other
    assert other.error_code == "SEAT_UNAVAILABLE", other
    assert other.header("idempotent-replayed") is None
    assert first.json["reservationId"] not in other.text
    # A's retry is still A's answer
    again = api("POST", "/reservations", body, headers=bearer(a, key))
    assert (again.status, again.json) == (201, first.json), again
    assert again.header("idempotent-replayed") == "true"


def test_a_changed_query_string_is_not_a_retry():
    u = new_user()
    key = {"Idempotency-Key": "charge-" + u}
    body = {"userId": u, "amount": 700}
    assert api("POST", "/balance", body, headers=key).json == \
        {"newBalance": 700}
    r = api("POST", "/balance?note=again", body, headers=key)
    assert r.status == 422, r
    assert r.error_code == "IDEMPOTENCY_KEY_REUSED", r
    assert api("GET", "/balance?userId=" + u).json == {"currentBalance": 700}
    # the same request again is still a replay
    r = api("POST", "/balance", body, headers=key)
    assert (r.status, r.json) == (200, {"newBalance": 700}), r
    assert r.header("idempotent-replayed") == "true"
