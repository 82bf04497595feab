"""Start without a dependency (issue 9 item 5).

concertd and concert-consumer started while MySQL or Kafka does not answer
must stay up: /api/v1/health says "degraded", the API answers 503
DB_UNAVAILABLE while MySQL is away (and serves while only Kafka is), and
once the dependency is there holds and payments work and the consumer
admits within a few seconds.  A deploy error retrying cannot fix (unknown
database, missing schema) still fails the start with one line.

"MySQL stopped" without stopping the suite's shared server: the isolated
stack's db_socket points at a path in its temp dir where nothing listens
(exactly what a stopped mariadbd leaves: no socket file, connect fails with
2002); "MySQL starts" is a symlink from that path to the real socket.
"Kafka stopped" is a private broker (test_kafka_outage.PrivateKafka) not
started yet.
"""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpers  # noqa: E402
from helpers import wait_until  # noqa: E402
from isolated import IsolatedStack, _binary  # noqa: E402
import test_kafka_outage as outage  # noqa: E402

TOKEN = "/api/v1/token"
DATE = "2090-01-15"


@contextlib.contextmanager
def stack(env=None, **conf):
    """An isolated stack without its consumer (started by the test, which
    must not wait for "consumer ready"); env(st) adds environment."""
    st = IsolatedStack(consumers=0, **conf)
    if env is not None:
        st.env.update(env(st))
    try:
        st.start()
        yield st
    except BaseException:
        for name in ("concertd.log", "concertd.out", "consumer0.log",
                     "consumer0.out"):
            t = st.tail(name, 20)
            if t:
                print("---- %s ----\n%s" % (name, t), file=sys.stderr)
        raise
    finally:
        st.stop()


def _consumer_alive(st):
    p = st.consumers[0]
    assert p.poll() is None, "consumer exited (%s): %s%s" % (
        p.returncode, st.tail("consumer0.out"), st.tail("consumer0.log"))


def _consumer_log(st):
    try:
        with open(st.consumer_log(0), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _issue(st, expect=201):
    status, body = st.post(TOKEN, {"userId": str(uuid.uuid4())})
    assert status == expect, (status, body)
    return body


def _state(st, token):
    status, body = st.get(TOKEN + "?token=" + token)
    assert status == 200, (status, body)
    return body["status"]


def _seats(st):
    st.sql("INSERT INTO concert_dates (concert_date, title) VALUES "
           "('%s', 'degraded'); INSERT INTO seats (concert_date, "
           "seat_number, price) VALUES ('%s', 1, 1000), ('%s', 2, 1000)"
           % (DATE, DATE, DATE))


def _buy(st, seat):
    """Join, get admitted, hold a seat and pay it: the whole purchase."""
    user = str(uuid.uuid4())
    status, body = st.post(TOKEN, {"userId": user})
    assert status == 201, (status, body)
    tok = body["token"]
    wait_until(lambda: _state(st, tok) == "ACTIVE", 10, what="admission")
    status, body = st.post("/api/v1/balance", {"userId": user, "amount": 5000})
    assert status == 200, (status, body)
    status, body = st.post("/api/v1/reservations",
                           {"date": DATE, "seatNumber": seat, "token": tok})
    assert status == 201, (status, body)
    status, body = st.post("/api/v1/payments",
                           {"reservationId": body["reservationId"],
                            "amount": 1000, "token": tok})
    assert status == 201 and body["status"] == "success", (status, body)


def test_start_with_mysql_down_then_serve_when_it_is_back():
    def env(st):
        return {"CONCERT_DB_SOCKET": os.path.join(st.dir, "my.sock")}

    with stack(env, max_active_tokens=1, sweep_interval_ms=500) as st:
        link = st.env["CONCERT_DB_SOCKET"]
        st.start_consumer(0, wait=False)
        time.sleep(2)
        _consumer_alive(st)

        status, body = st.get("/api/v1/health")
        assert status == 503, (status, body)
        assert body == {"status": "degraded", "db": "down",
                        "kafka": "ok"}, body
        t = time.monotonic()
        status, body = st.post(TOKEN, {"userId": str(uuid.uuid4())})
        took = time.monotonic() - t
        assert status == 503 and body["error"]["code"] == "DB_UNAVAILABLE", \
            (status, body)
        assert took < 1.0, "a refused request took %.2f s" % took
        status, body = st.get("/api/v1/reservations/dates")
        assert status == 503 and body["error"]["code"] == "DB_UNAVAILABLE", \
            (status, body)
        assert "consumer ready" not in _consumer_log(st)

        _seats(st)      # (as root, through the real socket)
        os.symlink(helpers.MYSQL_SOCK, link)   # "MySQL is back"
        back = time.monotonic()
        wait_until(lambda: st.get("/api/v1/health")[0] == 200, 5,
                   what="health 200 once MySQL is back")
        wait_until(lambda: "consumer ready" in _consumer_log(st), 5,
                   what="consumer ready once MySQL is back")
        _buy(st, 1)
        print("mysql back -> purchase done in %.2f s"
              % (time.monotonic() - back))
        _consumer_alive(st)


def test_start_with_kafka_down_then_events_when_it_is_back():
    k = outage.PrivateKafka()
    try:
        with stack(kafka_brokers=k.brokers, max_active_tokens=1,
                   sweep_interval_ms=500) as st:
            st.start_consumer(0, wait=False)
            _seats(st)
            time.sleep(2)
            _consumer_alive(st)

            status, body = st.get("/api/v1/health")
            assert status == 503, (status, body)
            assert body == {"status": "degraded", "db": "ok",
                            "kafka": "down"}, body
            # Kafka down: everything is served, the sweep admits.
            _buy(st, 1)
            assert "consumer ready" not in _consumer_log(st)

            k.start()
            back = time.monotonic()
            wait_until(lambda: "consumer ready" in _consumer_log(st), 10,
                       what="consumer subscribed once Kafka is back")
            wait_until(lambda: st.get("/api/v1/health")[0] == 200, 10,
                       what="health 200 once Kafka is back")
            print("kafka back -> consumer ready and health ok in %.2f s"
                  % (time.monotonic() - back))
            # The consumer created its topics and reads them.
            wait_until(lambda: "partitions assigned: concert-" in
                       _consumer_log(st), 15, what="partitions assigned")
            _buy(st, 2)
            _consumer_alive(st)
    finally:
        try:
            k.stop()
        finally:
            shutil.rmtree(k.dir, ignore_errors=True)


def _run_alone(binary, extra):
    """Start binary on its own with extra environment; (rc, stderr)."""
    d = tempfile.mkdtemp(prefix="cd", dir="/tmp")
    try:
        env = dict(os.environ)
        env.pop("CONCERT_SINGLE", None)
        env.update({
            "CONCERT_LISTEN": os.path.join(d, "c.sock"),
            "CONCERT_PID_FILE": os.path.join(d, "concertd.pid"),
            "CONCERT_LOG_FILE": os.path.join(d, "concertd.log"),
            "CONCERT_CONSUMER_LOG_FILE": os.path.join(d, "consumer.log"),
            "CONCERT_CONSUMER_PID_FILE": os.path.join(d, "consumer.pid"),
            "CONCERT_WORKERS": "1",
        })
        env.update(extra)
        r = subprocess.run([_binary(binary)], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        return r.returncode, r.stderr.decode(errors="replace")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_deploy_errors_still_fail_the_start():
    missing = {"CONCERT_DB_NAME": "concert_no_such_db_" + uuid.uuid4().hex[:8]}
    for binary in ("concertd", "concert-consumer"):
        rc, err = _run_alone(binary, missing)
        assert rc == 1, (binary, rc, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        # (1049 Unknown database, or 1044 when the grants do not cover it)
        assert len(lines) == 1 and ("Unknown database" in lines[0] or
                                    "Access denied" in lines[0]), \
            (binary, err)

    # A database without the schema.
    db = "concert_empty_" + uuid.uuid4().hex[:8]
    helpers.sql("CREATE DATABASE `%s`; GRANT ALL PRIVILEGES ON `%s`.* TO "
                "'concert'@'localhost'" % (db, db), database="")
    try:
        for binary in ("concertd", "concert-consumer"):
            rc, err = _run_alone(binary, {"CONCERT_DB_NAME": db})
            assert rc == 1, (binary, rc, err)
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert len(lines) == 1 and ("doesn't exist" in lines[0] or
                                        "lacks the schema" in lines[0]), \
                (binary, err)
    finally:
        helpers.sql("DROP DATABASE IF EXISTS `%s`" % db, database="")
