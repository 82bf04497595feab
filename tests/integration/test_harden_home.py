"""Issue 9 item 1: a clone under a 0700 folder (root's home directory) starts.

As root the web servers' workers run as nobody (nginx) / www-data (Apache, and mod_fcgid's
concertd): whatever they must reach -- concertd's FastCGI socket, MariaDB's socket for the
concertd processes mod_fcgid spawns, the binary and configuration mod_fcgid executes, Apache's
JSON error documents -- must not sit behind the clone's 0700 parent.

The test copies the working tree (and the built binaries) into a fresh 0700 folder and starts
MariaDB, concertd and the three front doors from that copy with its default state directory
(<copy>/.state), on free ports; Kafka is the suite's broker (own topic prefix). Every front door
must answer from the database. Needs root (otherwise every worker is the invoking user).
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

import helpers

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (workers as nobody/www-data)")


def _free_base_port(n=3):
    """A port p with p .. p+n-1 all free on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p + 10 + n >= 65535:
            continue
        ok = True
        for q in list(range(p, p + n)) + list(range(p + 10, p + 10 + n)):  # + operator pages
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
                    break
        if ok:
            return p
    pytest.skip("no run of free ports")


def _copy_tree(dst):
    files = subprocess.run(["git", "-C", helpers.ROOT, "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.split(b"\0")
    for rel in files:
        if not rel:
            continue
        rel = rel.decode()
        src = os.path.join(helpers.ROOT, rel)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))
    os.makedirs(os.path.join(dst, "build", "src"))
    for b in ("concertd", "concert-consumer"):
        shutil.copy2(os.path.join(helpers.BUILD, "src", b), os.path.join(dst, "build", "src", b))


@pytest.fixture
def home_clone():
    top = tempfile.mkdtemp(prefix="chome")
    os.chmod(top, 0o700)
    repo = os.path.join(top, "concert.v2")
    _copy_tree(repo)
    port = _free_base_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONCERT_") or k in ("CONCERT_CORS_ORIGINS",)}
    env.update({
        "CONCERT_HTTP_PORT": str(port),
        "CONCERT_APACHE_PORT": str(port + 1),
        "CONCERT_FCGID_PORT": str(port + 2),
        "CONCERT_BUILD_DIR": os.path.join(repo, "build"),
        "CONCERT_KAFKA_BROKERS": helpers.conf_value("kafka_brokers") or "127.0.0.1:29092",
        "CONCERT_KAFKA_TOPIC_PREFIX": "home-" + uuid.uuid4().hex[:8],
        "CONCERT_WORKERS": "2",
        "CONCERT_FCGID_MAX_PROCESSES": "2",
    })
    run = lambda *a, **kw: subprocess.run([os.path.join(repo, "scripts", a[0])] + list(a[1:]),  # noqa: E731
                                          env=env, cwd=repo, capture_output=True, text=True,
                                          timeout=kw.get("timeout", 120))
    try:
        yield repo, port, run
    finally:
        r = run("stack", "stop")
        print(r.stdout, r.stderr)
        shutil.rmtree(top, ignore_errors=True)


def _check(r):
    assert r.returncode == 0, "%s\n%s" % (r.stdout[-3000:], r.stderr[-3000:])


def test_clone_in_a_0700_folder_serves_through_every_front_door(home_clone):
    repo, port, run = home_clone
    _check(run("mysql", "start"))
    _check(run("config"))
    _check(run("app", "start", "concertd"))
    for w in ("nginx", "apache", "fcgid"):
        _check(run("web", "start", w))
    for name, p in (("nginx", port), ("apache", port + 1), ("fcgid", port + 2)):
        base = "http://127.0.0.1:%d" % p
        r = helpers.api("GET", "/health", base=base)
        assert r.status == 200, (name, r)
        r = helpers.api("POST", "/token", {"userId": helpers.new_user()}, base=base)  # the database
        assert r.status in (200, 201), (name, r)
        # an error the web server answers itself: its JSON document must be readable too
        conn = http.client.HTTPConnection("127.0.0.1", p, timeout=30)
        try:
            conn.request("GET", "/no-such-thing-here")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        assert resp.status == 404, (name, resp.status, body)
        assert "error" in json.loads(body), (name, body)
