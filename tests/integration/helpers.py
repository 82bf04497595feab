"""The integration tests' one helper library (stdlib + pytest).

The tests run against the real stack that scripts/test starts (MariaDB, Kafka, concertd,
concert-consumer, nginx and Apache). Environment (set by scripts/test):

    CONCERT_TEST_URL         nginx base URL     (default http://127.0.0.1:8080)
    CONCERT_TEST_APACHE_URL  Apache base URL    (optional; Apache tests are skipped without it)
    CONCERT_STATE_DIR        the stack's state dir (MySQL socket at $STATE/mysql/mysqld.sock)
    CONCERT_BUILD_DIR, CONCERT_CONF, CONCERT_ROOT

    api("POST", "/token", {"userId": u})   -> Response(.status .json .headers .text .body)
    http_request(base, "GET", "/x")       -> (status, HTTPMessage, bytes), no /api/v1 prefix
    sql("SELECT ...")                       -> [tuple of str/None, ...]
    scalar("SELECT ...")                    -> first column of the first row, or None
    wait_until(pred, timeout, interval, what)
    parallel(n, fn)                         -> [fn(0), ..., fn(n-1)] run together
    new_user(), active_token(user), funded_user(amount), fresh_date(seats), hold(), pay()

The database invariants that must hold after any run live in invariants.py (checked once at the
end of every session by the fixture in conftest.py).
"""
import http.client as httpclient
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest

__all__ = [
    "ROOT", "STATE", "BUILD", "CONF", "BASE_URL", "APACHE_URL", "BASE", "APACHE", "WEB_URLS",
    "API", "Response", "Resp", "api", "http_request", "assert_error", "sql", "scalar", "sql_value", "uhex",
    "mysql_cmd", "QueueLock", "wait_until", "parallel", "free_port", "new_user", "issue_token",
    "active_token", "active_tokens", "charge", "funded_user", "balance_of", "fresh_date",
    "cleanup_dates", "hold", "pay", "conf", "conf_int", "conf_value", "concertd_worker_pids",
]

ROOT = os.environ.get("CONCERT_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STATE = os.path.abspath(os.environ.get("CONCERT_STATE_DIR") or os.path.join(ROOT, ".state"))
BUILD = os.path.abspath(os.environ.get("CONCERT_BUILD_DIR") or os.path.join(ROOT, "build"))
CONF = os.environ.get("CONCERT_CONF") or os.path.join(STATE, "concert.conf")
BASE_URL = (os.environ.get("CONCERT_TEST_URL") or "http://127.0.0.1:8080").rstrip("/")
APACHE_URL = (os.environ.get("CONCERT_TEST_APACHE_URL") or "").rstrip("/") or None
BASE = BASE_URL                 # the names the API tests use
APACHE = APACHE_URL
# The front doors the API tests parametrize over; conftest.py appends the mod_fcgid one.
WEB_URLS = [BASE_URL] + ([APACHE_URL] if APACHE_URL else [])
# The cluster pass (scripts/test, scripts/cluster): the application hosts' own front doors,
# space-separated. api() without an explicit base takes them in turn, so that the contenders of
# a race (and the steps of one flow) land on different hosts and so on different database nodes.
SPREAD_URLS = [u.rstrip("/") for u in (os.environ.get("CONCERT_TEST_SPREAD_URLS") or "").split()]
_spread = itertools.count()
MYSQL_SOCK = os.path.join(STATE, "mysql", "mysqld.sock")
API = "/api/v1"


# ---------------------------------------------------------------- config

_conf_cache = None


def conf():
    """The stack's config: the file $CONCERT_CONF, then CONCERT_<KEY> overrides from the
    environment for keys the file does not set."""
    global _conf_cache
    if _conf_cache is None:
        c = {}
        if os.path.exists(CONF):
            with open(CONF) as f:
                for line in f:
                    line = line.split("#", 1)[0].strip()
                    if "=" in line:
                        k, v = line.split("=", 1)
                        c[k.strip()] = v.strip()
        for k, v in os.environ.items():
            if k.startswith("CONCERT_") and k not in (
                    "CONCERT_CONF", "CONCERT_TEST_URL",
                    "CONCERT_TEST_APACHE_URL", "CONCERT_STATE_DIR"):
                c.setdefault(k[8:].lower(), v)
        _conf_cache = c
    return _conf_cache


def conf_int(key, default):
    try:
        return int(conf().get(key, default))
    except ValueError:
        return default


def conf_value(key):
    """A key of the stack's config file ($CONCERT_CONF) itself, or None."""
    try:
        with open(CONF) as f:
            for line in f:
                k, eq, v = line.partition("=")
                if eq and k.strip() == key:
                    return v.strip()
    except FileNotFoundError:
        pass
    return None


# ---------------------------------------------------------------- HTTP

class Headers(dict):
    """Response headers: a dict with lower-case names, looked up case-insensitively."""

    def __init__(self, pairs):
        super().__init__((k.lower(), v) for k, v in pairs)

    def __getitem__(self, k):
        return super().__getitem__(k.lower())

    def __contains__(self, k):
        return super().__contains__(k.lower())

    def get(self, k, default=None):
        return super().get(k.lower(), default)


class Response:
    """An HTTP answer: .status, .headers (case-insensitive), .body (bytes), .text, .json."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", errors="replace")
        try:
            self.json = json.loads(self.text) if self.text.strip() else None
        except ValueError:
            self.json = None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def error_code(self):
        """The "code" of a JSON error envelope, or None."""
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None

    def __repr__(self):
        return "<Response %s %s>" % (self.status, self.text[:300])


Resp = Response


def http_request(base, method, path, headers=None, body=None, source=None, timeout=20):
    """One request to base + path exactly as given: (status, httpclient.HTTPMessage, bytes).
    source: the local (host, port) to bind to."""
    u = urllib.parse.urlsplit(base)
    c = httpclient.HTTPConnection(u.hostname, u.port or 80, timeout=timeout,
                                   source_address=source)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


# The operator pages (/api/v1/status, /metrics) have a listener of their own on the
# front door's port + 10 (scripts/web); the public server answers them 404.
OPS_PATHS = ("/api/v1/status", "/metrics")


def ops_base(base, path):
    """base itself, or the operator listener's base when path is an operator page."""
    u = urllib.parse.urlsplit(base)
    if path.split("?")[0] not in OPS_PATHS:
        return base
    return "http://%s:%d" % (u.hostname, (u.port or 80) + 10)


def _api_path(path):
    if path.startswith("/api") or path.startswith("/bench/"):
        return path
    if path.startswith("/"):
        return API + path
    return API + "/" + path


def api(method, path, body=None, headers=None, base=None, raw_body=None, timeout=30,
        content_type="application/json"):
    """Send one request through a front door (default nginx) and return a Response.

    path: "/api/..." as is, else relative to /api/v1 ("/token", "token").
    body: a dict/list is sent as JSON; str/bytes as is. raw_body: bytes/str sent as is.
    content_type: added when there is a body and headers set none (None: send none; raw_body
    gets none unless headers give one).
    A connection reset/refused/closed early (listen backlog overflow under a burst) is retried
    twice; the third failure is raised.
    """
    if base is None and SPREAD_URLS:
        base = SPREAD_URLS[next(_spread) % len(SPREAD_URLS)]
    base = (base or BASE_URL).rstrip("/")
    u = urllib.parse.urlsplit(base)
    target = (u.path.rstrip("/") or "") + _api_path(path)
    hdrs = dict(headers or {})
    data = None
    if raw_body is not None:
        data = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body
    elif body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = body
        if content_type is not None and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = content_type
    last = None
    for attempt in range(3):
        c = httpclient.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
        try:
            c.request(method, target, body=data, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            return Response(r.status, Headers(r.getheaders()), raw)
        except (ConnectionResetError, ConnectionRefusedError,
                httpclient.RemoteDisconnected) as e:
            last = e
            time.sleep(0.05 * (attempt + 1))
        finally:
            c.close()
    raise last


def assert_error(r, status, code=None):
    """r is an error with this status (and code), in the JSON envelope; returns the error."""
    assert r.status == status, r
    assert isinstance(r.json, dict) and isinstance(r.json.get("error"), dict), r
    err = r.json["error"]
    assert isinstance(err.get("code"), str) and err["code"], r
    assert isinstance(err.get("message"), str), r
    if code is not None:
        assert err["code"] == code, r
    return err


# ---------------------------------------------------------------- SQL

def mysql_cmd(database=None):
    """argv of the mariadb client as root over the test MariaDB socket (-N -B), in database
    (default: the stack's db_name)."""
    exe = shutil.which("mariadb") or shutil.which("mysql")
    if exe is None:
        pytest.fail("no mariadb client on PATH")
    cmd = [exe, "--no-defaults", "--socket=" + MYSQL_SOCK, "-uroot", "-N", "-B"]
    db = database if database is not None else conf().get("db_name", "concert")
    return cmd + ([db] if db else [])


def sql(query, database=None, stdin=None):
    """Run query (one or several statements) as root; rows as tuples of str, NULL as None.
    database: default the stack's db_name; "" for none. Raises AssertionError on failure."""
    args = mysql_cmd(database) + (["-e", query] if query is not None else [])
    r = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("SQL failed (%s): %s\n%s" % (r.returncode, (query or "<stdin>")[:300],
                                                          r.stderr.strip()))
    return [tuple(None if c == "NULL" else c for c in line.split("\t"))
            for line in r.stdout.splitlines()]


def scalar(query, database=None):
    """First column of the first row, or None."""
    rows = sql(query, database)
    return rows[0][0] if rows else None


sql_value = scalar


def mint_token(seq, secret=None):
    """The queue token of seq, as concertd mints it (src/qtoken.h): 6 bytes of
    seq, big-endian, then HMAC-SHA256(token_secret, "concert-qtoken-v1" || those
    6 bytes) cut to 10 bytes; 32 hex characters."""
    import hashlib
    import hmac
    key = (secret if secret is not None else conf()["token_secret"]).encode()
    s = int(seq).to_bytes(6, "big")
    mac = hmac.new(key, b"concert-qtoken-v1" + s, hashlib.sha256).digest()[:10]
    return (s + mac).hex()


def uhex(u):
    """SQL literal of a UUID string stored as BINARY(16)."""
    return "UNHEX('%s')" % u.replace("-", "")


class RowLock:
    """Run a locking statement (or several, ';'-separated) in a session of its
    own and keep that transaction open for the block; rolled back at the end.
    database: an isolated stack's (st.db), else the shared stack's."""

    def __init__(self, stmt, database=None):
        self.stmt = stmt
        self.database = database

    def __enter__(self):
        self.p = subprocess.Popen(mysql_cmd(self.database) + ["--unbuffered"],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.p.stdin.write("BEGIN; %s; SELECT 'locked';\n" % self.stmt)
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise AssertionError("lock session died: %s" % self.stmt)
            if line.strip() == "locked":
                return self

    def __exit__(self, *exc):
        try:
            self.p.stdin.write("ROLLBACK;\n")
            self.p.stdin.close()
        finally:
            self.p.wait(10)


class QueueLock(RowLock):
    """Hold the queue_state row lock in a separate session, so the consumer
    cannot admit, lapse or re-measure the rate while the block runs (the
    API's reads do not lock it). database: an isolated stack's (st.db)."""

    def __init__(self, database=None):
        super().__init__("SELECT serving_seq FROM queue_state WHERE id = 1 FOR UPDATE",
                         database)


# ---------------------------------------------------------------- timing, threads, ports

# Every JWT a test sent (test_auth_jwt.py): conftest.py's log scan looks for each one.
SENT_JWTS = set()


def wait_until(pred, timeout=15.0, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last value %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


def parallel(n, fn, timeout=120, return_exceptions=False):
    """Run fn(i) for i in range(n) in n threads released together by a barrier; results in
    order of i. An exception raised by fn is re-raised (the first one), or with
    return_exceptions=True returned in its slot. A thread still running after `timeout`
    fails the call."""
    barrier = threading.Barrier(n)
    out = [None] * n
    errs = []

    def run(i):
        try:
            barrier.wait(30)
            out[i] = fn(i)
        except BaseException as e:      # noqa: B902 - reported to the caller
            out[i] = e
            errs.append(e)

    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + timeout
    for t in ts:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [i for i, t in enumerate(ts) if t.is_alive()]
    if stuck:
        raise AssertionError("parallel: %d of %d calls still running after %ss"
                             % (len(stuck), n, timeout))
    if errs and not return_exceptions:
        raise errs[0]
    return out


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- domain

def new_user():
    return str(uuid.uuid4())


def issue_token(user, base=None, status=201):
    """POST /token for user; the answer's JSON. status: 201 for a user without a live token
    (a new token), 200 for one who holds a live token already (the same token back)."""
    r = api("POST", "/token", {"userId": user}, base=base)
    assert r.status == status, r
    return r.json


def active_token(user, base=None, timeout=15, status=201):
    """POST /token (answered `status`, see issue_token) and poll GET /token until the
    consumer admitted it."""
    tok = issue_token(user, base, status)["token"]

    def active():
        r = api("GET", "/token?token=" + tok, base=base)
        assert r.status == 200, r
        return r.json["status"] == "ACTIVE"
    wait_until(active, timeout, 0.05, "token of %s to become ACTIVE" % user)
    return tok


def active_tokens(n):
    """n users with ACTIVE tokens: [(user, token)]."""
    users = [new_user() for _ in range(n)]
    toks = [issue_token(u)["token"] for u in users]
    pending = set(range(n))

    def all_active():
        for i in list(pending):
            r = api("GET", "/token?token=" + toks[i])
            if r.json and r.json.get("status") == "ACTIVE":
                pending.discard(i)
        return not pending
    wait_until(all_active, 20, 0.1, "%d tokens to become ACTIVE" % n)
    return list(zip(users, toks))


def charge(user, amount, headers=None):
    return api("POST", "/balance", {"userId": user, "amount": amount}, headers=headers)


def funded_user(amount):
    u = new_user()
    r = charge(u, amount)
    assert r.status == 200 and r.json["newBalance"] == amount, r
    return u


def balance_of(user):
    """The balance as the database says (None: no such user)."""
    v = scalar("SELECT balance FROM users WHERE id = %s" % uhex(user))
    return None if v is None else int(v)


def hold(token, date, seat, headers=None, base=None):
    return api("POST", "/reservations", {"date": date, "seatNumber": seat, "token": token},
               headers=headers, base=base)


def pay(token, rid, amount, headers=None, base=None):
    return api("POST", "/payments", {"reservationId": rid, "amount": amount, "token": token},
               headers=headers, base=base)


_my_dates = []


def fresh_date(seats=10, price=lambda n: 1000 * n):
    """Insert a private concert date far in the future with `seats` seats
    priced price(n); return it as YYYY-MM-DD."""
    for _ in range(50):
        y = random.randint(2070, 2099)
        d = "%04d-%02d-%02d" % (y, random.randint(1, 12), random.randint(1, 28))
        n = scalar("INSERT IGNORE INTO concert_dates (concert_date, title) "
                   "VALUES ('%s', 'test'); SELECT ROW_COUNT();" % d)
        if n == "1":
            break
    else:
        raise AssertionError("no free date found")
    values = ",".join("('%s', %d, %d)" % (d, i, price(i)) for i in range(1, seats + 1))
    if values:
        sql("INSERT INTO seats (concert_date, seat_number, price) VALUES " + values)
    _my_dates.append(d)
    return d


def cleanup_dates():
    """Remove what the private dates hold except sold seats (and their
    confirmed reservations) and cancelled reservations (their payments
    stay, refunded), so the data stays consistent and the dates drop out
    of /reservations/dates."""
    while _my_dates:
        d = _my_dates.pop()
        sql("DELETE FROM reservations WHERE concert_date = '{d}' "
            "AND state NOT IN (1, 4); "
            "DELETE FROM seats WHERE concert_date = '{d}' AND state <> 2; "
            "DELETE FROM concert_dates WHERE concert_date = '{d}' AND NOT "
            "EXISTS (SELECT 1 FROM seats WHERE concert_date = '{d}');"
            .format(d=d))


def concertd_worker_pids():
    """Children of the concertd master named in the stack's pid file, but
    its event relay."""
    if not os.environ.get("CONCERT_STATE_DIR"):
        pytest.skip("CONCERT_STATE_DIR is not set")
    pidf = conf().get("pid_file") or os.path.join(STATE, "run", "concertd.pid")
    try:
        with open(pidf) as f:
            master = int(f.read().strip())
    except (OSError, ValueError):
        pytest.skip("no concertd pid file at %s" % pidf)
    kids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        # The master's event relay (comm "concertd-relay") is no worker.
        if int(fields[1]) == master and not st.startswith(p + " (concertd-relay)"):
            kids.append(int(p))
    return kids
