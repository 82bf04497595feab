"""The log_level key (debug|info|warn|error, default info) of both programs.

concertd runs as in test_master.py (its own socket, pid file and log in a
private temp dir, the stack's database and broker).  The master logs each
worker it starts at debug level, so those lines are the probe: present with
log_level = debug, absent otherwise.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isolated  # noqa: E402
from test_master import (WORKERS, concertd,  # noqa: E402,F401
                         tmpdir_short)

DEBUG_LINE = re.compile(r" debug: worker \d+ started \(generation 0\)\n")


def test_default_level_is_info_without_debug_lines(concertd):
    d = concertd({"CONCERT_LOG_LEVEL": None}).start()
    log = d.log()
    assert " info: master started" in log
    assert " debug: " not in log, log


def test_debug_from_the_environment_shows_debug_lines(concertd):
    d = concertd({"CONCERT_LOG_LEVEL": "debug"}).start()
    assert len(DEBUG_LINE.findall(d.log())) == WORKERS, d.log()


def test_debug_from_the_config_file_shows_debug_lines(concertd,
                                                      tmpdir_short):
    # The stack's file plus the key, so the database settings stay.
    conf = os.path.join(tmpdir_short, "concert.conf")
    with open(conf, "w") as f:
        stack = os.environ.get("CONCERT_CONF")
        if stack:
            with open(stack) as s:
                f.write(s.read())
        f.write("\nlog_level = debug\n")
    d = concertd({"CONCERT_LOG_LEVEL": None, "CONCERT_CONF": None},
                 args=["-c", conf]).start()
    assert len(DEBUG_LINE.findall(d.log())) == WORKERS, d.log()


def test_error_level_hides_info_lines(concertd):
    d = concertd({"CONCERT_LOG_LEVEL": "error"}).start()
    assert d.log() == "", d.log()


def test_check_mode_prints_the_level_by_name(concertd):
    d = concertd({"CONCERT_LOG_LEVEL": "warn"}, args=["-t"]).start(wait=False)
    assert d.proc.wait(timeout=10) == 0
    assert "\nlog_level = warn\n" in d.proc.stdout.read().decode()


def test_bad_level_is_one_line_naming_the_key(concertd):
    d = concertd({"CONCERT_LOG_LEVEL": "verbose"}).start(wait=False)
    assert d.proc.wait(timeout=10) == 1
    err = d.proc.stderr.read().decode()
    assert err == ("error: environment CONCERT_LOG_LEVEL: value of "
                   "'log_level' is not one of debug|info|warn|error: "
                   "'verbose'\n")
    assert not os.path.exists(d.sock)


def test_consumer_refuses_a_bad_level_naming_the_key():
    env = dict(os.environ, CONCERT_LOG_LEVEL="loud")
    r = subprocess.run([isolated._binary("concert-consumer")], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    assert r.returncode == 1
    assert r.stderr.decode() == (
        "concert-consumer: environment CONCERT_LOG_LEVEL: value of "
        "'log_level' is not one of debug|info|warn|error: 'loud'\n")
