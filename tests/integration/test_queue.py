"""The waiting queue end to end: real nginx -> concertd workers -> MariaDB,
Kafka -> concert-consumer (admission, lapse, hold expiry).

Every test runs in its own isolated stack (isolated.py): own database, own
topics and consumer group, own small cap and short TTLs.

Invariants checked from the database, not only from samples:
- cap: the intervals [activated_at, expires_at) of every token ever
  admitted never overlap more than max_active_tokens deep.  A release sets
  expires_at to the release time and a lapse happens at expires_at, and
  the consumer admits only after it has seen the slot free, so this is
  exact up to the millisecond clock.
- FIFO: in seq order, no WAITING token precedes an admitted one (the
  admitted set is a prefix of the arrival order).
"""

import math
import os
import random
import signal
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import QueueLock, mint_token, wait_until  # noqa: E402
from isolated import isolated_stack  # noqa: E402

TOKEN = "/api/v1/token"
WAITING, ACTIVE, EXPIRED = "0", "1", "2"


def issue(st, user=None):
    """POST /token for a new user (or one whose token ended): a new token."""
    user = user or str(uuid.uuid4())
    status, body = st.post(TOKEN, {"userId": user})
    assert status == 201, (status, body)
    return body


def expected_wait(st, position, max_active, active_ttl):
    """remainingTime of a WAITING token at position (src/queue.c): position
    over the measured admission rate, or over max_active / active_ttl before
    one is known; at least 1.  Call it under QueueLock(st.db)."""
    w = st.scalar("SELECT CEIL(%d / NULLIF(admit_rate, 0)) FROM queue_state"
                  % position)
    if w is None:
        w = math.ceil(position / (max_active / active_ttl))
    return max(1, int(w))


def seconds_left(st, token):
    """CEIL of the seconds before token's expires_at (remainingTime while ACTIVE)."""
    return int(st.scalar(
        "SELECT IFNULL(CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3),"
        " expires_at) / 1000000), 0) FROM queue_tokens WHERE token = UNHEX('%s')"
        % token))


def poll(st, token, bearer=False):
    if bearer:
        return st.get(TOKEN, token=token)
    return st.get(TOKEN + "?token=" + token)


def release(st, token):
    status, body = st.request("DELETE", TOKEN, token=token)
    assert status == 200, (status, body)
    assert body["status"] == "EXPIRED", body
    return body


def states(st):
    """[(seq, state, token_hex)] in seq order."""
    return [(int(s), state, tok) for s, state, tok in st.sql(
        "SELECT seq, state, LOWER(HEX(token)) FROM queue_tokens ORDER BY seq")]


def active_count(st):
    return int(st.scalar("SELECT COUNT(*) FROM queue_tokens WHERE state = 1"))


def assert_fifo_prefix(st):
    """No WAITING token has a smaller seq than an admitted one."""
    rows = st.sql("SELECT seq, state, activated_at IS NOT NULL "
                  "FROM queue_tokens ORDER BY seq")
    seen_waiting = None
    for seq, state, admitted in rows:
        if state == WAITING:
            seen_waiting = seen_waiting or int(seq)
        elif admitted == "1" and seen_waiting is not None:
            raise AssertionError("token seq %s admitted while seq %d still "
                                 "waits" % (seq, seen_waiting))


def max_overlap(st):
    """Deepest overlap of admission intervals over the whole history."""
    # TIMESTAMPDIFF from a fixed point: independent of the session zone.
    rows = st.sql(
        "SELECT TIMESTAMPDIFF(MICROSECOND, '2000-01-01', activated_at), "
        "TIMESTAMPDIFF(MICROSECOND, '2000-01-01', expires_at) "
        "FROM queue_tokens WHERE activated_at IS NOT NULL")
    ev = []
    for a, e in rows:
        ev.append((float(a), 1))
        ev.append((float(e), -1))
    # Ends sort before starts at the same instant: [a, e) is half-open.
    ev.sort(key=lambda x: (x[0], x[1]))
    depth = best = 0
    for _, d in ev:
        depth += d
        best = max(best, depth)
    return best


class Sampler(threading.Thread):
    """Reads the ACTIVE count from SQL until stopped; keeps the maximum."""

    def __init__(self, st):
        super().__init__(daemon=True)
        self.st = st
        self.max = 0
        self.samples = 0
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                n = active_count(self.st)
            except AssertionError:
                break           # stack going away after a failure
            self.max = max(self.max, n)
            self.samples += 1

    def stop(self):
        self.stop_ev.set()
        self.join(10)
        return self.max


# ---------------------------------------------------------------- tests


def test_admission_is_fifo_over_a_few_hundred_users():
    cap, n = 10, 300
    with isolated_stack(max_active_tokens=cap, active_ttl_seconds=600) as st:
        order = [issue(st)["token"] for _ in range(n)]
        # Sequential issue: seq order is issue order.
        assert [t for _, _, t in states(st)] == order
        wait_until(lambda: active_count(st) == cap, 10, what="cap admitted")
        released = 0
        while released < n:
            active = [t for _, s, t in states(st) if s == ACTIVE]
            batch = active[:random.randint(1, len(active))]
            for t in batch:
                release(st, t)
            released += len(batch)
            want = min(cap, n - released)
            wait_until(lambda: active_count(st) == want, 10,
                       what="%d active after %d released" % (want, released))
            assert_fifo_prefix(st)
            # The admitted set is exactly the first `released + want`
            # tokens of the issue order.
            admitted = {t for _, s, t in states(st) if s != WAITING}
            assert admitted == set(order[:released + want])
            # A waiting user's place is seq-based: first waiter is 1st.
            # (A WAITING poll reads the host's counters, refreshed within
            # 250 ms: the place is right within a second.)
            if released + want < n:
                nxt = order[released + want]
                wait_until(lambda: poll(st, nxt)[1]["queuePosition"] == 1,
                           1.0, what="first waiter at place 1")
                assert poll(st, nxt)[1]["status"] == "WAITING"
        assert max_overlap(st) <= cap


def test_cap_holds_under_concurrent_issuance_with_three_consumers():
    cap = 10
    with isolated_stack(consumers=3, max_active_tokens=cap,
                        active_ttl_seconds=600) as st:
        sampler = Sampler(st)
        sampler.start()
        with ThreadPoolExecutor(50) as ex:
            bodies = list(ex.map(lambda _: issue(st), range(200)))
        assert len({b["token"] for b in bodies}) == 200
        wait_until(lambda: active_count(st) == cap, 10, what="cap admitted")
        # Churn: release admitted users concurrently for a while, so all
        # three consumers admit at once.
        deadline = time.monotonic() + 6

        def churn(_):
            while time.monotonic() < deadline:
                act = [t for _, s, t in states(st) if s == ACTIVE]
                if act:
                    st.request("DELETE", TOKEN, token=random.choice(act))
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(churn, range(4)))
        peak = sampler.stop()
        assert sampler.samples > 20
        assert peak <= cap, "sampled %d ACTIVE tokens, cap %d" % (peak, cap)
        assert max_overlap(st) <= cap
        assert_fifo_prefix(st)
        # All three consumers did admit (the row lock, not luck, kept the
        # cap): each logged at least one admission.
        logs = [open(st.consumer_log(i)).read() for i in range(3)]
        assert ["admitted" in x for x in logs] == [True] * 3, logs


def test_release_promotes_next_user_within_two_seconds():
    with isolated_stack(max_active_tokens=2, active_ttl_seconds=600,
                        sweep_interval_ms=5000) as st:
        a, b, c = issue(st), issue(st), issue(st)
        wait_until(lambda: poll(st, b["token"])[1]["status"] == "ACTIVE", 10,
                   what="b admitted")
        with QueueLock(st.db):
            body = poll(st, c["token"])[1]
            wait = expected_wait(st, 1, 2, 600)
        assert body["status"] == "WAITING" and body["queuePosition"] == 1
        assert body["remainingTime"] == wait, (body, wait)
        t0 = time.monotonic()
        release(st, a["token"])
        # The sweep runs every 5 s here: only the token.released event
        # can make this fast.
        wait_until(lambda: poll(st, c["token"], bearer=True)[1]["status"]
                   == "ACTIVE", 5, interval=0.02, what="c admitted")
        assert time.monotonic() - t0 < 2.0
        status, body = poll(st, a["token"])
        assert status == 200 and body["status"] == "EXPIRED"


def test_unused_admission_lapses_and_next_user_is_admitted():
    ttl = 2
    with isolated_stack(max_active_tokens=1, active_ttl_seconds=ttl) as st:
        a, b = issue(st), issue(st)
        wait_until(lambda: poll(st, a["token"])[1]["status"] == "ACTIVE", 10,
                   what="a admitted")
        hi = seconds_left(st, a["token"])
        body = poll(st, a["token"])[1]
        lo = seconds_left(st, a["token"])
        assert body["status"] == "ACTIVE" and body["queuePosition"] == 0, body
        assert lo <= body["remainingTime"] <= hi <= ttl, (lo, body, hi)
        assert poll(st, b["token"])[1]["status"] == "WAITING"
        wait_until(lambda: poll(st, b["token"])[1]["status"] == "ACTIVE",
                   ttl + 5, what="b admitted after a lapsed")
        assert poll(st, a["token"])[1]["status"] == "EXPIRED"
        assert st.scalar("SELECT state FROM queue_tokens WHERE token = "
                         "UNHEX('%s')" % a["token"]) == EXPIRED
        # a's lapse, and nothing else yet (b was just admitted)
        assert int(st.scalar("SELECT expired_total FROM queue_state")) == 1
        # A lapsed user may queue again: a new token, at the back.
        again = issue(st, st.scalar(
            "SELECT LOWER(INSERT(INSERT(INSERT(INSERT(HEX(user_id),"
            "9,0,'-'),14,0,'-'),19,0,'-'),24,0,'-')) FROM queue_tokens "
            "WHERE token = UNHEX('%s')" % a["token"]))
        assert again["token"] != a["token"]


def test_same_user_gets_same_token_under_concurrent_posts():
    with isolated_stack(max_active_tokens=1, active_ttl_seconds=600) as st:
        issue(st)                               # fills the only slot
        user = str(uuid.uuid4())
        with ThreadPoolExecutor(20) as ex:
            res = list(ex.map(lambda _: st.post(TOKEN, {"userId": user}),
                              range(20)))
        statuses = sorted(s for s, _ in res)
        assert statuses.count(201) == 1 and statuses.count(200) == 19, \
            statuses
        assert len({b["token"] for _, b in res}) == 1
        assert len({b["queuePosition"] for _, b in res}) == 1
        assert int(st.scalar("SELECT COUNT(*) FROM queue_tokens WHERE "
                             "state IN (0, 1)")) == 2


def test_position_is_seq_based_and_polling_stays_fast_with_100k_waiting():
    n = 100_000
    with isolated_stack(max_active_tokens=1, active_ttl_seconds=600) as st:
        first = issue(st)
        wait_until(lambda: poll(st, first["token"])[1]["status"] == "ACTIVE",
                   10, what="first admitted")
        # 100k waiting users straight into the table (the line is long
        # before we join it).
        st.sql("INSERT INTO queue_tokens (token, user_id, live_user) "
               "SELECT UNHEX(MD5(CONCAT('t', seq))), "
               "UNHEX(MD5(CONCAT('u', seq))), UNHEX(MD5(CONCAT('u', seq))) "
               "FROM seq_1_to_%d" % n)
        me = issue(st)
        serving = int(st.scalar("SELECT serving_seq FROM queue_state"))
        my_seq = int(st.scalar("SELECT seq FROM queue_tokens WHERE token = "
                               "UNHEX('%s')" % me["token"]))
        assert me["status"] == "WAITING"
        assert me["queuePosition"] == my_seq - serving >= n
        # One from the middle of the line.
        # Rows written by hand carry no signed token: mint the one a
        # worker would have handed out for that seq.
        mid_seq = int(st.scalar("SELECT seq FROM queue_tokens "
                                "WHERE token = UNHEX(MD5('t50000'))"))
        assert poll(st, mint_token(mid_seq))[1]["queuePosition"] == \
            mid_seq - serving
        times = []
        with QueueLock(st.db):      # the measured rate cannot move meanwhile
            wait = expected_wait(st, my_seq - serving, 1, 600)
            for _ in range(200):
                t0 = time.perf_counter()
                status, body = poll(st, me["token"], bearer=True)
                times.append(time.perf_counter() - t0)
                assert status == 200
                assert body["queuePosition"] == my_seq - serving
                assert body["remainingTime"] == wait, (body, wait)
        p50 = statistics.median(times)
        # Loose bound: O(1) is what is checked; a COUNT over 100k rows
        # per poll would be far slower on any machine.
        assert p50 < 0.05, "p50 poll %.1f ms" % (p50 * 1000)
        status, body = poll(st, "0" * 32)
        assert status == 401 and body["error"]["code"] == "TOKEN_INVALID"
        # Signed, for a seq that never existed, beyond the window the
        # host's counters cover: the database says so.
        status, body = poll(st, mint_token(10 ** 12))
        assert status == 404 and body["error"]["code"] == "TOKEN_NOT_FOUND"


def test_kill9_consumer_mid_admission_keeps_cap_and_fifo():
    cap, n = 10, 150
    with isolated_stack(consumers=3, max_active_tokens=cap,
                        active_ttl_seconds=600) as st:
        for _ in range(n):
            issue(st)
        wait_until(lambda: active_count(st) == cap, 10, what="cap admitted")
        sampler = Sampler(st)
        sampler.start()
        stop = threading.Event()

        released = []

        def burst():
            # 60 releases over ~3 s, so that admissions are in flight
            # when the consumers die and 80 users still wait afterwards.
            while not stop.is_set() and len(released) < 60:
                act = [t for _, s, t in states(st) if s == ACTIVE]
                for t in act[:5]:
                    st.request("DELETE", TOKEN, token=t)
                    released.append(t)
                time.sleep(0.2)
        th = threading.Thread(target=burst, daemon=True)
        th.start()
        time.sleep(1.0)
        st.kill_consumer(0, signal.SIGKILL)
        time.sleep(1.5)
        st.kill_consumer(1, signal.SIGKILL)
        time.sleep(1.0)
        stop.set()
        th.join(10)
        st.start_consumer(0)
        st.start_consumer(1)
        remaining = int(st.scalar(
            "SELECT COUNT(*) FROM queue_tokens WHERE state IN (0, 1)"))
        want = min(cap, remaining)
        wait_until(lambda: active_count(st) == want, 15,
                   what="settled at %d active" % want)
        peak = sampler.stop()
        assert peak <= cap, "sampled %d ACTIVE tokens, cap %d" % (peak, cap)
        assert max_overlap(st) <= cap
        assert_fifo_prefix(st)
        assert len(released) >= 30
        # nobody joined or left since: the others still wait, and some do
        assert remaining > cap
        assert int(st.scalar("SELECT COUNT(*) FROM queue_tokens "
                             "WHERE state = 0")) == remaining - cap


def test_queue_keeps_serving_with_consumers_down_and_resumes_after():
    with isolated_stack(max_active_tokens=2, active_ttl_seconds=600) as st:
        a, b = issue(st), issue(st)
        wait_until(lambda: active_count(st) == 2, 10, what="a, b admitted")
        st.kill_consumer(0, signal.SIGTERM)
        assert st.consumers[0] is None
        # Issuing, polling and leaving work without any consumer.
        waiting = [issue(st) for _ in range(3)]
        assert [w["queuePosition"] for w in waiting] == [1, 2, 3]
        assert all(w["status"] == "WAITING" for w in waiting)
        release(st, a["token"])
        time.sleep(2.0)
        assert poll(st, waiting[0]["token"])[1]["status"] == "WAITING"
        assert active_count(st) == 1
        # Back up: the first pass / sweep admits without needing any event.
        st.start_consumer(0)
        wait_until(lambda: poll(st, waiting[0]["token"])[1]["status"]
                   == "ACTIVE", 5, what="admission resumed")
        assert poll(st, waiting[1]["token"])[1]["status"] == "WAITING"
        assert poll(st, waiting[1]["token"])[1]["queuePosition"] == 1
        assert poll(st, b["token"])[1]["status"] == "ACTIVE"
        # The consumer shut down cleanly on SIGTERM earlier.
        assert "stopped" in open(st.consumer_log(0)).read()


def test_unpaid_hold_is_expired_and_seat_released():
    with isolated_stack(demo=True, max_active_tokens=5, hold_ttl_seconds=2,
                        active_ttl_seconds=600, sweep_interval_ms=10000) as st:
        tok = issue(st)["token"]
        wait_until(lambda: poll(st, tok)[1]["status"] == "ACTIVE", 10,
                   what="admitted")
        date, seat = st.sql("SELECT concert_date, MIN(seat_number) FROM seats "
                            "WHERE concert_date > UTC_DATE() GROUP BY "
                            "concert_date ORDER BY concert_date LIMIT 1")[0]
        status, body = st.post("/api/v1/reservations",
                               {"date": date, "seatNumber": int(seat),
                                "token": tok})
        assert status == 201, body
        rid = body["reservationId"].replace("-", "")
        q = ("SELECT r.state, s.state, s.reservation_id IS NULL FROM "
             "reservations r JOIN seats s ON s.concert_date = r.concert_date "
             "AND s.seat_number = r.seat_number WHERE r.id = UNHEX('%s')"
             % rid)
        assert st.sql(q)[0] == ("0", "1", "0")
        # The sweep is 10 s away: the seat.held event's deadline does it.
        t0 = time.monotonic()
        wait_until(lambda: st.sql(q)[0] == ("2", "0", "1"), 6,
                   what="hold expired by the consumer")
        assert time.monotonic() - t0 < 4.0
        log = open(st.consumer_log(0)).read()
        assert "hold expired" in log
