"""Operating concertd like php-fpm: the status page, /metrics, the access
log, SIGUSR1, the slow log and the request timeout.

Two kinds of test:
- against the stack scripts/test started (through nginx and Apache, or
  straight to its FastCGI socket): the `listen` and `access_log` keys are
  read from $CONCERT_CONF;
- against a concertd of their own with special settings (slow log, request
  timeout, a private access log), started like test_master.py does.

A slow request is a POST whose body is sent in two halves with a pause in
between (fcgi_client): the worker has accepted it and is reading the body.
"""

import json
import os
import re
import signal
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
import helpers  # noqa: E402
from helpers import wait_until  # noqa: E402
from test_master import (WORKERS, Concertd, concertd,  # noqa: E402,F401
                         tmpdir_short)

PING = "/api/v1/ping"
STATUS = "/api/v1/status"
# POST /token: a route that takes a body; this one lacks userId, so once
# complete it is answered 400 without touching the database.
SLOW_URI = "/api/v1/token"
SLOW_ROUTE = "token_issue"
SLOW_BODY = b'{"padding": "0123456789abcdef0123456789abcdef"}'


# ------------------------------------------------------------------ helpers



def stack_socket():
    path = helpers.conf_value("listen")
    if not path or not os.path.exists(path):
        pytest.skip("no stack FastCGI socket (CONCERT_CONF 'listen')")
    return path


def stack_access_log():
    path = helpers.conf_value("access_log")
    if not path:
        pytest.skip("the stack's config has no access_log")
    return path


def get(base, path, headers=None, source=None, method="GET"):
    """One request to base+path (not only /api/v1); (status, headers, text)."""
    st, hdrs, body = helpers.http_request(helpers.ops_base(base, path), method, path, headers=headers, source=source)
    return st, hdrs, body.decode("utf-8", "replace")


def status_json(base):
    st, _, text = get(base, STATUS)
    assert st == 200, text
    return json.loads(text)


SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?'
    r' (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$')


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; asserts the text format."""
    out = {}
    types = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert parts[1] in ("HELP", "TYPE"), line
            if parts[1] == "TYPE":
                assert parts[3] in ("counter", "gauge", "histogram"), line
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"',
                                      m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in out, "duplicate sample %r" % line
        out[key] = float(m.group(3))
    for (name, _) in out:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or base in types, "no TYPE for %s" % name
    return out


def metrics(base):
    st, hdrs, text = get(base, "/metrics")
    assert st == 200, text
    assert hdrs["Content-Type"].startswith("text/plain; version=0.0.4"), \
        hdrs["Content-Type"]
    return parse_metrics(text)


def value(m, name, **labels):
    """A sample's value; 0 for a counter whose label set has not been seen yet."""
    return m.get((name, frozenset(labels.items())), 0.0)


def gauge(m, name):
    """An unlabelled sample that must be on the page."""
    assert (name, frozenset()) in m, "no %s sample" % name
    return m[(name, frozenset())]


def start_slow(sock, rid=None, timeout=30):
    """A POST /token whose body is half sent: the worker is stuck reading."""
    conn = fcgi_client.FcgiConnection(sock, timeout=timeout)
    conn.begin()
    hdrs = {"X-Request-Id": rid} if rid else None
    conn.send_params(fcgi_client.make_params(
        "POST", SLOW_URI, len(SLOW_BODY), "application/json", headers=hdrs))
    conn.send_stdin(SLOW_BODY[:10])
    return conn


def finish_slow(conn):
    try:
        conn.send_stdin(SLOW_BODY[10:])
        conn.end_stdin()
        return conn.read_response()
    finally:
        conn.close()


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def lines_with(path, needle):
    return [json.loads(ln) for ln in read_lines(path) if needle in ln]


# ------------------------------------------------------------ status page

def listen_backlog():
    """The accept queue's limit: listen_backlog (default 1024), capped by the kernel."""
    with open("/proc/sys/net/core/somaxconn") as f:
        somaxconn = int(f.read())
    return min(helpers.conf_int("listen_backlog", 1024), somaxconn)


def test_status_reports_the_pool_and_every_worker(web):
    t0 = time.monotonic()
    s = status_json(web)
    elapsed_ms = (time.monotonic() - t0) * 1000
    pool, workers = s["pool"], s["workers"]
    for k in ("workers", "idle", "busy", "acceptedRequests", "listenQueue",
              "maxChildrenReached", "startedAt", "uptimeSeconds"):
        assert k in pool, k
    assert pool["workers"] == len(workers) == pool["configuredWorkers"]
    assert pool["idle"] + pool["busy"] + pool["starting"] + \
        pool["exiting"] == pool["workers"]
    # nothing else is sent meanwhile (the suite runs one test at a time): nobody is waiting
    assert pool["listenQueue"] == 0, pool
    assert pool["listenQueueMax"] == listen_backlog(), pool
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                    pool["startedAt"])
    # The worker answering is busy with this very request.
    me = [w for w in workers if w["currentRoute"] == "status"]
    assert len(me) == 1 and me[0]["state"] == "busy", workers
    assert 0 <= me[0]["currentRequestMs"] <= elapsed_ms + 1, (me, elapsed_ms)
    # this request is accepted and not finished yet: one more accepted than done
    assert me[0]["acceptedRequests"] == me[0]["requests"] + 1, me
    assert pool["busy"] == 1, pool
    for w in workers:
        assert w["pid"] > 0 and w["state"] in ("idle", "busy", "starting",
                                               "exiting"), w
        if w is not me[0]:
            assert w["state"] != "busy", w
            assert w["requests"] == w["acceptedRequests"], w
        if w["state"] == "idle":
            assert w["currentRoute"] is None and \
                w["currentRequestMs"] is None, w


def test_status_accepted_requests_grow_with_requests(web):
    before = status_json(web)["pool"]["acceptedRequests"]
    for _ in range(5):
        assert helpers.api("GET", PING, base=web).status == 200
    after = status_json(web)["pool"]["acceptedRequests"]
    # 5 pings and the second status request (nothing else runs meanwhile)
    assert after == before + 6, (before, after)


def test_status_shows_a_slow_request_in_flight(base_url):
    sock = stack_socket()
    rid = "ops-slow-" + uuid.uuid4().hex
    conn = start_slow(sock, rid)
    try:
        def slow_seen():
            s = status_json(base_url)
            w = [w for w in s["workers"] if w["currentRequestId"] == rid]
            return w and w[0]["currentRequestMs"] >= 300 and (s, w[0])
        s, w = wait_until(slow_seen, timeout=10, what="the slow request")
        assert w["state"] == "busy" and w["currentRoute"] == SLOW_ROUTE, w
        # the slow request and the status request itself
        assert s["pool"]["busy"] == 2, s["pool"]
    finally:
        resp = finish_slow(conn)
    assert resp.status == 400, resp     # complete, and without a userId: MISSING_FIELD
    assert resp.headers["x-request-id"] == rid


# ---------------------------------------------------------------- metrics

def test_metrics_is_prometheus_text_with_every_family(web):
    m = metrics(web)
    names = {k[0] for k in m}
    for n in ("concert_http_requests_total",
              "concert_http_request_duration_seconds_bucket",
              "concert_http_request_duration_seconds_sum",
              "concert_http_request_duration_seconds_count",
              "concert_accepted_requests_total",
              "concert_max_children_reached_total", "concert_workers",
              "concert_listen_queue", "concert_mysql_errors_total",
              "concert_kafka_delivery_failures_total",
              "concert_queue_waiting", "concert_queue_active",
              "concert_admissions_total", "concert_expiries_total",
              "concert_admit_rate", "concert_mysql_up"):
        assert n in names, n
    assert value(m, "concert_mysql_up") == 1
    workers = sum(v for (n, _), v in m.items() if n == "concert_workers")
    assert workers == status_json(web)["pool"]["workers"]


def test_metrics_counters_increase_after_requests(web):
    before = metrics(web)
    for _ in range(5):
        assert helpers.api("GET", PING, base=web).status == 200
    assert helpers.api("GET", "/api/v1/no-such-route", base=web).status == 404
    after = metrics(web)
    # nothing else is sent meanwhile: the counters grow by exactly these requests
    key = ("concert_http_requests_total", {"route": "ping", "status": "200"})
    assert value(after, key[0], **key[1]) == value(before, key[0],
                                                   **key[1]) + 5
    assert value(after, "concert_http_requests_total", route="unmatched",
                 status="404") == value(before, "concert_http_requests_total",
                                        route="unmatched", status="404") + 1
    c = "concert_http_request_duration_seconds_count"
    assert value(after, c, route="ping") == value(before, c, route="ping") + 5
    # 5 pings, the 404 and the second metrics request (accepted before it reads)
    assert value(after, "concert_accepted_requests_total") == \
        value(before, "concert_accepted_requests_total") + 7


def test_histograms_are_cumulative_and_end_with_inf_equal_count(web):
    helpers.api("GET", PING, base=web)
    m = metrics(web)
    routes = {dict(lbl)["route"] for (n, lbl) in m
              if n == "concert_http_request_duration_seconds_count"}
    assert "ping" in routes
    for route in routes:
        buckets = sorted(
            ((float(dict(lbl)["le"]), v) for (n, lbl), v in m.items()
             if n == "concert_http_request_duration_seconds_bucket"
             and dict(lbl)["route"] == route))
        les = [le for le, _ in buckets]
        assert les[0] == 0.001 and les[-2] == 5 and les[-1] == float("inf"), \
            (route, les)
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), (route, buckets)
        total = value(m, "concert_http_request_duration_seconds_count",
                      route=route)
        assert counts[-1] == total, (route, counts[-1], total)
        reqs = sum(v for (n, lbl), v in m.items()
                   if n == "concert_http_requests_total"
                   and dict(lbl)["route"] == route)
        # counted together when a request ends, and no other request ends
        # while this page is built (one test at a time)
        assert reqs == total, (route, reqs, total)


def test_queue_gauges_come_from_queue_state(base_url):
    # Under the queue_state row lock the consumer can neither admit nor expire, and nobody
    # joins the line meanwhile: the page and the database must agree exactly.
    with helpers.QueueLock():
        m = metrics(base_url)
        waiting, active, admitted, expired = map(int, helpers.sql(
            "SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM queue_tokens), 0)"
            " - serving_seq, 0), active_count, admitted_total, expired_total"
            " FROM queue_state WHERE id = 1")[0])
    assert gauge(m, "concert_admissions_total") == admitted
    assert gauge(m, "concert_expiries_total") == expired
    assert gauge(m, "concert_queue_waiting") == waiting
    assert gauge(m, "concert_queue_active") == active


def test_consumer_lag_and_instances_are_reported(base_url):
    # The stack's consumer reports every 5 s; its row names host:pid.
    assert helpers.wait_until(
        lambda: value(metrics(base_url), "concert_consumers") >= 1, 15)

    def reports():
        return helpers.sql(
            "SELECT COALESCE(SUM(lag), 0), COUNT(*), MAX(updated_at) FROM consumer_status"
            " WHERE updated_at > UTC_TIMESTAMP(3) - INTERVAL 30 SECOND")[0]

    def page_between_equal_reads():
        # the consumer refreshes its row every 5 s: read the page between two equal reads
        a = reports()
        m = metrics(base_url)
        return a == reports() and (a, m)
    (lag, n, _), m = wait_until(page_between_equal_reads, 15,
                                what="two equal consumer_status reads")
    assert gauge(m, "concert_consumer_lag") == int(lag)
    assert gauge(m, "concert_consumers") == int(n) >= 1


# ----------------------------------------------- localhost-only endpoints

@pytest.mark.parametrize("path", [STATUS, "/metrics"])
def test_ops_endpoints_refuse_other_clients(web, path):
    # 127.0.0.2 is loopback too, but not the 127.0.0.1 the configs allow.
    st, _, _ = get(web, path, source=("127.0.0.2", 0))
    assert st == 403, (path, st)
    st, _, _ = get(web, PING, source=("127.0.0.2", 0))
    assert st == 200        # the API itself is open to everyone
    st, _, _ = get(web, path)
    assert st == 200


def test_web_configs_restrict_the_ops_endpoints():
    root = helpers.ROOT
    with open(os.path.join(root, "nginx-conf", "concert.conf.in")) as f:
        nginx = f.read()
    for path in (STATUS, "/metrics"):
        m = re.search(r"location = %s \{([^}]*)\}" % re.escape(path), nginx)
        assert m, path
        assert "allow 127.0.0.1;" in m.group(1) and \
            "deny all;" in m.group(1), m.group(1)
    with open(os.path.join(root, "apache-conf", "concert.conf.in")) as f:
        apache = f.read()
    for path in (STATUS, "/metrics"):
        m = re.search(r'<Location "%s">(.*?)</Location>' % re.escape(path),
                      apache, re.S)
        assert m and "Require ip 127.0.0.1" in m.group(1), path


# ------------------------------------------------------------- access log

def test_access_log_has_one_json_line_per_request(web):
    path = stack_access_log()
    mine = "ops-al-" + uuid.uuid4().hex
    t0 = time.monotonic()
    r = helpers.api("GET", PING, base=web, headers={"X-Request-Id": mine})
    assert r.status == 200
    rid = r.header("X-Request-Id")
    # Every front door passes a valid client id through (nginx too, since
    # its config prefers a valid X-Request-Id over its own $request_id).
    assert rid == mine
    lines = wait_until(lambda: lines_with(path, rid), timeout=5,
                       what="the access log line")
    # The worker stops its clock after FCGX_Finish_r(), i.e. after the
    # client may already have the answer, and writes the line right after:
    # the time until the line is there bounds durationMs.
    elapsed_ms = (time.monotonic() - t0) * 1000
    assert len(lines) == 1, lines
    e = lines[0]
    assert set(e) == {"time", "requestId", "method", "route", "status",
                      "durationMs", "worker"}, e
    assert e["requestId"] == rid and e["method"] == "GET"
    assert e["route"] == "ping" and e["status"] == 200
    # the pid of one of the stack's workers; the time the request took inside it
    assert e["worker"] in helpers.concertd_worker_pids(), e
    assert 0 <= e["durationMs"] <= elapsed_ms, (e, elapsed_ms)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["time"])


def test_access_log_escapes_what_the_client_sent():
    sock = stack_socket()
    path = stack_access_log()
    rid = "ops-esc-" + uuid.uuid4().hex
    uri = '/api/v1/no"such\\path\x01\xff'
    r = fcgi_client.request(sock, "GET", uri,
                            headers={"X-Request-Id": rid})
    assert r.status == 404
    lines = wait_until(lambda: lines_with(path, rid), timeout=5,
                       what="the access log line")
    e = lines[0]
    assert e["route"] == '/api/v1/no"such\\path\x01\ufffd', e
    assert e["status"] == 404
    # a request id that could not be echoed safely is replaced
    r = fcgi_client.request(sock, "GET", PING,
                            headers={"X-Request-Id": "bad id\x7f"})
    assert re.match(r"^[0-9a-f-]{36}$", r.headers["x-request-id"]), r.headers


def test_sigusr1_reopens_the_access_log(concertd):
    d = concertd({"CONCERT_ACCESS_LOG": None})
    log = os.path.join(d.dir, "access.log")
    d.env["CONCERT_ACCESS_LOG"] = log
    d.start()
    assert d.ping().status == 200
    wait_until(lambda: read_lines(log), what="first access log line")
    os.rename(log, log + ".1")
    os.kill(d.pid, signal.SIGUSR1)
    wait_until(lambda: "log reopened" in d.log(), what="master reopen")

    def new_file_has_a_line():
        d.ping()
        return read_lines(log)
    lines = wait_until(new_file_has_a_line, timeout=10,
                       what="a line in the new access log")
    assert json.loads(lines[-1])["route"] == "ping"
    n_old = len(read_lines(log + ".1"))
    for _ in range(3 * WORKERS):
        d.ping()
    # every worker reopened: nothing more goes to the rotated file
    assert len(read_lines(log + ".1")) == n_old
    assert len(d.children()) == WORKERS


# ------------------------------------------- slow log and request timeout

def test_slow_request_is_logged_once(concertd):
    d = concertd({"CONCERT_SLOW_REQUEST_MS": "300",
                  "CONCERT_REQUEST_TIMEOUT_SECONDS": "0"}).start()
    rid = "ops-slowlog-" + uuid.uuid4().hex
    conn = start_slow(d.sock, rid)
    try:
        wait_until(lambda: rid in d.log(), timeout=5, what="slow log line")
        time.sleep(1.0)       # several more master checks
    finally:
        resp = finish_slow(conn)
    assert resp.status == 400, resp     # complete, and without a userId: MISSING_FIELD
    lines = [ln for ln in d.log().splitlines() if rid in ln]
    assert len(lines) == 1, lines
    assert re.search(r"warn: slow request: worker \d+ has been serving %s "
                     r"for \d+ ms \(request %s\)" % (SLOW_ROUTE, rid),
                     lines[0]), lines[0]
    # a fast request is not slow
    assert d.ping().status == 200
    time.sleep(0.6)
    assert len([ln for ln in d.log().splitlines() if "slow request" in ln]) == 1


def test_request_timeout_kills_and_replaces_the_worker(concertd):
    d = concertd({"CONCERT_REQUEST_TIMEOUT_SECONDS": "1",
                  "CONCERT_SLOW_REQUEST_MS": "0"}).start()
    before = d.wait_workers()
    rid = "ops-timeout-" + uuid.uuid4().hex
    conn = start_slow(d.sock, rid)
    t0 = time.monotonic()
    try:
        # the other workers keep serving while one is stuck
        while time.monotonic() - t0 < 0.8:
            assert d.ping().status == 200
        m = wait_until(lambda: re.search(
            r"error: worker (\d+) killed: request to %s exceeded 1 s "
            r"\(request %s\)" % (SLOW_ROUTE, rid), d.log()), timeout=5,
            what="the timeout kill")
        elapsed = time.monotonic() - t0
        # the stuck client sees its connection closed, no answer
        with pytest.raises((fcgi_client.FcgiError, OSError)):
            conn.read_response()
    finally:
        conn.close()
    victim = int(m.group(1))
    assert victim in before
    assert 1.0 <= elapsed < 4.0, elapsed
    after = wait_until(lambda: (c := d.children()) and len(c) == WORKERS
                       and victim not in c and c, what="a replacement")
    assert len(after - before) == 1
    for _ in range(10):
        assert d.ping().status == 200
    log = d.log()
    assert "killed by signal" not in log, log      # our kill, not a crash
    assert "NOT respawning" not in log


def test_all_workers_busy_is_counted_and_the_listen_queue_seen(concertd):
    d = concertd({"CONCERT_REQUEST_TIMEOUT_SECONDS": "0",
                  "CONCERT_SLOW_REQUEST_MS": "0"}).start()
    d.wait_workers()
    slow = [start_slow(d.sock) for _ in range(WORKERS)]
    status_conn = waiting = None
    try:
        time.sleep(0.8)       # > 2 master checks with every worker busy
        # Queue two connections behind the busy workers: a status
        # request, then one that sends nothing yet.
        status_conn = fcgi_client.FcgiConnection(d.sock, timeout=20)
        status_conn.begin()
        status_conn.send_params(fcgi_client.make_params("GET", STATUS))
        status_conn.end_stdin()
        waiting = fcgi_client.FcgiConnection(d.sock, timeout=20)
        time.sleep(0.2)
        # Free one worker: it takes the oldest queued connection (status).
        assert finish_slow(slow.pop(0)).status == 400   # MISSING_FIELD
        r = status_conn.read_response()
    finally:
        for c in slow:
            finish_slow(c)
        for c in (status_conn, waiting):
            if c is not None:
                c.close()
    assert r.status == 200, r
    pool = json.loads(r.body)["pool"]
    assert pool["maxChildrenReached"] >= 1, pool     # once per master check: timing
    # the status request was taken off the queue; the silent connection is still on it
    assert pool["listenQueue"] == 1, pool
