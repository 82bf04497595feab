"""auth = jwt (issue 12 part 1): the caller is a verified JWT's sub.

Each key type gets its own isolated stack (isolated.py: own database with the
demo data, own concertd, consumer and nginx) with auth = jwt, plus an Apache
(mod_proxy_fcgi) rendered from apache-conf/concert.conf.in in front of the same
concertd, so that every test runs through nginx AND Apache:

- HS256 (jwt_secret), RS256 and ES256 (jwt_public_key_file): the brief's flow
  (charge, token, poll, hold, pay) works with a valid token, the user taken
  from sub, the queue token in X-Queue-Token or the body;
- refused with the right status and code, and nothing changed in MySQL
  (balances, ledger, tokens, seats, reservations, payments): expired,
  not yet valid, wrong audience, wrong issuer, wrong key, alg none, HS256
  signed with the RSA public key PEM (alg confusion), tampered payload,
  oversized, another user's userId, another user's queue token, no token;
- no JWT and no jwt_secret in any log of the stack.

Under auth = open (the suite's own stack), X-Queue-Token carries the queue
token through nginx, Apache and Apache+fcgid.

Tokens are made with PyJWT (Debian python3-jwt; its dist-packages path is
appended when the test Python lacks it) and `cryptography` keys.
"""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import fcgi_client  # noqa: E402
import helpers  # noqa: E402
from helpers import api, assert_error, wait_until  # noqa: E402
from isolated import IsolatedStack, _find  # noqa: E402

try:
    import cryptography  # noqa: F401
    import jwt  # PyJWT
except ImportError:  # the suite's Python is not Debian's: use python3-jwt
    sys.path.append("/usr/lib/python3/dist-packages")
    import jwt  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

ISS = "https://idp.example.test"
AUD = "concert-api"
LEEWAY = 5
DOORS = ("nginx", "apache")


# ------------------------------------------------------------------ tokens

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def claims(user, **over):
    now = int(time.time())
    c = {"sub": user, "iss": ISS, "aud": AUD, "iat": now, "exp": now + 300}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sent(t):
    """Every JWT a test sends is remembered: the session's log scan
    (conftest.py) and the stack's own (below) look for each one."""
    helpers.SENT_JWTS.add(t)
    return t


def raw_hs256(header, payload, key):
    """A compact JWS signed with HMAC-SHA256 by hand (PyJWT refuses a PEM
    as an HMAC secret: that refusal is what the server must make too)."""
    h = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(payload).encode())
    sig = hmac.new(key, h.encode(), hashlib.sha256).digest()
    return h + "." + b64u(sig)


class Keys:
    def __init__(self, alg, tmp):
        self.alg = alg
        self.secret = None
        self.pem = None
        if alg == "HS256":
            self.secret = secrets.token_urlsafe(48)
            self.sign_key = self.secret
            self.other_key = secrets.token_urlsafe(48)
            self.conf = {"jwt_secret": self.secret}
            return
        if alg == "RS256":
            priv = rsa.generate_private_key(65537, 2048)
            other = rsa.generate_private_key(65537, 2048)
        else:
            priv = ec.generate_private_key(ec.SECP256R1())
            other = ec.generate_private_key(ec.SECP256R1())
        self.sign_key = priv
        self.other_key = other
        self.pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        path = os.path.join(tmp, "jwt-%s.pem" % alg.lower())
        with open(path, "wb") as f:
            f.write(self.pem)
        os.chmod(path, 0o644)
        self.conf = {"jwt_public_key_file": path}

    def token(self, user, key=None, **over):
        return sent(jwt.encode(claims(user, **over), key or self.sign_key,
                               algorithm=self.alg))


# ------------------------------------------------------------------ the stack

class JwtStack(IsolatedStack):
    """An isolated stack with an Apache (mod_proxy_fcgi) beside its nginx."""

    def __init__(self, keys, **conf):
        super().__init__(consumers=1, demo=True, auth="jwt", jwt_issuer=ISS,
                         jwt_audience=AUD, jwt_leeway_seconds=LEEWAY,
                         max_active_tokens=200, **dict(keys.conf, **conf))
        self.keys = keys
        self.apache_conf = None
        self.apache_url = None

    def _start_apache(self):
        with open(os.path.join(helpers.ROOT, "apache-conf", "concert.conf.in")) as f:
            text = f.read()
        port = helpers.free_port()
        user = group = None
        if os.getuid() == 0:
            user, group = ("www-data", "www-data") if shutil.which("id") and \
                subprocess.run(["id", "www-data"], capture_output=True).returncode == 0 \
                else ("nobody", "nogroup")
        else:
            import grp
            import pwd
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
        subst = {"STATE": self.dir, "RUNTIME": self.dir, "SOCKET": self.sock,
                 "HTTP_PORT": str(port), "OPS_PORT": str(helpers.free_port()),
                 "APACHE_USER": user, "APACHE_GROUP": group,
                 "CORS_DEFINE": "# CORS off", "CORS_LIST": "'-'"}
        for k, v in subst.items():
            text = text.replace("@%s@" % k, v)
        for d in ("apache/logs", "apache/run", "errors"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        errs = os.path.join(helpers.ROOT, "apache-conf", "errors")
        for f in os.listdir(errs):
            shutil.copy(os.path.join(errs, f), os.path.join(self.dir, "errors", f))
        self.apache_conf = os.path.join(self.dir, "apache", "httpd.conf")
        with open(self.apache_conf, "w") as f:
            f.write(text)
        env = dict(os.environ, APACHE_RUN_DIR=os.path.join(self.dir, "apache/run"),
                   APACHE_LOCK_DIR=os.path.join(self.dir, "apache/run"),
                   APACHE_LOG_DIR=os.path.join(self.dir, "apache/logs"))
        self.apache_env = env
        r = subprocess.run([_find("apache2", "httpd"), "-f", self.apache_conf, "-k", "start"],
                           env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr + self.tail("apache/logs/error.log")
        self.apache_url = "http://127.0.0.1:%d" % port
        wait_until(lambda: self._up(self.apache_url), 20, what="apache on %d" % port)

    @staticmethod
    def _up(url):
        try:
            return api("GET", "/ping", base=url, timeout=2).status == 200
        except OSError:
            return False

    def _stop_apache(self):
        if self.apache_conf is None:
            return
        pid_file = os.path.join(self.dir, "apache", "httpd.pid")
        pid = None
        with contextlib.suppress(OSError, ValueError):
            pid = int(open(pid_file).read().strip())
        subprocess.run([_find("apache2", "httpd"), "-f", self.apache_conf, "-k", "stop"],
                       env=self.apache_env, capture_output=True)
        if pid:
            self._stop_pid(pid)

    def start(self):
        super().start()
        self._start_apache()
        return self

    def stop(self):
        try:
            self.check_logs()
        finally:
            self._stop_apache()
            super().stop()

    def base(self, door):
        return self.url if door == "nginx" else self.apache_url

    def check_logs(self):
        """No JWT sent to this stack, nor its secret, in any of its logs."""
        needles = {t for t in helpers.SENT_JWTS}
        needles |= {t.rsplit(".", 1)[-1] for t in helpers.SENT_JWTS
                    if len(t.rsplit(".", 1)[-1]) >= 16}
        if self.keys.secret:
            needles.add(self.keys.secret)
        time.sleep(1.2)  # nginx flushes its access log buffer every second
        found = []
        for d, _, files in os.walk(self.dir):
            for f in files:
                if not (f.endswith((".log", ".out")) or os.path.basename(d) == "logs"):
                    continue
                with open(os.path.join(d, f), "rb") as fp:
                    data = fp.read().decode("latin-1")
                found += ["%s/%s" % (d, f) for n in needles if n in data]
        assert not found, "a JWT or jwt_secret in the logs: %s" % sorted(set(found))


@contextlib.contextmanager
def jwt_stack(keys, **conf):
    st = JwtStack(keys, **conf)
    try:
        st.start()
        yield st
    except BaseException:
        for name in ["concertd.log", "concertd.out", "nginx/logs/error.log",
                     "apache/logs/error.log"]:
            t = st.tail(name, 15)
            if t:
                print("---- %s ----\n%s" % (name, t), file=sys.stderr)
        raise
    finally:
        st.stop()


@pytest.fixture(scope="module")
def keydir(tmp_path_factory):
    d = tmp_path_factory.mktemp("jwtkeys")
    os.chmod(d, 0o755)
    return str(d)


@pytest.fixture(scope="module", params=["HS256", "RS256", "ES256"])
def stack(request, keydir):
    keys = Keys(request.param, keydir)
    with jwt_stack(keys) as st:
        yield st


@pytest.fixture(params=DOORS)
def door(request):
    return request.param


# ------------------------------------------------------------------ helpers

def call(st, door, method, path, body=None, jwt_token=None, qtoken=None, headers=None):
    h = dict(headers or {})
    if jwt_token is not None:
        h["Authorization"] = "Bearer " + jwt_token
    if qtoken is not None:
        h["X-Queue-Token"] = qtoken
    return api(method, path, body, headers=h, base=st.base(door))


def snapshot(st):
    """What a refused request must not change."""
    q = {
        "users": "SELECT COUNT(*), COALESCE(SUM(balance), 0) FROM users",
        "ledger": "SELECT COUNT(*) FROM balance_ledger",
        "tokens": "SELECT COUNT(*), COALESCE(SUM(state), 0) FROM queue_tokens",
        "seats": "SELECT COUNT(*) FROM seats WHERE state <> 0",
        "reservations": "SELECT COUNT(*) FROM reservations",
        "payments": "SELECT COUNT(*) FROM payments",
        "idem": "SELECT COUNT(*) FROM idempotency_keys",
    }
    return {k: st.sql(v) for k, v in q.items()}


def demo_date(st):
    return st.scalar("SELECT MIN(concert_date) FROM concert_dates WHERE concert_id = 1")


def free_seat(st, date):
    """A free seat of the default concert (the brief's calls name no concert)."""
    return int(st.scalar("SELECT MIN(seat_number) FROM seats WHERE concert_id = 1 AND "
                         "concert_date = '%s' AND state = 0" % date))


def active(st, door, user_jwt, qtoken):
    def ok():
        r = call(st, door, "GET", "/token", jwt_token=user_jwt, qtoken=qtoken)
        assert r.status == 200, r
        return r.json["status"] == "ACTIVE"
    wait_until(ok, 20, 0.1, "queue token to become ACTIVE")


def funded(st, door, amount=500000):
    """A user with a balance and an ACTIVE queue token: (user, jwt, qtoken)."""
    user = str(uuid.uuid4())
    t = st.keys.token(user)
    r = call(st, door, "POST", "/balance", {"amount": amount}, jwt_token=t)
    assert r.status == 200 and r.json["newBalance"] == amount, r
    r = call(st, door, "POST", "/token", {}, jwt_token=t)
    assert r.status == 201, r
    q = r.json["token"]
    active(st, door, t, q)
    return user, t, q


# ------------------------------------------------------------------ the flow

def test_brief_flow_with_a_valid_token(stack, door):
    st = stack
    user = str(uuid.uuid4())
    t = st.keys.token(user)
    # userId omitted: the JWT's sub is the user; naming it is allowed.
    r = call(st, door, "POST", "/balance", {"amount": 300000}, jwt_token=t)
    assert r.status == 200 and r.json["newBalance"] == 300000, r
    r = call(st, door, "GET", "/balance?userId=" + user, jwt_token=t)
    assert r.status == 200 and r.json["currentBalance"] == 300000, r
    r = call(st, door, "GET", "/balance", jwt_token=t)
    assert r.status == 200 and r.json["currentBalance"] == 300000, r
    r = call(st, door, "POST", "/token", {"userId": user}, jwt_token=t)
    assert r.status == 201, r
    q = r.json["token"]
    assert st.scalar("SELECT LOWER(HEX(user_id)) FROM queue_tokens WHERE token = UNHEX('%s')"
                     % q) == user.replace("-", "")
    active(st, door, t, q)
    date = demo_date(st)
    seat = free_seat(st, date)
    # The queue token in its own header ...
    r = call(st, door, "POST", "/reservations", {"date": date, "seatNumber": seat},
             jwt_token=t, qtoken=q)
    assert r.status == 201, r
    rid = r.json["reservationId"]
    price = int(st.scalar("SELECT price FROM seats WHERE concert_id = 1 AND concert_date = "
                          "'%s' AND seat_number = %d" % (date, seat)))
    # ... or in the body, as the brief shows.
    r = call(st, door, "POST", "/payments", {"reservationId": rid, "amount": price,
                                             "token": q}, jwt_token=t)
    assert r.status == 201, r
    r = call(st, door, "GET", "/balance", jwt_token=t)
    assert r.json["currentBalance"] == 300000 - price, r
    r = call(st, door, "DELETE", "/token", jwt_token=t, qtoken=q)
    assert r.status == 200, r


def test_after_the_hold_routes_take_the_caller_from_the_jwt(stack, door):
    """GET/DELETE /reservations/{id}, the lists and cancel are user routes:
    the caller is the JWT's sub, another user's id is 403, another user's
    reservation is 404 and stays as it was."""
    st = stack
    user, t, q = funded(st, door)
    other = st.keys.token(str(uuid.uuid4()))
    date = demo_date(st)
    seat = free_seat(st, date)
    r = call(st, door, "POST", "/reservations", {"date": date, "seatNumber": seat},
             jwt_token=t, qtoken=q)
    assert r.status == 201, r
    rid = r.json["reservationId"]
    r = call(st, door, "GET", "/reservations", jwt_token=t)
    assert r.status == 200 and [i["reservationId"] for i in r.json["items"]] == [rid], r
    r = call(st, door, "GET", "/reservations?userId=" + user, jwt_token=other)
    assert_error(r, 403, "USER_MISMATCH")
    r = call(st, door, "GET", "/reservations/" + rid, jwt_token=other)
    assert_error(r, 404, "RESERVATION_NOT_FOUND")
    r = call(st, door, "DELETE", "/reservations/" + rid, jwt_token=other)
    assert_error(r, 404, "RESERVATION_NOT_FOUND")
    assert int(st.scalar("SELECT state FROM seats WHERE concert_id = 1 AND concert_date = "
                         "'%s' AND seat_number = %d" % (date, seat))) == 1      # still HELD
    r = call(st, door, "DELETE", "/reservations/" + rid)
    assert_error(r, 401, "AUTH_REQUIRED")
    r = call(st, door, "DELETE", "/reservations/" + rid, jwt_token=t)
    assert r.status == 200 and r.json["status"] == "RELEASED", r
    r = call(st, door, "GET", "/payments", jwt_token=t)
    assert r.status == 200 and r.json["items"] == [], r


# ------------------------------------------------------------------ refusals

def bad_tokens(keys, user):
    """name -> (token, status, code): every one refused."""
    now = int(time.time())
    out = {
        "expired": keys.token(user, exp=now - 60),
        "not_yet_valid": keys.token(user, nbf=now + 600),
        "wrong_audience": keys.token(user, aud="someone-else"),
        "wrong_issuer": keys.token(user, iss="https://evil.example.test"),
        "no_exp": keys.token(user, exp=None),
        "sub_not_uuid": keys.token(user, sub="alice"),
        "wrong_key": keys.token(user, key=keys.other_key),
        "alg_none": sent(jwt.encode(claims(user), None, algorithm="none")),
        "not_a_jwt": sent(secrets.token_hex(16)),  # a queue token as Bearer
    }
    good = keys.token(str(uuid.uuid4()))
    h, p, s = good.split(".")
    out["tampered_payload"] = sent(h + "." + b64u(json.dumps(claims(user)).encode()) + "." + s)
    if keys.pem is not None:
        # HS256 with the public key PEM as the HMAC secret (alg confusion).
        out["alg_confusion"] = sent(raw_hs256({"alg": "HS256", "typ": "JWT"}, claims(user),
                                              keys.pem))
    else:
        out["other_alg"] = sent(raw_hs256({"alg": "HS512", "typ": "JWT"}, claims(user),
                                          keys.secret.encode()))
    return out


def test_bad_tokens_are_refused_and_change_nothing(stack, door):
    st = stack
    user, t, q = funded(st, door)
    date = demo_date(st)
    seat = free_seat(st, date)
    before = snapshot(st)
    for name, bad in bad_tokens(st.keys, user).items():
        for method, path, body, qt in [
                ("POST", "/balance", {"userId": user, "amount": 1000}, None),
                ("POST", "/balance", {"amount": 1000}, None),
                ("GET", "/balance", None, None),
                ("POST", "/token", {}, None),
                ("GET", "/token", None, q),
                ("POST", "/reservations", {"date": date, "seatNumber": seat}, q),
                ("DELETE", "/token", None, q)]:
            r = call(st, door, method, path, body, jwt_token=bad, qtoken=qt,
                     headers={"Idempotency-Key": "k-" + name} if method == "POST" else None)
            err = assert_error(r, 401, "AUTH_INVALID")
            assert bad not in err["message"], (name, r)
            assert r.header("WWW-Authenticate", "").startswith("Bearer"), (name, r)
    assert snapshot(st) == before
    # The user's own token still works: nothing was taken from them.
    r = call(st, door, "GET", "/token", jwt_token=t, qtoken=q)
    assert r.status == 200 and r.json["status"] == "ACTIVE", r


def test_no_bearer_is_auth_required(stack, door):
    st = stack
    user = str(uuid.uuid4())
    before = snapshot(st)
    for method, path, body in [("POST", "/balance", {"userId": user, "amount": 5}),
                               ("GET", "/balance?userId=" + user, None),
                               ("POST", "/token", {"userId": user})]:
        r = call(st, door, method, path, body)
        assert_error(r, 401, "AUTH_REQUIRED")
    # The queue token as Bearer (the open mode's way) is not a JWT.
    r = call(st, door, "GET", "/token", jwt_token="00112233445566778899aabbccddeeff")
    assert_error(r, 401, "AUTH_INVALID")
    assert snapshot(st) == before
    # Routes that act for nobody stay open.
    assert call(st, door, "GET", "/reservations/dates").status == 200
    assert call(st, door, "GET", "/ping").status == 200


def test_oversized_token_is_refused(stack, door):
    st = stack
    user = str(uuid.uuid4())
    big = st.keys.token(user, pad="x" * 9000)
    before = snapshot(st)
    # Through the web servers: refused (by concertd, or before it by a
    # header limit of the web server), never accepted.
    r = call(st, door, "POST", "/balance", {"amount": 1000}, jwt_token=big)
    assert r.status in (400, 401, 431), r
    # concertd itself: 401 before parsing.
    f = fcgi_client.request(st.sock, "POST", "/api/v1/balance",
                            body=json.dumps({"amount": 1000}),
                            content_type="application/json",
                            headers={"Authorization": "Bearer " + big})
    assert f.status == 401, f
    body = json.loads(f.body)
    assert body["error"]["code"] == "AUTH_INVALID" and "longer than" in \
        body["error"]["message"], body
    assert snapshot(st) == before


def test_another_users_id_is_403_and_changes_nothing(stack, door):
    st = stack
    me, t, q = funded(st, door)
    other, t2, q2 = funded(st, door)
    date = demo_date(st)
    seat = free_seat(st, date)
    before = snapshot(st)
    r = call(st, door, "POST", "/balance", {"userId": other, "amount": 1000}, jwt_token=t)
    assert_error(r, 403, "USER_MISMATCH")
    r = call(st, door, "GET", "/balance?userId=" + other, jwt_token=t)
    assert_error(r, 403, "USER_MISMATCH")
    r = call(st, door, "POST", "/token", {"userId": other}, jwt_token=t)
    assert_error(r, 403, "USER_MISMATCH")
    # Another user's queue token, in the header or the body, with my JWT.
    r = call(st, door, "GET", "/token", jwt_token=t, qtoken=q2)
    assert_error(r, 403, "USER_MISMATCH")
    r = call(st, door, "POST", "/reservations", {"date": date, "seatNumber": seat},
             jwt_token=t, qtoken=q2)
    assert_error(r, 403, "USER_MISMATCH")
    r = call(st, door, "POST", "/reservations",
             {"date": date, "seatNumber": seat, "token": q2}, jwt_token=t)
    assert_error(r, 403, "USER_MISMATCH")
    r = call(st, door, "DELETE", "/token", jwt_token=t, qtoken=q2)
    assert_error(r, 403, "USER_MISMATCH")
    assert snapshot(st) == before
    # The other user's line place is intact.
    r = call(st, door, "GET", "/token", jwt_token=t2, qtoken=q2)
    assert r.status == 200 and r.json["status"] == "ACTIVE", r


def test_idempotency_key_belongs_to_the_verified_user(stack, door):
    st = stack
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    key = {"Idempotency-Key": "same-" + secrets.token_hex(6)}
    r = call(st, door, "POST", "/balance", {"amount": 700}, jwt_token=st.keys.token(a),
             headers=key)
    assert r.status == 200 and r.json["newBalance"] == 700, r
    # Same key and body from another verified user: another request.
    r = call(st, door, "POST", "/balance", {"amount": 700}, jwt_token=st.keys.token(b),
             headers=key)
    assert r.status == 200 and r.json["newBalance"] == 700, r
    assert r.header("Idempotent-Replayed") is None, r
    # The first user's repeat is a replay.
    r = call(st, door, "POST", "/balance", {"amount": 700}, jwt_token=st.keys.token(a),
             headers=key)
    assert r.status == 200 and r.header("Idempotent-Replayed") == "true", r
    assert int(st.scalar("SELECT balance FROM users WHERE id = UNHEX('%s')"
                         % a.replace("-", ""))) == 700


# ------------------------------------------------------------------ config and auth = open

def test_concertd_t_masks_jwt_secret():
    build = os.environ.get("CONCERT_BUILD_DIR")
    if not build:
        pytest.skip("CONCERT_BUILD_DIR is not set (run through scripts/test)")
    secret = "s3cr3t-" + secrets.token_hex(20)
    env = dict(os.environ, CONCERT_AUTH="jwt", CONCERT_JWT_SECRET=secret)
    r = subprocess.run([os.path.join(build, "src", "concertd"), "-t"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout + r.stderr
    assert "jwt_secret = ********" in r.stdout and "auth = jwt" in r.stdout, r.stdout
    # Without a key, auth = jwt is refused at load, naming the keys.
    env.pop("CONCERT_JWT_SECRET")
    env["CONCERT_JWT_SECRET"] = ""
    r = subprocess.run([os.path.join(build, "src", "concertd"), "-t"], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "jwt_public_key_file" in r.stderr, r.stderr


@pytest.mark.parametrize("web", helpers.WEB_URLS)
def test_open_mode_takes_the_queue_token_header(web):
    """auth = open: X-Queue-Token reaches concertd through every front door
    (nginx, Apache mod_proxy_fcgi, Apache mod_fcgid)."""
    user = helpers.new_user()
    r = api("POST", "/token", {"userId": user}, base=web)
    assert r.status == 201, r
    tok = r.json["token"]
    r = api("GET", "/token", headers={"X-Queue-Token": tok}, base=web)
    assert r.status == 200 and r.json["status"] in ("WAITING", "ACTIVE"), r
    r = api("GET", "/token", headers={"X-Queue-Token": "zz"}, base=web)
    assert_error(r, 401, "TOKEN_INVALID")
    r = api("DELETE", "/token", headers={"X-Queue-Token": tok}, base=web)
    assert r.status == 200 and r.json["status"] == "EXPIRED", r
