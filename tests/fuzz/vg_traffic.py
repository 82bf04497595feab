#!/usr/bin/env python3
"""Representative traffic for `scripts/sanitize valgrind` (the worker check).

Talks FastCGI straight to one concertd socket (tests/integration/fcgi_client.py)
and walks every route: the whole purchase (token -> hold -> charge -> pay),
idempotent replay and key reuse, and the error paths (400/401/403/404/405/
409/413/415/422).  Every route in src/router.c is also hit at least once, so a
route added later is exercised without editing this file.

    vg_traffic.py SOCKET ROUTER_C

Exit status 0 when every request got a well-formed response and none was a
500 (a 503 is allowed only where the stack itself is down: /health); 1
otherwise.  It does not judge business results beyond the status classes it
expects: valgrind is the judge of memory safety.
"""

import json
import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from fcgi_client import request  # noqa: E402

V1 = "/api/v1"
SOCK = None
failures = []
seen = set()


def call(method, uri, body=None, headers=None, ctype="application/json",
         expect=None, raw=False):
    if body is not None and not raw and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if body is None:
        body = b""
        ctype = None if ctype == "application/json" else ctype
    try:
        r = request(SOCK, method, uri, body=body, headers=headers or {},
                    content_type=ctype, timeout=60.0)
    except Exception as e:  # a dead worker shows up here
        failures.append("%s %s: no response (%s)" % (method, uri, e))
        return None, {}
    seen.add((method if method != "HEAD" else "GET", uri.split("?")[0]))
    try:
        data = json.loads(r.body) if r.body.strip() else {}
    except ValueError:
        data = {"_text": r.body[:80]}
    ok = r.status < 500 or (uri.endswith("/health") and r.status == 503)
    if expect is not None:
        ok = r.status in (expect if isinstance(expect, tuple) else (expect,))
    if not ok:
        failures.append("%s %s -> %d (expected %s): %s"
                        % (method, uri, r.status, expect, r.body[:200]))
    return r.status, data


def main():
    global SOCK
    SOCK, router_c = sys.argv[1], sys.argv[2]
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    ghost = "0" * 32

    # operational routes
    call("GET", V1 + "/ping", expect=200)
    call("HEAD", V1 + "/ping", expect=200)
    call("GET", V1 + "/health", expect=(200, 503))

    # queue token
    call("POST", V1 + "/token", {"userId": user}, expect=(200, 201))
    st, tok = call("POST", V1 + "/token", {"userId": user}, expect=(200, 201))
    token = tok.get("token", ghost)
    call("POST", V1 + "/token", {"userId": other}, expect=(200, 201))
    call("POST", V1 + "/token", {}, expect=400)
    call("POST", V1 + "/token", {"userId": "not-a-uuid"}, expect=400)
    call("POST", V1 + "/token", b'{"userId":"%s\\u0000"}' % user.encode(),
         raw=True, expect=400)
    call("GET", V1 + "/token", headers={"Authorization": "Bearer " + token},
         expect=200)
    call("GET", V1 + "/token?token=" + token, expect=200)
    call("GET", V1 + "/token", expect=401)
    call("GET", V1 + "/token?token=xyz", expect=401)
    # a token this service did not sign: refused before any database work
    call("GET", V1 + "/token", headers={"Authorization": "Bearer " + ghost},
         expect=401)
    # wait for admission (the consumer of the running stack admits)
    deadline = time.time() + 20
    while time.time() < deadline:
        st, t = call("GET", V1 + "/token?token=" + token, expect=200)
        if t.get("status") == "ACTIVE":
            break
        time.sleep(0.3)

    # dates and seats
    st, dates = call("GET", V1 + "/reservations/dates", expect=200)
    date = dates[0] if isinstance(dates, list) and dates else "2026-11-28"
    st, seats = call("GET", V1 + "/reservations/seats?date=" + date, expect=200)
    call("GET", V1 + "/reservations/seats?date=2026-02-30", expect=400)
    call("GET", V1 + "/reservations/seats?date=1999-01-01", expect=404)
    call("GET", V1 + "/reservations/seats", expect=400)
    free = [s for s in (seats if isinstance(seats, list) else [])
            if s.get("available")]
    seat = free[0]["seatNumber"] if free else 1
    price = free[0].get("price", 1) if free else 1

    # hold
    st, hold = call("POST", V1 + "/reservations",
                    {"date": date, "seatNumber": seat, "token": token},
                    expect=(201, 403, 409))
    rid = hold.get("reservationId", str(uuid.uuid4()))
    call("POST", V1 + "/reservations",
         {"date": date, "seatNumber": seat, "token": token},
         expect=(403, 409))
    call("POST", V1 + "/reservations",
         {"date": date, "seatNumber": 999999, "token": token},
         expect=(403, 404))
    call("POST", V1 + "/reservations",
         {"date": date, "seatNumber": seat, "token": ghost}, expect=(401, 404))
    call("POST", V1 + "/reservations", {"date": date, "seatNumber": seat},
         expect=401)

    # balance
    call("POST", V1 + "/balance", {"userId": user, "amount": price + 1000},
         expect=200)
    call("POST", V1 + "/balance", {"userId": user, "amount": 0}, expect=422)
    call("POST", V1 + "/balance", {"userId": user, "amount": 10 ** 30},
         expect=422)
    call("POST", V1 + "/balance", b'{"userId":"%s","amount":NaN}'
         % user.encode(), raw=True, expect=400)
    call("POST", V1 + "/balance", {"userId": user, "amount": "1"}, expect=400)
    call("GET", V1 + "/balance?userId=" + user, expect=200)
    call("GET", V1 + "/balance?userId=" + str(uuid.uuid4()), expect=404)
    call("GET", V1 + "/balance?userId=%zz", expect=400)

    # pay, with idempotency
    key = {"Idempotency-Key": str(uuid.uuid4())}
    pay = {"reservationId": rid, "amount": price, "token": token}
    call("POST", V1 + "/payments", pay, headers=key,
         expect=(201, 402, 403, 404, 409))
    call("POST", V1 + "/payments", pay, headers=key,
         expect=(201, 402, 403, 404, 409))
    call("POST", V1 + "/payments", dict(pay, amount=price + 1), headers=key,
         expect=422)
    call("POST", V1 + "/payments", pay, expect=(403, 404, 409))
    call("POST", V1 + "/payments", dict(pay, amount=price + 1),
         expect=(403, 404, 409, 422))
    call("POST", V1 + "/payments", dict(pay, reservationId=str(uuid.uuid4())),
         expect=(403, 404))
    st, tok2 = call("POST", V1 + "/token", {"userId": other},
                    expect=(200, 201))
    call("POST", V1 + "/payments",
         dict(pay, token=tok2.get("token", ghost)), expect=(403, 404, 409))

    # generic errors
    call("GET", V1 + "/nope", expect=404)
    call("PUT", V1 + "/token", {"userId": user}, expect=405)
    call("PATCH", V1 + "/balance", {}, expect=405)
    call("OPTIONS", V1 + "/ping", expect=(204, 405))
    call("POST", V1 + "/token", "x" * 20000, expect=413)
    call("POST", V1 + "/token", '{"userId":"%s"}' % user, ctype="text/plain",
         expect=415)
    call("POST", V1 + "/token", '{"userId":', expect=400)
    call("POST", V1 + "/token", '[1,2]', expect=400)
    call("POST", V1 + "/token", '{"a":' * 40 + '1' + '}' * 40, expect=400)
    call("POST", V1 + "/token", b'{"userId":"x"}\x00junk', raw=True,
         expect=400)
    call("GET", V1 + "/token?" + "&".join("a%d=%d" % (i, i)
                                            for i in range(300)), expect=401)
    call("GET", "/" + "p" * 600, expect=404)

    # leave the line
    call("DELETE", V1 + "/token", headers={"Authorization": "Bearer " + token},
         expect=(200, 404))
    call("DELETE", V1 + "/token", expect=401)

    # every route of the router table at least once (bare request)
    with open(router_c) as f:
        routes = re.findall(r'\{\s*HTTP_(\w+),\s*(V1\s*)?"([^"]+)"', f.read())
    for method, v1, path in routes:
        full = (V1 if v1 else "") + path
        if (method, full) not in seen:
            call(method, full, body={} if method == "POST" else None)

    if failures:
        print("vg_traffic: %d unexpected responses:" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    print("vg_traffic: %d routes, all answered" % len(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
