/*
 * draw: the pre-queue's draw at a concert's opening (issue 12 part 5; see
 * consumer.h, and sql/schema.sql for the columns).
 *
 * Invariants this file keeps:
 * - A concert is drawn at most once: the draw runs in one transaction
 *   under its queue_state row lock (which every admission pass of every
 *   consumer instance takes first) and then its queue_seq row lock (which
 *   every join takes), re-checks queue_seq.pre_drawn under them, and
 *   commits the queue_draws row (primary key: the concert), the seqs and
 *   pre_drawn = 1 together.  A consumer killed mid-draw leaves no draw;
 *   the next pass does it.
 * - The entrants are exactly the pre-queue joins made before on_sale_at
 *   (pre_seq <= pre_early) still WAITING, locked FOR UPDATE: a DELETE
 *   /token racing the draw waits for it (and leaves with the seq it got)
 *   or went first (and is not an entrant).  A join racing the draw waits
 *   on queue_seq: it is either counted here (it committed first) or sees
 *   pre_drawn and takes next_seq, which the draw moved past every seq it
 *   gave.
 * - Entrants get first_seq .. first_seq + n - 1 in the drawn order
 *   (shuffle.h), then the joins made after the opening but before the
 *   draw (pre_seq > pre_early) the seqs after those in join order;
 *   first_seq = next_seq + 1 as the draw found it (1 unless rows were
 *   inserted into the line directly), so the line stays dense.
 * - Every drawn token's seen_at is the draw's time: waiting in the
 *   pre-queue without polling is not idleness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "consumer.h"
#include "db.h"
#include "log.h"
#include "model.h"
#include "shuffle.h"
#include "util.h"

/* Entrants renumbered per UPDATE: the db wrapper binds at most 16
 * parameters (base, the list twice, the concert). */
#define DRAW_CHUNK 7
#define IN7 "(?, ?, ?, ?, ?, ?, ?)"

static struct db_stmt *st_lock, *st_seq, *st_opening, *st_entrants,
    *st_renumber, *st_record, *st_done, *st_read, *st_drawn;

int
draw_init(void)
{
	st_lock = db_stmt("SELECT serving_seq FROM queue_state WHERE id = ?"
	    " FOR UPDATE");
	st_seq = db_stmt("SELECT next_seq, pre_next, pre_early, pre_drawn"
	    " FROM queue_seq WHERE id = ? FOR UPDATE");
	/* Opened (NULL: an operator cleared on_sale_at over a pending
	 * pre-queue: draw now rather than strand it), and when. */
	st_opening = db_stmt("SELECT IFNULL(on_sale_at <= UTC_TIMESTAMP(3), 1),"
	    " IFNULL(DATE_FORMAT(on_sale_at, '%Y-%m-%d %H:%i:%s.%f'), '')"
	    " FROM concerts WHERE id = ?");
	/* The pre-queue's waiting joins (index qt_concert_state_seq). */
	st_entrants = db_stmt("SELECT pre_seq FROM queue_tokens"
	    " WHERE concert_id = ? AND state = " SQL_TOKEN_WAITING
	    " AND seq < 0 ORDER BY pre_seq FOR UPDATE");
	/* FIELD() is 1-based: the chunk's k-th join gets base + k. */
	st_renumber = db_stmt("UPDATE queue_tokens SET"
	    " seq = ? + FIELD(pre_seq, ?, ?, ?, ?, ?, ?, ?),"
	    " seen_at = UTC_TIMESTAMP(3)"
	    " WHERE concert_id = ? AND seq < 0 AND pre_seq IN " IN7);
	st_record = db_stmt("INSERT INTO queue_draws (concert_id, method, seed,"
	    " on_sale_at, joined, entrants, first_seq, late, entrants_sha256)"
	    " SELECT id, ?, ?, on_sale_at, ?, ?, ?, ?, ? FROM concerts"
	    " WHERE id = ?");
	st_done = db_stmt("UPDATE queue_seq SET next_seq = ?, pre_drawn = 1"
	    " WHERE id = ?");
	st_read = db_stmt("SELECT method, seed, joined, entrants, first_seq,"
	    " late, entrants_sha256,"
	    " DATE_FORMAT(drawn_at, '%Y-%m-%d %H:%i:%s.%f')"
	    " FROM queue_draws WHERE concert_id = ?");
	/* The drawn tokens (entrants and late joins) in seq order. */
	st_drawn = db_stmt("SELECT pre_seq, seq FROM queue_tokens"
	    " WHERE concert_id = ? AND pre_seq IS NOT NULL AND seq >= ?"
	    " AND seq < ? ORDER BY seq");
	return st_lock && st_seq && st_opening && st_entrants && st_renumber &&
	    st_record && st_done && st_read && st_drawn ? 0 : -1;
}

/* A growable array of join numbers. */
struct draw_list {
	long long *v;
	size_t n, cap;
};

static int
list_add(struct draw_list *l, long long x)
{
	long long *p;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;

		if ((p = realloc(l->v, cap * sizeof(*p))) == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = x;
	return 0;
}

struct draw_job {
	long long concert;
	struct draw_list early, late;
	unsigned char seed[SHUFFLE_SEED_LEN];
	long long first_seq;
	int drawn;
	char opens[40];
};

/* Renumber l (in its order) to base + 1, base + 2, ...  0 / -1. */
static int
renumber(long long concert, const struct draw_list *l, long long base)
{
	long long s[DRAW_CHUNK], r;
	size_t i, j, k;

	for (i = 0; i < l->n; i += DRAW_CHUNK) {
		k = l->n - i < DRAW_CHUNK ? l->n - i : DRAW_CHUNK;
		for (j = 0; j < DRAW_CHUNK; j++)
			s[j] = j < k ? l->v[i + j] : l->v[i];
		r = db_exec(st_renumber, "iiiiiiiiiiiiiiii", base + (long long)i,
		    s[0], s[1], s[2], s[3], s[4], s[5], s[6], concert, s[0],
		    s[1], s[2], s[3], s[4], s[5], s[6]);
		if (r < 0)
			return -1;
		/* The rows are locked (st_entrants): all of them change. */
		if (r != (long long)k) {
			log_error("draw of concert %lld renumbered %lld row(s) of "
			    "%zu, 'queue_tokens'", concert, r, k);
			return -1;
		}
	}
	return 0;
}

static enum db_tx_result
draw_tx(void *arg)
{
	struct draw_job *j = arg;
	long long serving, next, pre_next, pre_early, drawn, opened = 0, x;
	unsigned char digest[32];
	char seed_hex[2 * SHUFFLE_SEED_LEN + 1], digest_hex[65];
	int rc;

	j->early.n = j->late.n = 0;
	j->drawn = 0;
	j->opens[0] = '\0';
	if (db_exec(st_lock, "i", j->concert) < 0)
		return DB_TX_ERROR;
	rc = db_fetch(st_lock, "i", &serving);
	db_done(st_lock);
	if (rc < 0)
		return DB_TX_ERROR;
	if (rc == 0)
		return DB_TX_ROLLBACK;
	if (db_exec(st_seq, "i", j->concert) < 0)
		return DB_TX_ERROR;
	rc = db_fetch(st_seq, "iiii", &next, &pre_next, &pre_early, &drawn);
	db_done(st_seq);
	if (rc < 0)
		return DB_TX_ERROR;
	if (rc == 0 || drawn || pre_next == 0)
		return DB_TX_ROLLBACK;         /* drawn already, or no pre-queue */
	if (db_exec(st_opening, "i", j->concert) < 0)
		return DB_TX_ERROR;
	rc = db_fetch(st_opening, "is", &opened, j->opens, sizeof(j->opens));
	db_done(st_opening);
	if (rc < 0)
		return DB_TX_ERROR;
	if (rc == 1 && !opened)
		return DB_TX_ROLLBACK;         /* not open yet */

	if (db_exec(st_entrants, "i", j->concert) < 0)
		return DB_TX_ERROR;
	while ((rc = db_fetch(st_entrants, "i", &x)) == 1)
		if (list_add(x <= pre_early ? &j->early : &j->late, x) == -1) {
			rc = -2;
			break;
		}
	db_done(st_entrants);
	if (rc == -2) {
		log_error("draw of concert %lld failed: out of memory",
		    j->concert);
		return DB_TX_ROLLBACK;
	}
	if (rc < 0)
		return DB_TX_ERROR;
	/* The seed is drawn now, after the entrants are fixed (locked). */
	if (shuffle_seed(j->seed) == -1 ||
	    shuffle_digest(j->early.v, j->early.n, digest) == -1 ||
	    shuffle_order(j->seed, (int)j->concert, j->early.v,
	    j->early.n) == -1) {
		log_error("draw of concert %lld failed: libcrypto", j->concert);
		return DB_TX_ROLLBACK;
	}
	j->first_seq = next + 1;
	if (renumber(j->concert, &j->early, next) == -1 ||
	    renumber(j->concert, &j->late, next + (long long)j->early.n) == -1)
		return DB_TX_ERROR;
	util_hex(j->seed, sizeof(j->seed), seed_hex);
	util_hex(digest, sizeof(digest), digest_hex);
	if (db_exec(st_record, "ssiiiisi", SHUFFLE_METHOD, seed_hex,
	    pre_early, (long long)j->early.n, j->first_seq,
	    (long long)j->late.n, digest_hex, j->concert) != 1)
		return DB_TX_ERROR;
	if (db_exec(st_done, "ii", next + (long long)(j->early.n + j->late.n),
	    j->concert) < 0)
		return DB_TX_ERROR;
	j->drawn = 1;
	return DB_TX_COMMIT;
}

static void
draw_failed(void *arg, int attempt)
{
	const struct draw_job *j = arg;

	log_warn("draw of concert %lld failed (attempt %d), 'queue_tokens': %s",
	    j->concert, attempt, db_error());
}

int
draw_concert(long long concert)
{
	struct draw_job j;
	char seed_hex[2 * SHUFFLE_SEED_LEN + 1];
	enum db_tx_result r;

	memset(&j, 0, sizeof(j));
	j.concert = concert;
	r = db_tx_run(draw_tx, draw_failed, &j);
	free(j.early.v);
	free(j.late.v);
	if (r == DB_TX_ERROR)
		return -1;
	if (r != DB_TX_COMMIT || !j.drawn)
		return 0;
	/* The seed is no secret once drawn: it is what lets anyone check
	 * the order (`concert-consumer --verify-draw`). */
	util_hex(j.seed, sizeof(j.seed), seed_hex);
	log_info("concert %lld: pre-queue drawn (opening %s): %zu entrant(s) "
	    "at seqs %lld..%lld, %zu join(s) after the opening behind them, "
	    "method %s, seed %s", concert, j.opens[0] ? j.opens : "none",
	    j.early.n, j.first_seq, j.first_seq + (long long)j.early.n - 1,
	    j.late.n, SHUFFLE_METHOD, seed_hex);
	return 1;
}

int
draw_verify(long long concert, FILE *out)
{
	char method[40], seed_hex[80], digest_hex[80], at[40], got_hex[65];
	unsigned char seed[SHUFFLE_SEED_LEN], digest[32];
	long long joined, n, first, late, pre, seq, expect;
	struct draw_list e = { NULL, 0, 0 }, order = { NULL, 0, 0 };
	size_t i, bad = 0;
	int rc, ret = -1;

	if (db_exec(st_read, "i", concert) < 0)
		goto out;
	rc = db_fetch(st_read, "ssiiiiss", method, sizeof(method), seed_hex,
	    sizeof(seed_hex), &joined, &n, &first, &late, digest_hex,
	    sizeof(digest_hex), at, sizeof(at));
	db_done(st_read);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		fprintf(out, "concert %lld: no draw recorded\n", concert);
		ret = 1;
		goto out;
	}
	if (strcmp(method, SHUFFLE_METHOD) != 0 ||
	    util_unhex(seed_hex, seed, sizeof(seed)) == -1) {
		fprintf(out, "concert %lld: draw method '%s' or seed not "
		    "understood\n", concert, method);
		ret = 1;
		goto out;
	}
	fprintf(out, "concert %lld: drawn %s, method %s, seed %s\n"
	    "  %lld entrant(s) at seqs %lld..%lld, %lld later join(s)\n",
	    concert, at, method, seed_hex, n, first, first + n - 1, late);
	if (db_exec(st_drawn, "iii", concert, first, first + n + late) < 0)
		goto out;
	expect = first;
	while ((rc = db_fetch(st_drawn, "ii", &pre, &seq)) == 1) {
		if (seq != expect++) {
			fprintf(out, "  seq %lld found where %lld was due\n",
			    seq, expect - 1);
			bad++;
			expect = seq + 1;
		}
		if (list_add(seq < first + n ? &e : &order, pre) == -1) {
			rc = -1;
			break;
		}
	}
	db_done(st_drawn);
	if (rc < 0)
		goto out;
	if ((long long)e.n != n || (long long)order.n != late) {
		fprintf(out, "  %zu entrant(s) and %zu later join(s) hold the "
		    "drawn seqs\n", e.n, order.n);
		bad++;
	}
	for (i = 0; i < e.n; i++)
		if (e.v[i] > joined) {
			fprintf(out, "  join %lld (after the opening) holds seq "
			    "%lld\n", e.v[i], first + (long long)i);
			bad++;
		}
	for (i = 1; i < order.n; i++)
		if (order.v[i] < order.v[i - 1]) {
			fprintf(out, "  later joins out of arrival order at seq "
			    "%lld\n", first + n + (long long)i);
			bad++;
		}
	if (shuffle_digest(e.v, e.n, digest) == -1)
		goto out;
	util_hex(digest, sizeof(digest), got_hex);
	if (strcasecmp(got_hex, digest_hex) != 0) {
		fprintf(out, "  the entrants' digest is %s, the draw recorded "
		    "%s\n", got_hex, digest_hex);
		bad++;
	}
	/* Recompute: the entrants (as found) in the seed's order. */
	order.n = 0;
	for (i = 0; i < e.n; i++)
		if (list_add(&order, e.v[i]) == -1)
			goto out;
	if (shuffle_order(seed, (int)concert, order.v, order.n) == -1)
		goto out;
	for (i = 0; i < e.n; i++)
		if (order.v[i] != e.v[i]) {
			fprintf(out, "  seq %lld: join %lld holds it, the seed "
			    "gives it to join %lld\n", first + (long long)i,
			    e.v[i], order.v[i]);
			bad++;
			break;
		}
	fprintf(out, "%s\n", bad ? "MISMATCH" : "OK: the order is the seed's");
	ret = bad ? 1 : 0;
out:
	if (ret == -1)
		fprintf(out, "concert %lld: verify failed: %s\n", concert,
		    db_error());
	free(e.v);
	free(order.v);
	return ret;
}
