"""Issue 9 item 13: /api/v1/status and /metrics do not trust the peer address alone.

Behind a same-origin reverse proxy on the same host every client is 127.0.0.1, so the public
server must not route the operator pages at all: each shipped web server config serves them on
a listener of their own -- 127.0.0.1, the public port + 10 (scripts/web; CONCERT_OPS_PORT for
nginx) -- and the public port answers 404 (JSON envelope). The operator listener serves only
those two pages, to 127.0.0.1 only.
"""
import http.client
import json
import urllib.parse

import pytest

OPS = ("/api/v1/status", "/metrics")


def ops_url(base):
    u = urllib.parse.urlsplit(base)
    return "http://%s:%d" % (u.hostname, u.port + 10)


def get(base, path, source=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20, source_address=source)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


@pytest.mark.parametrize("path", OPS)
def test_public_server_does_not_route_the_operator_pages(web, path):
    st, body = get(web, path)
    assert st == 404, (path, st, body[:200])
    assert json.loads(body)["error"]["code"] == "NOT_FOUND", body
    assert get(web, "/api/v1/ping")[0] == 200


@pytest.mark.parametrize("path", OPS)
def test_operator_listener_serves_them_to_localhost_only(web, path):
    ops = ops_url(web)
    st, body = get(ops, path)
    assert st == 200, (ops, path, st, body[:300])
    st, _ = get(ops, path, source=("127.0.0.2", 0))
    assert st == 403, (ops, path, st)


def test_operator_listener_serves_nothing_else(web):
    st, _ = get(ops_url(web), "/api/v1/ping")
    assert st == 404, st
