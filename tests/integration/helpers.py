"""Small stdlib-only helpers for the integration tests.

The tests run against the real stack that scripts/test starts (MariaDB, Kafka, concertd,
concert-consumer, nginx and Apache). Environment (set by scripts/test):

    CONCERT_TEST_URL         nginx base URL     (default http://127.0.0.1:8080)
    CONCERT_TEST_APACHE_URL  Apache base URL    (optional; Apache tests are skipped without it)
    CONCERT_STATE_DIR        the stack's state dir (MySQL socket at $STATE/mysql/mysqld.sock)
    CONCERT_BUILD_DIR, CONCERT_CONF, CONCERT_ROOT
"""
import http.client
import json
import os
import subprocess
import threading
import time
import urllib.parse
import uuid

ROOT = os.environ.get("CONCERT_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
STATE = os.path.abspath(os.environ.get("CONCERT_STATE_DIR") or os.path.join(ROOT, ".state"))
BUILD = os.path.abspath(os.environ.get("CONCERT_BUILD_DIR") or os.path.join(ROOT, "build"))
CONF = os.environ.get("CONCERT_CONF") or os.path.join(STATE, "concert.conf")
BASE_URL = (os.environ.get("CONCERT_TEST_URL") or "http://127.0.0.1:8080").rstrip("/")
APACHE_URL = (os.environ.get("CONCERT_TEST_APACHE_URL") or "").rstrip("/") or None
MYSQL_SOCK = os.path.join(STATE, "mysql", "mysqld.sock")
API = "/api/v1"


class Response:
    """An HTTP answer: .status, .headers (case-insensitive lookups via .header()), .text, .json."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # http.client.HTTPMessage
        self.body = body                # bytes
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
        return "<Response %s %s>" % (self.status, self.text[:200])


def api(method, path, body=None, headers=None, base=None, raw_body=None, timeout=30):
    """Send one request. `path` may be "/api/v1/..." or relative to it ("token" / "/token").

    body: JSON-encoded with Content-Type application/json (unless headers set one).
    raw_body: bytes/str sent as is (no Content-Type added unless given in headers).
    """
    base = (base or BASE_URL).rstrip("/")
    if not path.startswith(API + "/") and path != API and not path.startswith("/bench/"):
        path = API + "/" + path.lstrip("/")
    u = urllib.parse.urlsplit(base)
    hdrs = {}
    data = None
    if raw_body is not None:
        data = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body
    elif body is not None:
        data = json.dumps(body).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    if headers:
        hdrs.update(headers)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        conn.request(method, (u.path.rstrip("/") or "") + path, body=data, headers=hdrs)
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def sql(query, database="concert"):
    """Run SQL as root over the test MariaDB socket; rows as tuples of strings (NULL -> None)."""
    p = subprocess.run(
        ["mariadb", "--no-defaults", "--socket=" + MYSQL_SOCK, "-uroot", database,
         "-N", "-B", "-e", query],
        capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("sql failed (%s): %s\n%s" % (p.returncode, query, p.stderr.strip()))
    out = p.stdout
    rows = []
    for line in out.splitlines():
        rows.append(tuple(None if f == "NULL" else f for f in line.split("\t")))
    return rows


def sql_value(query, database="concert"):
    """First column of the first row, or None."""
    rows = sql(query, database)
    return rows[0][0] if rows else None


def new_user():
    return str(uuid.uuid4())


def parallel(n, fn, timeout=120):
    """Run fn(i) for i in range(n) in n threads released together; results in order of i.
    An exception in fn is returned in its slot (so one failure does not hide the others)."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait(timeout)
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported to the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


def wait_until(pred, timeout=10.0, interval=0.1, what="condition"):
    """Poll pred() until it returns a truthy value (returned) or raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("%s not met within %.1fs (last value %r)" % (what, timeout, last))
        time.sleep(interval)


def conf_value(key):
    """A key of the stack's config file ($CONCERT_CONF), or None."""
    try:
        with open(CONF) as f:
            for line in f:
                k, eq, v = line.partition("=")
                if eq and k.strip() == key:
                    return v.strip()
    except FileNotFoundError:
        pass
    return None
