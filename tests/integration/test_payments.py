"""Balance and payments (SPEC #4, #4b, #5): money is never created or lost,
a seat is sold once, races resolve one way only."""

import os
import random
import signal
import time

import pytest

from helpers import *  # noqa: F401,F403
from helpers import uhex
from invariants import check_invariants


def held(price=50000, user=None, seats=1, fund=None):
    """(user, token, date, reservation json) for a fresh hold; the user is
    funded with `fund` first when given."""
    user = user or new_user()
    if fund:
        assert charge(user, fund).status == 200
    d = fresh_date(seats=seats, price=lambda n: price)
    tok = active_token(user)
    r = hold(tok, d, 1)
    assert r.status == 201, r
    return user, tok, d, r.json


def res_state(rid):
    return scalar("SELECT state FROM reservations WHERE id = %s" % uhex(rid))


def seat_state(d, n=1):
    return scalar("SELECT state FROM seats WHERE concert_date = '%s' AND"
                  " seat_number = %d" % (d, n))


def ledger(user):
    return sql("SELECT kind, delta FROM balance_ledger WHERE user_id = %s"
               " ORDER BY id" % uhex(user))


# ---------------------------------------------------------------- balance

def test_charge_registers_user_and_get_reads_it():
    u = new_user()
    assert_error(api("GET", "/balance?userId=" + u), 404, "USER_NOT_FOUND")
    r = charge(u, 1234)
    assert r.status == 200 and r.json == {"newBalance": 1234}, r
    r = charge(u, 66)
    assert r.json == {"newBalance": 1300}, r
    g = api("GET", "/balance?userId=" + u)
    assert g.status == 200 and g.json == {"currentBalance": 1300}, g
    g = api("GET", "/balance", {"userId": u})
    assert g.status == 200 and g.json == {"currentBalance": 1300}, g
    assert ledger(u) == [("CHARGE", "1234"), ("CHARGE", "66")]


@pytest.mark.parametrize("amount", [0, -1, 10000001, 2 ** 63, -2 ** 63])
def test_charge_out_of_range_is_422_and_changes_nothing(amount):
    u = funded_user(10)
    r = charge(u, amount)
    assert_error(r, 422, "INVALID_AMOUNT")
    assert balance_of(u) == 10 and len(ledger(u)) == 1


def test_charge_at_the_ceiling_is_accepted():
    u = new_user()
    mx = conf_int("max_charge_amount", 10000000)
    assert charge(u, mx).json == {"newBalance": mx}


def test_balance_ceiling_is_422_balance_limit_exceeded():
    u = funded_user(1)
    mx = conf_int("max_balance", 10 ** 12)
    sql("UPDATE users SET balance = %d WHERE id = %s;"
        "INSERT INTO balance_ledger (user_id, delta, kind) VALUES (%s, %d,"
        " 'CHARGE')" % (mx - 5, uhex(u), uhex(u), mx - 6))
    assert_error(charge(u, 6), 422, "BALANCE_LIMIT_EXCEEDED")
    assert balance_of(u) == mx - 5
    assert charge(u, 5).json == {"newBalance": mx}


def test_fifty_concurrent_charges_add_exactly():
    u = funded_user(1)
    res = parallel(50, lambda i: charge(u, 1000))
    assert [r.status for r in res] == [200] * 50, [r for r in res
                                                   if r.status != 200]
    assert sorted(r.json["newBalance"] for r in res) == \
        [1 + 1000 * i for i in range(1, 51)]
    assert balance_of(u) == 50001
    assert scalar("SELECT COUNT(*) FROM balance_ledger WHERE user_id = %s"
                  " AND kind = 'CHARGE' AND delta = 1000" % uhex(u)) == "50"


def test_charge_idempotency_key_replays_and_charges_once():
    u = new_user()
    key = {"Idempotency-Key": "charge-" + u}
    a = charge(u, 700, key)
    b = charge(u, 700, key)
    assert a.status == b.status == 200
    assert a.json == b.json == {"newBalance": 700}
    assert b.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in a.headers
    assert balance_of(u) == 700
    assert_error(charge(u, 701, key), 422, "IDEMPOTENCY_KEY_REUSED")
    assert balance_of(u) == 700
    # another key is another request
    assert charge(u, 700, {"Idempotency-Key": "other-" + u}).json == \
        {"newBalance": 1400}


def test_concurrent_duplicates_with_one_key_execute_once():
    u = new_user()
    key = {"Idempotency-Key": "dup-" + u}
    res = parallel(10, lambda i: charge(u, 500, key))
    # exactly one executes; the others replay its answer or find it in progress
    original = [r for r in res if r.status == 200
                and "idempotent-replayed" not in r.headers]
    assert len(original) == 1, res
    for r in res:
        if r.status == 200:
            assert r.json == {"newBalance": 500}, r
            if r is not original[0]:
                assert r.headers.get("idempotent-replayed") == "true", r
        else:
            assert_error(r, 409, "IDEMPOTENCY_IN_PROGRESS")
    assert balance_of(u) == 500
    assert len(ledger(u)) == 1


# ---------------------------------------------------------------- payments

def test_full_flow_token_hold_charge_pay():
    user = new_user()
    tok = active_token(user)
    d = fresh_date(seats=2, price=lambda n: 30000)
    h = hold(tok, d, 2)
    assert h.status == 201, h
    rid = h.json["reservationId"]
    assert charge(user, 100000).json == {"newBalance": 100000}
    r = pay(tok, rid, 30000)
    assert r.status == 201, r
    b = r.json
    assert b["status"] == "success" and b["reservationId"] == rid
    assert b["amount"] == 30000 and b["balance"] == 70000
    assert len(b["paymentId"]) == 36
    assert api("GET", "/balance?userId=" + user).json == \
        {"currentBalance": 70000}
    assert res_state(rid) == "1" and seat_state(d, 2) == "2"
    assert api("GET", "/reservations/seats?date=" + d).json[1]["available"] \
        is False
    assert ledger(user) == [("CHARGE", "100000"), ("PAYMENT", "-30000")]
    assert sql("SELECT HEX(id), amount FROM payments WHERE reservation_id ="
               " %s" % uhex(rid)) == [(b["paymentId"].replace("-", "")
                                       .upper(), "30000")]
    # no other live hold: the admission ends
    g = api("GET", "/token?token=" + tok)
    assert g.json["status"] == "EXPIRED", g
    # paying again: the token is gone first
    assert_error(pay(tok, rid, 30000), 403, "TOKEN_EXPIRED")
    check_invariants()


def test_token_stays_active_while_another_hold_is_live():
    user = funded_user(10 ** 6)
    d = fresh_date(seats=2, price=lambda n: 1000)
    tok = active_token(user)
    h1, h2 = hold(tok, d, 1), hold(tok, d, 2)
    assert h1.status == h2.status == 201, (h1, h2)
    assert pay(tok, h1.json["reservationId"], 1000).status == 201
    assert api("GET", "/token?token=" + tok).json["status"] == "ACTIVE"
    assert pay(tok, h2.json["reservationId"], 1000).status == 201
    assert api("GET", "/token?token=" + tok).json["status"] == "EXPIRED"
    # a new token can be issued afterwards
    r = api("POST", "/token", {"userId": user})
    assert r.status == 201 and r.json["token"] != tok, r


def test_paying_twice_is_409_already_paid():
    user = funded_user(10 ** 6)
    d = fresh_date(seats=2, price=lambda n: 1000)
    tok = active_token(user)
    h1 = hold(tok, d, 1)
    assert h1.status == 201, h1
    assert hold(tok, d, 2).status == 201  # keeps the token active
    assert pay(tok, h1.json["reservationId"], 1000).status == 201
    assert_error(pay(tok, h1.json["reservationId"], 1000), 409,
                 "ALREADY_PAID")
    assert balance_of(user) == 10 ** 6 - 1000


def test_insufficient_balance_is_402_and_changes_nothing():
    user, tok, d, h = held(price=50000, fund=49999)
    r = pay(tok, h["reservationId"], 50000)
    assert_error(r, 402, "INSUFFICIENT_BALANCE")
    assert balance_of(user) == 49999
    assert res_state(h["reservationId"]) == "0" and seat_state(d) == "1"
    assert scalar("SELECT COUNT(*) FROM payments WHERE reservation_id = %s"
                  % uhex(h["reservationId"])) == "0"
    assert len(ledger(user)) == 1
    assert api("GET", "/token?token=" + tok).json["status"] == "ACTIVE"
    # topping up makes it payable
    assert charge(user, 1).json == {"newBalance": 50000}
    assert pay(tok, h["reservationId"], 50000).status == 201
    assert balance_of(user) == 0


def test_user_without_balance_row_gets_402():
    # a user registered by POST /token only has balance 0
    user, tok, d, h = held(price=1000)
    assert_error(pay(tok, h["reservationId"], 1000), 402,
                 "INSUFFICIENT_BALANCE")
    assert seat_state(d) == "1"


@pytest.mark.parametrize("delta", [-1, 1, 49999])
def test_amount_mismatch_is_422(delta):
    user, tok, d, h = held(price=50000, fund=200000)
    assert_error(pay(tok, h["reservationId"], 50000 + delta), 422,
                 "AMOUNT_MISMATCH")
    assert balance_of(user) == 200000 and res_state(h["reservationId"]) \
        == "0"


def test_someone_elses_reservation_is_403():
    owner, otok, d, h = held(price=1000, fund=5000)
    thief = funded_user(5000)
    ttok = active_token(thief)
    assert_error(pay(ttok, h["reservationId"], 1000), 403,
                 "NOT_RESERVATION_OWNER")
    assert balance_of(thief) == 5000 and balance_of(owner) == 5000
    assert res_state(h["reservationId"]) == "0"


def test_unknown_reservation_is_404():
    tok = active_token(funded_user(5000))
    assert_error(pay(tok, new_user(), 1000), 404, "RESERVATION_NOT_FOUND")


def test_expired_hold_is_409_and_takes_no_money():
    user, tok, d, h = held(price=1000, fund=5000)
    sql("UPDATE reservations SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE id = %s" % uhex(h["reservationId"]))
    assert_error(pay(tok, h["reservationId"], 1000), 409,
                 "RESERVATION_EXPIRED")
    assert balance_of(user) == 5000
    assert res_state(h["reservationId"]) != "1" and seat_state(d) != "2"


def test_payment_with_waiting_or_missing_token_is_refused():
    user, tok, d, h = held(price=1000, fund=5000)
    r = api("POST", "/payments", {"reservationId": h["reservationId"],
                                  "amount": 1000})
    assert_error(r, 401, "TOKEN_REQUIRED")
    with QueueLock():
        sql("UPDATE queue_tokens SET state = 0 WHERE token = UNHEX('%s')"
            % tok)
        r = pay(tok, h["reservationId"], 1000)
    assert_error(r, 403, "TOKEN_NOT_ACTIVE")
    assert balance_of(user) == 5000


def test_concurrent_double_payment_takes_money_once():
    user, tok, d, h = held(price=40000, fund=100000)
    rid = h["reservationId"]
    res = parallel(10, lambda i: pay(tok, rid, 40000))
    ok = [r for r in res if r.status == 201]
    assert len(ok) == 1, [(r.status, r.text) for r in res]
    for r in res:
        if r.status != 201:
            # a loser sees the paid reservation, or the token the payment
            # ended, depending on when it read the token
            assert (r.status, r.error_code) in {(409, "ALREADY_PAID"),
                                                (403, "TOKEN_EXPIRED")}, r
            assert_error(r, r.status, r.error_code)
    assert balance_of(user) == 60000
    assert scalar("SELECT COUNT(*) FROM payments WHERE reservation_id = %s"
                  % uhex(rid)) == "1"
    assert len(ledger(user)) == 2
    check_invariants()


def test_payment_idempotency_key_replays_same_payment():
    user, tok, d, h = held(price=2000, fund=10000, seats=2)
    assert hold(tok, d, 2).status == 201  # keep the token ACTIVE afterwards
    key = {"Idempotency-Key": "pay-" + h["reservationId"]}
    a = pay(tok, h["reservationId"], 2000, key)
    b = pay(tok, h["reservationId"], 2000, key)
    assert a.status == b.status == 201, (a, b)
    assert a.json == b.json
    assert b.headers.get("idempotent-replayed") == "true"
    assert balance_of(user) == 8000
    r = pay(tok, h["reservationId"], 2001, key)
    assert_error(r, 422, "IDEMPOTENCY_KEY_REUSED")
    assert balance_of(user) == 8000


def test_payment_replay_works_after_the_token_ended():
    user, tok, d, h = held(price=2000, fund=10000)
    key = {"Idempotency-Key": "pay2-" + h["reservationId"]}
    a = pay(tok, h["reservationId"], 2000, key)
    assert a.status == 201, a
    assert api("GET", "/token?token=" + tok).json["status"] == "EXPIRED"
    b = pay(tok, h["reservationId"], 2000, key)     # a client retry
    assert (b.status, b.json) == (a.status, a.json), b
    assert balance_of(user) == 8000


def test_concurrent_payments_with_one_key_execute_once():
    user, tok, d, h = held(price=3000, fund=10000)
    key = {"Idempotency-Key": "paydup-" + h["reservationId"]}
    res = parallel(10, lambda i: pay(tok, h["reservationId"], 3000, key))
    first = [r for r in res if r.status == 201
             and "idempotent-replayed" not in r.headers]
    assert len(first) == 1, [(r.status, r.text) for r in res]  # one execution
    for r in res:
        if r.status == 201:
            assert r.json == first[0].json
            if r is not first[0]:
                assert r.headers.get("idempotent-replayed") == "true", r
        else:
            assert_error(r, 409, "IDEMPOTENCY_IN_PROGRESS")
    assert balance_of(user) == 7000
    assert scalar("SELECT COUNT(*) FROM payments WHERE reservation_id = %s"
                  % uhex(h["reservationId"])) == "1"


def test_failed_payment_is_replayed_too_and_changes_nothing():
    user, tok, d, h = held(price=5000, fund=100)
    key = {"Idempotency-Key": "poor-" + h["reservationId"]}
    a = pay(tok, h["reservationId"], 5000, key)
    assert_error(a, 402, "INSUFFICIENT_BALANCE")
    assert charge(user, 10000).json == {"newBalance": 10100}
    b = pay(tok, h["reservationId"], 5000, key)
    assert (b.status, b.json) == (a.status, a.json)
    assert balance_of(user) == 10100 and res_state(h["reservationId"]) == "0"
    # a fresh key pays
    assert pay(tok, h["reservationId"], 5000).status == 201


def test_payment_versus_expiry_race_resolves_one_way():
    """The hold's deadline is set ~300 ms ahead and the payment fired
    around it: either paid (CONFIRMED, SOLD, money taken) or 409 with
    nothing taken -- never both, never neither."""
    outcomes = {"paid": 0, "expired": 0}
    for i in range(20):
        user, tok, d, h = held(price=1000, fund=1000)
        rid = h["reservationId"]
        ms = random.randint(200, 400)
        sql("UPDATE reservations SET expires_at = UTC_TIMESTAMP(3) +"
            " INTERVAL %d MICROSECOND WHERE id = %s; UPDATE seats SET"
            " hold_expires_at = UTC_TIMESTAMP(3) + INTERVAL %d MICROSECOND"
            " WHERE concert_date = '%s'" % (ms * 1000, uhex(rid), ms * 1000,
                                            d))
        time.sleep(max(0, (ms + random.randint(-150, 100)) / 1000.0 - 0.02))
        r = pay(tok, rid, 1000)
        st, seat, bal = res_state(rid), seat_state(d), balance_of(user)
        npay = scalar("SELECT COUNT(*) FROM payments WHERE reservation_id ="
                      " %s" % uhex(rid))
        if r.status == 201:
            outcomes["paid"] += 1
            assert (st, seat, bal, npay) == ("1", "2", 0, "1"), (r, st, seat,
                                                                 bal)
        else:
            outcomes["expired"] += 1
            assert_error(r, 409, "RESERVATION_EXPIRED")
            assert st != "1" and seat != "2" and bal == 1000 and npay == "0"
            # the lazily freed seat can be taken by somebody else now
            t2 = active_token(new_user())
            assert hold(t2, d, 1).status == 201
    check_invariants()
    print("payment/expiry race outcomes:", outcomes)


def test_payment_versus_rehold_race():
    """Expired hold: the old owner pays while a new user holds the seat at
    the same moment.  At most one of them gets the seat and the payer is
    charged only if the seat became SOLD to them."""
    for i in range(8):
        user, tok, d, h = held(price=1000, fund=1000)
        t2 = active_token(new_user())
        sql("UPDATE reservations SET expires_at = UTC_TIMESTAMP(3) +"
            " INTERVAL 150000 MICROSECOND WHERE id = %s; UPDATE seats SET"
            " hold_expires_at = UTC_TIMESTAMP(3) + INTERVAL 150000"
            " MICROSECOND WHERE concert_date = '%s'" % (
                uhex(h["reservationId"]), d))
        time.sleep(0.13 + random.random() * 0.04)
        a, b = parallel(2, lambda k: pay(tok, h["reservationId"], 1000)
                        if k == 0 else hold(t2, d, 1))
        # at most one gets the seat: the payment before the deadline, or the
        # new hold after it (a hold that came before the deadline and a
        # payment after it both fail)
        owner = scalar("SELECT HEX(reservation_id) FROM seats WHERE"
                       " concert_date = '%s' AND seat_number = 1" % d)
        if a.status == 201:
            assert_error(b, 409, "SEAT_UNAVAILABLE")
            assert balance_of(user) == 0
            assert owner == h["reservationId"].replace("-", "").upper()
        else:
            assert_error(a, 409, "RESERVATION_EXPIRED")
            assert balance_of(user) == 1000
            if b.status == 201:
                assert owner == b.json["reservationId"].replace("-", "").upper()
            else:
                assert_error(b, 409, "SEAT_UNAVAILABLE")
    check_invariants()


def test_kill_worker_mid_payment_burst_keeps_invariants():
    pids = concertd_worker_pids()
    if not pids:
        pytest.skip("no concertd workers found")
    n = 40
    pairs = active_tokens(n)
    setups = [u for u, _ in pairs]
    toks = [t for _, t in pairs]
    for u in setups:
        assert charge(u, 5000).json == {"newBalance": 5000}
    d = fresh_date(seats=n, price=lambda k: 1000)
    rids = []
    for i, t in enumerate(toks):
        r = hold(t, d, i + 1)
        assert r.status == 201, r
        rids.append(r.json["reservationId"])
    killed = []

    def one(i):
        if i == n:                       # the killer, released with the burst
            time.sleep(0.003)
            for p in random.sample(pids, min(2, len(pids))):
                try:
                    os.kill(p, signal.SIGKILL)
                    killed.append(p)
                except ProcessLookupError:
                    pass
            return None
        try:
            return pay(toks[i], rids[i], 1000, timeout=15)
        except Exception as e:           # connection cut by the kill
            return e
    results = parallel(n + 1, one)[:n]
    assert killed, "no worker was killed"
    # every request answered somehow: paid, or its worker killed under it
    # (nginx answers 502; the payment may or may not have committed);
    # no 2xx without the effects
    for i, r in enumerate(results):
        if isinstance(r, Exception):
            continue
        if r.status == 201:
            assert res_state(rids[i]) == "1"
            assert balance_of(setups[i]) == 4000
        else:
            assert_error(r, 502)
    # the master respawns workers and the service answers again
    wait_until(lambda: api("GET", "/ping").status == 200, 15, 0.1,
               "concertd to answer after the kill")
    wait_until(lambda: len(concertd_worker_pids()) == len(pids), 15, 0.1,
               "workers to be respawned")
    # whatever was not paid can be paid now (or is already paid)
    for i in range(n):
        if res_state(rids[i]) == "0":
            r = pay(toks[i], rids[i], 1000)
            assert r.status == 201, r
        assert balance_of(setups[i]) == 4000
    check_invariants()
