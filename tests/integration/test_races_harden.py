"""Races between holds, payments and admissions (issue 9, items 7-9).

Each test makes a race deterministic: a separate SQL session holds a row
lock so that a request waits at a known point of its transaction while the
competing change commits.  Every date is private (far future, one seat
each) so no other test is disturbed.
"""
import random
import threading

from helpers import (RowLock, api, new_user, sql, sql_value, uhex,
                     wait_until)


# ---------------------------------------------------------------- helpers


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def active_token(user):
    r = api("POST", "/token", {"userId": user})
    assert r.status in (200, 201), r
    tok = r.json["token"]

    def active():
        g = api("GET", "/token", headers=bearer(tok))
        assert g.status == 200, g
        return g.json["status"] == "ACTIVE"
    wait_until(active, 20, 0.05, "token of %s to become ACTIVE" % user)
    return tok


def private_date(seats=1, price=1000):
    for _ in range(50):
        d = "%04d-%02d-%02d" % (random.randint(2070, 2099),
                                random.randint(1, 12), random.randint(1, 28))
        if sql_value("INSERT IGNORE INTO concert_dates (concert_date, title)"
                     " VALUES ('%s', 'races'); SELECT ROW_COUNT();" % d) == "1":
            break
    else:
        raise AssertionError("no free date found")
    sql("INSERT INTO seats (concert_date, seat_number, price) VALUES "
        + ",".join("('%s', %d, %d)" % (d, i, price)
                   for i in range(1, seats + 1)))
    return d


def hold(tok, date, seat):
    return api("POST", "/reservations",
               {"date": date, "seatNumber": seat, "token": tok})


def pay(tok, rid, amount):
    return api("POST", "/payments",
               {"reservationId": rid, "amount": amount, "token": tok})


def holds_in_flight():
    """Worker statements taking a seat that are running now (with the
    seat's row lock held elsewhere: waiting for it)."""
    return int(sql_value("SELECT COUNT(*) FROM information_schema.processlist"
                         " WHERE command = 'Execute'"
                         " AND info LIKE 'UPDATE seats s SET s.state%'"))


def seat_lock(date, seat):
    return RowLock("SELECT seat_number FROM seats WHERE concert_date = '%s'"
                   " AND seat_number = %d FOR UPDATE" % (date, seat))


class Background(threading.Thread):
    """fn() in a thread; .result() joins and returns (or raises)."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.value, self.error = fn, None, None
        self.start()

    def run(self):
        try:
            self.value = self.fn()
        except BaseException as e:     # noqa: B902 - re-raised in result()
            self.error = e

    def result(self, timeout=30):
        self.join(timeout)
        assert not self.is_alive(), "request still running"
        if self.error is not None:
            raise self.error
        return self.value


def hold_waiting_on(date, seat, tok):
    """Start a hold of (date, seat) that waits on the seat's row lock,
    which the caller holds; returns the Background running it."""
    h = Background(lambda: hold(tok, date, seat))
    wait_until(lambda: holds_in_flight() > 0 or not h.is_alive(), 5, 0.02,
               "the hold to wait on the seat lock")
    assert h.is_alive(), "the hold did not wait: %r %r" % (h.value, h.error)
    return h


def token_state(tok):
    return sql_value("SELECT state FROM queue_tokens WHERE token = UNHEX('%s')"
                     % tok)


def holds_of(user):
    return int(sql_value("SELECT COUNT(*) FROM reservations WHERE user_id = %s"
                         " AND state = 0" % uhex(user)))


# ---------------------------------------------------------------- item 7

def test_hold_does_not_outlive_a_token_released_while_it_waits():
    """DELETE /token commits while a hold waits on a hot seat: the hold
    must not answer 201 for a user who has no admission left."""
    d = private_date()
    user = new_user()
    tok = active_token(user)
    with seat_lock(d, 1):
        h = hold_waiting_on(d, 1, tok)
        r = api("DELETE", "/token", headers=bearer(tok))
        assert r.status == 200 and r.json["status"] == "EXPIRED", r
    r = h.result()
    assert r.status == 403 and r.error_code == "TOKEN_EXPIRED", r
    assert holds_of(user) == 0
    assert sql_value("SELECT state FROM seats WHERE concert_date = '%s'"
                     " AND seat_number = 1" % d) == "0"


def test_hold_does_not_outlive_a_token_ended_by_a_payment():
    """The user's payment of another hold ends the admission (it saw no
    other live hold) while a second hold waits: that hold must fail."""
    d = private_date(seats=2, price=700)
    user = new_user()
    r = api("POST", "/balance", {"userId": user, "amount": 700})
    assert r.status == 200, r
    tok = active_token(user)
    h1 = hold(tok, d, 1)
    assert h1.status == 201, h1
    with seat_lock(d, 2):
        h2 = hold_waiting_on(d, 2, tok)
        p = pay(tok, h1.json["reservationId"], 700)
        assert p.status == 201, p
        assert token_state(tok) == "2"      # the payment ended it
    r = h2.result()
    assert r.status == 403 and r.error_code == "TOKEN_EXPIRED", r
    assert holds_of(user) == 0


def test_hold_does_not_revive_a_token_that_lapsed_while_it_waited():
    """The admission runs out while the hold waits on the seat: the hold
    must not extend (revive) it."""
    d = private_date()
    user = new_user()
    tok = active_token(user)
    with seat_lock(d, 1):
        h = hold_waiting_on(d, 1, tok)
        sql("UPDATE queue_tokens SET expires_at = UTC_TIMESTAMP(3) -"
            " INTERVAL 1 SECOND WHERE token = UNHEX('%s')" % tok)
    r = h.result()
    assert r.status == 403 and r.error_code == "TOKEN_EXPIRED", r
    assert holds_of(user) == 0
    assert sql_value("SELECT expires_at <= UTC_TIMESTAMP(3) FROM queue_tokens"
                     " WHERE token = UNHEX('%s')" % tok) == "1"


# ---------------------------------------------------------------- item 9

def commits_waiting():
    """Ids of worker connections whose COMMIT is waiting (BLOCK_COMMIT)."""
    return [r[0] for r in sql("SELECT id FROM information_schema.processlist"
                              " WHERE command = 'Query' AND info = 'COMMIT'")]


def test_connection_lost_during_commit_is_not_answered_retry():
    """The outcome of a COMMIT whose connection died is unknown: the answer
    must say so (distinct code, no Retry-After), not invite a blind retry
    that could charge twice."""
    user = new_user()
    r = api("POST", "/balance", {"userId": user, "amount": 100})
    assert r.status == 200, r
    blocker = RowLock("BACKUP STAGE START; BACKUP STAGE BLOCK_COMMIT")
    with blocker:
        c = Background(lambda: api("POST", "/balance",
                                   {"userId": user, "amount": 5}))
        ids = wait_until(commits_waiting, 10, 0.02,
                         "the charge's COMMIT to wait")
        assert len(ids) == 1, ids
        sql("KILL CONNECTION %s" % ids[0])
        r = c.result()
        blocker.p.stdin.write("BACKUP STAGE END;\n")
    assert r.status == 500 and r.error_code == "COMMIT_UNKNOWN", r
    assert r.header("Retry-After") is None, r.headers
    # the worker recovers: the next request is served normally
    r = api("GET", "/balance?userId=" + user)
    assert r.status == 200 and r.json["currentBalance"] in (100, 105), r
