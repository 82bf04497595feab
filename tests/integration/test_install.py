"""`make install` and what it installs: binaries, example config, SQL, web
server templates, man pages, systemd units, logrotate example.

One `make install DESTDIR=<tmp>` from $CONCERT_BUILD_DIR (default: build/ in
the repository) per session; the install directories are asked from that
build's Makefile, so any --prefix / --sysconfdir / --with-systemdsystemunitdir
works.  Then:

- every expected file is where autotools puts it, no @VARIABLE@ is left in
  the rendered files, and the units' ExecStart name the installed binaries;
- the installed binaries run (-h), and `concertd -t` accepts the installed
  concert.conf.example; every key `concertd -t` prints is in the example and
  documented in concert.conf(5);
- `systemd-analyze verify` passes on the units, with ExecStart pointed at
  the DESTDIR binaries and MANPATH at the DESTDIR man pages (so the units'
  Documentation= links are checked too), and prints nothing;
- the man pages format without a single warning (groff -ww; mandoc -Tlint
  as well when mandoc is installed);
- the installed concertd runs as systemd runs it: master (-M) over a
  listening socket on fd 0, serves, reloads on SIGHUP, and the installed
  logrotate example rotates its log and makes it reopen it (SIGUSR1 through
  the pid file); SIGTERM stops it with status 0 and leaves the inherited
  socket alone.  This part needs the test stack ($CONCERT_CONF, from
  scripts/test) for MySQL and Kafka.

Required tools (scripts/install-deps): make, groff (groff-base),
systemd-analyze (systemd), logrotate.  They are required, not optional: a
missing one fails the test that needs it.
"""

import configparser
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import fcgi_client  # noqa: E402
from helpers import wait_until  # noqa: E402

DIR_VARS = ("prefix", "sbindir", "sysconfdir", "datadir", "mandir",
            "systemdsystemunitdir")
UNITS = ("concertd.socket", "concertd.service", "concert-consumer.service")
MAN_PAGES = ("man8/concertd.8", "man8/concert-consumer.8",
             "man8/concertctl.8", "man5/concert.conf.5")


def _require(tool, package):
    path = shutil.which(tool)
    if path is None:
        for d in ("/usr/sbin", "/sbin"):
            if os.access(os.path.join(d, tool), os.X_OK):
                return os.path.join(d, tool)
        pytest.fail("%s not found: install the Debian package '%s' "
                    "(scripts/install-deps)" % (tool, package))
    return path


def _clean_env(**extra):
    """The environment without CONCERT_* (scripts/test exports some)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONCERT_")}
    env.update(extra)
    return env


class Install:
    def __init__(self, build, destdir, dirs):
        self.build = build
        self.destdir = destdir
        self.dirs = dirs            # as configured, e.g. /usr/local/sbin

    def path(self, var, *rel):
        """DESTDIR path of a file under an install directory."""
        return os.path.join(self.destdir + self.dirs[var], *rel)


@pytest.fixture(scope="session")
def install():
    build = os.environ.get("CONCERT_BUILD_DIR") or os.path.join(ROOT, "build")
    if not os.path.isfile(os.path.join(build, "Makefile")):
        pytest.fail("no configured build in %s (run scripts/build, or set "
                    "CONCERT_BUILD_DIR)" % build)
    make = _require("make", "make")
    tmp = tempfile.mkdtemp(prefix="concert-install-")
    destdir = os.path.join(tmp, "root")
    try:
        r = subprocess.run([make, "-C", build, "-s", "install",
                            "DESTDIR=" + destdir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=600, env=_clean_env())
        assert r.returncode == 0, "make install failed:\n" + r.stdout[-4000:]

        # The install directories, fully expanded by make itself.
        mk = os.path.join(tmp, "print-dirs.mk")
        with open(mk, "w") as f:
            f.write("print-install-dirs:\n")
            for v in DIR_VARS:
                f.write("\t@echo '%s=$(%s)'\n" % (v, v))
        r = subprocess.run([make, "--no-print-directory", "-s", "-C", build,
                            "-f", "Makefile", "-f", mk, "print-install-dirs"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120, env=_clean_env())
        assert r.returncode == 0, r.stderr
        dirs = dict(line.split("=", 1) for line in r.stdout.splitlines()
                    if "=" in line)
        assert set(dirs) == set(DIR_VARS), r.stdout
        for v, d in dirs.items():
            assert v == "systemdsystemunitdir" and d == "no" or \
                os.path.isabs(d), "%s is not absolute: %r" % (v, d)
        yield Install(build, destdir, dirs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def config_keys(install):
    """Every key of the configuration table, as `concertd -t` prints it."""
    r = subprocess.run([install.path("sbindir", "concertd"), "-t"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30, env=_clean_env())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(re.match(r"^[a-z_]+ = ", line) for line in lines), r.stdout
    keys = [line.split(" = ", 1)[0] for line in lines]
    assert len(keys) == len(set(keys)), keys
    assert len(keys) >= 20 and "listen" in keys and "db_password" in keys
    return keys


def _units_installed(install):
    if install.dirs["systemdsystemunitdir"] == "no":
        pytest.fail("this build was configured with "
                    "--without-systemdsystemunitdir")


# --------------------------------------------------------------- files

def test_expected_files_installed(install):
    expected = [
        install.path("sbindir", "concertd"),
        install.path("sbindir", "concert-consumer"),
        install.path("sysconfdir", "concert.conf.example"),
        install.path("datadir", "concert", "sql", "schema.sql"),
        install.path("datadir", "concert", "sql", "demo.sql"),
        install.path("datadir", "concert", "nginx-conf", "concert.conf.in"),
        install.path("datadir", "concert", "apache-conf", "concert.conf.in"),
        install.path("datadir", "concert", "contrib", "logrotate.conf"),
    ] + [install.path("mandir", p) for p in MAN_PAGES]
    _units_installed(install)
    expected += [install.path("systemdsystemunitdir", u) for u in UNITS]
    missing = [p for p in expected if not os.path.isfile(p)]
    assert not missing, "not installed: %s" % missing
    for b in ("concertd", "concert-consumer", "concertctl"):
        assert os.access(install.path("sbindir", b), os.X_OK)
    # The example config must not install as the live one.
    assert not os.path.exists(install.path("sysconfdir", "concert.conf"))


def test_rendered_files_have_no_placeholders(install):
    _units_installed(install)
    files = [install.path("mandir", p) for p in MAN_PAGES] + \
        [install.path("systemdsystemunitdir", u) for u in UNITS]
    for p in files:
        with open(p) as f:
            text = f.read()
        left = re.findall(r"@[A-Za-z_]+@", text)
        assert not left, "%s: unsubstituted %s" % (p, left)
        assert "${" not in text, "%s: unexpanded make/shell variable" % p


def test_units_exec_installed_binaries(install):
    _units_installed(install)
    sbindir, sysconfdir = install.dirs["sbindir"], install.dirs["sysconfdir"]
    conf = os.path.join(sysconfdir, "concert.conf")

    def unit(name):
        cp = configparser.ConfigParser(interpolation=None, strict=False)
        cp.optionxform = str
        cp.read(install.path("systemdsystemunitdir", name))
        return cp

    sock = unit("concertd.socket")["Socket"]
    assert sock["ListenStream"] == "/run/concertd/concertd.sock"
    assert sock["SocketMode"] == "0660"

    svc = unit("concertd.service")["Service"]
    assert svc["ExecStart"] == "%s/concertd -M -c %s" % (sbindir, conf)
    assert svc["StandardInput"] == "socket"
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert svc["KillSignal"] == "SIGTERM"
    assert svc["Restart"] == "on-failure"
    # The master, not systemd, must decide when a worker gets SIGKILL.
    timeout = int(svc["TimeoutStopSec"].rstrip("s"))
    assert timeout > 10, "TimeoutStopSec must exceed the default " \
        "shutdown_timeout_seconds (10)"

    cons = unit("concert-consumer.service")["Service"]
    assert cons["ExecStart"] == "%s/concert-consumer -c %s" % (sbindir, conf)
    assert cons["Restart"] == "always"
    assert "ExecReload" not in cons     # SIGHUP is no reload for it


# --------------------------------------------------------------- binaries

def test_installed_binaries_run(install):
    for name in ("concertd", "concert-consumer", "concertctl"):
        r = subprocess.run([install.path("sbindir", name), "-h"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30, env=_clean_env())
        assert r.returncode == 0, (name, r.stderr)
        assert r.stdout.startswith("usage: %s " % name), r.stdout


def test_example_config_is_valid_and_complete(install, config_keys):
    example = install.path("sysconfdir", "concert.conf.example")
    r = subprocess.run([install.path("sbindir", "concertd"), "-t",
                        "-c", example],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30, env=_clean_env())
    assert r.returncode == 0, r.stderr
    # The uncommented values are the built-in defaults.
    defaults = subprocess.run([install.path("sbindir", "concertd"), "-t"],
                              stdout=subprocess.PIPE, text=True, timeout=30,
                              env=_clean_env()).stdout
    assert r.stdout == defaults
    with open(example) as f:
        text = f.read()
    missing = [k for k in config_keys
               if not re.search(r"^[#;]?\s*%s\s*=" % re.escape(k), text, re.M)]
    assert not missing, "keys missing from concert.conf.example: %s" % missing
    # and nothing else: every key the example names (set or commented out) exists
    named = set(re.findall(r"^[#;]?\s*([a-z_]+)\s*=", text, re.M))
    assert named == set(config_keys), sorted(named ^ set(config_keys))


def test_every_key_documented_in_concert_conf_5(install, config_keys):
    with open(install.path("mandir", "man5", "concert.conf.5")) as f:
        text = f.read()
    documented = set(re.findall(r"^\.B (\S+)$", text, re.M))
    missing = [k for k in config_keys if k not in documented]
    assert not missing, "keys missing from concert.conf(5): %s" % missing


# --------------------------------------------------------------- systemd

def test_systemd_analyze_verify(install, tmp_path):
    _units_installed(install)
    analyze = _require("systemd-analyze", "systemd")
    sbindir = install.dirs["sbindir"]
    for u in UNITS:
        with open(install.path("systemdsystemunitdir", u)) as f:
            text = f.read()
        # verify checks that ExecStart exists: use the DESTDIR binaries.
        text = re.sub(r"^(Exec\w+=)%s/" % re.escape(sbindir),
                      r"\g<1>%s/" % install.path("sbindir"), text,
                      flags=re.M)
        (tmp_path / u).write_text(text)
    r = subprocess.run([analyze, "verify"] + [str(tmp_path / u)
                                              for u in UNITS],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120, cwd=str(tmp_path),
                       env=_clean_env(MANPATH=install.path("mandir"),
                                      SYSTEMD_LOG_COLOR="0"))
    # Unknown keys and bad values are only warnings (exit 0): any output
    # is a failure.
    assert r.returncode == 0 and r.stdout.strip() == "", \
        "systemd-analyze verify:\n" + r.stdout


# --------------------------------------------------------------- man pages

@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_formats_without_warnings(install, page):
    groff = _require("groff", "groff-base")
    path = install.path("mandir", page)
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = subprocess.run([groff, "-man", "-Tutf8", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    name = os.path.basename(page).rsplit(".", 1)[0]
    out = re.sub(r".\x08", "", r.stdout)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        assert re.search(r"^%s$" % section, out, re.M), (page, section)
    assert name in out.split("SYNOPSIS")[0]
    mandoc = shutil.which("mandoc")     # an extra linter, when present
    if mandoc:
        r = subprocess.run([mandoc, "-Tlint", "-W", "warning", path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        assert r.returncode == 0 and r.stdout == "", r.stdout


# --------------------------------------------------------------- running it

def _wait(fn, timeout, what):
    return wait_until(fn, timeout, what=what)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_installed_concertd_as_systemd_runs_it(install, tmp_path):
    """Socket on fd 0 + -M (concertd.socket/.service), reload, logrotate."""
    conf = os.environ.get("CONCERT_CONF")
    if not conf:
        pytest.skip("CONCERT_CONF is not set: needs the test stack's MySQL "
                    "and Kafka (run through scripts/test)")
    logrotate = _require("logrotate", "logrotate")
    logdir, rundir = tmp_path / "log", tmp_path / "run"
    logdir.mkdir()
    rundir.mkdir()
    log, pidfile = logdir / "concertd.log", rundir / "concertd.pid"
    sock_path = str(tmp_path / "concertd.sock")

    # What concertd.socket does: bind, listen, hand it over on fd 0.
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(sock_path)
    lsock.listen(64)
    env = dict(os.environ)
    env.pop("CONCERT_SINGLE", None)
    env.update(CONCERT_WORKERS="2", CONCERT_LOG_FILE=str(log),
               CONCERT_ACCESS_LOG=str(logdir / "access.log"),
               CONCERT_PID_FILE=str(pidfile),
               CONCERT_SHUTDOWN_TIMEOUT_SECONDS="5")
    proc = subprocess.Popen([install.path("sbindir", "concertd"), "-M",
                             "-c", conf], stdin=lsock.fileno(),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    try:
        _wait(lambda: proc.poll() is not None or
              "listening on 'fd 0'" in _read(log), 30, "concertd to start")
        assert proc.poll() is None, proc.stderr.read().decode() + _read(log)
        assert _read(pidfile).strip() == str(proc.pid)

        def ping():
            r = fcgi_client.request(sock_path, "GET", "/api/v1/ping")
            assert r.status == 200, r
        ping()

        # systemctl reload: ExecReload=/bin/kill -HUP $MAINPID
        os.kill(proc.pid, signal.SIGHUP)
        _wait(lambda: "retiring" in _read(log), 30, "the reload")
        ping()

        # The installed logrotate example, pointed at our directories.
        with open(install.path("datadir", "concert", "contrib",
                               "logrotate.conf")) as f:
            lr = f.read()
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        lr = (lr.replace("/var/log/concert", str(logdir))
              .replace("/run/concertd/concertd.pid", str(pidfile))
              .replace("/run/concert-consumer/concert-consumer.pid",
                       str(rundir / "concert-consumer.pid"))
              .replace("concert concert", "%s %s" % (user, group)))
        assert str(logdir) in lr and str(pidfile) in lr
        (tmp_path / "logrotate.conf").write_text(lr)
        r = subprocess.run([logrotate, "-f", "-s",
                            str(tmp_path / "logrotate.state"),
                            str(tmp_path / "logrotate.conf")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout
        # dateext + delaycompress: both logs renamed to <name>-YYYYMMDD, not compressed yet
        day = time.strftime("%Y%m%d")
        rotated = sorted(p.name for p in logdir.iterdir()
                         if p.name not in (log.name, "access.log"))
        assert rotated == ["access.log-" + day, "concertd.log-" + day], \
            "rotated: %s" % os.listdir(logdir)
        # SIGUSR1 from postrotate: the master reopens the new file.
        _wait(lambda: "log reopened" in _read(log), 15,
              "'log reopened' in the new log")
        ping()

        # systemctl stop: KillSignal=SIGTERM to the master (KillMode=mixed).
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, _read(log)
        assert os.path.exists(sock_path), \
            "concertd removed a socket it did not bind"
        assert not pidfile.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        lsock.close()
