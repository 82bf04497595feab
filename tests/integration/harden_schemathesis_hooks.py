"""schemathesis hooks for scripts/test's OpenAPI fuzzer (SCHEMATHESIS_HOOKS=harden_schemathesis_hooks).

A generated Idempotency-Key is often the same string for different bodies, which the server
rightly refuses (422 IDEMPOTENCY_KEY_REUSED: state, not schema). Every request that has one is
sent with a fresh key, so that a refusal of a schema-valid request is always a finding.
"""
import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers
    if headers:
        for name in list(headers):
            if name.lower() == "idempotency-key":
                headers[name] = "fuzz-" + uuid.uuid4().hex
