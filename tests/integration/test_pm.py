"""The process manager (issue 10 part 5): pm = static | dynamic.

Each test starts its own concertd (test_master.Concertd: the stack's
MariaDB and Kafka, its own socket, pid file and log) and occupies workers
with requests that never finish sending their body: a worker reading one
is busy until the client hangs up, which is how a worker waiting on MySQL
looks to the master.  Worker counts are read from /proc (children of the
master) and from GET /api/v1/status straight over FastCGI.
"""

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
from helpers import wait_until  # noqa: E402
from test_master import PING, concertd, tmpdir_short  # noqa: E402,F401

STATUS = "/api/v1/status"

DYNAMIC = {
    "CONCERT_PM": "dynamic",
    "CONCERT_WORKERS": "2",
    "CONCERT_PM_MIN_SPARE": "2",
    "CONCERT_PM_MAX_SPARE": "3",
    "CONCERT_PM_MAX_CHILDREN": "7",
}


class Stuck:
    """n FastCGI requests that keep a worker each busy until closed."""

    def __init__(self, sock, n):
        self.conns = []
        for _ in range(n):
            c = fcgi_client.FcgiConnection(sock, timeout=60)
            c.begin()
            c.send_params(fcgi_client.make_params("POST", PING, 100))
            c.send_stdin(b"x" * 10)
            self.conns.append(c)

    def close(self):
        for c in self.conns:
            c.close()
        self.conns = []


def status(d):
    r = fcgi_client.request(d.sock, "GET", STATUS, timeout=10)
    assert r.status == 200, r
    return json.loads(r.body)["pool"]


def _answers(d):
    if d.proc.poll() is not None:
        raise AssertionError("concertd exited with %s: %s"
                             % (d.proc.returncode, d.proc.stderr.read()))
    try:
        return d.ping(timeout=2).status == 200
    except (OSError, fcgi_client.FcgiError):
        return False


def count_during(d, seconds, seen):
    """Sample the master's children for a while; record every count."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        seen.add(len(d.children()))
        time.sleep(0.05)


def test_dynamic_pool_grows_to_max_children_then_shrinks_to_max_spare(
        concertd):
    d = concertd(DYNAMIC).start(wait=False)
    wait_until(lambda: _answers(d), timeout=20, what="concertd to answer")
    d.wait_workers(2)
    # Idle 2 = pm_min_spare: it stays at its start size.
    time.sleep(2.5)
    assert len(d.children()) == 2
    pool = status(d)
    assert pool["pm"] == "dynamic"
    assert pool["pmMaxChildren"] == 7
    assert pool["configuredWorkers"] == 2

    stuck = Stuck(d.sock, 12)      # more than pm_max_children
    seen = set()
    try:
        t0 = time.monotonic()
        wait_until(lambda: (seen.add(n := len(d.children())) or n == 7),
                   timeout=20, what="the pool to reach pm_max_children")
        grew_in = time.monotonic() - t0
        count_during(d, 3, seen)   # and it stays there
    finally:
        stuck.close()
    assert max(seen) == 7, seen
    # 2 -> 7 at 1, 2, 4 a second (the missing spares cap each step): a
    # few seconds, not one burst and not one a second.
    assert grew_in < 10, grew_in
    assert "reached pm_max_children" in d.log(), d.log()

    # Every worker idle now: one retires a second until pm_max_spare idle.
    t1 = time.monotonic()
    wait_until(lambda: len(d.children()) == 3, timeout=20,
               what="the pool to shrink to pm_max_spare")
    shrank_in = time.monotonic() - t1
    assert shrank_in >= 2.5, shrank_in     # 7 -> 3, one a second
    seen = set()
    count_during(d, 2.5, seen)
    assert seen == {3}, seen
    pool = status(d)
    assert pool["current"] == 3, pool
    assert pool["idle"] + pool["active"] == 3, pool
    assert pool["active"] >= 1, pool     # the status request itself
    assert pool["pmMaxChildrenReached"] >= 1, pool
    log = d.log()
    assert "retiring worker" in log
    # Retirement is routine: no crash, no breaker.
    assert " error: " not in log, log
    assert d.ping().status == 200


def test_static_pool_stays_fixed_under_load(concertd):
    d = concertd({"CONCERT_WORKERS": "3"}).start()
    stuck = Stuck(d.sock, 6)
    seen = set()
    try:
        count_during(d, 3.5, seen)
    finally:
        stuck.close()
    count_during(d, 1.5, seen)
    assert seen == {3}, seen
    pool = status(d)
    assert pool["pm"] == "static"
    assert pool["pmMaxChildren"] == 3
    assert pool["current"] == 3
    assert pool["pmMaxChildrenReached"] == 0
    assert "pm:" not in d.log()


@pytest.mark.parametrize("env, key", [
    ({"CONCERT_PM": "ondemand"}, "'pm'"),
    ({"CONCERT_PM": "dynamic", "CONCERT_PM_MIN_SPARE": "5",
      "CONCERT_PM_MAX_SPARE": "3"}, "'pm_min_spare'"),
    ({"CONCERT_PM": "dynamic", "CONCERT_WORKERS": "8",
      "CONCERT_PM_MAX_CHILDREN": "4"}, "'pm_max_children'"),
    ({"CONCERT_PM": "dynamic", "CONCERT_PM_MAX_CHILDREN": "0"},
     "'pm_max_children'"),
])
def test_bad_pm_config_is_refused_in_one_line_naming_the_key(
        concertd, env, key):
    d = concertd(env).start(wait=False)
    rc = d.proc.wait(timeout=10)
    err = d.proc.stderr.read().decode()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc != 0
    assert len(lines) == 1, err
    assert key in lines[0], err
    assert not os.path.exists(d.sock)
