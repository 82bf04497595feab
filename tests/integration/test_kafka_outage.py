"""Kafka down: the API keeps serving, /health says so, admission goes on
(the consumer's sweep needs no event), and the event path works again once
the broker is back.

The shared test broker cannot be stopped under the other tests, so this test
runs its own single-node broker (scripts/kafka with a private state folder
and port) behind an isolated stack (own database, topics, concertd, consumer
and nginx; see isolated.py).
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import wait_until  # noqa: E402
from isolated import isolated_stack  # noqa: E402

ROOT = os.environ.get("CONCERT_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TOKEN = "/api/v1/token"


def _port_pair():
    """A port p with p and p+1 free (broker and controller listeners).

    Taken below the kernel's ephemeral range: a port the kernel hands out
    (bind to 0, as free_port() does for nginx) could be given to someone
    else between this choice and the broker's start."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        p = rng.randrange(max(1024, low - 12000), low - 2)
        try:
            with socket.socket() as s, socket.socket() as s2:
                s.bind(("127.0.0.1", p))
                s2.bind(("127.0.0.1", p + 1))
        except OSError:
            continue
        return p
    raise AssertionError("no free port pair")


class PrivateKafka:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ck", dir="/tmp")
        self.port = _port_pair()
        self.env = dict(os.environ, CONCERT_STATE_DIR=self.dir,
                        CONCERT_KAFKA_PORT=str(self.port))

    def _run(self, verb):
        r = subprocess.run([os.path.join(ROOT, "scripts", "kafka"), verb],
                           env=self.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=180)
        assert r.returncode == 0, "scripts/kafka %s: %s" % (
            verb, r.stdout.decode(errors="replace")[-2000:])

    def start(self):
        self._run("start")

    def stop(self):
        self._run("stop")

    @property
    def brokers(self):
        return "127.0.0.1:%d" % self.port


def _issue(st):
    status, body = st.post(TOKEN, {"userId": str(uuid.uuid4())})
    assert status == 201, (status, body)
    return body


def _state(st, token):
    status, body = st.get(TOKEN + "?token=" + token)
    assert status == 200, (status, body)
    return body["status"]


def _health(st):
    return st.get("/api/v1/health")


def test_api_serves_and_admission_goes_on_while_kafka_is_down():
    k = PrivateKafka()
    k.start()
    try:
        with isolated_stack(kafka_brokers=k.brokers, max_active_tokens=1,
                            active_ttl_seconds=600,
                            sweep_interval_ms=500) as st:
            a = _issue(st)["token"]
            wait_until(lambda: _state(st, a) == "ACTIVE", 15, what="a admitted")
            b = _issue(st)["token"]
            assert _state(st, b) == "WAITING"

            k.stop()
            wait_until(lambda: _health(st)[0] == 503, 20, what="health 503")
            status, body = _health(st)
            assert body["kafka"] == "down" and body["db"] == "ok", body

            # Joining, polling and leaving need no broker.
            c = _issue(st)["token"]
            assert _state(st, c) == "WAITING"
            status, body = st.request("DELETE", TOKEN, token=a)
            assert status == 200 and body["status"] == "EXPIRED", body
            # No token.released event can arrive: the sweep admits b.
            wait_until(lambda: _state(st, b) == "ACTIVE", 15,
                       what="b admitted by the sweep with kafka down")
            assert _state(st, c) == "WAITING"

            k.start()
            wait_until(lambda: _health(st)[0] == 200, 60, what="health 200")
            status, body = st.request("DELETE", TOKEN, token=b)
            assert status == 200 and body["status"] == "EXPIRED", body
            wait_until(lambda: _state(st, c) == "ACTIVE", 15,
                       what="c admitted after kafka came back")
            # The cap (1) is filled by c alone: a and b left.
            active = st.sql("SELECT LOWER(HEX(token)) FROM queue_tokens WHERE state = 1")
            assert active == [(c,)], active
    finally:
        try:
            k.stop()
        finally:
            shutil.rmtree(k.dir, ignore_errors=True)


# The event path must be back this soon after the broker (issue 9 item 6).
EVENT_PATH_BOUND_S = 2.0


def test_event_path_is_back_within_2s_of_the_broker():
    """Stop the broker, release an admitted token while it is down (the
    token.released event waits in the worker's producer), start the broker
    and time until the consumer admits the next user.  The sweep is set to
    10 minutes, so only the event path can admit within the test.

    Why 2 s is a bound and not a coin toss: librdkafka's reconnect back-off
    is capped at 1 s (reconnect.backoff.max.ms, +-20 % jitter) in both the
    producer and the consumer, so each reconnects at most ~1.2 s after the
    broker accepts; the rest (fetch, one admission transaction) takes tens
    of ms.  The clock starts when scripts/kafka start returns -- the broker
    logged "Kafka Server started" -- and the measured figure is printed,
    together with the time since the broker's port first accepted."""
    k = PrivateKafka()
    k.start()
    try:
        with isolated_stack(kafka_brokers=k.brokers, max_active_tokens=1,
                            active_ttl_seconds=600,
                            sweep_interval_ms=600000) as st:
            a = _issue(st)["token"]
            # The first pass ran at start; a is admitted by its event.
            wait_until(lambda: _state(st, a) == "ACTIVE", 10,
                       what="a admitted by token.issued")
            b = _issue(st)["token"]
            time.sleep(0.5)
            assert _state(st, b) == "WAITING"

            k.stop()
            wait_until(lambda: _health(st)[0] == 503, 20, what="health 503")
            status, body = st.request("DELETE", TOKEN, token=a)
            assert status == 200 and body["status"] == "EXPIRED", body
            time.sleep(1)
            assert _state(st, b) == "WAITING", "admitted without a broker"

            port_open = []

            def watch_port():
                while not port_open:
                    try:
                        with socket.create_connection(
                                ("127.0.0.1", k.port), timeout=0.2):
                            port_open.append(time.monotonic())
                    except OSError:
                        time.sleep(0.02)
            w = threading.Thread(target=watch_port, daemon=True)
            w.start()
            try:
                k.start()
            finally:
                port_open.append(None)  # stops the watcher
            back = time.monotonic()
            wait_until(lambda: _state(st, b) == "ACTIVE", 15, 0.02,
                       what="b admitted by the event path")
            took = time.monotonic() - back
            since_port = (time.monotonic() - port_open[0]
                          if port_open[0] is not None else float("nan"))
            print("event path back %.2f s after the broker was ready "
                  "(%.2f s after its port opened)" % (took, since_port))
            assert took <= EVENT_PATH_BOUND_S, (
                "event path came back %.2f s after the broker (bound %.1f s)"
                % (took, EVENT_PATH_BOUND_S))
    finally:
        try:
            k.stop()
        finally:
            shutil.rmtree(k.dir, ignore_errors=True)
