"""A private copy of the whole stack for tests that need their own settings.

Queue tests need a small cap and short TTLs, and they must not see each
other's tokens.  `isolated_stack(**conf)` gives each test:

- a fresh database (concert_q<random>) on the suite's real MariaDB, created
  as root over $CONCERT_STATE_DIR/mysql/mysqld.sock, with sql/schema.sql
  (and sql/demo.sql when demo=True) applied and granted to
  'concert'@'localhost';
- its own Kafka topic prefix and consumer group on the suite's broker (the
  consumer creates its topics at start);
- its own concertd (3 workers) on a private unix socket, and N
  concert-consumer processes, all with the stack's $CONCERT_CONF plus
  CONCERT_<KEY> overrides for every keyword argument;
- its own nginx, rendered from nginx-conf/concert.conf.in with the same
  @PLACEHOLDERS@ as scripts/lib.sh `render` (STATE, ROOT, SOCKET,
  HTTP_PORT) on a free port, so requests go through the real web server;
- at the end: SIGTERM to everything, SIGKILL after 10 s, database dropped,
  temp dir removed (kept, with its logs, if KEEP_ISOLATED=1).

    with isolated_stack(max_active_tokens=10, consumers=3) as st:
        status, body = st.post("/api/v1/token", {"userId": uid})
        st.sql("SELECT COUNT(*) FROM queue_tokens WHERE state = 1")
        st.kill_consumer(0, signal.SIGKILL); st.start_consumer(0)

Env: CONCERT_BUILD_DIR (binaries), CONCERT_CONF, CONCERT_STATE_DIR.
Stdlib only.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import fcgi_client  # noqa: E402
import helpers  # noqa: E402
from helpers import wait_until  # noqa: E402

STOP_TIMEOUT = 10.0


def _need_env(name):
    v = os.environ.get(name)
    if not v:
        pytest.skip("%s is not set (run through scripts/test)" % name)
    return v


def _binary(name):
    path = os.path.join(_need_env("CONCERT_BUILD_DIR"), "src", name)
    if not os.access(path, os.X_OK):
        pytest.fail("no %s binary at %s" % (name, path))
    return path


def _find(*names):
    for n in names:
        p = shutil.which(n) or (os.access("/usr/sbin/" + n, os.X_OK)
                                and "/usr/sbin/" + n)
        if p:
            return p
    pytest.fail("none of %s found" % (names,))


class IsolatedStack:
    def __init__(self, consumers=1, demo=False, **conf):
        self.n_consumers = consumers
        self.demo = demo
        self.conf = conf
        self.tag = "q" + secrets.token_hex(5)
        self.db = "concert_" + self.tag
        # Unix socket paths must stay short: a temp dir directly in /tmp.
        self.dir = tempfile.mkdtemp(prefix="cq", dir="/tmp")
        # nginx workers may run as another user: they must reach the socket.
        os.chmod(self.dir, 0o755)
        _need_env("CONCERT_STATE_DIR")  # the suite's MariaDB (helpers.MYSQL_SOCK)
        self.sock = os.path.join(self.dir, "c.sock")
        self.port = None
        self.url = None
        self.concertd = None
        self.nginx = None       # Popen, when nginx stays in the foreground
        self.nginx_pid = None   # master pid, when the template daemonizes
        self.consumers = []     # Popen per slot (None when stopped)
        self.db_created = False
        env = dict(os.environ)
        env.pop("CONCERT_SINGLE", None)
        env.update({
            "CONCERT_LISTEN": self.sock,
            "CONCERT_PID_FILE": os.path.join(self.dir, "concertd.pid"),
            "CONCERT_LOG_FILE": os.path.join(self.dir, "concertd.log"),
            "CONCERT_DB_NAME": self.db,
            "CONCERT_KAFKA_TOPIC_PREFIX": "concert-" + self.tag,
            "CONCERT_CONSUMER_GROUP": "concert-" + self.tag,
            "CONCERT_WORKERS": "3",
        })
        for k, v in conf.items():
            if k not in ("token_rate_limit", "token_rate_burst"):
                env["CONCERT_" + k.upper()] = str(v)
        self.env = env

    # ------------------------------------------------------------ database

    def sql(self, query):
        """Run query as root in this stack's database; rows as tuples of
        strings (NULL as None)."""
        return helpers.sql(query, database=self.db)

    def scalar(self, query):
        return helpers.scalar(query, database=self.db)

    def _create_db(self):
        helpers.sql("CREATE DATABASE `%s` CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_unicode_ci; "
                    "CREATE USER IF NOT EXISTS 'concert'@'localhost'; "
                    "GRANT ALL PRIVILEGES ON `%s`.* TO 'concert'@'localhost';"
                    % (self.db, self.db), database="")
        self.db_created = True
        files = ["schema.sql"] + (["demo.sql"] if self.demo else [])
        for f in files:
            with open(os.path.join(ROOT, "sql", f)) as fp:
                helpers.sql(None, database=self.db, stdin=fp.read())

    def _drop_db(self):
        if self.db_created:
            try:
                helpers.sql("DROP DATABASE IF EXISTS `%s`" % self.db, database="")
            except AssertionError as e:
                print("isolated: %s" % e, file=sys.stderr)

    # ------------------------------------------------------------ processes

    def _spawn(self, argv, log, env=None):
        return subprocess.Popen(argv, env=env or self.env,
                                stdin=subprocess.DEVNULL,
                                stdout=open(log, "ab"),
                                stderr=subprocess.STDOUT,
                                start_new_session=True)

    def _start_concertd(self):
        self.concertd = self._spawn([_binary("concertd")],
                                    os.path.join(self.dir, "concertd.out"))

        def up():
            if self.concertd.poll() is not None:
                raise AssertionError("concertd exited (%s): %s"
                                     % (self.concertd.returncode,
                                        self.tail("concertd.out")))
            try:
                return fcgi_client.request(self.sock, "GET", "/api/v1/ping",
                                           timeout=2).status == 200
            except OSError:
                return False
        wait_until(up, 20, what="concertd on " + self.sock)

    def consumer_log(self, i):
        return os.path.join(self.dir, "consumer%d.log" % i)

    def start_consumer(self, i=None, wait=True):
        """Start consumer slot i (a new slot if None); wait for its
        'consumer ready' line.  Returns the slot number."""
        if i is None:
            i = len(self.consumers)
        while len(self.consumers) <= i:
            self.consumers.append(None)
        env = dict(self.env)
        env["CONCERT_CONSUMER_LOG_FILE"] = self.consumer_log(i)
        env["CONCERT_CONSUMER_PID_FILE"] = os.path.join(
            self.dir, "consumer%d.pid" % i)
        log = self.consumer_log(i)
        start_at = os.path.getsize(log) if os.path.exists(log) else 0
        p = self._spawn([_binary("concert-consumer")],
                        os.path.join(self.dir, "consumer%d.out" % i), env)
        self.consumers[i] = p
        if wait:
            def ready():
                if p.poll() is not None:
                    raise AssertionError(
                        "consumer %d exited (%s): %s" % (
                            i, p.returncode,
                            self.tail("consumer%d.out" % i)
                            + self.tail("consumer%d.log" % i)))
                try:
                    with open(log, "rb") as f:
                        f.seek(start_at)
                        return b"consumer ready" in f.read()
                except OSError:
                    return False
            wait_until(ready, 30, what="consumer %d ready" % i)
        return i

    def kill_consumer(self, i, sig=signal.SIGTERM, wait=True):
        p = self.consumers[i]
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)
        if wait:
            p.wait(STOP_TIMEOUT + 5)
        self.consumers[i] = None if wait else p

    def _nginx_conf(self):
        """Render the repo's nginx template for this stack."""
        with open(os.path.join(ROOT, "nginx-conf", "concert.conf.in")) as f:
            text = f.read()
        if not text.strip():
            pytest.fail("nginx-conf/concert.conf.in is empty")
        subst = {"STATE": self.dir, "ROOT": ROOT, "SOCKET": self.sock,
                 "RUNTIME": self.dir,  # the page's files: <dir>/web (_start_nginx)
                 "HTTP_PORT": str(self.port),
                 "OPS_PORT": str(helpers.free_port()),  # the operator pages' listener
                 # scripts/web's defaults: token rate limit never reached, CORS off
                 # (a test that joins flat out passes token_rate_limit /
                 # token_rate_burst: nginx's, not concertd's, settings)
                 "TOKEN_RATE": str(self.conf.get("token_rate_limit", "1000r/s")),
                 "TOKEN_BURST": "burst=%s" % self.conf.get("token_rate_burst", 1000),
                 "CORS_MAP": "", "CORS_VARY": ""}
        for k, v in subst.items():
            text = text.replace("@%s@" % k, v)
        left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
        if left:
            pytest.fail("unrendered placeholder(s) in nginx template: %s"
                        % " ".join(left))
        return text

    def _start_nginx(self):
        """Start nginx the way scripts/web does: rendered config at
        <STATE>/nginx/nginx.conf, prefix <STATE>/nginx/.  The template may
        daemonize (daemon on): then the pid comes from its pid file."""
        self.port = helpers.free_port()
        text = self._nginx_conf()
        prefix = os.path.join(self.dir, "nginx")
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(text)
        # The ticket window, placed as scripts/web does (RUNTIME/web).
        if os.path.isdir(os.path.join(ROOT, "web")):
            shutil.copytree(os.path.join(ROOT, "web"), os.path.join(self.dir, "web"))
        argv = [_find("nginx"), "-p", prefix + "/", "-c", conf,
                "-e", os.path.join(prefix, "logs", "error.log")]
        daemon = re.search(r"^\s*daemon\s+on\s*;", text, re.M) is not None
        if not re.search(r"^\s*daemon\s", text, re.M):
            argv += ["-g", "daemon off;"]
        p = self._spawn(argv, os.path.join(self.dir, "nginx.out"))
        if daemon:
            if p.wait(20) != 0:
                raise AssertionError("nginx failed to start (%s): %s%s" % (
                    p.returncode, self.tail("nginx.out"),
                    self.tail("nginx/logs/error.log")))
            pid_file = os.path.join(prefix, "nginx.pid")
            m = re.search(r"^\s*pid\s+([^;]+);", text, re.M)
            if m:
                pid_file = m.group(1).strip()
            self.nginx_pid = int(wait_until(
                lambda: os.path.exists(pid_file) and
                open(pid_file).read().strip(), 10, what="nginx pid file"))
        else:
            self.nginx = p

        def up():
            if self.nginx is not None and self.nginx.poll() is not None:
                raise AssertionError("nginx exited (%s): %s" % (
                    self.nginx.returncode, self.tail("nginx.out")))
            try:
                return self.request("GET", "/api/v1/ping", timeout=2)[0] == 200
            except OSError:
                return False
        self.url = "http://127.0.0.1:%d" % self.port
        wait_until(up, 20, what="nginx on port %d" % self.port)

    def _stop_pid(self, pid):
        """Stop a process that is not our child (a daemonized nginx)."""
        def gone():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            wait_until(gone, STOP_TIMEOUT, what="pid %d to exit" % pid)
        except AssertionError:
            print("isolated: pid %d ignored SIGTERM; SIGKILL" % pid,
                  file=sys.stderr)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _stop(self, p):
        if p is None or p.poll() is not None:
            return
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print("isolated: pid %d ignored SIGTERM; SIGKILL" % p.pid,
                  file=sys.stderr)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                p.kill()
            p.wait(5)

    def tail(self, name, n=30):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def start(self):
        self._create_db()
        self._start_concertd()
        for _ in range(self.n_consumers):
            self.start_consumer()
        self._start_nginx()
        return self

    def stop(self):
        self._stop(self.nginx)
        if self.nginx_pid:
            self._stop_pid(self.nginx_pid)
        for p in self.consumers:
            self._stop(p)
        self._stop(self.concertd)
        self._drop_db()
        if os.environ.get("KEEP_ISOLATED") == "1":
            print("isolated: kept %s" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ http

    def request(self, method, path, body=None, token=None, timeout=10):
        """One HTTP request through nginx: (status, parsed JSON; the raw
        bytes when the body is not JSON; None when empty)."""
        headers = {}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        r = helpers.api(method, path, body, headers=headers,
                        base="http://127.0.0.1:%d" % self.port, timeout=timeout)
        if r.json is None and r.body.strip():
            return r.status, r.body
        return r.status, r.json

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)


@contextlib.contextmanager
def isolated_stack(consumers=1, demo=False, **conf):
    st = IsolatedStack(consumers=consumers, demo=demo, **conf)
    try:
        st.start()
        yield st
    except BaseException:
        # Show what the servers said: the logs are gone after stop().
        for name in ["concertd.log", "concertd.out", "nginx.out",
                     "nginx/logs/error.log"] + \
                ["consumer%d.log" % i for i in range(len(st.consumers))]:
            t = st.tail(name, 15)
            if t:
                print("---- %s ----\n%s" % (name, t), file=sys.stderr)
        raise
    finally:
        st.stop()
