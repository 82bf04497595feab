"""The queue token endpoints (SPEC #1, #1b) on the suite's stack (a large
max_active_tokens: tokens are admitted within about a second).  Queue
fairness under a small cap is tested on isolated stacks elsewhere."""

import math
import re

import pytest

from helpers import *  # noqa: F401,F403
from helpers import uhex

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def expected_place(tok):
    """(queuePosition, remainingTime) of WAITING token tok as the API computes them
    (src/queue.c): max(1, seq - serving_seq), and max(1, ceil(position / rate)) with the
    measured rate, or max_active_tokens / active_ttl_seconds before one is known. Call it
    under QueueLock so that serving_seq and admit_rate cannot move."""
    seq, serving, wait = sql(
        "SELECT t.seq, s.serving_seq, CEIL(GREATEST(1, t.seq - s.serving_seq)"
        " / NULLIF(s.admit_rate, 0)) FROM queue_tokens t JOIN queue_state s"
        " ON s.id = 1 WHERE t.token = UNHEX('%s')" % tok)[0]
    pos = max(1, int(seq) - int(serving))
    if wait is None:            # no rate measured yet: the configured turnover
        ttl = conf_int("active_ttl_seconds", 600)
        rate = conf_int("max_active_tokens", 100) / ttl if ttl > 0 else 1.0
        wait = math.ceil(pos / (rate if rate > 0 else 1.0))
    return pos, max(1, int(wait))


def expected_poll(pos):
    """pollAfterSeconds of a WAITING token at pos (src/queue.c queue_poll_after):
    min(poll_max_seconds, 1 + (pos - 1) // cap), the cap being the database's."""
    cap = int(scalar("SELECT max_active_tokens FROM queue_state WHERE id = 1")) or \
        conf_int("max_active_tokens", 100)
    return min(conf_int("poll_max_seconds", 30), 1 + (pos - 1) // cap)


def seconds_left(tok):
    """CEIL of the seconds before tok's expires_at, as the API computes remainingTime."""
    return int(scalar("SELECT IFNULL(CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3),"
                      " expires_at) / 1000000), 0) FROM queue_tokens"
                      " WHERE token = UNHEX('%s')" % tok))


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_issue_then_reissue_returns_the_same_token(web):
    u = new_user()
    # The queue lock keeps the consumer from admitting anybody meanwhile: the new token is
    # WAITING (it is answered before its commit, so it cannot be admitted yet in any case), and
    # its place and estimate are computable from the database.
    with QueueLock():
        a = api("POST", "/token", {"userId": u}, base=web)
        assert a.status == 201, a
        assert HEX32.match(a.json["token"])
        pos, wait = expected_place(a.json["token"])
        assert a.json == {"token": a.json["token"], "status": "WAITING",
                          "queuePosition": pos, "remainingTime": wait,
                          "pollAfterSeconds": expected_poll(pos)}, a
        b = api("POST", "/token", {"userId": u}, base=web)
    assert b.status == 200 and b.json == a.json, b   # same token, same place
    assert scalar("SELECT COUNT(*) FROM queue_tokens WHERE user_id = %s"
                  % uhex(u)) == "1"


def test_token_becomes_active_with_position_zero():
    u = new_user()
    tok = active_token(u)
    for how in ({"path": "/token?token=" + tok, "headers": {}},
                {"path": "/token", "headers": {"Authorization": "Bearer "
                                               + tok}}):
        for base in WEB_URLS:
            hi = seconds_left(tok)
            r = api("GET", how["path"], headers=how["headers"], base=base)
            lo = seconds_left(tok)
            assert r.status == 200, (base, r)
            assert r.json["token"] == tok and r.json["status"] == "ACTIVE"
            assert r.json["queuePosition"] == 0
            # the seconds left before the admission's deadline, read before and after
            assert lo <= r.json["remainingTime"] <= hi, (lo, r, hi)
            assert 0 < hi <= conf_int("active_ttl_seconds", 600)


def test_uppercase_token_is_the_same_token():
    tok = active_token(new_user())
    r = api("GET", "/token?token=" + tok.upper())
    assert r.status == 200 and r.json["token"] == tok, r


def test_concurrent_first_requests_of_one_user_give_one_token():
    u = new_user()
    res = parallel(10, lambda i: api("POST", "/token", {"userId": u}))
    # exactly one creates the token; the nine others get it back
    assert sorted(r.status for r in res) == [200] * 9 + [201], res
    assert len({r.json["token"] for r in res}) == 1
    assert scalar("SELECT COUNT(*) FROM queue_tokens WHERE user_id = %s"
                  % uhex(u)) == "1"


def test_delete_expires_and_a_new_token_can_be_issued():
    u = new_user()
    tok = active_token(u)
    expired = {"token": tok, "status": "EXPIRED", "queuePosition": 0,
               "remainingTime": 0,
               "pollAfterSeconds": conf_int("poll_max_seconds", 30),
               "reason": "left"}
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + tok})
    assert r.status == 200 and r.json == expired, r
    r = api("GET", "/token?token=" + tok)
    assert r.status == 200 and r.json == expired, r
    # deleting again is harmless
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + tok})
    assert r.status == 200 and r.json == expired, r
    n = api("POST", "/token", {"userId": u})
    assert n.status == 201 and n.json["token"] != tok, n


def test_lapsed_token_reads_expired_and_reissue_gives_a_new_one():
    u = new_user()
    tok = active_token(u)
    sql("UPDATE queue_tokens SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1"
        " SECOND WHERE token = UNHEX('%s')" % tok)
    assert api("GET", "/token?token=" + tok).json["status"] == "EXPIRED"
    n = api("POST", "/token", {"userId": u})
    assert n.status == 201 and n.json["token"] != tok, n


def test_waiting_token_reports_its_place():
    u = new_user()
    tok = active_token(u)
    with QueueLock():
        sql("UPDATE queue_tokens SET state = 0, expires_at = NULL WHERE"
            " token = UNHEX('%s')" % tok)
        r = api("GET", "/token?token=" + tok)
        pos, wait = expected_place(tok)
    assert r.status == 200 and r.json["status"] == "WAITING", r
    # it was admitted (seq <= serving_seq): first in line, never position 0
    assert pos == 1
    assert (r.json["queuePosition"], r.json["remainingTime"]) == (pos, wait), r


def test_token_issue_idempotency_key_replays():
    u = new_user()
    key = {"Idempotency-Key": "tok-" + u}
    a = api("POST", "/token", {"userId": u}, headers=key)
    b = api("POST", "/token", {"userId": u}, headers=key)
    assert a.status == 201 and HEX32.match(a.json["token"]), a
    assert (a.status, a.json) == (b.status, b.json)
    assert b.headers.get("idempotent-replayed") == "true"
    # The same key from another user is that user's own key (SPEC: keys are
    # scoped to the caller): a fresh token, not a replay and not a 422.
    c = api("POST", "/token", {"userId": new_user()}, headers=key)
    assert c.status == 201 and HEX32.match(c.json["token"]), c
    assert c.json["token"] != a.json["token"], c
    assert c.headers.get("idempotent-replayed") is None, c.headers


def test_key_is_scoped_to_the_route():
    u = new_user()
    key = {"Idempotency-Key": "shared-" + u}
    a = api("POST", "/token", {"userId": u}, headers=key)
    b = api("POST", "/balance", {"userId": u, "amount": 10}, headers=key)
    assert a.status == 201 and b.status == 200 and \
        b.json == {"newBalance": 10}, (a, b)
