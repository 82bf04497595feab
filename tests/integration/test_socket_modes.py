"""concertd's FastCGI socket: php-fpm's listen_owner / listen_group / listen_mode (issue 9, item 11).

A socket any local user can connect to lets them speak FastCGI to the workers directly, past the
web server's access rules, rate limit and the operator pages' own listener. Each test starts its
own concertd (tests/integration/test_master.py's Concertd: the stack's $CONCERT_CONF plus
CONCERT_<KEY> overrides) and connects as other local users with `runuser` and a stdlib FastCGI
client (fcgi_client.py, copied where those users can read it).
"""
import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

import helpers
from test_master import Concertd, concertd_binary

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"

# Prints "status N" for an answer to GET /api/v1/ping, "refused" when connect() is denied.
CLIENT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import fcgi_client
try:
    r = fcgi_client.request(sys.argv[2], "GET", "/api/v1/ping", timeout=5)
except PermissionError:
    print("refused")
else:
    print("status %d" % r.status)
"""


def _need(user=None, group=None):
    if os.geteuid() != 0:
        pytest.skip("needs root (to set a socket's owner and run clients as other users)")
    if shutil.which("runuser") is None:
        pytest.skip("runuser not installed")
    try:
        if user:
            pwd.getpwnam(user)
        if group:
            grp.getgrnam(group)
    except KeyError:
        pytest.skip("no local user %r / group %r" % (user, group))


@pytest.fixture
def sockdir():
    """A short /tmp folder other users can traverse, holding a copy of the FastCGI client."""
    d = tempfile.mkdtemp(prefix="cs-", dir="/tmp")
    os.chmod(d, 0o755)
    shutil.copy(os.path.join(HERE, "fcgi_client.py"), d)
    os.chmod(os.path.join(d, "fcgi_client.py"), 0o644)
    started = []
    yield d, started
    for c in started:
        c.kill_all()
    shutil.rmtree(d, ignore_errors=True)


def start(sockdir, **keys):
    """concertd listening on <dir>/run/c.sock (run/ does not exist yet) with CONCERT_<KEY>s."""
    d, started = sockdir
    c = Concertd(d, {"CONCERT_" + k.upper(): v for k, v in keys.items()})
    c.sock = os.path.join(d, "run", "c.sock")
    c.env["CONCERT_LISTEN"] = c.sock
    started.append(c)
    return c.start()


def connect_as(user, sockdir, sock):
    d, _ = sockdir
    r = subprocess.run(["runuser", "-u", user, "--", PYTHON, "-c", CLIENT, d, sock],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_socket_has_the_configured_group_and_mode_and_others_are_refused(sockdir):
    _need(user="nobody", group="www-data")
    c = start(sockdir, listen_group="www-data", listen_mode="0660")
    folder = os.stat(os.path.dirname(c.sock))
    assert stat.S_IMODE(folder.st_mode) == 0o755      # created, traversable, not writable
    st = os.stat(c.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert st.st_uid == 0                              # listen_owner empty: the process's
    assert st.st_gid == grp.getgrnam("www-data").gr_gid
    assert connect_as("www-data", sockdir, c.sock) == "status 200"
    # nobody is not in www-data: connect() is denied, the workers never see the request
    assert "www-data" not in [g.gr_name for g in grp.getgrall() if "nobody" in g.gr_mem]
    assert connect_as("nobody", sockdir, c.sock) == "refused"


def test_socket_has_the_configured_owner(sockdir):
    _need(user="nobody", group="www-data")
    c = start(sockdir, listen_owner="nobody", listen_group="", listen_mode="0600")
    st = os.stat(c.sock)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == pwd.getpwnam("nobody").pw_uid
    assert connect_as("nobody", sockdir, c.sock) == "status 200"
    assert connect_as("www-data", sockdir, c.sock) == "refused"


def test_unknown_listen_group_fails_the_start_naming_the_key(sockdir):
    _need()
    d, _ = sockdir
    c = Concertd(d, {"CONCERT_LISTEN_GROUP": "no-such-group-x"})
    c.env["CONCERT_LISTEN"] = os.path.join(d, "run", "c.sock")
    p = subprocess.run([concertd_binary()], env=c.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1, p
    assert "listen_group 'no-such-group-x': no such group" in p.stderr, p.stderr
    assert not os.path.exists(c.env["CONCERT_LISTEN"])


def test_stack_socket_is_as_its_configuration_says():
    sock = helpers.conf_value("listen")
    if not sock or not os.path.exists(sock):
        pytest.skip("no stack FastCGI socket (CONCERT_CONF 'listen')")
    mode = helpers.conf_value("listen_mode")
    assert mode, "the local stack's configuration names its socket mode"
    assert stat.S_IMODE(os.stat(sock).st_mode) == int(mode, 8)
    # ... in a runtime folder only its owner can create in
    folder = os.stat(os.path.dirname(sock))
    assert folder.st_uid == os.geteuid() and stat.S_IMODE(folder.st_mode) & 0o022 == 0
