"""Shared helpers of the API / reservation / payment tests, and the
database invariants that must hold after any run.

Stdlib only.  Talks to the stack that scripts/test started:

  CONCERT_TEST_URL          nginx in front of concertd (default :8080)
  CONCERT_TEST_APACHE_URL   Apache in front of the same concertd (optional)
  CONCERT_CONF              the stack's concert.conf (db socket / name, limits)
  CONCERT_STATE_DIR         for the MariaDB socket ($STATE/mysql/mysqld.sock)

    api("POST", "/token", {"userId": u})     -> Resp(.status .json .headers .text)
    sql("SELECT ...")                          -> [tuple of str/None, ...]
    tok = active_token(user)                   -> 32-hex token, ACTIVE
    user = funded_user(200000)
    date = fresh_date(seats=10)                -> a private far-future date
    check_invariants()                         -> AssertionError naming the rows

`invariants_at_end` is a session-scoped autouse fixture: every test module
that does `from invariants import *` (or imports the fixture by name) gets
check_invariants() run once at the end of the session, after every test of
the run (other engineers' too), and its private dates cleaned up.
"""

import http.client
import json
import os
import random
import shutil
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest

__all__ = [
    "BASE", "APACHE", "WEB_URLS", "Resp", "api", "sql", "scalar",
    "wait_until", "parallel", "new_user", "issue_token", "active_token",
    "charge", "funded_user", "balance_of", "fresh_date", "hold", "pay",
    "conf", "conf_int", "check_invariants", "invariants_at_end",
    "assert_error", "QueueLock", "concertd_worker_pids", "cleanup_dates",
]

BASE = os.environ.get("CONCERT_TEST_URL", "http://127.0.0.1:8080").rstrip("/")
APACHE = (os.environ.get("CONCERT_TEST_APACHE_URL") or "").rstrip("/") or None
WEB_URLS = [BASE] + ([APACHE] if APACHE else [])
V1 = "/api/v1"


# ---------------------------------------------------------------- config

_conf_cache = None


def conf():
    """The stack's config (file, then CONCERT_<KEY> overrides)."""
    global _conf_cache
    if _conf_cache is None:
        c = {}
        path = os.environ.get("CONCERT_CONF")
        if path and os.path.exists(path):
            with open(path) as f:
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


# ---------------------------------------------------------------- HTTP

class Resp:
    def __init__(self, status, headers, text):
        self.status = status
        self.headers = headers          # lower-case names
        self.text = text
        try:
            self.json = json.loads(text) if text else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Resp(%d, %s)" % (self.status, self.text[:300])


def api(method, path, body=None, headers=None, base=None, timeout=30,
        content_type="application/json"):
    """One HTTP request.  path is relative to /api/v1 unless it starts
    with /api or is absolute-from-root ("//x" style is passed as is).
    body: dict/list -> JSON; str/bytes -> sent raw.  content_type None
    sends no Content-Type."""
    base = (base or BASE).rstrip("/")
    if not path.startswith("/api"):
        path = V1 + path
    u = urllib.parse.urlsplit(base)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        if content_type is not None and not any(
                k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = content_type
    last = None
    for attempt in range(3):
        c = http.client.HTTPConnection(u.hostname, u.port or 80,
                                       timeout=timeout)
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            h = {k.lower(): v for k, v in r.getheaders()}
            return Resp(r.status, h, raw.decode("utf-8", "replace"))
        except (ConnectionResetError, ConnectionRefusedError,
                http.client.RemoteDisconnected) as e:
            last = e            # listen backlog overflow under a burst
            time.sleep(0.05 * (attempt + 1))
        finally:
            c.close()
    raise last


def assert_error(r, status, code=None):
    """r is an error with this status (and code), in the JSON envelope."""
    assert r.status == status, r
    assert isinstance(r.json, dict) and isinstance(r.json.get("error"),
                                                   dict), r
    err = r.json["error"]
    assert isinstance(err.get("code"), str) and err["code"], r
    assert isinstance(err.get("message"), str), r
    if code is not None:
        assert err["code"] == code, r
    return err


# ---------------------------------------------------------------- SQL

def _mysql_cmd():
    exe = shutil.which("mariadb") or shutil.which("mysql")
    if exe is None:
        pytest.skip("no mariadb client")
    c = conf()
    sock = c.get("db_socket")
    state = os.environ.get("CONCERT_STATE_DIR")
    if state:
        sock = os.path.join(state, "mysql", "mysqld.sock")
    if not sock:
        pytest.skip("no database socket (set CONCERT_STATE_DIR)")
    return [exe, "--no-defaults", "--socket=" + sock, "-uroot", "-N", "-B",
            c.get("db_name", "concert")]


def sql(query):
    """Run query (one or several statements); rows as tuples of str, NULL
    as None."""
    r = subprocess.run(_mysql_cmd() + ["-e", query], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("SQL failed: %s\n%s" % (query[:300],
                                                     r.stderr.strip()))
    return [tuple(None if c == "NULL" else c for c in line.split("\t"))
            for line in r.stdout.splitlines()]


def scalar(query):
    rows = sql(query)
    return rows[0][0] if rows else None


def uhex(u):
    """SQL literal of a UUID string stored as BINARY(16)."""
    return "UNHEX('%s')" % u.replace("-", "")


class QueueLock:
    """Hold the queue_state row lock in a separate session, so the consumer
    cannot admit anybody while the block runs (the API's reads do not
    lock it)."""

    def __enter__(self):
        self.p = subprocess.Popen(_mysql_cmd() + ["--unbuffered"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.p.stdin.write("BEGIN; SELECT serving_seq FROM queue_state "
                           "WHERE id = 1 FOR UPDATE; SELECT 'locked';\n")
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise AssertionError("queue lock session died")
            if line.strip() == "locked":
                return self

    def __exit__(self, *exc):
        try:
            self.p.stdin.write("ROLLBACK;\n")
            self.p.stdin.close()
        finally:
            self.p.wait(10)


# ---------------------------------------------------------------- timing

def wait_until(pred, timeout=15.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def parallel(n, fn, timeout=120):
    """Run fn(i) for i in range(n) in n threads released together by a
    barrier; return the results (or raise the first exception)."""
    barrier = threading.Barrier(n)
    out = [None] * n
    errs = []

    def run(i):
        try:
            barrier.wait(30)
            out[i] = fn(i)
        except BaseException as e:      # noqa: B902
            errs.append(e)

    ts = [threading.Thread(target=run, args=(i,), daemon=True)
          for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
    if errs:
        raise errs[0]
    return out


# ---------------------------------------------------------------- domain

def new_user():
    return str(uuid.uuid4())


def issue_token(user, base=None):
    r = api("POST", "/token", {"userId": user}, base=base)
    assert r.status in (200, 201), r
    return r.json


def active_token(user, base=None, timeout=15):
    """POST /token and poll GET /token until the consumer admitted it."""
    tok = issue_token(user, base)["token"]

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


__all__.append("active_tokens")


def charge(user, amount, headers=None):
    return api("POST", "/balance", {"userId": user, "amount": amount},
               headers=headers)


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
    return api("POST", "/reservations",
               {"date": date, "seatNumber": seat, "token": token},
               headers=headers, base=base)


def pay(token, rid, amount, headers=None, base=None):
    return api("POST", "/payments",
               {"reservationId": rid, "amount": amount, "token": token},
               headers=headers, base=base)


_my_dates = []


def fresh_date(seats=10, price=lambda n: 1000 * n):
    """Insert a private concert date far in the future with `seats` seats
    priced price(n); return it as YYYY-MM-DD."""
    for _ in range(50):
        y = random.randint(2070, 2099)
        d = "%04d-%02d-%02d" % (y, random.randint(1, 12),
                                random.randint(1, 28))
        n = scalar("INSERT IGNORE INTO concert_dates (concert_date, title) "
                   "VALUES ('%s', 'test'); SELECT ROW_COUNT();" % d)
        if n == "1":
            break
    else:
        raise AssertionError("no free date found")
    values = ",".join("('%s', %d, %d)" % (d, i, price(i))
                      for i in range(1, seats + 1))
    if values:
        sql("INSERT INTO seats (concert_date, seat_number, price) VALUES "
            + values)
    _my_dates.append(d)
    return d


def cleanup_dates():
    """Remove what the private dates hold except sold seats (and their
    confirmed reservations), so the data stays consistent and the dates
    drop out of /reservations/dates."""
    while _my_dates:
        d = _my_dates.pop()
        sql("DELETE FROM reservations WHERE concert_date = '{d}' "
            "AND state <> 1; "
            "DELETE FROM seats WHERE concert_date = '{d}' AND state <> 2; "
            "DELETE FROM concert_dates WHERE concert_date = '{d}' AND NOT "
            "EXISTS (SELECT 1 FROM seats WHERE concert_date = '{d}');"
            .format(d=d))


def concertd_worker_pids():
    """Children of the concertd master named in $STATE/run/concertd.pid."""
    state = os.environ.get("CONCERT_STATE_DIR")
    if not state:
        pytest.skip("CONCERT_STATE_DIR is not set")
    pidf = conf().get("pid_file") or os.path.join(state, "run",
                                                    "concertd.pid")
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
        if int(fields[1]) == master:
            kids.append(int(p))
    return kids


# ---------------------------------------------------------------- invariants

def _bad(query, what, failures):
    rows = sql(query)
    if rows:
        failures.append("%s: %s" % (what, rows[:10]))


def check_invariants():
    """Assert the database is consistent (see the list below).  Safe to
    run at any time: conditions on live holds are evaluated with one
    UTC_TIMESTAMP per statement."""
    max_holds = conf_int("max_holds_per_user", 4)
    f = []
    # Seats sold exactly once, paid once, at the price.
    _bad("SELECT s.concert_date, s.seat_number, COUNT(r.id) FROM seats s"
         " LEFT JOIN reservations r ON r.concert_date = s.concert_date"
         "  AND r.seat_number = s.seat_number AND r.state = 1"
         " WHERE s.state = 2 GROUP BY s.concert_date, s.seat_number"
         " HAVING COUNT(r.id) <> 1",
         "SOLD seat without exactly one CONFIRMED reservation", f)
    _bad("SELECT s.concert_date, s.seat_number, HEX(s.reservation_id)"
         " FROM seats s LEFT JOIN reservations r ON r.id = s.reservation_id"
         " WHERE s.state = 2 AND (r.id IS NULL OR r.state <> 1)",
         "SOLD seat whose reservation_id is not a CONFIRMED reservation", f)
    _bad("SELECT s.concert_date, s.seat_number, COUNT(p.id),"
         " MIN(p.amount), s.price FROM seats s"
         " LEFT JOIN payments p ON p.reservation_id = s.reservation_id"
         " WHERE s.state = 2 GROUP BY s.concert_date, s.seat_number, s.price"
         " HAVING COUNT(p.id) <> 1 OR MIN(p.amount) <> s.price",
         "SOLD seat without exactly one payment of its price", f)
    _bad("SELECT s.concert_date, s.seat_number, s.state, r.concert_date,"
         " r.seat_number FROM seats s JOIN reservations r"
         " ON r.id = s.reservation_id WHERE s.state IN (1, 2) AND"
         " (r.concert_date <> s.concert_date OR r.seat_number <> s.seat_number)",
         "seat pointing at a reservation of another seat", f)
    _bad("SELECT s.concert_date, s.seat_number FROM seats s"
         " WHERE s.state NOT IN (0, 1, 2) OR (s.state = 2 AND"
         " s.reservation_id IS NULL) OR (s.state = 1 AND"
         " (s.reservation_id IS NULL OR s.hold_expires_at IS NULL))",
         "seat in an impossible state", f)
    # Reservations.
    _bad("SELECT HEX(r.id), COUNT(p.id) FROM reservations r"
         " LEFT JOIN payments p ON p.reservation_id = r.id"
         " WHERE r.state = 1 GROUP BY r.id HAVING COUNT(p.id) <> 1",
         "CONFIRMED reservation without exactly one payment", f)
    _bad("SELECT HEX(r.id), s.state, HEX(s.reservation_id)"
         " FROM reservations r JOIN seats s ON s.concert_date ="
         " r.concert_date AND s.seat_number = r.seat_number"
         " WHERE r.state = 1 AND (s.state <> 2 OR s.reservation_id <> r.id)",
         "CONFIRMED reservation whose seat is not SOLD to it", f)
    _bad("SELECT HEX(p.id), HEX(p.reservation_id), r.state,"
         " p.amount, r.price, HEX(p.user_id), HEX(r.user_id)"
         " FROM payments p LEFT JOIN reservations r ON r.id = p.reservation_id"
         " WHERE r.id IS NULL OR r.state <> 1 OR p.amount <> r.price"
         " OR p.user_id <> r.user_id",
         "payment for a reservation that is not CONFIRMED / wrong amount"
         " or owner", f)
    _bad("SELECT HEX(r.id), s.state, HEX(s.reservation_id)"
         " FROM reservations r JOIN seats s ON s.concert_date ="
         " r.concert_date AND s.seat_number = r.seat_number"
         " WHERE r.state = 0 AND r.expires_at > UTC_TIMESTAMP(3) + INTERVAL"
         " 1 SECOND AND (s.state <> 1 OR s.reservation_id <> r.id)",
         "live HELD reservation whose seat is not held for it", f)
    _bad("SELECT HEX(user_id), COUNT(*) FROM reservations"
         " WHERE state = 0 AND expires_at > UTC_TIMESTAMP(3)"
         " GROUP BY user_id HAVING COUNT(*) > %d" % max_holds,
         "user over max_holds_per_user live holds", f)
    _bad("SELECT concert_date, seat_number, COUNT(*) FROM reservations"
         " WHERE state = 0 AND expires_at > UTC_TIMESTAMP(3)"
         " GROUP BY concert_date, seat_number HAVING COUNT(*) > 1",
         "two live HELD reservations for one seat", f)
    # Money.
    _bad("SELECT HEX(u.id), u.balance, (SELECT COALESCE(SUM(l.delta), 0)"
         " FROM balance_ledger l WHERE l.user_id = u.id) AS s FROM users u"
         " HAVING s <> u.balance",
         "users.balance <> SUM(ledger)", f)
    _bad("SELECT HEX(l.user_id), COUNT(*) FROM balance_ledger l"
         " LEFT JOIN users u ON u.id = l.user_id WHERE u.id IS NULL"
         " GROUP BY l.user_id", "ledger rows of unknown users", f)
    _bad("SELECT HEX(id), balance FROM users WHERE balance < 0",
         "negative balance", f)
    _bad("SELECT a, b FROM (SELECT (SELECT COALESCE(SUM(delta), 0) FROM"
         " balance_ledger WHERE kind = 'PAYMENT') AS a, (SELECT"
         " COALESCE(-SUM(amount), 0) FROM payments) AS b) x WHERE a <> b",
         "SUM(PAYMENT ledger) <> -SUM(payments.amount)", f)
    _bad("SELECT HEX(p.id), COUNT(l.id), MIN(l.delta), p.amount"
         " FROM payments p LEFT JOIN balance_ledger l ON l.ref_id = p.id"
         " AND l.kind = 'PAYMENT' GROUP BY p.id, p.amount"
         " HAVING COUNT(l.id) <> 1 OR MIN(l.delta) <> -p.amount",
         "payment without exactly one ledger row of -amount", f)
    _bad("SELECT id, delta FROM balance_ledger WHERE (kind = 'CHARGE' AND"
         " delta <= 0) OR (kind = 'PAYMENT' AND delta >= 0)",
         "ledger row with the wrong sign", f)
    # Queue.
    _bad("SELECT HEX(user_id), COUNT(*) FROM queue_tokens"
         " WHERE state IN (0, 1) GROUP BY user_id HAVING COUNT(*) > 1",
         "user with two live tokens", f)
    _bad("SELECT seq FROM queue_tokens WHERE (state IN (0, 1) AND"
         " (live_user IS NULL OR live_user <> user_id)) OR"
         " (state = 2 AND live_user IS NOT NULL)",
         "queue token whose live_user disagrees with its state", f)
    assert not f, "invariants violated:\n  " + "\n  ".join(f)


@pytest.fixture(scope="session", autouse=True)
def invariants_at_end():
    yield
    try:
        cleanup_dates()
    finally:
        check_invariants()
