"""After the hold (issue 12 part 4): look a reservation up, list a user's
reservations and payments, release a hold early, cancel a paid seat for a
refund -- through every front door -- and the races between them, made
deterministic where they can be with a second SQL session holding a row
lock (helpers.RowLock, as in test_races_harden.py).

Every date is private (fresh_date: far future, so far from the refund
cutoff), except the cutoff test's, which must be near.
"""
import datetime
import glob
import os
import random
import shutil
import subprocess
import threading
import time
import uuid

import pytest

from helpers import (WEB_URLS, RowLock, active_token, api, assert_error,
                     balance_of, conf, conf_int, fresh_date, funded_user, hold,
                     new_user, parallel, pay, scalar, sql, uhex, wait_until)
from invariants import check_invariants


# ---------------------------------------------------------------- helpers

def res_path(rid, user=None, suffix=""):
    p = "/reservations/%s%s" % (rid, suffix)
    return p + ("?userId=%s" % user if user else "")


def get_res(rid, user, base=None):
    return api("GET", res_path(rid, user), base=base)


def release(rid, user, base=None):
    return api("DELETE", res_path(rid, user), base=base)


def cancel(rid, user, base=None, headers=None):
    return api("POST", res_path(rid, suffix="/cancel"), {"userId": user},
               base=base, headers=headers)


def held(base=None, price=1000, seats=1, funds=None):
    """A user with an ACTIVE token holding seat 1 of a fresh date (funded
    with `funds`, default the price): (user, token, date, reservationId)."""
    date = fresh_date(seats, price=lambda n: price)
    user = funded_user(funds or price) if funds != 0 else new_user()
    tok = active_token(user, base=base)
    r = hold(tok, date, 1, base=base)
    assert r.status == 201, r
    return user, tok, date, r.json["reservationId"]


def paid(base=None, price=1000):
    """A paid seat: (user, date, reservationId, paymentId)."""
    user, tok, date, rid = held(base, price)
    r = pay(tok, rid, price, base=base)
    assert r.status == 201, r
    return user, date, rid, r.json["paymentId"]


def seat_row(date, seat=1):
    """(state, reservation id hex or None) of a seat."""
    return tuple(sql("SELECT state, LOWER(HEX(reservation_id))"
                     " FROM seats WHERE concert_date = '%s' AND seat_number = %d"
                     % (date, seat))[0])


def res_state(rid):
    return int(scalar("SELECT state FROM reservations WHERE id = %s" % uhex(rid)))


def refunds_of(pid):
    return sql("SELECT delta FROM balance_ledger WHERE kind = 'REFUND'"
               " AND ref_id = %s" % uhex(pid))


def seat_available(date, seat=1, base=None):
    r = api("GET", "/reservations/seats?date=" + date, base=base)
    assert r.status == 200, r
    return [s for s in r.json if s["seatNumber"] == seat][0]["available"]


def statements_waiting(prefix):
    return int(scalar("SELECT COUNT(*) FROM information_schema.processlist"
                      " WHERE command = 'Execute' AND info LIKE '%s%%'" % prefix))


class Background(threading.Thread):
    """fn() in a thread; .result() joins and returns (or raises)."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.out, self.err = fn, None, None
        self.start()

    def run(self):
        try:
            self.out = self.fn()
        except BaseException as e:      # noqa: B902 - re-raised in result()
            self.err = e

    def result(self, timeout=30):
        self.join(timeout)
        assert not self.is_alive(), "request still running"
        if self.err:
            raise self.err
        return self.out


def reservation_events(rid, want, timeout_s=30):
    """The payloads on <prefix>.reservations naming reservation rid, read
    with Kafka's own console consumer (the jars scripts/kafka fetched),
    until every type in `want` was seen or timeout_s passed."""
    java = shutil.which("java")
    cache = os.environ.get("CONCERT_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "concert")
    libs = sorted(glob.glob(os.path.join(cache, "kafka-*", "libs")))
    if java is None or not libs:
        pytest.skip("no java or Kafka jars to read the topic with")
    c = conf()
    topic = c.get("kafka_topic_prefix", "concert") + ".reservations"
    deadline = time.monotonic() + timeout_s
    seen = []
    while True:
        out = subprocess.run(
            [java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-cp", os.path.join(libs[-1], "*"),
             "org.apache.kafka.tools.consumer.ConsoleConsumer",
             "--bootstrap-server", c.get("kafka_brokers", "127.0.0.1:9092"),
             "--topic", topic, "--from-beginning", "--timeout-ms", "5000",
             "--property", "print.key=true"],
            capture_output=True, text=True, timeout=120).stdout
        seen = [line for line in out.splitlines() if rid in line]
        if all(any('"type":"%s"' % t in line for line in seen) for t in want):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError("events %s of %s not seen: %s" % (want, rid, seen))


# ---------------------------------------------------------------- look up

def test_owner_reads_a_reservation_and_others_get_404(web):
    user, tok, date, rid = held(web)
    r = get_res(rid, user, web)
    assert r.status == 200, r
    o = r.json
    assert o["reservationId"] == rid and o["date"] == date
    assert o["seatNumber"] == 1 and o["price"] == 1000
    assert o["status"] == "HELD"
    assert o["expiresAt"].endswith("Z") and o["createdAt"].endswith("Z")
    assert o["paymentId"] is None and o["refundedAt"] is None
    # another user's reservation is not revealed; neither is an unknown id
    assert_error(get_res(rid, new_user(), web), 404, "RESERVATION_NOT_FOUND")
    assert_error(get_res(str(uuid.uuid4()), user, web), 404,
                 "RESERVATION_NOT_FOUND")


def test_reservation_id_in_the_path_is_validated(web):
    user = new_user()
    r = get_res("not-a-uuid", user, web)
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert err["field"] == "reservationId"
    assert_error(api("GET", res_path(str(uuid.uuid4())), base=web), 400,
                 "MISSING_FIELD")
    # the id comes from the path only: a query member does not stand in
    assert_error(api("DELETE", "/reservations/x?reservationId=%s&userId=%s"
                     % (uuid.uuid4(), user), base=web), 400, "VALIDATION_ERROR")
    # exact paths win: /reservations/dates is never an id
    r = api("DELETE", "/reservations/dates", base=web)
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "GET"


def test_uppercase_id_is_the_same_reservation():
    user, tok, date, rid = held()
    r = get_res(rid.upper(), user)
    assert r.status == 200 and r.json["reservationId"] == rid, r


# ---------------------------------------------------------------- release

def test_release_frees_the_seat_at_once_and_is_idempotent(web):
    user, tok, date, rid = held(web)
    assert not seat_available(date, base=web)
    r = release(rid, user, web)
    assert r.status == 200, r
    assert r.json["status"] == "RELEASED" and r.json["updatedAt"], r
    assert seat_row(date) == ("0", None)
    assert seat_available(date, base=web)
    assert res_state(rid) == 3
    # again: the same answer
    again = release(rid, user, web)
    assert again.status == 200 and again.json == r.json, again
    # someone else holds it at once
    other = new_user()
    r2 = hold(active_token(other, base=web), date, 1, base=web)
    assert r2.status == 201, r2
    # the released hold cannot be paid
    assert_error(pay(tok, rid, 1000, base=web), 409, "RESERVATION_EXPIRED")
    # and a second release now answers the same (the seat is someone else's)
    assert release(rid, user, web).json == r.json
    assert seat_row(date)[0] == "1"


def test_release_of_another_users_hold_is_404_and_changes_nothing():
    user, tok, date, rid = held()
    assert_error(release(rid, new_user()), 404, "RESERVATION_NOT_FOUND")
    assert res_state(rid) == 0 and seat_row(date)[0] == "1"


def test_release_does_not_need_the_queue_token():
    user, tok, date, rid = held()
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + tok})
    assert r.status == 200, r
    r = release(rid, user)
    assert r.status == 200 and r.json["status"] == "RELEASED", r


def test_release_frees_a_place_under_max_holds_per_user():
    n = conf_int("max_holds_per_user", 4)
    date = fresh_date(n + 1)
    user = new_user()
    tok = active_token(user)
    rids = []
    for s in range(1, n + 1):
        r = hold(tok, date, s)
        assert r.status == 201, r
        rids.append(r.json["reservationId"])
    assert_error(hold(tok, date, n + 1), 409, "HOLD_LIMIT_REACHED")
    assert release(rids[0], user).status == 200
    assert hold(tok, date, n + 1).status == 201


def test_release_of_a_paid_reservation_is_409():
    user, date, rid, pid = paid()
    assert_error(release(rid, user), 409, "ALREADY_PAID")
    assert seat_row(date) == ("2", rid.replace("-", ""))


def test_release_of_an_expired_hold_is_409():
    user, tok, date, rid = held()
    # the deadline passes (lazily: the consumer has not run yet)
    sql("UPDATE reservations SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE id = %s; UPDATE seats SET hold_expires_at ="
        " UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE concert_date = '%s'"
        % (uhex(rid), date))
    assert_error(release(rid, user), 409, "RESERVATION_EXPIRED")
    assert get_res(rid, user).json["status"] == "EXPIRED"


# ---------------------------------------------------------------- cancel

def test_cancel_refunds_in_full_and_puts_the_seat_back_on_sale(web):
    user, date, rid, pid = paid(web, price=2500)
    assert balance_of(user) == 0
    r = cancel(rid, user, web)
    assert r.status == 200, r
    o = r.json
    assert o["status"] == "CANCELLED" and o["paymentId"] == pid
    assert o["refundAmount"] == 2500 and o["refundedAt"].endswith("Z")
    assert balance_of(user) == 2500
    assert refunds_of(pid) == [("2500",)]
    assert seat_row(date) == ("0", None) and seat_available(date, base=web)
    # idempotent: the same answer, no second refund
    again = cancel(rid, user, web)
    assert again.status == 200 and again.json == o, again
    assert balance_of(user) == 2500 and len(refunds_of(pid)) == 1
    # the payments list says REFUNDED
    lst = api("GET", "/payments?userId=" + user, base=web)
    assert lst.status == 200, lst
    assert [(p["paymentId"], p["status"], p["amount"]) for p in
            lst.json["items"]] == [(pid, "REFUNDED", 2500)]
    assert lst.json["items"][0]["refundedAt"] == o["refundedAt"]
    # the seat sells again
    other = funded_user(2500)
    tok = active_token(other, base=web)
    h = hold(tok, date, 1, base=web)
    assert h.status == 201, h
    assert pay(tok, h.json["reservationId"], 2500, base=web).status == 201


def test_cancel_with_an_idempotency_key_replays_the_answer():
    user, date, rid, pid = paid()
    key = {"Idempotency-Key": "cancel-" + rid}
    r1 = cancel(rid, user, headers=key)
    r2 = cancel(rid, user, headers=key)
    assert r1.status == r2.status == 200 and r1.json == r2.json
    assert len(refunds_of(pid)) == 1
    # the same key with another body is refused like on every other POST
    r3 = api("POST", res_path(rid, suffix="/cancel"),
             {"userId": user, "note": "x"}, headers=key)
    assert_error(r3, 422, "IDEMPOTENCY_KEY_REUSED")


def test_cancel_of_another_users_reservation_is_404_and_refunds_nothing():
    user, date, rid, pid = paid()
    assert_error(cancel(rid, new_user()), 404, "RESERVATION_NOT_FOUND")
    assert res_state(rid) == 1 and refunds_of(pid) == []


def test_cancel_of_an_unpaid_hold_is_409_not_paid():
    user, tok, date, rid = held()
    assert_error(cancel(rid, user), 409, "RESERVATION_NOT_PAID")
    assert release(rid, user).status == 200
    assert_error(cancel(rid, user), 409, "RESERVATION_NOT_PAID")


def test_cancel_refunds_even_above_max_balance():
    cap = conf_int("max_balance", 1000000000000)
    user, date, rid, pid = paid(price=1000)
    # topped up to the ceiling after paying
    assert api("POST", "/balance", {"userId": user, "amount": 1}).status == 200
    sql("UPDATE users SET balance = %d WHERE id = %s; INSERT INTO balance_ledger"
        " (user_id, delta, kind) VALUES (%s, %d, 'CHARGE')"
        % (cap, uhex(user), uhex(user), cap - 1))
    r = cancel(rid, user)
    assert r.status == 200, r
    assert balance_of(user) == cap + 1000


def _tomorrow_seat():
    """A seat on the concert of tomorrow (UTC): its date is less than a day
    away, inside any refund_cutoff_hours >= 24.  Returns (date, seat,
    inserted_date)."""
    d = (datetime.datetime.now(datetime.timezone.utc).date()
         + datetime.timedelta(days=1)).isoformat()
    inserted = scalar("INSERT IGNORE INTO concert_dates (concert_date, title)"
                      " VALUES ('%s', 'cutoff test'); SELECT ROW_COUNT();" % d) == "1"
    seat = random.randint(900000, 999999)
    sql("INSERT INTO seats (concert_date, seat_number, price) VALUES ('%s', %d, 700)"
        % (d, seat))
    return d, seat, inserted


def test_cancel_inside_the_refund_cutoff_is_refused():
    if conf_int("refund_cutoff_hours", 24) < 24:
        pytest.skip("the stack's refund_cutoff_hours is under a day")
    date, seat, inserted = _tomorrow_seat()
    user = funded_user(700)
    try:
        tok = active_token(user)
        h = hold(tok, date, seat)
        assert h.status == 201, h
        rid = h.json["reservationId"]
        assert pay(tok, rid, 700).status == 201
        err = assert_error(cancel(rid, user), 409, "REFUND_CLOSED")
        assert date in err["message"]
        assert res_state(rid) == 1 and balance_of(user) == 0
        assert seat_row(date, seat)[0] == "2"
    finally:
        # Take the test's rows out again whole (the user's money too), so
        # the shared date is as it was and the ledger still adds up.
        u = uhex(user)
        sql("DELETE FROM payments WHERE user_id = {u};"
            " DELETE FROM reservations WHERE user_id = {u};"
            " DELETE FROM balance_ledger WHERE user_id = {u};"
            " DELETE FROM users WHERE id = {u};"
            " DELETE FROM seats WHERE concert_date = '{d}' AND seat_number = {s};"
            .format(u=u, d=date, s=seat))
        if inserted:
            sql("DELETE FROM concert_dates WHERE concert_date = '%s' AND NOT EXISTS"
                " (SELECT 1 FROM seats WHERE concert_date = '%s')" % (date, date))


# ---------------------------------------------------------------- lists

def test_lists_are_the_callers_newest_first_in_pages(web):
    date = fresh_date(3, price=lambda n: 100 * n)
    user = funded_user(10000)
    tok = active_token(user, base=web)
    rids = []
    for s in (1, 2, 3):
        r = hold(tok, date, s, base=web)
        assert r.status == 201, r
        rids.append(r.json["reservationId"])
        time.sleep(0.005)       # distinct created_at (ms) for a clear order
    pids = [pay(tok, rids[0], 100, base=web).json["paymentId"],
            pay(tok, rids[1], 200, base=web).json["paymentId"]]
    newest = rids[::-1]

    r = api("GET", "/reservations?userId=%s&limit=2" % user, base=web)
    assert r.status == 200, r
    assert [o["reservationId"] for o in r.json["items"]] == newest[:2]
    cur = r.json["nextCursor"]
    assert isinstance(cur, str) and cur
    r = api("GET", "/reservations?userId=%s&limit=2&cursor=%s" % (user, cur),
            base=web)
    assert r.status == 200, r
    assert [o["reservationId"] for o in r.json["items"]] == newest[2:]
    assert r.json["nextCursor"] is None
    # one default page holds them all; statuses as GET /reservations/{id}
    r = api("GET", "/reservations?userId=" + user, base=web)
    assert [o["status"] for o in r.json["items"]] == ["HELD", "CONFIRMED",
                                                      "CONFIRMED"]
    assert r.json["items"][0] == get_res(newest[0], user, web).json

    p = api("GET", "/payments?userId=%s&limit=1" % user, base=web)
    assert p.status == 200, p
    assert [o["paymentId"] for o in p.json["items"]] == [pids[1]]
    p2 = api("GET", "/payments?userId=%s&limit=1&cursor=%s"
             % (user, p.json["nextCursor"]), base=web)
    assert [o["paymentId"] for o in p2.json["items"]] == [pids[0]]
    assert p2.json["nextCursor"] is None
    assert p2.json["items"][0]["status"] == "PAID"
    assert p2.json["items"][0]["date"] == date
    assert p2.json["items"][0]["seatNumber"] == 1

    # another user sees nothing of it
    other = new_user()
    for path in ("/reservations", "/payments"):
        r = api("GET", "%s?userId=%s" % (path, other), base=web)
        assert r.status == 200 and r.json == {"items": [], "nextCursor": None}, r


@pytest.mark.parametrize("q,code", [
    ("limit=0", "VALIDATION_ERROR"), ("limit=101", "VALIDATION_ERROR"),
    ("limit=x", "VALIDATION_ERROR"), ("cursor=abc", "VALIDATION_ERROR"),
    ("cursor=" + "9" * 17 + "0" * 32, "VALIDATION_ERROR"),
])
def test_list_parameters_are_validated(q, code):
    for path in ("/reservations", "/payments"):
        assert_error(api("GET", "%s?userId=%s&%s" % (path, new_user(), q)),
                     400, code)
    assert_error(api("GET", "/reservations"), 400, "MISSING_FIELD")


def test_limit_100_is_accepted():
    r = api("GET", "/payments?userId=%s&limit=100" % new_user())
    assert r.status == 200 and r.json["items"] == [], r


def test_list_queries_read_the_user_created_index():
    """The statements of api_booking.c (same WHERE and ORDER BY): each a
    range of the (user_id, created_at, id) key, no filesort."""
    u = uhex(new_user())
    for table, alias, key, join in (
            ("reservations", "r", "res_user_created",
             " LEFT JOIN payments p ON p.reservation_id = r.id"),
            ("payments", "p", "payments_user_created",
             " LEFT JOIN reservations r ON r.id = p.reservation_id")):
        q = ("SELECT {a}.id FROM {t} {a}{j} WHERE {a}.user_id = {u}"
             " AND ({a}.created_at < '9999-12-31 23:59:59.999' OR"
             " ({a}.created_at = '9999-12-31 23:59:59.999' AND {a}.id <"
             " UNHEX('FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF')))"
             " ORDER BY {a}.created_at DESC, {a}.id DESC LIMIT 21"
             .format(a=alias, t=table, j=join, u=u))
        # id, select_type, table, type, possible_keys, key, key_len, ref,
        # rows, Extra
        rows = sql("EXPLAIN " + q)
        first = [r for r in rows if r[2] == alias][0]
        assert first[5] == key, rows
        assert "filesort" not in (first[9] or ""), rows


# ---------------------------------------------------------------- races

def test_two_parallel_cancels_refund_once():
    user, date, rid, pid = paid()
    out = parallel(2, lambda i: cancel(rid, user))
    assert [r.status for r in out] == [200, 200], out
    assert out[0].json == out[1].json
    assert refunds_of(pid) == [("1000",)] and balance_of(user) == 1000


def test_cancel_racing_a_new_hold_of_the_seat():
    """The cancel holds the reservation and seat locks and waits on the
    user's row (held by a second session); a new hold of the seat waits on
    the seat row meanwhile, and succeeds only once the cancel committed
    the seat FREE: never two owners."""
    user, date, rid, pid = paid()
    other = new_user()
    tok = active_token(other)
    with RowLock("SELECT balance FROM users WHERE id = %s FOR UPDATE" % uhex(user)):
        c = Background(lambda: cancel(rid, user))
        wait_until(lambda: statements_waiting("UPDATE users SET balance = balance +") == 1,
                   10, 0.02, "the cancel to wait on the user row")
        h = Background(lambda: hold(tok, date, 1))
        wait_until(lambda: statements_waiting("UPDATE seats s SET s.state") == 1,
                   10, 0.02, "the hold to wait on the seat row")
        assert seat_row(date)[0] == "2"
    rc, rh = c.result(), h.result()
    assert rc.status == 200 and rc.json["status"] == "CANCELLED", rc
    assert rh.status == 201, rh
    assert seat_row(date) == ("1", rh.json["reservationId"].replace("-", ""))
    assert res_state(rid) == 4


def test_a_hold_while_the_seat_is_sold_is_refused_then_cancel_frees_it():
    user, date, rid, pid = paid()
    tok = active_token(new_user())
    assert_error(hold(tok, date, 1), 409, "SEAT_UNAVAILABLE")
    assert cancel(rid, user).status == 200
    assert hold(tok, date, 1).status == 201


@pytest.mark.parametrize("first", ["release", "pay"])
def test_release_racing_payment_is_one_or_the_other(first):
    """The seat row is locked by a second session; the first request takes
    the reservation row and waits on the seat, the second waits on the
    reservation.  Whichever came first wins; the other is refused."""
    user, tok, date, rid = held()
    do = {"release": lambda: release(rid, user),
          "pay": lambda: pay(tok, rid, 1000)}
    second = "pay" if first == "release" else "release"
    with RowLock("SELECT seat_number FROM seats WHERE concert_date = '%s'"
                 " AND seat_number = 1 FOR UPDATE" % date):
        a = Background(do[first])
        wait_until(lambda: statements_waiting("SELECT state FROM seats") == 1,
                   10, 0.02, "%s to wait on the seat row" % first)
        b = Background(do[second])
        wait_until(lambda: statements_waiting("SELECT user_id") >= 1,
                   10, 0.02, "%s to wait on the reservation row" % second)
    ra, rb = a.result(), b.result()
    results = {first: ra, second: rb}
    if first == "release":
        assert results["release"].status == 200, results
        assert_error(results["pay"], 409, "RESERVATION_EXPIRED")
        assert seat_row(date) == ("0", None) and balance_of(user) == 1000
    else:
        assert results["pay"].status == 201, results
        assert_error(results["release"], 409, "ALREADY_PAID")
        assert seat_row(date)[0] == "2" and balance_of(user) == 0


def test_release_and_payment_in_parallel_never_both():
    for _ in range(5):
        user, tok, date, rid = held()
        out = parallel(2, lambda i: release(rid, user) if i == 0 else
                       pay(tok, rid, 1000))
        ok = (out[0].status == 200, out[1].status == 201)
        assert ok in ((True, False), (False, True)), out
        st = res_state(rid)
        assert st == (3 if ok[0] else 1)
        assert balance_of(user) == (1000 if ok[0] else 0)


N_PARALLEL = 200


def test_200_parallel_cancels_keep_balance_equal_to_ledger():
    """Sold seats made directly in SQL (as the payment path leaves them:
    CHARGE + PAYMENT ledger rows, the payment, a SOLD seat), then cancelled
    all at once through the API."""
    date = fresh_date(N_PARALLEL, price=lambda n: 10 + n)
    users = [new_user() for _ in range(N_PARALLEL)]
    rids = [str(uuid.uuid4()) for _ in range(N_PARALLEL)]
    pids = [str(uuid.uuid4()) for _ in range(N_PARALLEL)]
    stmts = []
    for i in range(N_PARALLEL):
        seat, price = i + 1, 11 + i
        u, r, p = uhex(users[i]), uhex(rids[i]), uhex(pids[i])
        stmts.append(
            "INSERT INTO users (id, balance) VALUES ({u}, 0);"
            " INSERT INTO balance_ledger (user_id, delta, kind) VALUES ({u}, {pr}, 'CHARGE');"
            " INSERT INTO balance_ledger (user_id, delta, kind, ref_id) VALUES"
            " ({u}, -{pr}, 'PAYMENT', {p});"
            " INSERT INTO reservations (id, user_id, concert_date, seat_number, price,"
            " state, expires_at) VALUES ({r}, {u}, '{d}', {s}, {pr}, 1, UTC_TIMESTAMP(3));"
            " INSERT INTO payments (id, reservation_id, user_id, amount) VALUES"
            " ({p}, {r}, {u}, {pr});"
            " UPDATE seats SET state = 2, reservation_id = {r} WHERE concert_date = '{d}'"
            " AND seat_number = {s};".format(u=u, r=r, p=p, d=date, s=seat, pr=price))
    sql(None, stdin="BEGIN; " + " ".join(stmts) + " COMMIT;")
    check_invariants()
    out = parallel(N_PARALLEL, lambda i: cancel(rids[i], users[i]), timeout=300)
    bad = [(i, r) for i, r in enumerate(out) if r.status != 200]
    assert not bad, bad[:5]
    for i in (0, N_PARALLEL // 2, N_PARALLEL - 1):
        assert balance_of(users[i]) == 11 + i
    assert int(scalar("SELECT COUNT(*) FROM seats WHERE concert_date = '%s'"
                      " AND state = 0" % date)) == N_PARALLEL
    assert int(scalar("SELECT COUNT(*) FROM balance_ledger WHERE kind = 'REFUND'"
                      " AND user_id IN (%s)" % ",".join(uhex(u) for u in users))) \
        == N_PARALLEL
    check_invariants()


def test_release_and_cancel_publish_their_events():
    """After the commit: reservation.released (a hold let go) and
    reservation.cancelled (a refund) on the reservations topic, keyed by
    the reservation id, with the type's fields."""
    user, tok, date, rid = held()
    assert release(rid, user).status == 200
    user2, date2, rid2, pid2 = paid(price=1300)
    assert cancel(rid2, user2).status == 200
    rel = reservation_events(rid, ["seat.held", "reservation.released"])
    can = reservation_events(rid2, ["payment.completed", "reservation.cancelled"])
    line = [x for x in rel if '"reservation.released"' in x][0]
    key, payload = line.split("\t", 1)
    assert key == rid
    assert ('"userId":"%s"' % user) in payload and ('"date":"%s"' % date) in payload
    assert '"seatNumber":1' in payload
    line = [x for x in can if '"reservation.cancelled"' in x][0]
    assert ('"paymentId":"%s"' % pid2) in line and '"amount":1300' in line
    # a rolled-back attempt publishes nothing: a cancel refused stays silent
    user3, tok3, date3, rid3 = held()
    assert_error(cancel(rid3, user3), 409, "RESERVATION_NOT_PAID")
    assert not any('"reservation.cancelled"' in x
                   for x in reservation_events(rid3, ["seat.held"]))


def test_every_front_door_is_tested():
    assert len(WEB_URLS) >= 2, WEB_URLS
