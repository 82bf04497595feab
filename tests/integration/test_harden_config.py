"""Issue 9 item 2 (scripts part): restarting one component keeps its configuration.

scripts/test starts the stack with CONCERT_MAX_ACTIVE_TOKENS=100000 (the built-in default is
100). The local stack writes the effective configuration -- every CONCERT_<KEY> override
applied -- into $STATE/concert.conf once, and every component (re)starts from that file: a
consumer restarted by `scripts/app start consumer` without the variable, or with another value,
still runs with the stack's cap.
"""
import os
import re
import subprocess

import pytest

import helpers

APP = os.path.join(helpers.ROOT, "scripts", "app")


def _env(**extra):
    keep = ("CONCERT_STATE_DIR", "CONCERT_BUILD_DIR", "CONCERT_HTTP_PORT", "CONCERT_KAFKA_PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCERT_") or k in keep}
    env.update(extra)
    return env


def _restart_consumer(env):
    log = helpers.conf_value("consumer_log_file")
    off = os.path.getsize(log) if os.path.exists(log) else 0
    r = subprocess.run([APP, "stop", "consumer"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([APP, "start", "consumer"], env=env, capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(log, errors="replace") as f:
        f.seek(off)
        caps = re.findall(r"info: started \(.*?\bcap (\d+)", f.read())
    assert caps, "no 'started ... cap N' line in %s" % log
    return int(caps[-1])


def test_consumer_restarted_without_the_override_keeps_the_cap():
    cap = os.environ.get("CONCERT_MAX_ACTIVE_TOKENS")
    if not cap:
        pytest.skip("the stack was started without CONCERT_MAX_ACTIVE_TOKENS")
    assert helpers.conf_value("max_active_tokens") == cap, "override not in %s" % helpers.CONF
    try:
        assert _restart_consumer(_env()) == int(cap)
        assert _restart_consumer(_env(CONCERT_MAX_ACTIVE_TOKENS="7")) == int(cap)
    finally:
        subprocess.run([APP, "start", "consumer"], capture_output=True, timeout=90)
