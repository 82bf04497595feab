#!/bin/sh
# make check: the module include graph of src/ has no cycle (scripts/includes
# prints the graph and the cycles).  TAP, like the Criterion tests.
top=${srcdir:-.}
echo "1..1"
if out=$("$top/scripts/includes" 2>&1); then
	echo "ok 1 - src/ module include graph has no cycle"
else
	printf '%s\n' "$out" | sed 's/^/# /'
	echo "not ok 1 - src/ module include graph has a cycle"
fi
