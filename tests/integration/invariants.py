"""The database invariants that must hold after any run of the suite.

    check_invariants()   -> AssertionError naming the offending rows

conftest.py runs check_invariants() once at the end of every session (after every test of the
run, other engineers' too), after cleanup_dates() removed the tests' private dates. The shared
helpers (api, sql, wait_until, parallel, new_user, fresh_date, ...) live in helpers.py; they are
re-exported here only so that `from invariants import *` keeps working.
"""

from helpers import *  # noqa: F401,F403 - re-exported, see above
from helpers import __all__ as _helpers_all
import pytest

from helpers import cleanup_dates, conf_int, sql

__all__ = list(_helpers_all) + ["check_invariants"]


# ---------------------------------------------------------------- invariants

def _bad(query, what, failures):
    rows = sql(query)
    if rows:
        failures.append("%s: %s" % (what, rows[:10]))


def check_invariants():
    """Assert the database is consistent (see the list below).  Safe to
    run at any time: conditions on live holds are evaluated with one
    UTC_TIMESTAMP per statement."""
    max_holds = conf_int("max_holds_per_user", 4)
    f = []
    # Seats sold exactly once, paid once, at the price.
    # A seat is (concert, date, seat number) since issue 12.
    _bad("SELECT s.concert_date, s.seat_number, COUNT(r.id) FROM seats s"
         " LEFT JOIN reservations r ON r.concert_id = s.concert_id"
         "  AND r.concert_date = s.concert_date"
         "  AND r.seat_number = s.seat_number AND r.state = 1"
         " WHERE s.state = 2"
         " GROUP BY s.concert_id, s.concert_date, s.seat_number"
         " HAVING COUNT(r.id) <> 1",
         "SOLD seat without exactly one CONFIRMED reservation", f)
    _bad("SELECT s.concert_date, s.seat_number, HEX(s.reservation_id)"
         " FROM seats s LEFT JOIN reservations r ON r.id = s.reservation_id"
         " WHERE s.state = 2 AND (r.id IS NULL OR r.state <> 1)",
         "SOLD seat whose reservation_id is not a CONFIRMED reservation", f)
    _bad("SELECT s.concert_date, s.seat_number, COUNT(p.id),"
         " MIN(p.amount), s.price FROM seats s"
         " LEFT JOIN payments p ON p.reservation_id = s.reservation_id"
         " WHERE s.state = 2"
         " GROUP BY s.concert_id, s.concert_date, s.seat_number, s.price"
         " HAVING COUNT(p.id) <> 1 OR MIN(p.amount) <> s.price",
         "SOLD seat without exactly one payment of its price", f)
    _bad("SELECT s.concert_date, s.seat_number, s.state, r.concert_date,"
         " r.seat_number FROM seats s JOIN reservations r"
         " ON r.id = s.reservation_id WHERE s.state IN (1, 2) AND"
         " (r.concert_id <> s.concert_id OR r.concert_date <> s.concert_date"
         " OR r.seat_number <> s.seat_number)",
         "seat pointing at a reservation of another seat", f)
    _bad("SELECT s.concert_date, s.seat_number FROM seats s"
         " WHERE s.state NOT IN (0, 1, 2) OR (s.state = 2 AND"
         " s.reservation_id IS NULL) OR (s.state = 1 AND"
         " (s.reservation_id IS NULL OR s.hold_expires_at IS NULL))",
         "seat in an impossible state", f)
    # Reservations.
    _bad("SELECT HEX(r.id), COUNT(p.id) FROM reservations r"
         " LEFT JOIN payments p ON p.reservation_id = r.id"
         " WHERE r.state = 1 GROUP BY r.id HAVING COUNT(p.id) <> 1",
         "CONFIRMED reservation without exactly one payment", f)
    _bad("SELECT HEX(r.id), s.state, HEX(s.reservation_id)"
         " FROM reservations r JOIN seats s ON s.concert_id = r.concert_id"
         " AND s.concert_date = r.concert_date AND s.seat_number = r.seat_number"
         " WHERE r.state = 1 AND (s.state <> 2 OR s.reservation_id <> r.id)",
         "CONFIRMED reservation whose seat is not SOLD to it", f)
    # A payment's reservation is CONFIRMED while it is not refunded, and
    # CANCELLED once it is (issue 12 part 4).
    _bad("SELECT HEX(p.id), HEX(p.reservation_id), r.state,"
         " p.refunded_at, p.amount, r.price, HEX(p.user_id), HEX(r.user_id)"
         " FROM payments p LEFT JOIN reservations r ON r.id = p.reservation_id"
         " WHERE r.id IS NULL OR NOT ((r.state = 1 AND p.refunded_at IS NULL)"
         " OR (r.state = 4 AND p.refunded_at IS NOT NULL))"
         " OR p.amount <> r.price OR p.user_id <> r.user_id",
         "payment for a reservation that is not CONFIRMED (or CANCELLED and"
         " refunded) / wrong amount or owner", f)
    _bad("SELECT HEX(r.id), COUNT(p.id), MIN(p.refunded_at) FROM reservations r"
         " LEFT JOIN payments p ON p.reservation_id = r.id"
         " WHERE r.state = 4 GROUP BY r.id"
         " HAVING COUNT(p.id) <> 1 OR MIN(p.refunded_at) IS NULL",
         "CANCELLED reservation without exactly one refunded payment", f)
    _bad("SELECT HEX(p.id), COUNT(l.id), MIN(l.delta), p.amount"
         " FROM payments p LEFT JOIN balance_ledger l ON l.ref_id = p.id"
         " AND l.kind = 'REFUND' GROUP BY p.id, p.amount, p.refunded_at"
         " HAVING COUNT(l.id) <> IF(p.refunded_at IS NULL, 0, 1)"
         " OR (COUNT(l.id) = 1 AND MIN(l.delta) <> p.amount)",
         "refunded payment without exactly one REFUND ledger row of"
         " +amount (or a REFUND of an unrefunded payment)", f)
    _bad("SELECT l.id, HEX(l.ref_id) FROM balance_ledger l"
         " LEFT JOIN payments p ON p.id = l.ref_id"
         " WHERE l.kind = 'REFUND' AND (p.id IS NULL OR p.user_id <> l.user_id)",
         "REFUND ledger row of no payment of that user", f)
    _bad("SELECT HEX(r.id), r.state, s.state FROM reservations r"
         " JOIN seats s ON s.reservation_id = r.id"
         " WHERE r.state IN (3, 4) AND s.state IN (1, 2)",
         "RELEASED/CANCELLED reservation still holding or owning its seat", f)
    _bad("SELECT HEX(r.id), s.state, HEX(s.reservation_id)"
         " FROM reservations r JOIN seats s ON s.concert_id = r.concert_id"
         " AND s.concert_date = r.concert_date AND s.seat_number = r.seat_number"
         " WHERE r.state = 0 AND r.expires_at > UTC_TIMESTAMP(3) + INTERVAL"
         " 1 SECOND AND (s.state <> 1 OR s.reservation_id <> r.id)",
         "live HELD reservation whose seat is not held for it", f)
    _bad("SELECT HEX(user_id), COUNT(*) FROM reservations"
         " WHERE state = 0 AND expires_at > UTC_TIMESTAMP(3)"
         " GROUP BY user_id HAVING COUNT(*) > %d" % max_holds,
         "user over max_holds_per_user live holds", f)
    _bad("SELECT concert_date, seat_number, COUNT(*) FROM reservations"
         " WHERE state = 0 AND expires_at > UTC_TIMESTAMP(3)"
         " GROUP BY concert_id, concert_date, seat_number HAVING COUNT(*) > 1",
         "two live HELD reservations for one seat", f)
    # Money.
    _bad("SELECT HEX(u.id), u.balance, (SELECT COALESCE(SUM(l.delta), 0)"
         " FROM balance_ledger l WHERE l.user_id = u.id) AS s FROM users u"
         " HAVING s <> u.balance",
         "users.balance <> SUM(ledger)", f)
    _bad("SELECT HEX(l.user_id), COUNT(*) FROM balance_ledger l"
         " LEFT JOIN users u ON u.id = l.user_id WHERE u.id IS NULL"
         " GROUP BY l.user_id", "ledger rows of unknown users", f)
    _bad("SELECT HEX(id), balance FROM users WHERE balance < 0",
         "negative balance", f)
    _bad("SELECT a, b FROM (SELECT (SELECT COALESCE(SUM(delta), 0) FROM"
         " balance_ledger WHERE kind = 'PAYMENT') AS a, (SELECT"
         " COALESCE(-SUM(amount), 0) FROM payments) AS b) x WHERE a <> b",
         "SUM(PAYMENT ledger) <> -SUM(payments.amount)", f)
    _bad("SELECT HEX(p.id), COUNT(l.id), MIN(l.delta), p.amount"
         " FROM payments p LEFT JOIN balance_ledger l ON l.ref_id = p.id"
         " AND l.kind = 'PAYMENT' GROUP BY p.id, p.amount"
         " HAVING COUNT(l.id) <> 1 OR MIN(l.delta) <> -p.amount",
         "payment without exactly one ledger row of -amount", f)
    _bad("SELECT id, delta FROM balance_ledger WHERE (kind IN ('CHARGE',"
         " 'REFUND') AND delta <= 0) OR (kind = 'PAYMENT' AND delta >= 0)",
         "ledger row with the wrong sign", f)
    # Queue.
    _bad("SELECT concert_id, HEX(user_id), COUNT(*) FROM queue_tokens"
         " WHERE state IN (0, 1) GROUP BY concert_id, user_id"
         " HAVING COUNT(*) > 1",
         "user with two live tokens in one concert's line", f)
    # Each concert's line is admitted to its own cap (issue 12).
    _bad("SELECT t.concert_id, COUNT(*), q.max_active_tokens"
         " FROM queue_tokens t JOIN queue_state q ON q.id = t.concert_id"
         " WHERE t.state = 1 AND t.expires_at > UTC_TIMESTAMP(3)"
         " AND q.max_active_tokens > 0"
         " GROUP BY t.concert_id, q.max_active_tokens"
         " HAVING COUNT(*) > q.max_active_tokens",
         "concert with more live admissions than its cap", f)
    _bad("SELECT t.concert_id, MAX(t.seq), n.next_seq FROM queue_tokens t"
         " LEFT JOIN queue_seq n ON n.id = t.concert_id GROUP BY t.concert_id,"
         " n.next_seq HAVING n.next_seq IS NULL OR MAX(t.seq) > n.next_seq",
         "queue token beyond its concert's counter", f)
    _bad("SELECT seq FROM queue_tokens WHERE (state IN (0, 1) AND"
         " (live_user IS NULL OR live_user <> user_id)) OR"
         " (state = 2 AND live_user IS NOT NULL)",
         "queue token whose live_user disagrees with its state", f)
    # The pre-queue draws (issue 12 part 5): a drawn concert's entrants hold
    # exactly the seqs first_seq .. first_seq + entrants - 1 (no gap, no
    # duplicate: the primary key), its later joins the next `late` ones, no
    # live token of it is left without a seq, and queue_seq says drawn
    # exactly when queue_draws has the row.
    _bad("SELECT d.concert_id, d.entrants, d.first_seq, COUNT(t.seq), MIN(t.seq),"
         " MAX(t.seq) FROM queue_draws d LEFT JOIN queue_tokens t"
         " ON t.concert_id = d.concert_id AND t.pre_seq IS NOT NULL"
         " AND t.pre_seq <= d.joined AND t.seq > 0 GROUP BY d.concert_id"
         " HAVING COUNT(t.seq) <> d.entrants OR (d.entrants > 0 AND"
         " (MIN(t.seq) <> d.first_seq OR MAX(t.seq) <> d.first_seq + d.entrants - 1))",
         "drawn pre-queue whose entrants do not hold exactly its seqs", f)
    _bad("SELECT d.concert_id, d.late, d.first_seq, d.entrants, COUNT(t.seq),"
         " MIN(t.seq), MAX(t.seq)"
         " FROM queue_draws d LEFT JOIN queue_tokens t"
         " ON t.concert_id = d.concert_id AND t.pre_seq > d.joined AND t.seq > 0"
         " GROUP BY d.concert_id HAVING COUNT(t.seq) <> d.late OR (d.late > 0 AND"
         " (MIN(t.seq) <> d.first_seq + d.entrants OR"
         "  MAX(t.seq) <> d.first_seq + d.entrants + d.late - 1))",
         "drawn pre-queue whose later joins do not follow its entrants", f)
    _bad("SELECT t.concert_id, t.seq, t.pre_seq, t.state FROM queue_tokens t"
         " LEFT JOIN queue_seq n ON n.id = t.concert_id WHERE t.seq < 1 AND"
         " (t.state = 1 OR (t.state = 0 AND n.pre_drawn = 1) OR t.pre_seq IS NULL"
         "  OR t.seq <> -t.pre_seq)",
         "queue token without a seq that is not a pre-queue join waiting for its draw", f)
    _bad("SELECT n.id, n.pre_drawn, d.concert_id FROM queue_seq n"
         " LEFT JOIN queue_draws d ON d.concert_id = n.id"
         " WHERE (n.pre_drawn = 1) <> (d.concert_id IS NOT NULL)",
         "queue_seq.pre_drawn disagrees with queue_draws", f)
    assert not f, "invariants violated:\n  " + "\n  ".join(f)


@pytest.fixture(scope="session", autouse=True)
def invariants_at_end():
    """Session end: drop the private dates, then check_invariants(). Registered for every
    test by conftest.py."""
    yield
    try:
        cleanup_dates()
    finally:
        check_invariants()
