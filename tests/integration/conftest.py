"""pytest fixtures for the integration tests (the stack is started by scripts/test).

    base_url    nginx base URL (CONCERT_TEST_URL)
    apache_url  Apache base URL (CONCERT_TEST_APACHE_URL); tests using it skip when unset
    fcgid_url   Apache + mod_fcgid base URL (CONCERT_TEST_FCGID_URL); skips when unset
    web         parametrized over the front doors ["nginx", "apache", "fcgid"]: a test taking
                `web` runs once per web server and receives that server's base URL:
                  nginx   nginx -> the stack's concertd (master + workers), FastCGI
                  apache  Apache mod_proxy_fcgi -> the same concertd
                  fcgid   Apache mod_fcgid, which spawns concertd single workers itself
                A module may restrict its `web` tests with WEB_SERVERS = ("nginx", "apache");
                modules in NOT_THROUGH_FCGID test the stack's master (its pool, its access log)
                and skip the fcgid door.

Tests that parametrize "web" themselves over helpers.WEB_URLS (test_bad_input,
test_api_token, ...) get the same three front doors: the URL list gains the fcgid URL here,
and their test ids are named after the front door ("nginx", "apache", "fcgid").
"""
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import helpers  # noqa: E402

FCGID_URL = (os.environ.get("CONCERT_TEST_FCGID_URL") or "").rstrip("/") or None

# name -> base URL (None: that front door is not running)
FRONT_DOORS = {
    "nginx": helpers.BASE_URL,
    "apache": helpers.APACHE_URL,
    "fcgid": FCGID_URL,
}
URL_NAMES = {url: name for name, url in reversed(list(FRONT_DOORS.items())) if url}

# Under mod_fcgid every concertd is a pool of one with its own access log: the status page, the
# pool metrics and the stack's access log describe the stack's master, not those processes.
NOT_THROUGH_FCGID = {"test_ops"}

# The URL list the API tests parametrize over gains the fcgid front door (the same list object
# the test modules import from helpers).
if FCGID_URL and FCGID_URL not in helpers.WEB_URLS:
    helpers.WEB_URLS.append(FCGID_URL)

# Every session ends with the database invariants (tests/integration/invariants.py).
from invariants import invariants_at_end  # noqa: E402,F401


def _door_name(url):
    return URL_NAMES.get(url, str(url))


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """Name explicit parametrizations over the front-door URLs after the front door."""
    marks = metafunc.definition.own_markers
    for i, m in enumerate(marks):
        if m.name != "parametrize" or not m.args or m.args[0] != "web":
            continue
        values = list(m.args[1]) if len(m.args) > 1 else None
        if not values or not all(isinstance(v, str) and v in URL_NAMES for v in values):
            continue
        kwargs = dict(m.kwargs)
        kwargs["ids"] = _door_name
        marks[i] = pytest.mark.parametrize("web", values, **kwargs).mark


@pytest.fixture(scope="session")
def base_url():
    return helpers.BASE_URL


@pytest.fixture(scope="session")
def apache_url():
    if not helpers.APACHE_URL:
        pytest.skip("CONCERT_TEST_APACHE_URL not set")
    return helpers.APACHE_URL


@pytest.fixture(scope="session")
def fcgid_url():
    if not FCGID_URL:
        pytest.skip("CONCERT_TEST_FCGID_URL not set")
    return FCGID_URL


@pytest.fixture(params=list(FRONT_DOORS))
def web(request):
    name = request.param
    allowed = getattr(request.module, "WEB_SERVERS", None)
    if allowed is not None and name not in allowed:
        pytest.skip("%s: not tested through %s" % (request.module.__name__, name))
    if name == "fcgid" and request.module.__name__.rsplit(".", 1)[-1] in NOT_THROUGH_FCGID:
        pytest.skip("tests the stack's concertd master; mod_fcgid runs single workers")
    url = FRONT_DOORS[name]
    if not url:
        pytest.skip("no %s front door (CONCERT_TEST_%s_URL not set)" % (name, name.upper()))
    return url


# ------------------------------------------------- no queue token in any log (issue 9 item 10)
_UUIDISH = re.compile(rb"(?i)(?<![0-9a-f])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?![0-9a-f])")
_LOG_SKIP_DIRS = {"data", "ipc", "tmp", "htdocs", "errors", "bin"}  # databases, sockets, copies


def _stack_logs():
    """Every log file of the test stack: nginx, Apache, Apache+fcgid, concertd, the consumer,
    MariaDB, Kafka (not their data: a database holds the tokens by design)."""
    roots = [helpers.STATE] + [d for d in [os.environ.get("RUNTIME")] if d]
    for top in roots:
        for d, dirs, files in os.walk(top):
            dirs[:] = [x for x in dirs if x not in _LOG_SKIP_DIRS]
            in_log_dir = os.path.basename(d) in ("log", "logs")
            for f in files:
                p = os.path.join(d, f)
                if (in_log_dir or f.endswith((".log", ".out"))) and os.path.isfile(p) \
                        and not os.path.islink(p):
                    yield p


@pytest.fixture(scope="session", autouse=True)
def no_queue_token_in_logs():
    """At the end of the run: no queue token issued by the test stack, and no JWT a test sent,
    appears in its logs."""
    yield
    if not os.path.exists(helpers.MYSQL_SOCK) or os.environ.get("CONCERT_TEST_NO_LOG_SCAN") == "1":
        return
    time.sleep(1.5)  # nginx writes its access log buffer out every second
    try:
        tokens = {r[0] for r in helpers.sql("SELECT LOWER(HEX(token)) FROM queue_tokens")}
    except RuntimeError as e:  # the stack is gone: nothing to compare with
        print("token log scan skipped: %s" % e)
        return
    # Every JWT the tests sent (helpers.SENT_JWTS), whole or its signature.
    jwts = {j.encode() for j in helpers.SENT_JWTS}
    jwts |= {s for s in (j.rsplit(b".", 1)[-1] for j in list(jwts)) if len(s) >= 16}
    found = {}
    for path in _stack_logs():
        with open(path, "rb") as f:
            data = f.read()
            for m in _UUIDISH.finditer(data):
                t = m.group(0).replace(b"-", b"").lower().decode()
                if t in tokens:
                    found.setdefault(path, set()).add(t)
            for j in jwts:
                if j in data:
                    found.setdefault(path, set()).add("JWT " + j[:12].decode() + "...")
    if found:
        pytest.fail("queue tokens or JWTs in the logs: " + "; ".join(
            "%s: %d (e.g. %s)" % (p, len(ts), sorted(ts)[0]) for p, ts in sorted(found.items())))
