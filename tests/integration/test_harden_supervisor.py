"""Issue 9 item 3: the one-command stack is a supervisor; a zombie is not a running process.

- scripts/run restarts the part that died (kill -9 of mariadbd, the concertd master, the
  consumer) with a growing delay, logs it, keeps the rest serving: the API answers again and
  scripts/run is still in the foreground; SIGTERM still stops everything with exit 0.
- scripts/lib.sh's pid checks read /proc/PID/stat: a pid file naming a zombie does not make
  `scripts/app start consumer` say "already running".
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import helpers

SCRIPTS = os.path.join(helpers.ROOT, "scripts")


def _proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _live_pid(path):
    """The pid in path if that process runs (not a zombie), else None."""
    try:
        pid = int(open(path).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    st = _proc_state(pid)
    return pid if st not in (None, "Z", "X") else None


def test_zombie_in_the_pid_file_is_not_running():
    pidf = helpers.conf_value("consumer_pid_file")
    if not pidf:
        pytest.skip("no consumer_pid_file in CONCERT_CONF")
    app = os.path.join(SCRIPTS, "app")
    r = subprocess.run([app, "stop", "consumer"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    z = subprocess.Popen(["sh", "-c", "exit 0"])
    try:
        helpers.wait_until(lambda: _proc_state(z.pid) == "Z", 10, what="a zombie")
        with open(pidf, "w") as f:
            f.write("%d\n" % z.pid)
        r = subprocess.run([app, "status", "consumer"], capture_output=True, text=True, timeout=30)
        assert "stopped" in r.stdout, r.stdout
        r = subprocess.run([app, "start", "consumer"], capture_output=True, text=True, timeout=90)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "already running" not in r.stdout, r.stdout
        pid = helpers.wait_until(lambda: _live_pid(pidf), 10, what="a live consumer pid")
        assert pid != z.pid
    finally:
        z.wait()
        subprocess.run([app, "start", "consumer"], capture_output=True, timeout=90)


def _free_port(pair=False):
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if not pair:
            return p
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 1))
                return p
            except OSError:
                continue
    pytest.skip("no free ports")


@pytest.fixture
def run_stack():
    state = tempfile.mkdtemp(prefix="csup", dir="/tmp")
    http = _free_port()
    kafka = _free_port(pair=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCERT_")}
    env.update({
        "CONCERT_STATE_DIR": state,
        "CONCERT_HTTP_PORT": str(http),
        "CONCERT_KAFKA_PORT": str(kafka),
        "CONCERT_BUILD_DIR": helpers.BUILD,
        "CONCERT_SKIP_DEPS": "1",
        "CONCERT_WEB": "nginx",
        "CONCERT_WORKERS": "2",
    })
    log = os.path.join(state, "run.out")
    out = open(log, "ab")
    p = subprocess.Popen([os.path.join(SCRIPTS, "run")], env=env, stdin=subprocess.DEVNULL,
                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def text():
        with open(log, errors="replace") as f:
            return f.read()
    try:
        helpers.wait_until(lambda: p.poll() is not None or "concert is up" in text(), 240,
                           interval=0.5, what="scripts/run up")
        assert p.poll() is None, text()
        yield p, state, "http://127.0.0.1:%d" % http, text
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(90)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([os.path.join(SCRIPTS, "stack"), "stop"], env=env, capture_output=True,
                       timeout=120)
        out.close()
        shutil.rmtree(state, ignore_errors=True)


def _answers(base):
    try:
        return helpers.api("POST", "/token", {"userId": helpers.new_user()}, base=base,
                           timeout=5).status in (200, 201)
    except OSError:
        return False


def test_run_restarts_what_died(run_stack):
    p, state, base, text = run_stack
    assert _answers(base)
    victims = [("mysql", os.path.join(state, "mysql", "mysqld.pid")),
               ("concertd", os.path.join(state, "run", "concertd.pid")),
               ("consumer", os.path.join(state, "run", "consumer.pid"))]
    for name, pidf in victims:
        old = _live_pid(pidf)
        assert old, (name, text())
        os.kill(old, signal.SIGKILL)
        new = helpers.wait_until(lambda: (_live_pid(pidf) or old) != old and _live_pid(pidf),
                                 90, interval=0.5, what="%s restarted" % name)
        assert p.poll() is None, "scripts/run exited after %s died:\n%s" % (name, text())
        helpers.wait_until(lambda: _answers(base), 60, interval=0.5,
                           what="the API answering after %s came back" % name)
        assert new != old
    assert "restart" in text()
    p.send_signal(signal.SIGTERM)
    assert p.wait(90) == 0, text()
