"""Deploying behind the three front doors, and the web-server settings.

- mod_fcgid really runs concertd the shared-host way: single workers spawned by Apache's fcgid
  process manager, no concertd master among them;
- nginx limits POST /api/v1/token per client address (a second nginx rendered from the
  template with a low rate, in front of the stack's concertd) and answers 429 in the JSON error
  envelope with Retry-After, while GET /token is never limited;
- CORS (scripts/test sets CONCERT_CORS_ORIGINS=https://front.example): an allowed Origin is
  echoed, any other gets no CORS header, preflights are answered 204 -- through nginx, Apache
  mod_proxy_fcgi and Apache mod_fcgid;
- web-server errors carry the JSON envelope, Content-Type application/json; charset=utf-8 and
  Cache-Control: no-store on every front door; the operator paths are localhost-only on all.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

import pytest

import helpers
from helpers import api, new_user

FRONT = "https://front.example"
EVIL = "https://evil.example"
JSON_CT = "application/json; charset=utf-8"
# What the web configs send to an allowed origin (nginx-conf/, apache-conf/).
EXPOSE = "Retry-After, X-Request-Id, Idempotent-Replayed"
ALLOW_HEADERS = {"content-type", "authorization", "x-queue-token", "idempotency-key", "x-request-id"}
MAX_AGE = "600"


def request(base, method, path, headers=None, body=None, source=None):
    """(status, headers, body bytes) of one request to base+path as given."""
    return helpers.http_request(helpers.ops_base(base, path), method, path, headers=headers, body=body, source=source)




def cors_origins():
    return os.environ.get("CONCERT_CORS_ORIGINS", "").split()


def assert_json_error(status, headers, body, code=None):
    assert headers.get("Content-Type") == JSON_CT, (status, dict(headers))
    assert headers.get_all("Cache-Control") == ["no-store"], dict(headers)
    doc = json.loads(body)
    assert isinstance(doc.get("error"), dict) and doc["error"].get("code"), body
    assert isinstance(doc["error"].get("message"), str)
    if code:
        assert doc["error"]["code"] == code, body


# ------------------------------------------------------------------ mod_fcgid

def _ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def fcgid_children():
    """(apache master pid, {concertd pid: parent pid}) of the stack's Apache+fcgid."""
    pid_file = os.path.join(helpers.STATE, "fcgid", "httpd.pid")
    if not os.path.exists(pid_file):
        pytest.skip("no Apache+fcgid in this stack")
    with open(pid_file) as f:
        master = int(f.read().strip())
    binaries = {os.path.realpath(os.path.join(helpers.BUILD, "src", "concertd"))}
    if os.environ.get("RUNTIME"):  # scripts/web runs a copy there (scripts/lib.sh RUNTIME)
        binaries.add(os.path.realpath(os.path.join(os.environ["RUNTIME"], "fcgid", "bin", "concertd")))
    out = {}
    for pid in _pids():
        try:
            if os.path.realpath(_exe(pid)).replace(" (deleted)", "") not in binaries:
                continue
            parent = _ppid(pid)
            if _ppid(parent) == master:
                out[pid] = parent
        except (OSError, ValueError, IndexError):
            continue
    return master, out


def test_fcgid_spawns_single_workers_without_a_master(fcgid_url):
    for _ in range(4):
        assert api("GET", "/api/v1/ping", base=fcgid_url).status == 200
    master, kids = fcgid_children()
    assert kids, "no concertd spawned by Apache+fcgid (master pid %d)" % master
    parents = set(kids.values())
    assert len(parents) == 1, kids  # all children of the one fcgid process manager
    pm = parents.pop()
    # the process manager is a child of that Apache master, running the same binary
    assert _ppid(pm) == master and _exe(pm) == _exe(master), (pm, _exe(pm), _exe(master))
    concertds = [p for p in _pids() if _exe(p) == _exe(next(iter(kids)))]
    for pid in kids:
        # one worker: fd 0 is the socket mod_fcgid handed over, and no concertd below it
        assert os.readlink("/proc/%d/fd/0" % pid).startswith("socket:"), pid
        assert not [p for p in concertds if _safe_ppid(p) == pid], "concertd %d has children" % pid
    # The stack's own concertd master is not what answers here.
    stack_master = int(open(helpers.conf_value("pid_file")).read().strip())
    assert stack_master not in kids
    # The process answering the status page is one of mod_fcgid's children.
    st, _, body = request(fcgid_url, "GET", "/api/v1/status")
    assert st == 200, body
    answering = [w["pid"] for w in json.loads(body)["workers"]]
    # a pool of one: the status page lists exactly the process that answered
    assert len(answering) == 1 and answering[0] in kids, (answering, kids)


def _safe_ppid(pid):
    try:
        return _ppid(pid)
    except (OSError, ValueError, IndexError):
        return None


def test_fcgid_passes_authorization_and_query_string(fcgid_url):
    user = new_user()
    r = api("POST", "/token", {"userId": user}, base=fcgid_url)
    assert r.status == 201, r     # a new user: a new token
    tok = r.json["token"]
    r = api("GET", "/token", headers={"Authorization": "Bearer " + tok}, base=fcgid_url)
    assert r.status == 200 and r.json["token"] == tok, r
    r = api("GET", "/token?token=" + tok, base=fcgid_url)
    assert r.status == 200 and r.json["token"] == tok, r
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + tok}, base=fcgid_url)
    assert r.status == 200 and r.json["token"] == tok and r.json["status"] == "EXPIRED", r


def test_ops_paths_are_localhost_only_through_fcgid(fcgid_url):
    for path in ("/api/v1/status", "/metrics"):
        st, h, body = request(fcgid_url, "GET", path, source=("127.0.0.2", 0))
        assert st == 403, (path, st)
        assert_json_error(st, h, body, "FORBIDDEN")
        st, _, _ = request(fcgid_url, "GET", path)
        assert st == 200, path


def test_every_template_restricts_the_ops_paths():
    root = helpers.ROOT
    for name in ("concert.conf.in", "concert-fcgid.conf.in"):
        with open(os.path.join(root, "apache-conf", name)) as f:
            text = f.read()
        for path in ("/api/v1/status", "/metrics"):
            m = re.search(r'<Location "%s">(.*?)</Location>' % re.escape(path), text, re.S)
            assert m and "Require ip 127.0.0.1" in m.group(1), (name, path)
    with open(os.path.join(root, "nginx-conf", "concert.conf.in")) as f:
        text = f.read()
    for path in ("/api/v1/status", "/metrics"):
        m = re.search(r"location = %s \{([^}]*)\}" % re.escape(path), text)
        assert m and "allow 127.0.0.1;" in m.group(1) and "deny all;" in m.group(1), path


# ------------------------------------------------------------------ errors on every door

def test_web_server_errors_are_json_and_not_cached(web):
    st, h, body = request(web, "GET", "/api/v2/nope")
    assert st == 404
    assert_json_error(st, h, body, "NOT_FOUND")
    st, h, body = request(web, "GET", "/metrics", source=("127.0.0.2", 0))
    assert st == 403
    assert_json_error(st, h, body, "FORBIDDEN")
    big = b'{"userId": "%s", "pad": "%s"}' % (new_user().encode(), b"x" * 20000)
    st, h, body = request(web, "POST", "/api/v1/balance", body=big,
                          headers={"Content-Type": "application/json"})
    assert st == 413
    assert_json_error(st, h, body, "PAYLOAD_TOO_LARGE")


def test_application_answers_have_one_no_store_header(web):
    st, h, _ = request(web, "GET", "/api/v1/ping")
    assert st == 200
    assert h.get("Content-Type") == JSON_CT
    assert h.get_all("Cache-Control") == ["no-store"], h.get_all("Cache-Control")


# ------------------------------------------------------------------ CORS

@pytest.fixture
def cors(web):
    if FRONT not in cors_origins():
        pytest.skip("CONCERT_CORS_ORIGINS does not allow %s (scripts/test sets it)" % FRONT)
    return web


def test_cors_allowed_origin_is_echoed(cors):
    for method, path, body, hdrs in (
            ("GET", "/api/v1/ping", None, {}),
            ("GET", "/api/v1/token", None, {}),  # an application error (401)
            ("POST", "/api/v1/token", b"{}", {"Content-Type": "application/json"}),
            ("GET", "/api/v2/nope", None, {})):  # a web-server error
        hdrs = dict(hdrs, Origin=FRONT)
        st, h, _ = request(cors, method, path, headers=hdrs, body=body)
        assert h.get_all("Access-Control-Allow-Origin") == [FRONT], (path, st, dict(h))
        vary = [v.strip() for x in h.get_all("Vary") or [] for v in x.split(",")]
        assert vary.count("Origin") == 1, (path, h.get_all("Vary"))
        assert h.get_all("Access-Control-Expose-Headers") == [EXPOSE], (path, dict(h))


def test_cors_other_origins_get_no_cors_headers(cors):
    for origin in (EVIL, FRONT + ".evil.example", "http://front.example", FRONT + ":444"):
        st, h, _ = request(cors, "GET", "/api/v1/ping", headers={"Origin": origin})
        assert st == 200
        assert h.get("Access-Control-Allow-Origin") is None, (origin, dict(h))
    st, h, _ = request(cors, "GET", "/api/v1/ping")
    assert st == 200 and h.get("Access-Control-Allow-Origin") is None


def test_cors_preflight_is_204_with_the_allow_headers(cors):
    st, h, body = request(cors, "OPTIONS", "/api/v1/reservations", headers={
        "Origin": FRONT, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key"})
    assert st == 204, (st, dict(h), body)
    assert body == b""
    assert h.get("Access-Control-Allow-Origin") == FRONT
    methods = {m.strip() for m in h.get("Access-Control-Allow-Methods", "").split(",")}
    assert methods == {"GET", "POST", "DELETE", "OPTIONS"}, methods
    allowed = {x.strip().lower() for x in h.get("Access-Control-Allow-Headers", "").split(",")}
    assert allowed == ALLOW_HEADERS, h.get("Access-Control-Allow-Headers")
    assert h.get_all("Access-Control-Max-Age") == [MAX_AGE], dict(h)
    # From an origin not on the list: no CORS headers, whatever else answers.
    st, h, _ = request(cors, "OPTIONS", "/api/v1/reservations", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert h.get("Access-Control-Allow-Origin") is None, dict(h)
    assert h.get("Access-Control-Allow-Methods") is None, dict(h)


# ------------------------------------------------------------------ nginx rate limit

def _nginx_binary():
    for n in ("nginx", "/usr/sbin/nginx"):
        p = shutil.which(n)
        if p:
            return p
    pytest.skip("nginx not installed")


@pytest.fixture
def limited_nginx():
    """A second nginx from nginx-conf/concert.conf.in: 2 requests/s per client, no burst, in
    front of the stack's concertd socket. Rendered like scripts/lib.sh `render`."""
    sock = helpers.conf_value("listen")
    if not sock or not os.path.exists(sock):
        pytest.skip("no stack FastCGI socket (CONCERT_CONF 'listen')")
    d = tempfile.mkdtemp(prefix="cdeploy", dir="/tmp")
    os.chmod(d, 0o755)
    prefix = os.path.join(d, "nginx")
    for sub in ("logs", "tmp"):
        os.makedirs(os.path.join(prefix, sub))
    port = helpers.free_port()
    with open(os.path.join(helpers.ROOT, "nginx-conf", "concert.conf.in")) as f:
        text = f.read()
    subst = {"STATE": d, "ROOT": helpers.ROOT, "RUNTIME": d, "SOCKET": sock, "HTTP_PORT": str(port),
             "OPS_PORT": str(helpers.free_port()),
             "TOKEN_RATE": "2r/s", "TOKEN_BURST": "", "CORS_MAP": "", "CORS_VARY": ""}
    for k, v in subst.items():
        text = text.replace("@%s@" % k, v)
    left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
    assert not left, "unrendered placeholder(s) in the nginx template: %s" % left
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(text)
    err = os.path.join(prefix, "logs", "error.log")
    p = subprocess.run([_nginx_binary(), "-p", prefix + "/", "-c", conf, "-e", err],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    pid_file = os.path.join(prefix, "nginx.pid")
    url = "http://127.0.0.1:%d" % port
    try:
        helpers.wait_until(lambda: os.path.exists(pid_file) and
                           _status(url, "/bench/static") == 200, timeout=10)
        time.sleep(1.1)  # a fresh second of rate
        yield url
    finally:
        try:
            os.kill(int(open(pid_file).read().strip()), signal.SIGQUIT)
            helpers.wait_until(lambda: not os.path.exists(pid_file), timeout=10)
        except (OSError, ValueError, AssertionError):
            pass
        shutil.rmtree(d, ignore_errors=True)


def _status(url, path):
    try:
        return request(url, "GET", path)[0]
    except OSError:
        return None


def _burst(url, method, n=20):
    """n requests back to back on one keep-alive connection: [(status, headers, body)]."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    out = []
    try:
        for _ in range(n):
            # No userId: an allowed POST is answered 400 by concertd without a write.
            body = b"{}" if method == "POST" else None
            hdrs = {"Content-Type": "application/json"} if body else {}
            c.request(method, "/api/v1/token", body=body, headers=hdrs)
            r = c.getresponse()
            out.append((r.status, r.headers, r.read()))
    finally:
        c.close()
    return out


def test_token_issuance_is_rate_limited_per_client(limited_nginx):
    t0 = time.monotonic()
    res = _burst(limited_nginx, "POST")
    elapsed = time.monotonic() - t0
    statuses = [s for s, _, _ in res]
    limited = [(s, h, b) for s, h, b in res if s == 429]
    assert limited, statuses
    assert len(limited) >= 15, statuses  # 2r/s, no burst: about one in 20 gets through
    assert statuses[0] == 400, statuses  # the first one reaches concertd (MISSING_FIELD)
    assert set(statuses) <= {400, 429}, statuses
    # 2r/s without burst: one request per 500 ms of the burst gets through, no more
    assert statuses.count(400) <= 1 + int(elapsed / 0.5), (elapsed, statuses)
    for s, h, b in limited:
        assert_json_error(s, h, b, "RATE_LIMITED")
        assert h.get_all("Retry-After") == ["1"], dict(h)


def test_token_polling_is_not_rate_limited(limited_nginx):
    statuses = [s for s, _, _ in _burst(limited_nginx, "GET")]
    assert statuses == [401] * 20, statuses  # TOKEN_REQUIRED from concertd, never 429
    # and other routes are not limited either
    assert {request(limited_nginx, "GET", "/api/v1/ping")[0] for _ in range(10)} == {200}


def test_stack_nginx_does_not_throttle_ordinary_use(base_url):
    # The local stack's limit (CONCERT_TOKEN_RATE_LIMIT, 1000r/s + burst) is never reached by
    # the tests: 20 POSTs back to back all reach concertd.
    statuses = [s for s, _, _ in _burst(base_url, "POST")]
    assert statuses == [400] * 20, statuses   # MISSING_FIELD from concertd, never 429
