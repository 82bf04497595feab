"""The number of statements of one hold and one payment (issue 10, part 6).

The round trips are counted in the server's general log (log_output=TABLE,
so each row carries its connection's thread_id): the worker's connection
is the one that ran the request's distinctive statement (nothing else
runs it while the log is on: the log shows prepared statements with their
placeholders, not their values), and its statements are counted from the
START TRANSACTION before that one to the COMMIT after it.  The counts are
exact, so that a statement added to these paths is a decision (update the
tables at the top of src/api_reservation.c and src/api_payment.c, and
tools/bench/db_bench.c) and not a drift.

performance_schema is off in the test MariaDB (scripts/mysql), and the
Com_* status counters of the worker's session are not visible from
another session; the general log is switched on only around the one
request (and off again, whatever happens).
"""
import contextlib

from helpers import (active_token, charge, fresh_date, hold, new_user, pay,
                     sql)

# START TRANSACTION + statements + COMMIT of a successful request.
HOLD_STATEMENTS = 7       # was 8 (9 on a token's first use)
PAY_STATEMENTS = 10       # was 13 with the admission's end, 12 without


@contextlib.contextmanager
def general_log():
    old = sql("SELECT @@GLOBAL.log_output, @@GLOBAL.general_log", database="")[0]
    sql("SET GLOBAL general_log = OFF; SET GLOBAL log_output = 'TABLE';"
        " TRUNCATE TABLE mysql.general_log; SET GLOBAL general_log = ON",
        database="")
    try:
        yield
    finally:
        sql("SET GLOBAL general_log = OFF; SET GLOBAL log_output = '%s';"
            " SET GLOBAL general_log = %s" % (old[0], old[1]), database="")


def transaction_of(marker):
    """The commands of the transaction (on the connection) that ran a
    statement LIKE marker: [(kind, text)], kind B (START TRANSACTION), C
    (COMMIT), R (ROLLBACK) or S (any other statement)."""
    tid = sql("SELECT thread_id FROM mysql.general_log"
              " WHERE command_type = 'Execute' AND argument LIKE '%s'"
              % marker.replace("'", "''"), database="")
    if len(tid) != 1:
        dump = sql("SELECT thread_id, command_type, HEX(LEFT(argument, 120))"
                   " FROM mysql.general_log LIMIT 40", database="")
        dump = [(a, b, bytes.fromhex(c).decode("utf-8", "replace"))
                for a, b, c in dump]
    assert len(tid) == 1, ("one execution of %s expected" % marker, tid, dump)
    # A CSV table is read in the order it was written.
    rows = sql("SELECT CASE WHEN argument LIKE 'START TRANSACTION%%' THEN 'B'"
               " WHEN argument = 'COMMIT' THEN 'C'"
               " WHEN argument LIKE 'ROLLBACK%%' THEN 'R' ELSE 'S' END,"
               " HEX(LEFT(argument, 60)), argument LIKE '%s'"
               " FROM mysql.general_log WHERE thread_id = %s"
               " AND command_type IN ('Query', 'Execute')"
               % (marker.replace("'", "''"), tid[0][0]), database="")
    at = [i for i, r in enumerate(rows) if r[2] == "1"][0]
    start = max(i for i in range(at + 1) if rows[i][0] == "B")
    end = min(i for i in range(at, len(rows)) if rows[i][0] in "CR")
    return [(r[0], bytes.fromhex(r[1]).decode("utf-8", "replace"))
            for r in rows[start:end + 1]]


def statements(tx):
    assert tx[0][0] == "B" and tx[-1][0] == "C", tx
    return [t for k, t in tx[1:-1]]


def test_reservation_round_trips():
    d = fresh_date(seats=2)
    tok = active_token(new_user())
    with general_log():
        r = hold(tok, d, 1)
    assert r.status == 201, r
    st = statements(transaction_of("INSERT INTO reservations%"))
    assert len(st) == HOLD_STATEMENTS, st


def test_payment_round_trips():
    d = fresh_date(seats=2, price=lambda n: 700)
    user = new_user()
    assert charge(user, 1400).status == 200
    tok = active_token(user)
    rids = []
    for seat in (1, 2):
        r = hold(tok, d, seat)
        assert r.status == 201, r
        rids.append(r.json["reservationId"])
    # The first payment leaves a live hold (the admission stays), the
    # second ends the admission.
    for rid in rids:
        with general_log():
            r = pay(tok, rid, 700)
        assert r.status == 201, r
        st = statements(transaction_of("INSERT INTO payments%"))
        assert len(st) == PAY_STATEMENTS, st
