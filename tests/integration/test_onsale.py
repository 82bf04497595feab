"""A small on-sale through nginx (scripts/onsale --url): its invariants, not its speed.

5,000 simulated users arrive over 20 s for 500 seats (tools/onsale/onsale, the C load generator,
through the shared test stack; its database is read by scripts/onsale). What must hold whatever
the box's speed: no seat sold twice, every sold seat has exactly one payment and the payments
are exactly the sold seats, no 5xx, admissions in arrival order (at most 0.1 % out of order),
and something was actually sold.
"""
import json
import os
import subprocess

import helpers


def _clean_date(d):
    # As helpers.cleanup_dates: keep sold seats and their confirmed reservations, drop the rest,
    # so the date leaves /reservations/dates for the tests that run after this one.
    helpers.sql("DELETE FROM reservations WHERE concert_date = '{d}' AND state <> 1; "
                "DELETE FROM seats WHERE concert_date = '{d}' AND state <> 2; "
                "DELETE FROM concert_dates WHERE concert_date = '{d}' AND NOT "
                "EXISTS (SELECT 1 FROM seats WHERE concert_date = '{d}');".format(d=d))


def test_small_onsale_keeps_its_invariants(tmp_path):
    report = tmp_path / "onsale.json"
    cmd = [os.path.join(helpers.ROOT, "scripts", "onsale"), "--url", helpers.BASE_URL,
           "--users", "5000", "--seconds", "20", "--seats", "500", "--connections", "128",
           "--max-seconds", "120", "--json", str(report), "--picture", str(tmp_path / "p.png")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, CONCERT_SKIP_DEPS="1"))
    out = p.stdout + p.stderr
    assert report.exists(), out
    r = json.loads(report.read_text())
    try:
        assert r["oversold"] == 0, out
        assert r["seats_without_one_payment"] == 0, out
        assert r["sold"] == r["payments"], out
        assert r["errors_5xx"] == 0, out
        assert r["sold"] > 0, out
        assert r["fifo_violations_pct"] <= 0.1, out
        assert r["users"] == 5000 and r["seats"] == 500
        for k in ("sold_out_s", "p99_ms", "longest_line", "endpoints"):
            assert k in r, k
        assert p.returncode == 0, out
    finally:
        _clean_date(r["date"])
