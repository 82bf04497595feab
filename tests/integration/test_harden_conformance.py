"""Issue 9 item 15 (config/docs part): what an OpenAPI-driven fuzzer found at the web servers.

- A 405 the web server produces itself (TRACE) carries an Allow header (RFC 9110 15.5.6).
- Through nginx a client's valid X-Request-Id is honoured (as behind Apache); an invalid one
  is replaced by nginx's own id.
- docs/openapi.json declares the bounds the server enforces (src/util.c util_date_valid: a
  year of four digits from 1000), so that a schema-valid request is never refused.
(scripts/test also runs schemathesis against docs/openapi.json through nginx.)
"""
import http.client
import json
import os
import re
import urllib.parse

import pytest

import helpers

OPENAPI = os.path.join(helpers.ROOT, "docs", "openapi.json")


def raw(base, method, path, headers=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


def test_a_405_from_the_web_server_says_what_is_allowed(web):
    st, h, body = raw(web, "TRACE", "/api/v1/ping")
    assert st == 405, (st, body[:200])
    allow = h.get("Allow")
    assert allow and "GET" in allow, dict(h)


@pytest.mark.parametrize("rid", ["client-id-1234", "A1b2.C3_d4:e5-f6"])
def test_a_valid_client_request_id_is_honoured(web, rid):
    st, h, _ = raw(web, "GET", "/api/v1/ping", {"X-Request-Id": rid})
    assert st == 200
    assert h.get("X-Request-Id") == rid, dict(h)


def test_nginx_replaces_an_invalid_request_id(base_url):
    bad = "x" * 200
    st, h, _ = raw(base_url, "GET", "/api/v1/ping", {"X-Request-Id": bad})
    assert st == 200
    got = h.get("X-Request-Id")
    assert got and got != bad and re.fullmatch(r"[0-9a-f]{32}", got), got


def _date_schemas(node, out):
    if isinstance(node, dict):
        if node.get("format") == "date":
            out.append(node)
        for v in node.values():
            _date_schemas(v, out)
    elif isinstance(node, list):
        for v in node:
            _date_schemas(v, out)
    return out


def test_every_date_in_the_openapi_document_declares_the_year_bound():
    with open(OPENAPI) as f:
        doc = json.load(f)
    dates = _date_schemas(doc, [])
    assert dates
    for s in dates:
        pat = s.get("pattern")
        assert pat, s
        assert re.search(pat, "2026-11-28") and re.search(pat, "1000-01-01"), s
        assert not re.search(pat, "0268-01-01") and not re.search(pat, "0999-12-31"), s
