"""concertd master/worker process behaviour, against the real binary.

Each test starts its own concertd with the stack's config ($CONCERT_CONF:
real MariaDB and Kafka) but its own socket, pid file and log in a private
temp dir (CONCERT_LISTEN / CONCERT_PID_FILE / CONCERT_LOG_FILE), 3 workers,
and kills its whole process group at the end whatever happened.  Requests
go straight to the FastCGI socket (fcgi_client.py); GET /api/v1/ping needs
no database.

Env: CONCERT_BUILD_DIR (binary at $CONCERT_BUILD_DIR/src/concertd; CONCERTD
overrides the binary path), CONCERT_CONF, CONCERT_STATE_DIR.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402
from helpers import wait_until  # noqa: E402

PING = "/api/v1/ping"
WORKERS = 3
SHUTDOWN_TIMEOUT = 5


def concertd_binary():
    if os.environ.get("CONCERTD"):
        return os.environ["CONCERTD"]
    build = os.environ.get("CONCERT_BUILD_DIR")
    if not build:
        pytest.skip("CONCERT_BUILD_DIR is not set (run through scripts/test)")
    path = os.path.join(build, "src", "concertd")
    if not os.access(path, os.X_OK):
        pytest.fail("no concertd binary at %s" % path)
    return path


def proc_stat(pid):
    """(state, ppid, pgrp) of a live process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    # comm may contain spaces and parentheses: fields start after the last ')'
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


RELAY_COMM = "concertd-relay"   # the master's event relay child (relay.h)


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def live(stat):
    return stat is not None and stat[0] not in ("Z", "X")


class Concertd:
    """One concertd under test; a session leader, so its pgid is its pid."""

    def __init__(self, tmpdir, env_extra=None, args=()):
        self.dir = tmpdir
        self.sock = os.path.join(tmpdir, "concertd.sock")
        self.pid_file = os.path.join(tmpdir, "concertd.pid")
        self.log_file = os.path.join(tmpdir, "concertd.log")
        env = dict(os.environ)
        env.pop("CONCERT_SINGLE", None)
        env.update({
            "CONCERT_LISTEN": self.sock,
            "CONCERT_PID_FILE": self.pid_file,
            "CONCERT_LOG_FILE": self.log_file,
            "CONCERT_WORKERS": str(WORKERS),
            "CONCERT_SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_TIMEOUT),
        })
        for k, v in (env_extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        self.env = env
        self.args = list(args)
        self.proc = None

    def start(self, wait=True, **popen):
        popen.setdefault("stdin", subprocess.DEVNULL)
        self.proc = subprocess.Popen(
            [concertd_binary()] + self.args, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, **popen)
        if wait:
            self.wait_ready()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def ping(self, timeout=5.0):
        return fcgi_client.request(self.sock, "GET", PING, timeout=timeout)

    def children(self):
        """The workers: children of the master but its event relay."""
        return {p for p in all_pids()
                if (s := proc_stat(p)) and live(s) and s[1] == self.pid
                and comm(p) != RELAY_COMM}

    def relay(self):
        """Pid of the event relay, or None."""
        for p in all_pids():
            s = proc_stat(p)
            if s and live(s) and s[1] == self.pid and comm(p) == RELAY_COMM:
                return p
        return None

    def group(self):
        """Every live process of this concertd (master and workers)."""
        return {p for p in all_pids()
                if (s := proc_stat(p)) and live(s) and s[2] == self.pid}

    def wait_workers(self, n=WORKERS, timeout=15.0):
        return wait_until(lambda: (c := self.children()) and len(c) == n
                          and c, timeout, what="%d workers" % n)

    def wait_ready(self, timeout=20.0):
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError(
                    "concertd exited with %s during start-up: %s"
                    % (self.proc.returncode, self.proc.stderr.read()))
            try:
                return self.ping(timeout=2).status == 200
            except (OSError, fcgi_client.FcgiError):
                return False
        wait_until(ok, timeout, what="concertd to answer %s" % PING)
        self.wait_workers()

    def log(self):
        try:
            with open(self.log_file) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def kill_all(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


@pytest.fixture
def tmpdir_short():
    # sun_path is 108 bytes: pytest's tmp_path can be too long for it.
    d = tempfile.mkdtemp(prefix="cm-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def concertd(tmpdir_short):
    started = []

    def make(env_extra=None, args=(), sub=None, **kw):
        d = os.path.join(tmpdir_short, sub) if sub else tmpdir_short
        os.makedirs(d, exist_ok=True)
        c = Concertd(d, env_extra, args)
        started.append(c)
        return c
    yield make
    for c in started:
        c.kill_all()


class Load:
    """Threads sending pings back to back; records (start, end, ok, what)."""

    def __init__(self, sock, threads=4):
        self.sock = sock
        self.results = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(threads)]

    def run(self):
        while not self.stop_event.is_set():
            t0 = time.monotonic()
            try:
                r = fcgi_client.request(self.sock, "GET", PING, timeout=10)
                ok, what = r.status == 200, "status %d" % r.status
            except Exception as e:  # any failure counts
                ok, what = False, repr(e)
            with self.lock:
                self.results.append((t0, time.monotonic(), ok, what))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=15)

    def failures(self):
        return [r for r in self.results if not r[2]]

    def started_after(self, t):
        return [r for r in self.results if r[0] >= t]


def test_killed_worker_is_replaced_and_only_its_request_fails(concertd):
    d = concertd().start()
    before = d.wait_workers()
    with Load(d.sock) as load:
        time.sleep(0.5)
        victim = min(before)
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        after = wait_until(
            lambda: (c := d.children()) and len(c) == WORKERS
            and victim not in c and c, what="a replacement worker")
        t_up = time.monotonic()
        time.sleep(1.5)
    fails = load.failures()
    assert len(after - before) == 1
    # A worker serves one request at a time: at most one can have been in
    # flight on the victim, and it must have started before the kill (50 ms
    # of slack for the kill to take effect).
    assert len(fails) <= 1, fails
    assert all(f[0] <= t_kill + 0.05 for f in fails), fails
    late = load.started_after(t_up)
    assert late and all(r[2] for r in late), [r for r in late if not r[2]]
    assert "worker %d killed by signal 9" % victim in d.log()


def test_sighup_under_load_fails_no_request_and_replaces_all_workers(concertd):
    d = concertd().start()
    before = d.wait_workers()
    with Load(d.sock) as load:
        time.sleep(0.5)
        t_hup = time.monotonic()
        os.kill(d.pid, signal.SIGHUP)
        after = wait_until(
            lambda: (c := d.children()) and len(c) == WORKERS
            and not (c & before) and c, what="old workers to be replaced")
        time.sleep(1.0)
        # A second reload right away, still under load.
        os.kill(d.pid, signal.SIGHUP)
        wait_until(lambda: (c := d.children()) and len(c) == WORKERS
                   and not (c & after), what="second reload")
        time.sleep(0.5)
    assert load.failures() == [], load.failures()[:5]
    assert len(load.started_after(t_hup)) > 20
    assert d.proc.poll() is None
    assert d.ping().status == 200


def test_sigterm_lets_the_request_in_flight_complete_then_all_exit(concertd):
    d = concertd().start()
    body = b'{"padding": "0123456789abcdef0123456789abcdef"}'
    half = len(body) // 2
    conn = fcgi_client.FcgiConnection(d.sock, timeout=20)
    try:
        conn.begin()
        conn.send_params(fcgi_client.make_params(
            "POST", PING, len(body), "application/json"))
        conn.send_stdin(body[:half])
        time.sleep(0.5)           # a worker has accepted it and is reading
        t_term = time.monotonic()
        os.kill(d.pid, signal.SIGTERM)
        # The idle workers go; the busy one and the master wait for us.
        wait_until(lambda: len(d.children()) == 1, timeout=SHUTDOWN_TIMEOUT,
                   what="idle workers to exit")
        assert d.proc.poll() is None
        conn.send_stdin(body[half:])
        conn.end_stdin()
        resp = conn.read_response()
    finally:
        conn.close()
    # Complete response (END_REQUEST seen, headers parsed): ping takes no POST.
    assert resp.status == 405, resp
    rc = d.proc.wait(timeout=SHUTDOWN_TIMEOUT + 5)
    assert rc == 0, d.proc.stderr.read()
    assert time.monotonic() - t_term < SHUTDOWN_TIMEOUT + 5
    wait_until(lambda: not d.group(), timeout=5, what="all processes gone")
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pid_file)


def test_sigterm_kills_a_stuck_worker_after_the_timeout(concertd):
    d = concertd().start()
    # Params sent, body never finished: the worker is stuck reading.
    conn = fcgi_client.FcgiConnection(d.sock, timeout=30)
    try:
        conn.begin()
        conn.send_params(fcgi_client.make_params("POST", PING, 100))
        conn.send_stdin(b"x" * 10)
        time.sleep(0.5)
        t_term = time.monotonic()
        os.kill(d.pid, signal.SIGTERM)
        rc = d.proc.wait(timeout=SHUTDOWN_TIMEOUT + 5)
        elapsed = time.monotonic() - t_term
    finally:
        conn.close()
    assert rc == 0
    assert SHUTDOWN_TIMEOUT - 0.5 <= elapsed < SHUTDOWN_TIMEOUT + 5
    assert "sending SIGKILL" in d.log()
    wait_until(lambda: not d.group(), timeout=5, what="all processes gone")
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pid_file)


def test_second_instance_on_the_same_socket_refuses_to_start(concertd):
    first = concertd(sub="a").start()
    second = concertd(sub="b")
    second.env["CONCERT_LISTEN"] = first.sock
    second.start(wait=False)
    rc = second.proc.wait(timeout=20)
    err = second.proc.stderr.read().decode()
    assert rc != 0
    assert "another concertd is listening on '%s'" % first.sock in err, err
    assert os.path.exists(first.sock)
    assert first.ping().status == 200
    assert len(first.children()) == WORKERS


def test_stale_socket_file_is_replaced(concertd):
    d = concertd()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(d.sock)            # the file exists, nobody listens
    stale.close()
    assert os.path.exists(d.sock)
    d.start()
    assert d.ping().status == 200
    assert "removed stale socket" in d.log()


def test_workers_retire_after_max_requests_without_failures(concertd):
    d = concertd({"CONCERT_MAX_REQUESTS": "5"}).start()
    before = d.wait_workers()
    statuses = []
    for _ in range(100):
        statuses.append(d.ping().status)
    assert statuses == [200] * 100
    after = d.wait_workers()
    assert after != before
    # Retirement is routine, not an error.
    assert " error: " not in d.log(), d.log()


def test_bad_config_value_is_one_line_naming_the_key(concertd):
    d = concertd({"CONCERT_WORKERS": "abc"}).start(wait=False)
    rc = d.proc.wait(timeout=10)
    err = d.proc.stderr.read().decode()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc != 0
    assert len(lines) == 1, err
    assert "workers" in lines[0]
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pid_file)


def test_check_mode_prints_the_config(concertd):
    d = concertd({"CONCERT_WORKERS": "7"}, args=["-t"]).start(wait=False)
    rc = d.proc.wait(timeout=10)
    out = d.proc.stdout.read().decode()
    assert rc == 0
    assert "workers = 7" in out
    assert "listen = %s" % d.sock in out
    assert not os.path.exists(d.sock)


def test_reload_with_a_broken_config_keeps_the_running_one(concertd):
    d = concertd({"CONCERT_WORKERS": None})
    conf = os.path.join(d.dir, "concert.conf")
    base = ""
    if os.environ.get("CONCERT_CONF"):
        with open(os.environ["CONCERT_CONF"]) as f:
            base = "".join(ln for ln in f
                           if not ln.strip().startswith("workers"))
    with open(conf, "w") as f:
        f.write(base + "\nworkers = 3\n")
    d.env["CONCERT_CONF"] = conf
    d.start()
    before = d.wait_workers(3)
    with open(conf, "a") as f:
        f.write("workers = many\n")
    os.kill(d.pid, signal.SIGHUP)
    wait_until(lambda: "reload failed" in d.log(), what="reload failure log")
    assert d.children() == before
    assert d.ping().status == 200
    with open(conf, "w") as f:
        f.write(base + "\nworkers = 2\n")
    os.kill(d.pid, signal.SIGHUP)
    after = d.wait_workers(2)
    assert not (after & before)
    assert d.ping().status == 200


def test_sigusr1_reopens_the_log(concertd):
    d = concertd().start()
    rotated = d.log_file + ".1"
    os.rename(d.log_file, rotated)
    os.kill(d.pid, signal.SIGUSR1)
    wait_until(lambda: "log reopened" in d.log(), what="new log file")
    assert d.ping().status == 200
    assert d.proc.poll() is None
    assert len(d.children()) == WORKERS   # SIGUSR1 did not kill workers


def test_workers_exit_when_the_master_is_killed(concertd):
    d = concertd().start()
    workers = d.wait_workers()
    os.kill(d.pid, signal.SIGKILL)
    d.proc.wait(timeout=5)
    wait_until(lambda: not any(live(proc_stat(p)) for p in workers),
               timeout=SHUTDOWN_TIMEOUT + 5, what="orphaned workers to exit")


def test_crash_breaker_pauses_respawning_then_recovers(concertd):
    d = concertd({"CONCERT_RESPAWN_MAX": "2",
                  "CONCERT_RESPAWN_WINDOW_SECONDS": "2"}).start()
    for _ in range(10):
        if "NOT respawning" in d.log():
            break
        for p in d.children():
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    wait_until(lambda: "NOT respawning" in d.log(), what="breaker to trip")
    d.wait_workers(WORKERS, timeout=15)
    assert "respawning workers again" in d.log()
    assert d.ping().status == 200


def test_single_worker_on_an_inherited_socket(concertd):
    d = concertd({"CONCERT_SINGLE": "1"})
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(d.sock)
    lsock.listen(16)
    try:
        d.start(wait=False, stdin=lsock.fileno())
        wait_until(lambda: _ping_ok(d), what="single worker to answer")
        assert d.children() == set()      # no master, no workers
        assert not os.path.exists(d.pid_file)
        os.kill(d.pid, signal.SIGTERM)
        assert d.proc.wait(timeout=SHUTDOWN_TIMEOUT + 5) == 0
    finally:
        lsock.close()


def test_master_on_an_inherited_socket_leaves_it_alone(concertd):
    d = concertd(args=["-M"])
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(d.sock)
    lsock.listen(16)
    try:
        d.start(stdin=lsock.fileno())
        os.kill(d.pid, signal.SIGTERM)
        assert d.proc.wait(timeout=SHUTDOWN_TIMEOUT + 5) == 0
        assert os.path.exists(d.sock)     # not ours to unlink
    finally:
        lsock.close()


def _ping_ok(d):
    try:
        return d.ping(timeout=2).status == 200
    except (OSError, fcgi_client.FcgiError):
        return False
