"""docs/openapi.json must describe exactly what the code serves: the route
table of src/router.c, the parameter table of src/validate.c, the error
codes the handlers emit, and (against the running stack) the Allow header.

docs/openapi.yaml is the same document (JSON is YAML) for tools that look
for the .yaml name.
"""

import json
import os
import re

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DOC = os.path.join(ROOT, "docs", "openapi.json")
YAML = os.path.join(ROOT, "docs", "openapi.yaml")


def read(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return f.read()


def load_doc():
    with open(DOC) as f:
        return json.load(f)


def param_names():
    """P_X -> (json name, check, min, max) from validate.c's rows
    (designated initializers; an absent .min/.max is 0)."""
    out = {}
    for m in re.finditer(r'\[(P_[A-Z]\w*)\]\s*=\s*\{([^{}]*)\}',
                         read("src/validate.c")):
        row = m.group(2)

        def field(name, pattern):
            f = re.search(r'\.%s\s*=\s*%s' % (name, pattern), row)
            return f.group(1) if f else None
        out[m.group(1)] = (field("name", r'"(\w+)"'), field("check", r'(\w+)'),
                           int(field("min", r'(-?\d+)') or 0),
                           int(field("max", r'(-?\d+)') or 0))
    assert out, "no parameter table found in src/validate.c"
    return out


def query_route_params():
    """JSON names of the rows that take the query string only where the
    route says so (PSRC_QUERY_ROUTE in .sources)."""
    out = set()
    for m in re.finditer(r'\[(P_[A-Z]\w*)\]\s*=\s*\{([^{}]*)\}',
                         read("src/validate.c")):
        src = re.search(r'\.sources\s*=\s*([^,]+),', m.group(2))
        if src and "PSRC_QUERY_ROUTE" in src.group(1):
            out.add(re.search(r'\.name\s*=\s*"(\w+)"', m.group(2)).group(1))
    return out


def test_a_token_in_the_query_string_is_documented_where_it_is_refused():
    """Every operation that takes a credential but not from its query
    string documents the 400 TOKEN_IN_QUERY it answers to one."""
    doc = load_doc()
    ops = {(m, p): op for m, p, op in operations(doc)}
    creds = query_route_params()
    assert creds == {"token"}, creds
    for method, path, _, flags, want, _, _ in routes():
        if not (want & creds) or "ROUTE_QUERY_CREDENTIALS" in flags:
            continue
        r400 = resolve(doc, ops[(method, path)]["responses"]["400"])
        assert "TOKEN_IN_QUERY" in json.dumps(r400), (method, path)


def mask(expr, params):
    expr = expr.strip()
    if expr == "0":
        return set()
    keys = re.findall(r"PBIT\((P_\w+)\)", expr)
    assert keys, "cannot parse mask %r" % expr
    return {params[k][0] for k in keys}


def routes():
    """[(method, path, handler, flags, want, required, name)]"""
    src = read("src/router.c")
    table = src[src.index("router_table[]"):]
    table = table[:table.index("};")]
    params = param_names()
    out = []
    # V1 "/x" is /api/v1/x; a bare "/metrics" is served as is
    for m in re.finditer(
            r'\{\s*HTTP_(\w+),\s*(V1\s*)?"([^"]*)",\s*(\w+),\s*([^,]+),'
            r'\s*([^,]+),\s*([^,]+),\s*"(\w+)"\s*\}', table, re.S):
        out.append((m.group(1), ("/api/v1" if m.group(2) else "") + m.group(3),
                    m.group(4), set(re.findall(r"ROUTE_\w+", m.group(5))),
                    mask(m.group(6), params), mask(m.group(7), params),
                    m.group(8)))
    assert len(out) == table.count("HTTP_"), "unparsed route entries"
    return out


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch", "head",
                          "options"):
                yield method.upper(), path, op


def resolve(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        parts = obj["$ref"].lstrip("#/").split("/")
        obj = doc
        for p in parts:
            obj = obj[p]
    return obj


def test_document_is_openapi_3():
    doc = load_doc()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]


def test_yaml_copy_matches_json():
    with open(YAML) as f:
        text = "".join(line for line in f if not line.startswith("#"))
    assert json.loads(text) == load_doc()


def test_every_route_is_documented_and_nothing_else():
    doc = load_doc()
    documented = {(m, p) for m, p, _ in operations(doc)}
    served = {(r[0], r[1]) for r in routes()}
    assert documented == served, (
        "missing: %s; extra: %s" % (sorted(served - documented),
                                    sorted(documented - served)))


def test_operation_ids_are_the_route_names():
    doc = load_doc()
    ops = {(m, p): op for m, p, op in operations(doc)}
    for method, path, _, _, _, _, name in routes():
        assert ops[(method, path)].get("operationId") == name, (method, path)


def test_request_bodies_match_the_parameter_masks():
    doc = load_doc()
    ops = {(m, p): op for m, p, op in operations(doc)}
    for method, path, _, flags, want, required, _ in routes():
        op = ops[(method, path)]
        # a route pattern's {name} segment is a path parameter (router.h)
        in_path = set(re.findall(r"\{(\w+)\}", path))
        documented = {p["name"] for p in map(lambda x: resolve(doc, x),
                                             op.get("parameters", []))
                      if p["in"] == "path"}
        assert documented == in_path, (method, path, documented)
        want, required = want - in_path, required - in_path
        if method == "POST":
            schema = resolve(doc, op["requestBody"]["content"]
                             ["application/json"]["schema"])
            assert set(schema.get("required", [])) == required, path
            assert set(schema["properties"]) == want, path
            assert op["requestBody"].get("required") is True
        else:
            assert "requestBody" not in op, (method, path)
            qs = {p["name"]: p for p in map(lambda x: resolve(doc, x),
                                            op.get("parameters", []))
                  if p["in"] == "query"}
            # a credential row (PSRC_QUERY_ROUTE) is in the query string
            # only of a route flagged ROUTE_QUERY_CREDENTIALS
            in_query = want if "ROUTE_QUERY_CREDENTIALS" in flags else \
                want - query_route_params()
            assert set(qs) == in_query, (method, path, set(qs), in_query)
            for n, p in qs.items():
                # a token may come from the Authorization header instead
                assert p["required"] == (n in required and n != "token"), \
                    (path, n)


def test_integer_bounds_match_the_parameter_table():
    doc = load_doc()
    sch = doc["components"]["schemas"]
    params = {v[0]: v for v in param_names().values()}
    seat = params["seatNumber"]
    hold = sch["HoldRequest"]["properties"]["seatNumber"]
    assert (hold["minimum"], hold["maximum"]) == (seat[2], seat[3])
    assert sch["ChargeRequest"]["properties"]["amount"]["minimum"] == \
        params["amount"][2]
    assert sch["PaymentRequest"]["properties"]["amount"]["minimum"] == \
        params["amount"][2]
    default_max = re.search(r"max_charge_amount\s*=\s*(\d+)",
                            read("src/config.c"))
    assert sch["ChargeRequest"]["properties"]["amount"]["maximum"] == \
        int(default_max.group(1))


def test_idempotent_routes_document_the_header():
    doc = load_doc()
    ops = {(m, p): op for m, p, op in operations(doc)}
    for method, path, _, flags, _, _, _ in routes():
        names = {resolve(doc, p)["name"]
                 for p in ops[(method, path)].get("parameters", [])}
        assert ("Idempotency-Key" in names) == ("ROUTE_IDEMPOTENT" in
                                                flags), (method, path)


def test_error_responses_use_the_envelope():
    doc = load_doc()
    for method, path, op in operations(doc):
        assert any(s.startswith("2") for s in op["responses"]), path
        for status, resp in op["responses"].items():
            resp = resolve(doc, resp)
            if op["operationId"] == "metrics" and status == "200":
                continue        # Prometheus text, not JSON
            media = resp["content"]["application/json; charset=utf-8"]
            if status[0] in "45" and op["operationId"] != "health":
                assert resolve(doc, media["schema"]) is \
                    doc["components"]["schemas"]["Error"], (path, status)


def documented_codes(doc):
    return set(re.findall(r'"code": "([A-Z_]+)"', json.dumps(doc))) | set(
        re.findall(r"\b([A-Z][A-Z_]{3,})\b", json.dumps(doc)))


def test_every_error_code_the_code_emits_is_documented():
    doc = load_doc()
    codes = set()
    for f in os.listdir(os.path.join(ROOT, "src")):
        if f.endswith(".c"):
            codes |= set(re.findall(r'http_error\([^,]+,\s*\d+,\s*"([A-Z_]+)"',
                                    read("src/" + f)))
    assert codes, "no http_error calls found"
    missing = codes - documented_codes(doc)
    assert not missing, "undocumented error codes: %s" % sorted(missing)


def test_documented_statuses_are_ones_the_code_can_send():
    doc = load_doc()
    text = read("src/http.c")
    known = set(re.findall(r'\{\s*(\d{3}),\s*"\d{3} ', text))
    assert known, "no status table found in src/http.c"
    for method, path, op in operations(doc):
        for status in op["responses"]:
            assert status in known, (path, status)


def test_allow_header_of_the_live_server_matches_the_document():
    import helpers
    base = os.environ.get("CONCERT_TEST_URL")
    if not base:
        pytest.skip("CONCERT_TEST_URL is not set")
    doc = load_doc()
    by_path = {}
    for method, path, _ in operations(doc):
        by_path.setdefault(path, set()).add(method)
    for path, methods in by_path.items():
        status, headers, _ = helpers.http_request(
            helpers.ops_base(base, path), "PUT", path, body=b"{}",
            headers={"Content-Type": "application/json"}, timeout=10)
        assert status == 405, path
        # the route table's methods (HEAD is served by GET, never listed)
        allow = {m.strip() for m in headers.get("Allow").split(",")}
        assert allow == methods, (path, allow)
