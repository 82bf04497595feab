"""Smoke test: the stack answers through both web servers."""
from helpers import api


def test_ping(web):
    r = api("GET", "/api/v1/ping", base=web)
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json; charset=utf-8", r


def test_health(web):
    r = api("GET", "/api/v1/health", base=web)
    assert r.status == 200, r
    assert r.json["db"] == "ok", r
    assert r.json["kafka"] == "ok", r


def test_unknown_route_is_json_404(web):
    r = api("GET", "/api/v1/no-such-route", base=web)
    assert r.status == 404, r
    assert r.error_code == "NOT_FOUND", r


def test_oversized_body_is_413_json(web):
    r = api("POST", "/api/v1/token", raw_body=b"{" + b" " * 20000 + b"}",
            headers={"Content-Type": "application/json"}, base=web)
    assert r.status == 413, r
    assert r.error_code == "PAYLOAD_TOO_LARGE", r
