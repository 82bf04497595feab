"""A pre-queue for the opening (issue 12, part 5).

A concert whose on_sale_at is in the future takes joins into a pre-queue:
no place yet (queuePosition null, opensAt).  At the opening the consumer
draws their order once, from a recorded seed (src/consumer/shuffle.h),
gives them seqs 1..n, and everyone after joins behind them in arrival
order.

Through every front door (nginx, Apache) on the suite's stack: the
pre-queue's answers, one live token per user, a pre-queue token that
cannot hold, leaving it, and the default concert unchanged.  In isolated
stacks (own database and consumers): the draw at the opening, its
recomputation from the seed (here in Python, and by `concert-consumer
--verify-draw`), joins after the opening, and two consumers racing for one
draw.
"""
import hashlib
import hmac
import random
import signal
import subprocess
import threading
import time
import uuid

import pytest

from helpers import api, assert_error, new_user, scalar, sql, uhex, wait_until
import fcgi_client
from isolated import isolated_stack, _binary

_my_concerts = []


def _concert_opening_in(seconds):
    for _ in range(50):
        cid = random.randint(1000, 60000)
        n = scalar("INSERT IGNORE INTO concerts (id, title, venue, on_sale_at) VALUES"
                   " (%d, 'pre %d', 'hall', UTC_TIMESTAMP(3) + INTERVAL %d SECOND);"
                   " SELECT ROW_COUNT();" % (cid, cid, seconds))
        if n == "1":
            _my_concerts.append(cid)
            return cid
    raise AssertionError("no free concert id")


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    for cid in _my_concerts:
        sql("UPDATE queue_tokens SET state = 2, live_user = NULL,"
            " expires_at = UTC_TIMESTAMP(3) WHERE concert_id = {c}"
            " AND state IN (0, 1); UPDATE concerts SET on_sale_at = NULL"
            " WHERE id = {c}".format(c=cid))


def _join(user, concert, base=None, post=None):
    body = {"userId": user, "concertId": concert}
    if post is not None:
        return post("/api/v1/token", body)
    r = api("POST", "/token", body, base=base)
    return r.status, r.json


def _assert_prequeue(body):
    assert body["status"] == "WAITING", body
    assert body["queuePosition"] is None, body
    assert body["opensAt"] and body["opensAt"].endswith("Z"), body
    assert body["pollAfterSeconds"] >= 1 and body["remainingTime"] >= 1, body


# --------------------------------------------------------------- every door

def test_joins_before_the_opening_wait_in_the_pre_queue(web):
    cid = _concert_opening_in(3600)
    u = new_user()
    status, a = _join(u, cid, base=web)
    assert status == 201, a
    _assert_prequeue(a)
    # pollAfterSeconds: at most poll_max, the opening an hour away.
    assert a["pollAfterSeconds"] <= 60 and a["remainingTime"] > 3000, a
    r = api("GET", "/token?token=" + a["token"], base=web)
    assert r.status == 200, r
    _assert_prequeue(r.json)
    assert r.json["token"] == a["token"]
    assert r.header("Retry-After") == str(r.json["pollAfterSeconds"]), r
    # No place in the line yet: no seq, a pre-queue number.
    row = sql("SELECT seq, pre_seq, state FROM queue_tokens WHERE token = UNHEX('%s')"
              % a["token"])[0]
    assert int(row[0]) == -int(row[1]) and int(row[1]) >= 1 and row[2] == "0", row
    assert scalar("SELECT next_seq FROM queue_seq WHERE id = %d" % cid) == "0"
    # A second user: the next pre-queue number.
    status, b = _join(new_user(), cid, base=web)
    assert status == 201, b
    _assert_prequeue(b)
    assert scalar("SELECT pre_seq FROM queue_tokens WHERE token = UNHEX('%s')"
                  % b["token"]) == str(int(row[1]) + 1)


def test_one_pre_queue_token_per_user(web):
    cid = _concert_opening_in(3600)
    u = new_user()
    s1, a = _join(u, cid, base=web)
    s2, b = _join(u, cid, base=web)
    assert (s1, s2) == (201, 200), (a, b)
    assert b["token"] == a["token"]
    _assert_prequeue(b)
    assert scalar("SELECT COUNT(*) FROM queue_tokens WHERE concert_id = %d AND user_id = %s"
                  % (cid, uhex(u))) == "1"
    # Leaving, then joining again: a new pre-queue token, still one live.
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + a["token"]}, base=web)
    assert r.status == 200 and r.json["status"] == "EXPIRED" and r.json["reason"] == "left", r
    r = api("GET", "/token?token=" + a["token"], base=web)
    assert r.status == 200 and r.json["status"] == "EXPIRED", r
    s3, c = _join(u, cid, base=web)
    assert s3 == 201 and c["token"] != a["token"], c
    _assert_prequeue(c)
    assert scalar("SELECT COUNT(*) FROM queue_tokens WHERE concert_id = %d AND user_id = %s"
                  " AND state IN (0, 1)" % (cid, uhex(u))) == "1"


def test_a_pre_queue_token_does_not_admit(web):
    cid = _concert_opening_in(3600)
    sql("INSERT INTO concert_dates (concert_id, concert_date) VALUES (%d, '2090-03-04');"
        " INSERT INTO seats (concert_id, concert_date, seat_number, price) VALUES"
        " (%d, '2090-03-04', 1, 500)" % (cid, cid))
    status, a = _join(new_user(), cid, base=web)
    assert status == 201, a
    r = api("POST", "/reservations", {"date": "2090-03-04", "seatNumber": 1,
                                      "token": a["token"], "concertId": cid}, base=web)
    assert_error(r, 403, "TOKEN_NOT_ACTIVE")
    assert r.json["error"]["queuePosition"] is None, r
    assert scalar("SELECT state FROM seats WHERE concert_id = %d" % cid) == "0"
    sql("DELETE FROM seats WHERE concert_id = %d; DELETE FROM concert_dates"
        " WHERE concert_id = %d" % (cid, cid))


def test_a_forged_pre_queue_token_is_refused(web):
    cid = _concert_opening_in(3600)
    status, a = _join(new_user(), cid, base=web)
    assert status == 201
    bad = a["token"][:-1] + ("0" if a["token"][-1] != "0" else "1")
    assert_error(api("GET", "/token?token=" + bad, base=web), 401, "TOKEN_INVALID")


def test_the_default_concert_is_unchanged(web):
    status, a = _join(new_user(), 1, base=web)
    assert status == 201, a
    assert set(a) == {"token", "status", "queuePosition", "remainingTime",
                      "pollAfterSeconds"}, a
    assert isinstance(a["queuePosition"], int) and a["queuePosition"] >= 1, a
    assert scalar("SELECT pre_seq IS NULL AND seq > 0 FROM queue_tokens"
                  " WHERE token = UNHEX('%s')" % a["token"]) == "1"
    assert scalar("SELECT pre_next FROM queue_seq WHERE id = 1") == "0"


# --------------------------------------------------------------- isolated stacks

def _recompute(seed_hex, concert, joins):
    """The documented order (src/consumer/shuffle.h), with Python's hmac."""
    seed = bytes.fromhex(seed_hex)

    def key(j):
        return hmac.new(seed, b"concert-draw-v1" + concert.to_bytes(4, "big")
                        + j.to_bytes(8, "big"), hashlib.sha256).digest()
    return sorted(joins, key=lambda j: (key(j), j))


def _draw(st, cid):
    rows = st.sql("SELECT method, seed, joined, entrants, first_seq, late, entrants_sha256"
                  " FROM queue_draws WHERE concert_id = %d" % cid)
    return rows[0] if rows else None


def _pre_rows(st, cid):
    """[(pre_seq, seq, user hex)] of the concert's pre-queue joins, by pre_seq."""
    return [(int(p), int(s), u) for p, s, u in st.sql(
        "SELECT pre_seq, seq, LOWER(HEX(user_id)) FROM queue_tokens WHERE concert_id = %d"
        " AND pre_seq IS NOT NULL ORDER BY pre_seq" % cid)]


def _open_in(st, cid, seconds):
    st.sql("UPDATE concerts SET on_sale_at = UTC_TIMESTAMP(3) + INTERVAL %d SECOND"
           " WHERE id = %d" % (seconds, cid))


def _seconds_to_opening(st, cid):
    return float(st.scalar("SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), on_sale_at)"
                           " / 1e6 FROM concerts WHERE id = %d" % cid))


def _shm_polls(st):
    """concert_queue_polls_shm_total, from the workers' socket (not proxied)."""
    r = fcgi_client.request(st.sock, "GET", "/metrics", timeout=5)
    assert r.status == 200, r
    line = [x for x in r.body.decode().splitlines()
            if x.startswith("concert_queue_polls_shm_total ")]
    assert line, r.body[:500]
    return int(line[0].split()[1])


def _verify_draw(st, cid):
    r = subprocess.run([_binary("concert-consumer"), "--verify-draw", str(cid)],
                       env=st.env, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_the_opening_draws_once_and_the_order_is_the_seeds():
    with isolated_stack(demo=True, max_active_tokens=1, active_ttl_seconds=600) as st:
        cid = 2
        _open_in(st, cid, 6)
        users = [str(uuid.uuid4()) for _ in range(12)]
        pre = {}
        for u in users:
            status, b = _join(u, cid, post=st.post)
            assert status == 201, b
            _assert_prequeue(b)
            pre[u] = b["token"]
        # One of them leaves before the opening: not an entrant.
        left = users.pop(5)
        status, b = st.request("DELETE", "/api/v1/token", token=pre.pop(left))
        assert status == 200 and b["status"] == "EXPIRED", b
        assert _seconds_to_opening(st, cid) > 0, "joined too slowly: the test needs retuning"
        assert _draw(st, cid) is None
        assert st.scalar("SELECT COUNT(*) FROM queue_tokens WHERE concert_id = %d"
                         " AND state = 1" % cid) == "0"
        wait_until(lambda: _draw(st, cid) is not None, 30, what="the draw")
        method, seed, joined, n, first, late, digest = _draw(st, cid)
        assert (method, int(joined), int(n), int(first), int(late)) == \
            ("hmac-sha256-v1", 12, 11, 1, 0)
        rows = _pre_rows(st, cid)
        entrants = [(p, s) for p, s, _ in rows if s > 0]
        assert sorted(s for _, s in entrants) == list(range(1, 12)), rows
        # The order is the recomputation from the recorded seed.
        by_seq = [p for p, s in sorted(entrants, key=lambda x: x[1])]
        assert by_seq == _recompute(seed, cid, [p for p, _ in entrants])
        assert hashlib.sha256(b"".join(p.to_bytes(8, "big") for p in sorted(by_seq))
                              ).hexdigest() == digest
        # The one who left keeps no place.
        assert [s for p, s, u in rows if u == left.replace("-", "")] == [-6], rows
        rc, out = _verify_draw(st, cid)
        assert rc == 0 and "OK" in out, out
        # The seed is in the consumer's log.
        log = open(st.consumer_log(0)).read()
        assert "pre-queue drawn" in log and seed in log, log[-2000:]
        # Joins after the opening: behind every entrant, in arrival order.
        after = [_join(str(uuid.uuid4()), cid, post=st.post) for _ in range(3)]
        assert all(s == 201 for s, _ in after), after
        assert [b["queuePosition"] is not None for _, b in after] == [True] * 3
        seqs = [int(st.scalar("SELECT seq FROM queue_tokens WHERE token = UNHEX('%s')"
                              % b["token"])) for _, b in after]
        assert seqs == [12, 13, 14], seqs
        assert st.scalar("SELECT next_seq FROM queue_seq WHERE id = %d" % cid) == "14"
        # Admission goes by the drawn order: seq 1 first.
        wait_until(lambda: st.scalar("SELECT COUNT(*) FROM queue_tokens WHERE concert_id = %d"
                                     " AND state = 1" % cid) == "1", 15, what="admission")
        assert st.scalar("SELECT seq FROM queue_tokens WHERE concert_id = %d AND state = 1"
                         % cid) == "1"
        # A pre-queue token reads its real place, and the token of that place.
        u = [x for x in users if int(st.scalar(
            "SELECT seq FROM queue_tokens WHERE concert_id = %d AND user_id = UNHEX('%s')"
            " AND state = 0" % (cid, x.replace("-", ""))) or 0) == 5][0]
        status, b = st.get("/api/v1/token?token=" + pre[u])
        assert status == 200 and b["status"] == "WAITING", b
        assert b["queuePosition"] == 4 and b["token"] != pre[u], b
        assert "opensAt" not in b
        # ... whose WAITING polls are answered from the host's counters again.
        shm = _shm_polls(st)
        for _ in range(3):
            status, b2 = st.get("/api/v1/token?token=" + b["token"])
            assert status == 200 and b2["queuePosition"] == 4 and b2["token"] == b["token"], b2
        assert _shm_polls(st) >= shm + 3
        # Asking to join again answers with that token too.
        status, b3 = _join(u, cid, post=st.post)
        assert status == 200 and b3["token"] == b["token"], b3
        # Later passes do not draw again.
        time.sleep(1.5)
        assert st.scalar("SELECT COUNT(*) FROM queue_draws") == "1"
        assert _draw(st, cid)[1] == seed
        assert open(st.consumer_log(0)).read().count("pre-queue drawn") == 1


def test_joins_between_the_opening_and_the_draw_come_after_the_entrants():
    with isolated_stack(demo=True, max_active_tokens=1, active_ttl_seconds=600) as st:
        cid = 3
        _open_in(st, cid, 4)
        early = [_join(str(uuid.uuid4()), cid, post=st.post) for _ in range(5)]
        assert all(s == 201 for s, _ in early), early
        # No consumer at the opening: the draw waits, joins keep coming.
        st.kill_consumer(0)
        wait_until(lambda: _seconds_to_opening(st, cid) < 0, 10, what="the opening")
        late = [_join(str(uuid.uuid4()), cid, post=st.post) for _ in range(3)]
        for s, b in late:
            assert s == 201, b
            _assert_prequeue(b)       # no place until the draw
        assert _draw(st, cid) is None
        st.start_consumer(0)
        wait_until(lambda: _draw(st, cid) is not None, 30, what="the draw")
        method, seed, joined, n, first, late_n, _ = _draw(st, cid)
        assert (int(joined), int(n), int(first), int(late_n)) == (5, 5, 1, 3)
        late_seqs = [int(st.scalar("SELECT seq FROM queue_tokens WHERE token = UNHEX('%s')"
                                   % b["token"])) for _, b in late]
        assert late_seqs == [6, 7, 8], late_seqs
        rc, out = _verify_draw(st, cid)
        assert rc == 0, out
        s, b = _join(str(uuid.uuid4()), cid, post=st.post)
        assert s == 201 and b["queuePosition"] is not None, b
        assert st.scalar("SELECT seq FROM queue_tokens WHERE token = UNHEX('%s')"
                         % b["token"]) == "9"
        # A tampered order is caught.
        st.sql("UPDATE queue_tokens SET seq = -100 WHERE concert_id = %d AND seq = 1;"
               " UPDATE queue_tokens SET seq = 1 WHERE concert_id = %d AND seq = 2;"
               " UPDATE queue_tokens SET seq = 2 WHERE concert_id = %d AND seq = -100"
               % (cid, cid, cid))
        rc, out = _verify_draw(st, cid)
        assert rc == 1 and "MISMATCH" in out, out


def test_joins_racing_the_draw_are_neither_lost_nor_ahead_of_the_entrants():
    # Four threads join flat out from one address: nginx's token rate limit
    # (1000 r/s) must not refuse them (a joiner thread died on a 429 on a
    # quiet box, and the test went on with fewer joiners).
    with isolated_stack(demo=True, consumers=2, max_active_tokens=1,
                        active_ttl_seconds=600, sweep_interval_ms=50,
                        token_rate_limit="1000000r/s",
                        token_rate_burst=1000000) as st:
        cid = 3
        _open_in(st, cid, 3)
        got, stop = [], threading.Event()

        def joiner(k):
            # Keeps joining from before the opening until after the draw.
            while not stop.is_set():
                s, b = _join(str(uuid.uuid4()), cid, post=st.post)
                assert s == 201, b
                got.append(b["token"])
        threads = [threading.Thread(target=joiner, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: _draw(st, cid) is not None, 30, what="the draw")
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        _, _, joined, n, first, late, _ = _draw(st, cid)
        joined, n, first, late = int(joined), int(n), int(first), int(late)
        assert n >= 1 and first == 1, (joined, n, late)
        rows = dict((tok, (int(seq), p)) for tok, seq, p in st.sql(
            "SELECT LOWER(HEX(token)), seq, pre_seq FROM queue_tokens WHERE concert_id = %d"
            % cid))
        # Every join answered has its row, and every row has a place now.
        assert set(got) == set(rows), (len(got), len(rows))
        seqs = sorted(s for s, _ in rows.values())
        assert seqs == list(range(1, len(rows) + 1)), seqs[:20]
        # The entrants hold 1..n; everyone else is behind them.
        for s, p in rows.values():
            assert (p is not None and int(p) <= joined) == (s <= n), (s, p, joined, n)
        rc, out = _verify_draw(st, cid)
        assert rc == 0, out


def test_two_consumers_racing_make_one_draw():
    with isolated_stack(demo=True, consumers=2, max_active_tokens=1,
                        active_ttl_seconds=600, sweep_interval_ms=50) as st:
        cid = 2
        _open_in(st, cid, 4)
        for _ in range(30):
            s, b = _join(str(uuid.uuid4()), cid, post=st.post)
            assert s == 201, b
        wait_until(lambda: _draw(st, cid) is not None, 30, what="the draw")
        time.sleep(1.5)
        assert st.scalar("SELECT COUNT(*) FROM queue_draws") == "1"
        drawn = [open(st.consumer_log(i)).read().count("pre-queue drawn") for i in (0, 1)]
        assert sorted(drawn) == [0, 1], drawn
        assert sorted(s for _, s, _ in _pre_rows(st, cid)) == list(range(1, 31))
        rc, out = _verify_draw(st, cid)
        assert rc == 0, out


def _consistent(st, cid):
    """No draw and every entrant still unplaced, or a complete draw."""
    d = _draw(st, cid)
    placed = int(st.scalar("SELECT COUNT(*) FROM queue_tokens WHERE concert_id = %d"
                           " AND seq > 0" % cid))
    if d is None:
        assert placed == 0, placed
        assert st.scalar("SELECT pre_drawn FROM queue_seq WHERE id = %d" % cid) == "0"
        return False
    n = int(d[3])
    assert placed == n and st.scalar(
        "SELECT MIN(seq) = 1 AND MAX(seq) = %d FROM queue_tokens WHERE concert_id = %d"
        " AND seq > 0" % (n, cid)) == "1"
    return True


def test_a_consumer_killed_mid_draw_leaves_no_draw_or_a_whole_one():
    with isolated_stack(demo=True, max_active_tokens=1, active_ttl_seconds=600) as st:
        cid = 2
        _open_in(st, cid, 4)
        s, b = _join(str(uuid.uuid4()), cid, post=st.post)
        assert s == 201, b
        # A big pre-queue (written directly, as the joins would), so the draw
        # takes a while: 60,000 entrants, about 8,600 renumbering statements.
        big = 60000
        st.sql("INSERT INTO queue_tokens (seq, concert_id, token, user_id, live_user, state,"
               " pre_seq) SELECT -(seq + 1), %d, UNHEX(MD5(CONCAT('t', seq))),"
               " UNHEX(MD5(CONCAT('u', seq))), UNHEX(MD5(CONCAT('u', seq))), 0, seq + 1"
               " FROM seq_1_to_%d; UPDATE queue_seq SET pre_next = %d, pre_early = %d"
               " WHERE id = %d" % (cid, big, big + 1, big + 1, cid))
        # Killed while the draw's transaction has renumbered rows (or, if it
        # was too quick to catch, after it).
        wait_until(lambda: _draw(st, cid) is not None or int(st.scalar(
            "SELECT IFNULL(MAX(trx_rows_modified), 0) FROM information_schema.innodb_trx"))
            > 700, 20, interval=0.01, what="the draw under way")
        st.kill_consumer(0, signal.SIGKILL)
        first = _consistent(st, cid)
        st.start_consumer(0)
        wait_until(lambda: _draw(st, cid) is not None, 60, what="the draw")
        assert _consistent(st, cid)
        assert int(_draw(st, cid)[3]) == big + 1
        rc, out = _verify_draw(st, cid)
        assert rc == 0, out
        print("killed %s the draw" % ("after" if first else "during"))
