"""Issue 10 parts 2-4 and the cap in the database, each in its own stack.

- A WAITING poll is answered from the host's queue counters: no database
  round trip (counted with MariaDB's Com_stmt_execute: every statement of
  ours is a prepared one), and a forged token is refused before any.
- pollAfterSeconds / Retry-After follow min(poll_max, 1 + (pos - 1) / cap).
- A token that left the line reads EXPIRED (reason left) within a second,
  whether the DELETE came through this host or straight into the database
  (as another host's would).
- Idle places: a waiting token that stopped polling is dropped at its turn
  (reason idle); an admission nobody uses lapses early (reason unclaimed).
- queue_state.max_active_tokens is the one cap: a consumer restarted with
  another config keeps to it; an UPDATE of the row changes it.
"""

import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpers  # noqa: E402
from helpers import mint_token, wait_until  # noqa: E402
from isolated import isolated_stack  # noqa: E402

TOKEN = "/api/v1/token"


def issue(st, user=None):
    status, body = st.post(TOKEN, {"userId": user or str(uuid.uuid4())})
    assert status == 201, (status, body)
    return body


def poll(st, token):
    return st.get(TOKEN, token=token)


def state_of(st, token):
    return int(st.scalar("SELECT state FROM queue_tokens WHERE token = "
                         "UNHEX('%s')" % token))


def seq_of(st, token):
    return int(st.scalar("SELECT seq FROM queue_tokens WHERE token = "
                         "UNHEX('%s')" % token))


def stmt_executions():
    rows = helpers.sql("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'")
    return int(rows[0][1])


def test_waiting_poll_costs_no_database_round_trip():
    n = 300
    with isolated_stack(max_active_tokens=1, active_ttl_seconds=600,
                        claim_seconds=0) as st:
        first = issue(st)
        wait_until(lambda: poll(st, first["token"])[1]["status"] == "ACTIVE",
                   15, what="first admitted")
        me = issue(st)
        assert poll(st, me["token"])[1]["status"] == "WAITING"
        # Nothing else of this stack talks to the database meanwhile.
        st.kill_consumer(0)
        before = stmt_executions()
        for _ in range(n):
            status, body = poll(st, me["token"])
            assert status == 200 and body["status"] == "WAITING", body
        waiting = stmt_executions() - before
        # The same number of polls of an ACTIVE token read the database.
        before = stmt_executions()
        for _ in range(n):
            status, body = poll(st, first["token"])
            assert status == 200 and body["status"] == "ACTIVE", body
        active = stmt_executions() - before
        assert active >= n, active
        # What remains is the counters' refresh (a few statements every
        # 200 ms) and the suite's own consumer on the same server.
        assert waiting < n // 3, (waiting, active)


def test_forged_or_foreign_token_is_refused():
    with isolated_stack(max_active_tokens=1, token_secret="a" * 40) as st:
        tok = issue(st)["token"]
        forged = tok[:-1] + ("0" if tok[-1] != "0" else "1")
        status, body = poll(st, forged)
        assert status == 401 and body["error"]["code"] == "TOKEN_INVALID"
        # Signed with another key: refused just the same.
        status, body = poll(st, mint_token(seq_of(st, tok), "b" * 40))
        assert status == 401 and body["error"]["code"] == "TOKEN_INVALID"
        # The stack's key signs what it hands out.
        assert tok == mint_token(seq_of(st, tok), "a" * 40)


def test_poll_hint_grows_with_the_position_up_to_the_max():
    cap, poll_max = 2, 4
    with isolated_stack(max_active_tokens=cap, active_ttl_seconds=600,
                        poll_max_seconds=poll_max, claim_seconds=0) as st:
        toks = [issue(st)["token"] for _ in range(cap)]
        wait_until(lambda: all(poll(st, t)[1]["status"] == "ACTIVE"
                               for t in toks), 15, what="first two admitted")
        line = [issue(st)["token"] for _ in range(12)]
        seen = []
        for t in line:
            r = helpers.api("GET", TOKEN, headers={
                "Authorization": "Bearer " + t},
                base="http://127.0.0.1:%d" % st.port)
            assert r.status == 200 and r.json["status"] == "WAITING", r.json
            pos = r.json["queuePosition"]
            want = min(poll_max, 1 + (pos - 1) // cap)
            assert r.json["pollAfterSeconds"] == want, (pos, r.json)
            assert r.headers.get("Retry-After") == str(want)
            seen.append(want)
        assert seen == sorted(seen) and seen[0] == 1 and seen[-1] == poll_max
        # ACTIVE: no sooner than the admission's end, at most the max.
        body = poll(st, toks[0])[1]
        assert body["pollAfterSeconds"] == poll_max
        # EXPIRED: nothing will change.
        status, body = st.request("DELETE", TOKEN, token=line[-1])
        assert body["status"] == "EXPIRED" and body["reason"] == "left"
        assert body["pollAfterSeconds"] == poll_max


def test_a_token_that_left_reads_expired_within_a_second():
    with isolated_stack(max_active_tokens=1, active_ttl_seconds=600,
                        claim_seconds=0) as st:
        first = issue(st)
        wait_until(lambda: poll(st, first["token"])[1]["status"] == "ACTIVE",
                   15, what="first admitted")
        a, b = issue(st)["token"], issue(st)["token"]
        assert poll(st, a)[1]["status"] == "WAITING"
        assert poll(st, b)[1]["status"] == "WAITING"
        # Through this host: at once.
        status, body = st.request("DELETE", TOKEN, token=a)
        assert status == 200 and body["status"] == "EXPIRED"
        body = poll(st, a)[1]
        assert body["status"] == "EXPIRED" and body["reason"] == "left", body
        # Through another host (straight into the database, as its DELETE
        # would write it): within a second.
        st.sql("UPDATE queue_tokens SET state = 2, live_user = NULL, "
               "end_reason = 2, expires_at = UTC_TIMESTAMP(3) WHERE seq = %d"
               % seq_of(st, b))
        t0 = time.monotonic()
        wait_until(lambda: poll(st, b)[1]["status"] == "EXPIRED", 1.0,
                   interval=0.05, what="left token reads EXPIRED")
        assert time.monotonic() - t0 <= 1.0
        assert poll(st, b)[1]["reason"] == "left"


def test_idle_waiting_token_is_dropped_at_its_turn():
    with isolated_stack(max_active_tokens=1, active_ttl_seconds=600,
                        waiting_idle_seconds=3, claim_seconds=0,
                        sweep_interval_ms=200) as st:
        first = issue(st)
        wait_until(lambda: poll(st, first["token"])[1]["status"] == "ACTIVE",
                   15, what="first admitted")
        gone = issue(st)["token"]       # never polls again
        here = issue(st)["token"]       # keeps polling
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            assert poll(st, here)[1]["status"] == "WAITING"
            time.sleep(0.3)
        st.request("DELETE", TOKEN, token=first["token"])
        wait_until(lambda: poll(st, here)[1]["status"] == "ACTIVE", 10,
                   what="the polling token admitted in the idle one's place")
        body = poll(st, gone)[1]
        assert body["status"] == "EXPIRED" and body["reason"] == "idle", body
        assert int(st.scalar("SELECT idle_total FROM queue_state")) == 1
        assert int(st.scalar("SELECT end_reason FROM queue_tokens WHERE "
                             "seq = %d" % seq_of(st, gone))) == 4


def test_unclaimed_admission_lapses_early():
    with isolated_stack(max_active_tokens=1, active_ttl_seconds=600,
                        claim_seconds=2, sweep_interval_ms=200) as st:
        idle = issue(st)["token"]       # admitted, never used
        wait_until(lambda: state_of(st, idle) == 1, 15, what="admitted")
        nxt = issue(st)["token"]
        wait_until(lambda: state_of(st, idle) == 2, 10,
                   what="the unclaimed admission lapsed")
        body = poll(st, idle)[1]
        assert body["status"] == "EXPIRED" and body["reason"] == "unclaimed"
        # Its slot went to the next in line, who claims it by polling...
        wait_until(lambda: poll(st, nxt)[1]["status"] == "ACTIVE", 10,
                   what="next admitted")
        # ... and so keeps it past claim_seconds.
        time.sleep(3)
        assert poll(st, nxt)[1]["status"] == "ACTIVE"
        assert int(st.scalar("SELECT unclaimed_total FROM queue_state")) == 1


def test_a_payment_in_flight_does_not_stall_admissions():
    """A payment holds its token's row lock until it commits; the pass that
    lapses unclaimed admissions must not queue behind it (a locking range
    read over the ACTIVE tokens did, for up to db_lock_wait_timeout per try,
    and admitted nobody meanwhile)."""
    with isolated_stack(max_active_tokens=2, active_ttl_seconds=600,
                        claim_seconds=2, sweep_interval_ms=200) as st:
        busy = issue(st)["token"]
        wait_until(lambda: poll(st, busy)[1]["status"] == "ACTIVE", 15,
                   what="busy admitted")        # the poll claims it
        idle = issue(st)["token"]               # admitted, never used
        wait_until(lambda: state_of(st, idle) == 1, 15, what="idle admitted")
        nxt = issue(st)["token"]
        with helpers.RowLock("SELECT seq FROM queue_tokens WHERE concert_id = 1 "
                             "AND seq = %d FOR UPDATE" % seq_of(st, busy),
                             database=st.db):
            wait_until(lambda: state_of(st, idle) == 2, 10,
                       what="the unclaimed admission lapsed beside the lock")
            wait_until(lambda: state_of(st, nxt) == 1, 5,
                       what="the next admitted beside the lock")
        assert state_of(st, busy) == 1
        assert int(st.scalar("SELECT end_reason FROM queue_tokens WHERE "
                             "token = UNHEX('%s')" % idle)) == 5


def test_the_cap_lives_in_the_database():
    with isolated_stack(max_active_tokens=2, active_ttl_seconds=600,
                        claim_seconds=0, sweep_interval_ms=200) as st:
        for _ in range(6):
            issue(st)

        def active():
            return int(st.scalar("SELECT COUNT(*) FROM queue_tokens "
                                 "WHERE state = 1"))
        wait_until(lambda: active() == 2, 15, what="two admitted")
        assert int(st.scalar("SELECT max_active_tokens FROM queue_state")) == 2
        # A consumer restarted with another config keeps to the stored cap.
        st.kill_consumer(0)
        st.env["CONCERT_MAX_ACTIVE_TOKENS"] = "5"
        st.start_consumer(0)
        time.sleep(2)
        assert active() == 2
        assert "in 'queue_state'" in open(st.consumer_log(0)).read()
        # The operator changes it in the database.
        st.sql("UPDATE queue_state SET max_active_tokens = 3 WHERE id = 1")
        wait_until(lambda: active() == 3, 10, what="three admitted")
        time.sleep(1)
        assert active() == 3
