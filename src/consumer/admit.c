/*
 * admit: the waiting-queue admission pass (see consumer.h).
 *
 * Each concert has its own line, cap, serving counter and rate (issue
 * 12): a pass runs one transaction per concert with anything to do
 * (st_concerts), each under that concert's queue_state row lock, and
 * every statement below names the concert.  "Below" means "of this
 * concert" in the invariants that follow.
 *
 * Invariants this file keeps:
 * - Only an admission pass moves a token to ACTIVE, and every pass runs
 *   under the row lock of its concert's queue_state row.  Workers only ever take tokens
 *   out of ACTIVE (payment, DELETE /token), so a COUNT of ACTIVE rows read
 *   after taking the lock is an upper bound for the whole transaction and
 *   "active + admitted <= max_active_tokens" holds for every consumer
 *   instance together.
 * - A concert with a pre-queue is drawn (draw.c) before its admission in
 *   the same pass, once its opening has passed; until then its pre-queue
 *   rows have seq < 1 and admission never picks them (seq > 0 below).
 * - Admission is FIFO by seq: the lowest WAITING seqs are picked, which
 *   includes "stragglers" whose seq is below serving_seq because their
 *   INSERT committed late.  serving_seq only moves forward (GREATEST), so
 *   positions computed by the workers never jump backwards.
 * - The tokens updated are exactly the ones selected and locked with
 *   FOR UPDATE (by seq IN (...)), never a range that a concurrent insert
 *   could slip into.
 * - The cap is queue_state.max_active_tokens, read under the same lock:
 *   the config key only seeds it (when it is 0), so instances started with
 *   different configs still admit to one cap.
 * - A WAITING token whose seen_at (last poll, flushed by the workers) is
 *   older than waiting_idle_seconds is dropped when its turn comes (reason
 *   idle) and its place given to the next; serving_seq moves past dropped
 *   seqs too, so the workers' "seq > serving_seq means still waiting"
 *   holds.  An ACTIVE token never claimed (claimed_at NULL) claim_seconds
 *   after admission lapses early (reason unclaimed).
 * - Admissions end (lapsed, unclaimed) by primary key: the candidates come
 *   from a plain read, each chunk is locked by (concert, seq) with its
 *   condition checked again, and exactly the locked rows are updated (FORCE
 *   INDEX (PRIMARY): on a small table the optimizer preferred a range of
 *   the (concert, state, expires_at) index, which locks every ACTIVE row).  A
 *   range UPDATE over the ACTIVE tokens held row locks that payments
 *   ending their own tokens queued behind for the rest of the pass
 *   (sampled from information_schema.innodb_lock_waits during
 *   scripts/bench pay).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer.h"
#include "db.h"
#include "event.h"
#include "events.h"
#include "log.h"
#include "model.h"
#include "queue.h"
#include "util.h"

/* Width of the "seq IN (...)" list of the admit UPDATE (the db wrapper
 * binds at most 16 parameters; the TTL and the concert take two). */
#define ADMIT_CHUNK 14

/* Rate measurement window and EMA weight of a new window's sample. */
#define ADMIT_RATE_WINDOW_MS 5000
#define ADMIT_RATE_ALPHA     0.3

/* Lapsed tokens named in token.lapsed events per pass, at most (the
 * events inform; the database is the truth). */
#define ADMIT_LAPSED_NAMED 1024

/* Rounds of "select the next waiting, drop the idle ones" per pass. */
#define ADMIT_IDLE_ROUNDS 8

static struct db_stmt *st_lock, *st_active, *st_wait_sel, *st_admit,
    *st_has_waiting, *st_state, *st_cap_seed, *st_idle, *st_concerts;

/* One way an admission ends early: its candidates (a plain read, at most
 * ADMIT_LAPSED_NAMED a pass), the same condition re-checked under the lock
 * of a chunk of seqs, and the update of the rows locked.  Binds: the
 * concert, claim_seconds where uses_claim, then the seqs. */
struct admit_end {
	const char *what;
	struct db_stmt *cand, *lock, *end;
	int uses_claim;
};
static struct admit_end end_unclaimed = { "unclaimed", NULL, NULL, NULL, 1 };
static struct admit_end end_lapsed = { "lapsed", NULL, NULL, NULL, 0 };

#define IN14 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define UNCLAIMED_WHERE \
	"concert_id = ? AND state = " SQL_TOKEN_ACTIVE " AND claimed_at IS NULL " \
	"AND activated_at <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND " \
	"AND expires_at > UTC_TIMESTAMP(3)"
#define LAPSED_WHERE \
	"concert_id = ? AND state = " SQL_TOKEN_ACTIVE \
	" AND expires_at <= UTC_TIMESTAMP(3)"

/* A pre-queue not drawn, whose opening has passed (or was cleared). */
#define ADMIT_DRAW_DUE \
	"(n.pre_next > 0 AND n.pre_drawn = 0 AND" \
	" IFNULL(c.on_sale_at <= UTC_TIMESTAMP(3), 1))"

/* Concerts one pass looks at, at most (the rest wait for the next). */
#define ADMIT_CONCERTS_MAX 1024

/* The config's cap differed from the database's: said once. */
static int cap_warned;

/* token.lapsed / token.admitted of the current pass, sent after commit. */
static struct event_list admit_events;
/* Seqs picked by the current round (bounded by max_active_tokens), and
 * idle ones it drops. */
static long long *picked, *dropped;
static size_t picked_cap;

int
admit_init(void)
{
	st_lock = db_stmt(
	    "SELECT serving_seq, admit_rate, "
	    "COALESCE(TIMESTAMPDIFF(MICROSECOND, rate_window_at, "
	    "UTC_TIMESTAMP(3)) DIV 1000, -1), rate_window_n, max_active_tokens "
	    "FROM queue_state WHERE id = ? FOR UPDATE");
	st_cap_seed = db_stmt(
	    "UPDATE queue_state SET max_active_tokens = ? "
	    "WHERE id = ? AND max_active_tokens = 0");
	/* The lines with work: someone waiting (the counter is ahead of the
	 * serving seq) or admitted (active_count, as the last pass left it:
	 * their lapses are this pass's work), or a pre-queue whose draw is
	 * due (second column; draw.c decides again under the locks);
	 * concert 1 always. */
	st_concerts = db_stmt(
	    "SELECT q.id, IFNULL(" ADMIT_DRAW_DUE ", 0) FROM queue_state q"
	    " LEFT JOIN queue_seq n ON n.id = q.id"
	    " LEFT JOIN concerts c ON c.id = q.id "
	    "WHERE q.id = 1 OR q.active_count > 0 OR n.next_seq > q.serving_seq "
	    "OR " ADMIT_DRAW_DUE " "
	    "ORDER BY q.id LIMIT " MODEL_STR(ADMIT_CONCERTS_MAX));
	/* Admitted claim_seconds ago and never used (not yet past the ttl:
	 * those lapse below). */
	end_unclaimed.cand = db_stmt("SELECT seq FROM queue_tokens WHERE "
	    UNCLAIMED_WHERE " LIMIT " MODEL_STR(ADMIT_LAPSED_NAMED));
	end_unclaimed.lock = db_stmt("SELECT seq, user_id FROM queue_tokens "
	    "FORCE INDEX (PRIMARY) WHERE " UNCLAIMED_WHERE " AND seq IN " IN14 " FOR UPDATE");
	end_unclaimed.end = db_stmt(
	    "UPDATE queue_tokens FORCE INDEX (PRIMARY) SET state = " SQL_TOKEN_EXPIRED ", "
	    "live_user = NULL, end_reason = " SQL_TOKEN_END_UNCLAIMED ", "
	    "expires_at = UTC_TIMESTAMP(3) "
	    "WHERE concert_id = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND seq IN " IN14);
	st_idle = db_stmt(
	    "UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED ", "
	    "live_user = NULL, end_reason = " SQL_TOKEN_END_IDLE ", "
	    "expires_at = UTC_TIMESTAMP(3) "
	    "WHERE concert_id = ? AND state = " SQL_TOKEN_WAITING " AND seq IN "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	end_lapsed.cand = db_stmt("SELECT seq FROM queue_tokens WHERE "
	    LAPSED_WHERE " LIMIT " MODEL_STR(ADMIT_LAPSED_NAMED));
	end_lapsed.lock = db_stmt("SELECT seq, user_id FROM queue_tokens "
	    "FORCE INDEX (PRIMARY) WHERE " LAPSED_WHERE " AND seq IN " IN14 " FOR UPDATE");
	end_lapsed.end = db_stmt(
	    "UPDATE queue_tokens FORCE INDEX (PRIMARY) SET state = " SQL_TOKEN_EXPIRED ", "
	    "live_user = NULL, end_reason = " SQL_TOKEN_END_LAPSED " "
	    "WHERE concert_id = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND seq IN " IN14);
	st_active = db_stmt(
	    "SELECT COUNT(*) FROM queue_tokens "
	    "WHERE concert_id = ? AND state = " SQL_TOKEN_ACTIVE);
	/* The (concert, state, seq) index, named: the primary key (concert,
	 * seq) gives the same order, and on a small table the optimizer took
	 * it, locking its way through the ACTIVE rows in front of the line
	 * (a payment's token among them) to reach the WAITING ones. */
	st_wait_sel = db_stmt(
	    "SELECT seq, user_id, "
	    "? > 0 AND seen_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND "
	    "FROM queue_tokens FORCE INDEX (qt_concert_state_seq) "
	    "WHERE concert_id = ? AND state = " SQL_TOKEN_WAITING " AND seq > 0 "
	    "ORDER BY seq LIMIT ? FOR UPDATE");
	st_admit = db_stmt(
	    "UPDATE queue_tokens SET state = " SQL_TOKEN_ACTIVE ", "
	    "activated_at = UTC_TIMESTAMP(3), "
	    "expires_at = UTC_TIMESTAMP(3) + INTERVAL ? SECOND "
	    "WHERE concert_id = ? AND state = " SQL_TOKEN_WAITING " AND seq IN "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	st_has_waiting = db_stmt(
	    "SELECT 1 FROM queue_tokens "
	    "WHERE concert_id = ? AND state = " SQL_TOKEN_WAITING " AND seq > 0"
	    " LIMIT 1");
	st_state = db_stmt(
	    "UPDATE queue_state SET serving_seq = GREATEST(serving_seq, ?), "
	    "active_count = ?, admitted_total = admitted_total + ?, "
	    "expired_total = expired_total + ?, admit_rate = ?, "
	    "idle_total = idle_total + ?, unclaimed_total = unclaimed_total + ?, "
	    "rate_window_at = IF(? <> 0 OR rate_window_at IS NULL, "
	    "UTC_TIMESTAMP(3), rate_window_at), "
	    "rate_window_n = ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ?");
	if (st_lock == NULL || st_active == NULL || st_wait_sel == NULL ||
	    st_admit == NULL || st_has_waiting == NULL || st_state == NULL ||
	    st_cap_seed == NULL || st_idle == NULL || st_concerts == NULL ||
	    end_unclaimed.cand == NULL || end_unclaimed.lock == NULL ||
	    end_unclaimed.end == NULL || end_lapsed.cand == NULL ||
	    end_lapsed.lock == NULL || end_lapsed.end == NULL)
		return -1;
	return 0;
}

/* Grow the picked-seq array to hold n entries.  0 / -1. */
static int
picked_reserve(size_t n)
{
	long long *p;

	if (n <= picked_cap)
		return 0;
	if ((p = realloc(picked, n * sizeof(*p))) == NULL)
		return -1;
	picked = p;
	if ((p = realloc(dropped, n * sizeof(*p))) == NULL)
		return -1;
	dropped = p;
	picked_cap = n;
	return 0;
}

/* Drop the idle seqs [0, n) (EXPIRED, reason idle) in chunks, as
 * admit_update does.  Returns the number of rows changed, or -1. */
static long long
admit_drop(long long concert, size_t n)
{
	long long total = 0, s[ADMIT_CHUNK], r;
	size_t i, j;

	for (i = 0; i < n; i += ADMIT_CHUNK) {
		for (j = 0; j < ADMIT_CHUNK; j++)
			s[j] = i + j < n ? dropped[i + j] : dropped[i];
		r = db_exec(st_idle, "iiiiiiiiiiiiiii", concert, s[0], s[1],
		    s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11],
		    s[12], s[13]);
		if (r < 0)
			return -1;
		total += r;
	}
	return total;
}

/* Update the picked seqs [0, n) to ACTIVE in chunks.  Unused slots of a
 * chunk repeat its first seq (an IN list ignores duplicates).  Returns the
 * number of rows changed, or -1. */
static long long
admit_update(const struct config *cfg, long long concert, size_t n)
{
	long long total = 0, s[ADMIT_CHUNK], r;
	size_t i, j;

	for (i = 0; i < n; i += ADMIT_CHUNK) {
		for (j = 0; j < ADMIT_CHUNK; j++)
			s[j] = i + j < n ? picked[i + j] : picked[i];
		r = db_exec(st_admit, "iiiiiiiiiiiiiiii",
		    (long long)cfg->active_ttl_seconds, concert, s[0], s[1],
		    s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11],
		    s[12], s[13]);
		if (r < 0)
			return -1;
		total += r;
	}
	return total;
}

/* Remember a token whose state this pass changes, for its event. */
static void
admit_note(enum event_type type, long long seq, const unsigned char user[16])
{
	struct event *e;

	if ((e = event_list_add(&admit_events, type)) != NULL) {
		e->seq = seq;
		memcpy(e->user, user, 16);
	}
}

/*
 * End the admissions of concert that x selects (see struct admit_end),
 * naming each in a token.lapsed event.  Candidates the plain read saw but
 * that changed before their chunk was locked (paid, released, claimed) are
 * left alone.  Returns the number of tokens ended, or -1.
 */
static long long
admit_end_run(struct admit_end *x, long long concert, long long claim)
{
	long long cand[ADMIT_LAPSED_NAMED], s[ADMIT_CHUNK], got[ADMIT_CHUNK];
	long long total = 0, seq, r;
	unsigned char user[16];
	size_t n = 0, i, j, k;
	int rc = 0;

	if ((x->uses_claim ? db_exec(x->cand, "ii", concert, claim) :
	    db_exec(x->cand, "i", concert)) < 0)
		return -1;
	while (n < ADMIT_LAPSED_NAMED &&
	    (rc = db_fetch(x->cand, "i", &cand[n])) == 1)
		n++;
	db_done(x->cand);
	if (rc < 0)
		return -1;
	for (i = 0; i < n; i += ADMIT_CHUNK) {
		for (j = 0; j < ADMIT_CHUNK; j++)
			s[j] = i + j < n ? cand[i + j] : cand[i];
		r = x->uses_claim ?
		    db_exec(x->lock, "iiiiiiiiiiiiiiii", concert, claim, s[0],
		    s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10],
		    s[11], s[12], s[13]) :
		    db_exec(x->lock, "iiiiiiiiiiiiiii", concert, s[0], s[1],
		    s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11],
		    s[12], s[13]);
		if (r < 0)
			return -1;
		k = 0;
		while ((rc = db_fetch(x->lock, "iu", &seq, user)) == 1)
			if (k < ADMIT_CHUNK) {
				got[k++] = seq;
				admit_note(EVENT_TOKEN_LAPSED, seq, user);
			}
		db_done(x->lock);
		if (rc < 0)
			return -1;
		if (k == 0)
			continue;
		for (j = k; j < ADMIT_CHUNK; j++)
			got[j] = got[0];
		r = db_exec(x->end, "iiiiiiiiiiiiiii", concert, got[0], got[1],
		    got[2], got[3], got[4], got[5], got[6], got[7], got[8],
		    got[9], got[10], got[11], got[12], got[13]);
		if (r < 0)
			return -1;
		if (r != (long long)k)
			log_warn("concert %lld: %s changed %lld row(s) of %zu "
			    "locked, 'queue_tokens'", concert, x->what, r, k);
		total += r;
	}
	return total;
}

struct admit_job {
	const struct config *cfg;
	long long concert;
	struct admit_result res;
};

/* The body of one pass (db_tx_run); fills j->res. */
static enum db_tx_result
admit_tx(void *arg)
{
	struct admit_job *j = arg;
	const struct config *cfg = j->cfg;
	struct admit_result *res = &j->res;
	long long serving = 0, window_ms = -1, window_n = 0, active = 0;
	long long lapsed, admitted = 0, max_seq = 0, seq, free_slots, one;
	long long roll = 0, cap = 0, idle = 0, unclaimed = 0, is_idle;
	long long claim = cfg->claim_seconds, idle_s = cfg->waiting_idle_seconds;
	long long concert = j->concert;
	int round;
	double rate = 0;
	unsigned char user[16];
	int rc;

	event_list_clear(&admit_events);
	memset(res, 0, sizeof(*res));
	if (db_exec(st_lock, "i", concert) < 0)
		return DB_TX_ERROR;
	rc = db_fetch(st_lock, "idiii", &serving, &rate, &window_ms, &window_n,
	    &cap);
	db_done(st_lock);
	if (rc != 1) {
		if (rc == 0)
			log_error("admission failed, 'queue_state': row id=%lld "
			    "missing (schema not applied?)", concert);
		return DB_TX_ERROR;
	}
	if (cap <= 0) {
		/* First pass on this database: the config seeds the cap. */
		cap = cfg->max_active_tokens;
		if (db_exec(st_cap_seed, "ii", cap, concert) < 0)
			return DB_TX_ERROR;
	} else if (cap != cfg->max_active_tokens && !cap_warned &&
	    concert == 1) {
		cap_warned = 1;
		log_warn("max_active_tokens is %ld in the config but %lld in "
		    "'queue_state'; admitting to %lld (the database's)",
		    cfg->max_active_tokens, cap, cap);
	}

	/* Admissions nobody used: their slots go to the line now; then the
	 * lapsed ones, so the slots they free are given out in this pass. */
	if (claim > 0 &&
	    (unclaimed = admit_end_run(&end_unclaimed, concert, claim)) < 0)
		return DB_TX_ERROR;
	if ((lapsed = admit_end_run(&end_lapsed, concert, 0)) < 0)
		return DB_TX_ERROR;

	if (db_exec(st_active, "i", concert) < 0)
		return DB_TX_ERROR;
	rc = db_fetch(st_active, "i", &active);
	db_done(st_active);
	if (rc != 1)
		return DB_TX_ERROR;

	free_slots = cap - active;
	for (round = 0; free_slots > 0 && round < ADMIT_IDLE_ROUNDS; round++) {
		size_t n = 0, nd = 0, rows = 0;
		long long got = 0;

		if (picked_reserve((size_t)free_slots) == -1) {
			log_error("admission failed, 'queue_tokens': out of memory");
			return DB_TX_ERROR;
		}
		if (db_exec(st_wait_sel, "iiii", idle_s, idle_s, concert,
		    free_slots) < 0)
			return DB_TX_ERROR;
		while ((rc = db_fetch(st_wait_sel, "iui", &seq, user,
		    &is_idle)) == 1) {
			if (rows >= (size_t)free_slots)
				break;
			rows++;
			if (seq > max_seq)
				max_seq = seq;
			if (is_idle) {
				dropped[nd++] = seq;
				continue;
			}
			picked[n++] = seq;
			admit_note(EVENT_TOKEN_ADMITTED, seq, user);
		}
		db_done(st_wait_sel);
		if (rc < 0)
			return DB_TX_ERROR;
		if (nd > 0) {
			long long d = admit_drop(concert, nd);

			if (d < 0)
				return DB_TX_ERROR;
			idle += d;
		}
		if (n > 0 && (got = admit_update(cfg, concert, n)) < 0)
			return DB_TX_ERROR;
		/* The rows were locked by FOR UPDATE: nobody could change
		 * them in between. */
		if (got != (long long)n)
			log_warn("admission changed %lld row(s) of %zu selected, "
			    "'queue_tokens'", got, n);
		admitted += got;
		active += got;
		free_slots -= got;
		/* Only dropped places leave slots to give out again, and only
		 * while the line had more than we asked for. */
		if (nd == 0 || rows < (size_t)(free_slots + got))
			break;
	}

	/*
	 * Rate: admissions counted over windows of ADMIT_RATE_WINDOW_MS (by
	 * the database clock, shared by all instances), folded into a moving
	 * average when a window closes.  A window with no admissions and
	 * nobody waiting says nothing about the rate (an idle queue is not a
	 * slow one), so it leaves admit_rate alone.
	 */
	window_n += admitted;
	if (window_ms < 0) {
		roll = 1;               /* first pass ever: open a window */
		window_n = admitted;
	} else if (window_ms >= ADMIT_RATE_WINDOW_MS) {
		int waiting = 0;

		if (window_n == 0) {
			if (db_exec(st_has_waiting, "i", concert) < 0)
				return DB_TX_ERROR;
			waiting = db_fetch(st_has_waiting, "i", &one) == 1;
			db_done(st_has_waiting);
		}
		if (window_n > 0 || waiting)
			rate = queue_rate_update(rate, window_n, window_ms,
			    ADMIT_RATE_ALPHA);
		roll = 1;
		window_n = 0;
	}

	if (db_exec(st_state, "iiiidiiiii", max_seq, active, admitted,
	    lapsed, rate, idle, unclaimed, roll,
	    window_n, concert) < 0)
		return DB_TX_ERROR;

	res->admitted = admitted;
	res->lapsed = lapsed;
	res->idle = idle;
	res->unclaimed = unclaimed;
	res->cap = cap;
	res->active = active;
	res->serving_seq = max_seq > serving ? max_seq : serving;
	res->rate = rate;
	return DB_TX_COMMIT;
}

static void
admit_failed(void *arg, int attempt)
{
	log_warn("admission failed (attempt %d), 'queue_state': %s", attempt,
	    db_error());
}

/* One concert's pass (its own transaction); adds to *sum.  0 / -1. */
static int
admit_concert(const struct config *cfg, long long concert,
    struct admit_result *sum)
{
	struct admit_job j;
	struct admit_result *r = &j.res;
	size_t i;

	memset(&j, 0, sizeof(j));
	j.cfg = cfg;
	j.concert = concert;
	if (db_tx_run(admit_tx, admit_failed, &j) != DB_TX_COMMIT) {
		event_list_clear(&admit_events);    /* rolled back: untrue */
		return -1;
	}
	for (i = 0; i < admit_events.n; i++)
		events_send(&admit_events.v[i]);
	event_list_clear(&admit_events);
	if (r->admitted > 0 || r->lapsed > 0 || r->idle > 0 || r->unclaimed > 0)
		log_info("concert %lld: admitted %lld, lapsed %lld, idle %lld, "
		    "unclaimed %lld (active %lld/%lld, serving %lld, rate "
		    "%.2f/s)", concert, r->admitted, r->lapsed, r->idle,
		    r->unclaimed, r->active, r->cap, r->serving_seq, r->rate);
	sum->admitted += r->admitted;
	sum->lapsed += r->lapsed;
	sum->idle += r->idle;
	sum->unclaimed += r->unclaimed;
	sum->active += r->active;
	sum->cap += r->cap;
	if (concert == 1) {
		sum->serving_seq = r->serving_seq;
		sum->rate = r->rate;
	}
	return 0;
}

int
admit_pass(const struct config *cfg, struct admit_result *res)
{
	static long long ids[ADMIT_CONCERTS_MAX];
	static unsigned char due[ADMIT_CONCERTS_MAX];
	struct admit_result sum;
	long long id, draw;
	size_t n = 0, i;
	int rc, failed = 0;

	memset(&sum, 0, sizeof(sum));
	if (db_exec(st_concerts, "") < 0) {
		log_warn("admission failed, 'queue_state': %s", db_error());
		return -1;
	}
	while ((rc = db_fetch(st_concerts, "ii", &id, &draw)) == 1)
		if (n < ADMIT_CONCERTS_MAX) {
			due[n] = draw != 0;
			ids[n++] = id;
		}
	db_done(st_concerts);
	if (rc < 0)
		return -1;
	/* One concert failing (its row locked for long, say) does not hold
	 * up the others. */
	for (i = 0; i < n; i++) {
		if (due[i] && draw_concert(ids[i]) == -1)
			failed = 1;
		if (admit_concert(cfg, ids[i], &sum) == -1)
			failed = 1;
	}
	if (res != NULL)
		*res = sum;
	return failed ? -1 : 0;
}
