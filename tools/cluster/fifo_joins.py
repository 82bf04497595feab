#!/usr/bin/env python3
"""tools/cluster/fifo_joins.py: N users join the line at once from T threads, alternately through
host a and host b of a running scripts/cluster; prints the statuses, the joins per second, the
failed transaction attempts (certification conflicts retried: concert_mysql_errors_total of both
hosts' operator pages) and whether the seqs they got are dense (README "Deployment: several
hosts"). Run from the repository root with CONCERT_STATE_DIR set as for scripts/cluster.
Usage: tools/cluster/fifo_joins.py [N=400] [T=16] [HTTP_PORT=18620]
"""
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
T = int(sys.argv[2]) if len(sys.argv) > 2 else 16
P = int(sys.argv[3]) if len(sys.argv) > 3 else 18620
A, B = "http://127.0.0.1:%d" % (P + 1), "http://127.0.0.1:%d" % (P + 2)
OPS = ["http://127.0.0.1:%d" % (P + 11), "http://127.0.0.1:%d" % (P + 12)]


def errors():
    n = 0
    for u in OPS:
        t = urllib.request.urlopen(u + "/metrics").read().decode()
        n += int(re.search(r"^concert_mysql_errors_total (\d+)", t, re.M).group(1))
    return n


before = errors()
users = [str(uuid.uuid4()) for _ in range(N)]
res = [None] * N
bar = threading.Barrier(T)
def run(k):
    bar.wait()
    for i in range(k, N, T):
        base = A if i % 2 else B
        req = urllib.request.Request(base + "/api/v1/token", data=json.dumps({"userId": users[i]}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            r = urllib.request.urlopen(req)
            res[i] = (r.status, time.monotonic())
        except urllib.error.HTTPError as e:
            res[i] = (e.code, time.monotonic())
t0 = time.monotonic()
ts = [threading.Thread(target=run, args=(k,)) for k in range(T)]
[t.start() for t in ts]; [t.join() for t in ts]
el = time.monotonic() - t0
after = errors()
st = {}
for r in res: st[r[0]] = st.get(r[0], 0) + 1
hexes = ",".join("UNHEX('%s')" % u.replace("-", "") for u in users)
out = subprocess.run(["scripts/cluster", "sql", "1", "SELECT seq FROM queue_tokens WHERE user_id IN (%s) ORDER BY seq" % hexes], capture_output=True, text=True).stdout.split()
seqs = list(map(int, out))
gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b != a + 1)
print("joins %d in %.2fs (%.0f/s), statuses %s, failed tx attempts (certification retries) %d, seqs %d..%d, gaps %d" % (N, el, N/el, st, after-before, seqs[0], seqs[-1], gaps))
