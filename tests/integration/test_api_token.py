"""The queue token endpoints (SPEC #1, #1b) on the suite's stack (a large
max_active_tokens: tokens are admitted within about a second).  Queue
fairness under a small cap is tested on isolated stacks elsewhere."""

import re

import pytest

from helpers import *  # noqa: F401,F403
from helpers import uhex

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize("web", WEB_URLS, ids=lambda u: "apache" if
                         u == APACHE else "nginx")
def test_issue_then_reissue_returns_the_same_token(web):
    u = new_user()
    a = api("POST", "/token", {"userId": u}, base=web)
    assert a.status == 201, a
    assert HEX32.match(a.json["token"])
    assert a.json["status"] in ("WAITING", "ACTIVE")
    assert isinstance(a.json["queuePosition"], int)
    assert isinstance(a.json["remainingTime"], int)
    b = api("POST", "/token", {"userId": u}, base=web)
    assert b.status == 200 and b.json["token"] == a.json["token"], b
    assert scalar("SELECT COUNT(*) FROM queue_tokens WHERE user_id = %s"
                  % uhex(u)) == "1"


def test_token_becomes_active_with_position_zero():
    u = new_user()
    tok = active_token(u)
    for how in ({"path": "/token?token=" + tok, "headers": {}},
                {"path": "/token", "headers": {"Authorization": "Bearer "
                                               + tok}}):
        for base in WEB_URLS:
            r = api("GET", how["path"], headers=how["headers"], base=base)
            assert r.status == 200, (base, r)
            assert r.json["token"] == tok and r.json["status"] == "ACTIVE"
            assert r.json["queuePosition"] == 0
            assert 0 < r.json["remainingTime"] <= conf_int(
                "active_ttl_seconds", 600)


def test_uppercase_token_is_the_same_token():
    tok = active_token(new_user())
    r = api("GET", "/token?token=" + tok.upper())
    assert r.status == 200 and r.json["token"] == tok, r


def test_concurrent_first_requests_of_one_user_give_one_token():
    u = new_user()
    res = parallel(10, lambda i: api("POST", "/token", {"userId": u}))
    assert {r.status for r in res} <= {200, 201}, res
    assert sum(r.status == 201 for r in res) == 1, [r.status for r in res]
    assert len({r.json["token"] for r in res}) == 1
    assert scalar("SELECT COUNT(*) FROM queue_tokens WHERE user_id = %s"
                  % uhex(u)) == "1"


def test_delete_expires_and_a_new_token_can_be_issued():
    u = new_user()
    tok = active_token(u)
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + tok})
    assert r.status == 200 and r.json["status"] == "EXPIRED", r
    assert r.json["queuePosition"] == 0 and r.json["remainingTime"] == 0
    assert api("GET", "/token?token=" + tok).json["status"] == "EXPIRED"
    # deleting again is harmless
    assert api("DELETE", "/token?token=" + tok).status == 200
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
    assert r.json["status"] == "WAITING", r
    assert r.json["queuePosition"] >= 0 and r.json["remainingTime"] >= 0


def test_token_issue_idempotency_key_replays():
    u = new_user()
    key = {"Idempotency-Key": "tok-" + u}
    a = api("POST", "/token", {"userId": u}, headers=key)
    b = api("POST", "/token", {"userId": u}, headers=key)
    assert (a.status, a.json) == (b.status, b.json)
    assert b.headers.get("idempotent-replayed") == "true"
    c = api("POST", "/token", {"userId": new_user()}, headers=key)
    assert_error(c, 422, "IDEMPOTENCY_KEY_REUSED")


def test_key_is_scoped_to_the_route():
    u = new_user()
    key = {"Idempotency-Key": "shared-" + u}
    a = api("POST", "/token", {"userId": u}, headers=key)
    b = api("POST", "/balance", {"userId": u, "amount": 10}, headers=key)
    assert a.status == 201 and b.status == 200 and \
        b.json == {"newBalance": 10}, (a, b)
