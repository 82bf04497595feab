/*
 * api_token: the waiting queue's front door.
 *
 *   POST   /token  {"userId", "concertId"?}  join the concert's line (or
 *                              get the live token back)
 *   GET    /token              poll: status, place, estimated wait, when to
 *                              poll again (pollAfterSeconds, Retry-After)
 *   DELETE /token              leave the line / end the admission
 *
 * Each concert has its own line (issue 12): a token row is (concert_id,
 * seq), seq dense per concert.  Joining takes the next seq from the
 * concert's counter (queue_seq.next_seq, one primary-key UPDATE whose row
 * lock is held to the commit: joiners of one concert commit in seq order,
 * so the committed seqs are always a prefix and no straggler commits
 * under an admission's serving_seq; a row apart from queue_state, so a
 * join never waits for an admission pass), mints the token from it and
 * inserts the row.  One live
 * token per user per concert (qt_concert_live).  A concert without a
 * queue_state row yet gets one at its first join; an unknown concert is a
 * 404 CONCERT_NOT_FOUND.
 *
 * A token proves its own concert and seq (qtoken.h: concert || seq ||
 * HMAC).  A forged token is
 * refused before any database work.  A WAITING poll is answered from the
 * host's copy of the queue counters (scoreboard.h, struct
 * scoreboard_queue) without a database round trip: the token is still
 * waiting when its seq is above the serving counter (admission goes in
 * seq order and moves serving_seq to the highest seq it admitted or
 * dropped) and it is not in the `left` set.  A seq at or below serving_seq
 * (admitted, or a straggler), one beyond the left set's window, or stale
 * counters (older than QUEUE_STALE_MS) are asked of the database.
 *
 * A pre-queue (issue 12 part 5): while a concert's on_sale_at is in the
 * future (and until the consumer has drawn its order, src/consumer/draw.c)
 * a join gets no seq yet.  The same counter row decides it, under its
 * lock: queue_seq.pre_next numbers the pre-queue's joins (the row's seq
 * is -pre_seq until the draw), and the token names that number (qtoken.h,
 * a pre token).  So a join is either counted before the draw reads the
 * pre-queue (it holds the same lock) or sees pre_drawn and takes next_seq
 * behind every entrant.  A pre token's poll reads the database (by
 * qt_concert_pre): before the draw it answers WAITING with queuePosition
 * null and opensAt; after it, the token's real place, with the token of
 * that place (minted from the seq: the DB-free poll) in "token" for the
 * client to use from then on.  The pre token keeps working (each of its
 * polls costs one primary-key read).
 *
 * The counters are refreshed by the poll that finds them older than
 * QUEUE_REFRESH_MS and wins the lease: it reads queue_state and the
 * recent leavers, and writes out the host's pending seen_at marks (the
 * idle detection's "last poll"), then answers.  So a host costs at most
 * about 1000 / QUEUE_REFRESH_MS such refreshes a second, whatever the
 * number of polls.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "clock.h"
#include "db.h"
#include "event.h"
#include "log.h"
#include "model.h"
#include "qtoken.h"
#include "queue.h"
#include "scoreboard.h"
#include "stmts.h"
#include "util.h"

#define QUEUE_REFRESH_MS   200     /* counters older than this: refresh */
#define QUEUE_STALE_MS     2000    /* older than this: ask the database */
#define QUEUE_LEASE_MS     2000    /* a refresher's lease */
#define QUEUE_LEAVERS_MAX  16384   /* leavers read per refresh */
#define QUEUE_SEEN_CHUNK   15      /* seqs per seen_at UPDATE (+ concert:
                                    * 16 binds) */
#define QUEUE_SEEN_MAX     4096    /* seen marks written per refresh */
/* Leavers are re-read this far back (s) beyond the last refresh: a
 * DELETE's expires_at is taken before its commit becomes visible. */
#define QUEUE_LEAVERS_SLACK_S 5
/* First refresh of a host: every leaver above the serving counter. */
#define QUEUE_LEAVERS_ALL_S   100000000

/* A pre-queue join's number comes back from st_next_seq offset by this
 * (a seq is far below it). */
#define PRE_JOIN_BASE 4611686018427387904LL     /* 2^62 */
#define PRE_JOIN_BASE_SQL "4611686018427387904"

/* Is concert's opening in the future (by the database clock)?  One bind:
 * the concert.  NULL on_sale_at: no. */
#define PRE_OPEN_FUTURE \
	"IFNULL((SELECT on_sale_at FROM concerts WHERE id = ?)" \
	" > UTC_TIMESTAMP(3), 0)"
/* Does a join of the queue_seq row go to the pre-queue?  Not once drawn;
 * else when the opening is ahead or the pre-queue has joins (a join
 * after the opening but before the draw is behind the entrants, not in
 * front of them: it takes a pre number above pre_early). */
#define PRE_COND \
	"(pre_drawn = 0 AND (pre_next > 0 OR " PRE_OPEN_FUTURE "))"

/* The pre-queue's statements (see the top). */
static struct db_stmt *st_lookup_pre, *st_release_pre, *st_opens;

static struct db_stmt *st_lookup, *st_live, *st_lapse_one, *st_user_ins,
    *st_tok_ins, *st_qstate, *st_release, *st_still_active,
    *st_claim, *st_claim_active, *st_leavers, *st_seen, *st_next_seq,
    *st_qstate_make, *st_qseq_make;

/* Columns shared by lookups: stmts.h. */
#define TOKEN_COLS SQL_TOKEN_COLS

int
api_token_prepare(void)
{
	st_lookup = db_stmt(SQL_TOKEN_LOOKUP);
	st_live = db_stmt("SELECT " TOKEN_COLS
	    " FROM queue_tokens t WHERE t.concert_id = ? AND t.live_user = ?"
	    " FOR UPDATE");
	st_lapse_one = db_stmt("UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED
	    ", live_user = NULL, end_reason = IF(expires_at <= UTC_TIMESTAMP(3), "
	    SQL_TOKEN_END_LAPSED ", " SQL_TOKEN_END_UNCLAIMED ")"
	    " WHERE concert_id = ? AND seq = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND (expires_at <= UTC_TIMESTAMP(3) OR (? > 0 AND claimed_at IS NULL"
	    " AND activated_at <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND))");
	st_user_ins = db_stmt("INSERT IGNORE INTO users (id) VALUES (?)");
	/* The concert's next seq, or its next pre-queue number (+
	 * PRE_JOIN_BASE), returned through LAST_INSERT_ID(expr) (the
	 * statement's insert id): one round trip, the row locked to the
	 * commit.  A single-table UPDATE assigns left to right, so PRE_COND
	 * reads the row as it was in all three (pre_next changes last). */
	st_next_seq = db_stmt("UPDATE queue_seq SET"
	    " next_seq = IF(" PRE_COND ", next_seq,"
	    "   LAST_INSERT_ID(next_seq + 1)),"
	    " pre_early = IF(" PRE_COND " AND " PRE_OPEN_FUTURE ", pre_next + 1,"
	    "   pre_early),"
	    " pre_next = IF(" PRE_COND ", LAST_INSERT_ID(pre_next + 1 + "
	    PRE_JOIN_BASE_SQL ") - " PRE_JOIN_BASE_SQL ", pre_next)"
	    " WHERE id = ?");
	/* A concert's first join makes its rows (nothing if the concert
	 * does not exist). */
	st_qseq_make = db_stmt("INSERT IGNORE INTO queue_seq (id)"
	    " SELECT id FROM concerts WHERE id = ?");
	st_qstate_make = db_stmt("INSERT IGNORE INTO queue_state (id)"
	    " SELECT id FROM concerts WHERE id = ?");
	/* The token is minted from the seq before the INSERT. */
	st_tok_ins = db_stmt("INSERT INTO queue_tokens"
	    " (seq, concert_id, token, user_id, live_user, state, pre_seq)"
	    " VALUES (?, ?, ?, ?, ?, " SQL_TOKEN_WAITING ", NULLIF(?, 0))");
	st_qstate = db_stmt("SELECT serving_seq, admit_rate, max_active_tokens"
	    " FROM queue_state WHERE id = ?");
	st_release = db_stmt("UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED
	    ", live_user = NULL, expires_at = UTC_TIMESTAMP(3), end_reason = "
	    SQL_TOKEN_END_LEFT " WHERE concert_id = ? AND seq = ?"
	    " AND state IN (" SQL_TOKEN_WAITING
	    ", " SQL_TOKEN_ACTIVE ")");
	st_still_active = db_stmt(SQL_TOKEN_STILL_ACTIVE);
	st_claim = db_stmt("UPDATE queue_tokens SET claimed_at = UTC_TIMESTAMP(3)"
	    " WHERE concert_id = ? AND seq = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND claimed_at IS NULL");
	/* still_active and the first use's record in one locking UPDATE:
	 * a row is changed only when it is ACTIVE, unexpired and unclaimed. */
	st_claim_active = db_stmt("UPDATE queue_tokens"
	    " SET claimed_at = UTC_TIMESTAMP(3)"
	    " WHERE concert_id = ? AND seq = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND expires_at > UTC_TIMESTAMP(3) AND claimed_at IS NULL");
	/* Tokens of a concert that left above the serving counter, recently
	 * (index qt_concert_state_exp: concert_id, state, expires_at). */
	st_leavers = db_stmt("SELECT seq FROM queue_tokens"
	    " WHERE concert_id = ? AND state = " SQL_TOKEN_EXPIRED
	    " AND expires_at >="
	    " UTC_TIMESTAMP(3) - INTERVAL ? SECOND AND seq > ?"
	    " LIMIT " MODEL_STR(QUEUE_LEAVERS_MAX));
	st_seen = db_stmt("UPDATE queue_tokens SET seen_at = UTC_TIMESTAMP(3)"
	    " WHERE concert_id = ? AND state = " SQL_TOKEN_WAITING " AND seq IN"
	    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	/* The pre-queue's (see the top): a pre token's row by its number,
	 * leaving by it, and the concert's opening for the answer. */
	st_lookup_pre = db_stmt("SELECT " TOKEN_COLS ", s.serving_seq,"
	    " s.admit_rate, s.max_active_tokens"
	    " FROM queue_tokens t JOIN queue_state s ON s.id = t.concert_id"
	    " WHERE t.concert_id = ? AND t.pre_seq = ?");
	st_release_pre = db_stmt("UPDATE queue_tokens SET state = "
	    SQL_TOKEN_EXPIRED ", live_user = NULL, expires_at = UTC_TIMESTAMP(3),"
	    " end_reason = " SQL_TOKEN_END_LEFT " WHERE concert_id = ? AND"
	    " pre_seq = ? AND state IN (" SQL_TOKEN_WAITING ", "
	    SQL_TOKEN_ACTIVE ")");
	st_opens = db_stmt("SELECT"
	    " IFNULL(DATE_FORMAT(on_sale_at, '%Y-%m-%d %H:%i:%s.%f'), ''),"
	    " IFNULL(CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3),"
	    "   on_sale_at) / 1000000), 0)"
	    " FROM concerts WHERE id = ?");
	return st_lookup && st_live && st_lapse_one && st_user_ins &&
	    st_tok_ins && st_next_seq && st_qstate_make && st_qseq_make &&
	    st_qstate &&
	    st_release &&
	    st_still_active && st_claim && st_claim_active && st_leavers &&
	    st_seen && st_lookup_pre && st_release_pre && st_opens ? 0 : -1;
}

struct token_row {
	int concert;
	long long seq;
	unsigned char user[16];
	long long state;
	long long lapsed;
	long long left;
	long long reason;             /* enum token_end */
	long long unclaimed;
	long long claimed;
	long long serving;
	double rate;
	long long max_active;         /* 0: not seeded yet */
};

/* The signing key, set at the first use in this process: token_secret,
 * else the per-start key of the scoreboard (made by the master before it
 * forked us, so every worker of this start shares it).  0 / -1. */
static int
token_key(const struct config *cfg)
{
	const unsigned char *k;

	if (qtoken_have_key())
		return 0;
	if (cfg->token_secret[0] != '\0')
		return qtoken_set_key(cfg->token_secret,
		    strlen(cfg->token_secret));
	if ((k = scoreboard_queue_key()) == NULL)
		return -1;
	log_warn("token_secret is not set: queue tokens are signed with a "
	    "key made at this start (they do not survive a restart and are "
	    "refused by other hosts)");
	return qtoken_set_key(k, SCOREBOARD_QUEUE_KEY);
}

/* The concert and seq (or pre-queue number, *pre set) the request's
 * token proves.  1, or 0 when answered (401: forged, or no key). */
static int
token_seq(struct api_ctx *c, int *concert, long long *seq, int *pre)
{
	if (token_key(c->cfg) == -1) {
		http_error(c->w, 503, "INTERNAL", "no token key available");
		return 0;
	}
	if (qtoken_verify_any(c->p->v[P_TOKEN].u, concert, seq, pre) == -1) {
		http_error(c->w, 401, "TOKEN_INVALID", "unknown queue token");
		return 0;
	}
	return 1;
}

/* The effective state: an ACTIVE token past its deadline, or admitted and
 * unclaimed for claim_seconds, is EXPIRED whether or not the consumer has
 * marked it yet. */
static int
effective_state(const struct token_row *t)
{
	if (t->state == TOKEN_ACTIVE && (t->lapsed || t->unclaimed))
		return TOKEN_EXPIRED;
	return (int)t->state;
}

static const char *
effective_reason(const struct token_row *t)
{
	const char *r;

	if (t->state == TOKEN_ACTIVE)
		return model_token_end_name(t->lapsed ? TOKEN_END_LAPSED :
		    TOKEN_END_UNCLAIMED);
	r = model_token_end_name((int)t->reason);
	return r != NULL ? r : model_token_end_name(TOKEN_END_LAPSED);
}

/* The cap the estimates assume: the database's, else the config's. */
static long
cap_of(const struct api_ctx *c, long long db_cap)
{
	return db_cap > 0 ? (long)db_cap : c->cfg->max_active_tokens;
}

/* Queue seq for the seen_at flush (idle detection), cheaply. */
static void
token_seen(const struct api_ctx *c, int concert, long long seq)
{
	long idle = c->cfg->waiting_idle_seconds;

	if (idle > 0)
		scoreboard_queue_seen(concert, seq, (uint32_t)(clock_mono_ms() / 1000),
		    (uint32_t)(idle / 4 > 0 ? idle / 4 : 1));
}

/* The WAITING body and Retry-After, for a token at pos. */
static json_object *
waiting_body(const struct api_ctx *c, const unsigned char tok[16],
    long long pos, double rate, long cap)
{
	json_object *o = json_object_new_object();
	long long poll = queue_poll_after(pos, cap, c->cfg->poll_max_seconds);
	char hex[TOKEN_STR_LEN], ra[24];

	util_hex(tok, 16, hex);
	json_object_object_add(o, "token", json_object_new_string(hex));
	json_object_object_add(o, "status", json_object_new_string(
	    model_token_state_name(TOKEN_WAITING)));
	json_object_object_add(o, "queuePosition", json_object_new_int64(pos));
	json_object_object_add(o, "remainingTime", json_object_new_int64(
	    queue_wait_seconds(pos, rate, cap, c->cfg->active_ttl_seconds)));
	json_object_object_add(o, "pollAfterSeconds",
	    json_object_new_int64(poll));
	snprintf(ra, sizeof(ra), "%lld", poll);
	http_header(c->w, "Retry-After", ra);
	return o;
}

/*
 * The WAITING body of a pre-queue token before the draw: no place yet
 * (queuePosition null), the opening (opensAt), remainingTime the seconds
 * until it (at least 1), and a poll at the opening (at most poll_max
 * seconds away).  NULL on a database error.
 */
static json_object *
prequeue_body(const struct api_ctx *c, const unsigned char tok[16],
    int concert)
{
	json_object *o;
	char opens[40], iso[ISO_TIME_LEN], hex[TOKEN_STR_LEN], ra[24];
	long long secs = 0, poll;
	int rc;

	opens[0] = '\0';
	if (db_exec(st_opens, "i", (long long)concert) < 0)
		return NULL;
	rc = db_fetch(st_opens, "si", opens, sizeof(opens), &secs);
	db_done(st_opens);
	if (rc < 0)
		return NULL;
	if (secs < 1)
		secs = 1;       /* opened: the draw is due within a pass */
	poll = secs < c->cfg->poll_max_seconds ? secs : c->cfg->poll_max_seconds;
	if (poll < 1)
		poll = 1;
	o = json_object_new_object();
	util_hex(tok, 16, hex);
	json_object_object_add(o, "token", json_object_new_string(hex));
	json_object_object_add(o, "status", json_object_new_string(
	    model_token_state_name(TOKEN_WAITING)));
	json_object_object_add(o, "queuePosition", NULL);
	json_object_object_add(o, "remainingTime", json_object_new_int64(secs));
	json_object_object_add(o, "pollAfterSeconds",
	    json_object_new_int64(poll));
	if (rc == 1 && opens[0] != '\0' &&
	    util_mysql_to_iso(opens, iso, sizeof(iso)) == 0)
		json_object_object_add(o, "opensAt", json_object_new_string(iso));
	else
		json_object_object_add(o, "opensAt", NULL);
	snprintf(ra, sizeof(ra), "%lld", poll);
	http_header(c->w, "Retry-After", ra);
	return o;
}

/* The token string of t: of its seq, or before the draw of its pre-queue
 * number (an unplaced row's seq is -number, schema.sql). */
static void
token_of(const struct token_row *t, unsigned char tok[16])
{
	if ((t->seq > 0 ? qtoken_mint(t->concert, t->seq, tok) :
	    qtoken_mint_pre(t->concert, -t->seq, tok)) == -1)
		memset(tok, 0, 16);
}

/* t's answer; NULL on a database error. */
static json_object *
token_body(struct api_ctx *c, const struct token_row *t)
{
	json_object *o;
	int state = effective_state(t);
	unsigned char tok[16];
	char hex[TOKEN_STR_LEN];
	long long left = 0, poll;

	token_of(t, tok);
	if (state == TOKEN_WAITING && t->seq < 1)
		return prequeue_body(c, tok, t->concert);
	if (state == TOKEN_WAITING)
		return waiting_body(c, tok, queue_position(t->seq, t->serving),
		    t->rate, cap_of(c, t->max_active));
	o = json_object_new_object();
	if (state == TOKEN_ACTIVE) {
		left = t->left > 0 ? t->left : 0;
		poll = queue_poll_after_active(left, c->cfg->poll_max_seconds);
	} else {
		poll = c->cfg->poll_max_seconds;
	}
	util_hex(tok, 16, hex);
	json_object_object_add(o, "token", json_object_new_string(hex));
	json_object_object_add(o, "status",
	    json_object_new_string(model_token_state_name(state)));
	json_object_object_add(o, "queuePosition", json_object_new_int64(0));
	json_object_object_add(o, "remainingTime", json_object_new_int64(left));
	json_object_object_add(o, "pollAfterSeconds",
	    json_object_new_int64(poll));
	if (state == TOKEN_EXPIRED)
		json_object_object_add(o, "reason",
		    json_object_new_string(effective_reason(t)));
	return o;
}

/* Collect a token.issued / token.released event of t. */
static void
queue_event(struct api_ctx *c, enum event_type type, const struct token_row *t,
    enum event_reason reason)
{
	struct event *e;

	if ((e = api_event(c, type)) == NULL)
		return;
	memcpy(e->user, t->user, 16);
	e->seq = t->seq > 0 ? t->seq : 0;   /* 0: in a pre-queue, no place yet */
	e->reason = reason;
}

/* Answer with t, reading the serving counter, rate and cap first (the
 * token row alone does not carry them).  0 / -1. */
static int
answer_read(struct api_ctx *c, struct token_row *t, int status)
{
	json_object *o;

	if ((o = token_body(c, t)) == NULL)
		return -1;
	http_json(c->w, status, o);
	return 0;
}

/* The concert's serving counter, rate and cap into t.  1 read, 0 no row
 * yet (the concert's first join makes it), -1 database error. */
static int
read_qstate(int concert, struct token_row *t)
{
	int rc;

	if (db_exec(st_qstate, "i", (long long)concert) < 0)
		return -1;
	rc = db_fetch(st_qstate, "idi", &t->serving, &t->rate, &t->max_active);
	db_done(st_qstate);
	return rc;
}

static int
answer(struct api_ctx *c, struct token_row *t, int status)
{
	return read_qstate(t->concert, t) < 0 ? -1 : answer_read(c, t, status);
}

/* Order seen entries by (concert, seq), so one UPDATE names one concert. */
static int
seen_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Write out up to QUEUE_SEEN_MAX pending seen marks (of every concert),
 * one UPDATE per concert and QUEUE_SEEN_CHUNK seqs.  0 / -1. */
static int
refresh_seen(void)
{
	static int64_t got[QUEUE_SEEN_MAX];
	long long s[QUEUE_SEEN_CHUNK];
	size_t n, i, j, k;

	n = scoreboard_queue_take_seen(got, QUEUE_SEEN_MAX);
	qsort(got, n, sizeof(got[0]), seen_cmp);
	for (i = 0; i < n; i = j) {
		int concert = SCOREBOARD_QUEUE_SEEN_CONCERT(got[i]);

		/* Unused binds repeat the first seq (an IN list ignores
		 * duplicates). */
		for (j = i, k = 0; j < n && k < QUEUE_SEEN_CHUNK &&
		    SCOREBOARD_QUEUE_SEEN_CONCERT(got[j]) == concert; j++, k++)
			s[k] = SCOREBOARD_QUEUE_SEEN_SEQ(got[j]);
		for (; k < QUEUE_SEEN_CHUNK; k++)
			s[k] = s[0];
		if (db_exec(st_seen, "iiiiiiiiiiiiiiii", (long long)concert,
		    s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9],
		    s[10], s[11], s[12], s[13], s[14]) < 0)
			return -1;
	}
	return 0;
}

/*
 * Refresh the host's counters of concert if they are due and we win the
 * lease (outside any transaction: GET /token only).  A failure leaves the
 * old counters, which age out after QUEUE_STALE_MS; the request goes on.
 * A concert that finds no free line is counted and asked of the database.
 */
static void
queue_refresh(int concert)
{
	static int64_t leavers[QUEUE_LEAVERS_MAX];
	/* When this process last refreshed each line, by concert id (ids
	 * are at most QTOKEN_CONCERT_MAX). */
	static int64_t last_ok_ms[QTOKEN_CONCERT_MAX + 1];
	static int failing;           /* said once per failing streak */
	long long serving = 0, max_active = 0, since_s, seq;
	double rate = 0;
	int64_t now = clock_mono_ms();
	size_t n = 0;
	int rc;

	if (concert < 1 || concert > QTOKEN_CONCERT_MAX)
		return;
	if (!scoreboard_queue_lease(concert, now, QUEUE_REFRESH_MS,
	    QUEUE_LEASE_MS))
		return;
	if (refresh_seen() == -1)
		goto fail;
	if (db_exec(st_qstate, "i", (long long)concert) < 0)
		goto fail;
	rc = db_fetch(st_qstate, "idi", &serving, &rate, &max_active);
	db_done(st_qstate);
	if (rc != 1)
		goto fail;
	/* last_ok_ms is this process's; another worker's refreshes are not
	 * known here, so a first refresh in a worker reads every leaver. */
	since_s = last_ok_ms[concert] > 0 ? (now - last_ok_ms[concert]) / 1000 +
	    QUEUE_LEAVERS_SLACK_S : QUEUE_LEAVERS_ALL_S;
	if (db_exec(st_leavers, "iii", (long long)concert, since_s, serving) < 0)
		goto fail;
	while ((rc = db_fetch(st_leavers, "i", &seq)) == 1)
		if (n < QUEUE_LEAVERS_MAX)
			leavers[n++] = seq;
	if (rc < 0)
		goto fail;
	if (scoreboard_queue_publish(concert, serving, rate, max_active,
	    leavers, n, clock_mono_ms()) == 0)
		last_ok_ms[concert] = now;
	if (failing) {
		failing = 0;
		log_info("queue counters refreshed again");
	}
	return;
fail:
	/* The lease is kept until it runs out: the host retries every
	 * QUEUE_LEASE_MS, not at every poll, while the database is away. */
	if (!failing) {
		failing = 1;
		log_warn("queue counters refresh failed (concert %d): %s",
		    concert, db_error());
	}
}

/* Fetch the token named by (concert, seq), or with pre by (concert,
 * pre-queue number) (not locked).  1: found. */
static int
lookup(struct api_ctx *c, int concert, long long seq, int pre,
    struct token_row *t)
{
	struct db_stmt *st = pre ? st_lookup_pre : st_lookup;
	int rc;

	memset(t, 0, sizeof(*t));
	if (db_exec(st, "iiii", (long long)c->cfg->claim_seconds,
	    (long long)c->cfg->claim_seconds, (long long)concert, seq) < 0)
		return -1;
	rc = db_fetch(st, "iuiiiiiiidi", &t->seq, t->user, &t->state,
	    &t->lapsed, &t->left, &t->reason, &t->unclaimed, &t->claimed,
	    &t->serving, &t->rate, &t->max_active);
	db_done(st);
	t->concert = concert;
	return rc;
}

/* The live token of user in concert's line, locked.  1: found. */
static int
lookup_live(struct api_ctx *c, int concert, const unsigned char *user,
    struct token_row *t)
{
	int rc;

	if (db_exec(st_live, "iiiu", (long long)c->cfg->claim_seconds,
	    (long long)c->cfg->claim_seconds, (long long)concert, user) < 0)
		return -1;
	rc = db_fetch(st_live, "iuiiiiii", &t->seq, t->user, &t->state,
	    &t->lapsed, &t->left, &t->reason, &t->unclaimed, &t->claimed);
	db_done(st_live);
	t->concert = concert;
	return rc;
}

/* An ACTIVE token is used: record its first use (claim_seconds).  0 / -1. */
static int
claim(const struct token_row *t)
{
	if (effective_state(t) != TOKEN_ACTIVE || t->claimed)
		return 0;
	return db_exec(st_claim, "ii", (long long)t->concert, t->seq) < 0 ?
	    -1 : 0;
}

/*
 * Is seq of concert waiting, by the host's counters alone?  1 yes (v
 * filled), 0 ask the database.
 */
static int
waiting_by_counters(int concert, long long seq,
    struct scoreboard_queue_view *v)
{
	if (scoreboard_queue_read(concert, seq, clock_mono_ms(), v) == -1)
		return 0;
	return v->age_ms <= QUEUE_STALE_MS && seq > v->serving_seq &&
	    v->left == 0;
}

/* The request's concertId, or the default concert 1. */
static int
request_concert(const struct api_ctx *c)
{
	return c->p->v[P_CONCERT_ID].present ? (int)c->p->v[P_CONCERT_ID].i : 1;
}

/* Take the next seq of concert's line, or while it has a pre-queue its
 * next pre-queue number (*pre set; its queue_seq row stays locked to the
 * commit).  1 with *seq set, 0 when answered (404: no such concert), -1
 * on a database error. */
static int
next_seq(struct api_ctx *c, int concert, long long *seq, int *pre)
{
	long long n, id = concert;
	unsigned long long got;

	/* Binds: PRE_COND three times, PRE_OPEN_FUTURE once more, the row. */
	if ((n = db_exec(st_next_seq, "iiiii", id, id, id, id, id)) < 0)
		return -1;
	if (n == 0) {
		/* The concert's first join (or no such concert). */
		if (db_exec(st_qstate_make, "i", (long long)concert) < 0 ||
		    db_exec(st_qseq_make, "i", (long long)concert) < 0 ||
		    (n = db_exec(st_next_seq, "iiiii", id, id, id, id,
		    id)) < 0)
			return -1;
		if (n == 0) {
			http_error(c->w, 404, "CONCERT_NOT_FOUND",
			    "no concert %d", concert);
			return 0;
		}
	}
	got = db_insert_id(st_next_seq);
	*pre = got >= (unsigned long long)PRE_JOIN_BASE;
	*seq = (long long)(*pre ? got - (unsigned long long)PRE_JOIN_BASE : got);
	return 1;
}

int
api_token_issue(struct api_ctx *c)
{
	struct token_row t;
	const unsigned char *user = c->p->v[P_USER_ID].u;
	int concert = request_concert(c);
	unsigned char tok[16];
	struct token_row q;
	long long seq, row_seq;
	int rc, qrc, pre = 0;

	memset(&t, 0, sizeof(t));
	memset(&q, 0, sizeof(q));
	if (token_key(c->cfg) == -1) {
		http_error(c->w, 503, "INTERNAL", "no token key available");
		return 0;
	}
	if ((rc = lookup_live(c, concert, user, &t)) < 0)
		return -1;
	if (rc == 1 && effective_state(&t) != TOKEN_EXPIRED)
		return answer(c, &t, 200);   /* same user: same token, same place */
	if (rc == 1 && db_exec(st_lapse_one, "iiii", (long long)concert, t.seq,
	    (long long)c->cfg->claim_seconds,
	    (long long)c->cfg->claim_seconds) < 0)
		return -1;
	if (db_exec(st_user_ins, "u", user) < 0)
		return -1;
	/* The answer's counters are read before the seq is taken: from
	 * next_seq to the commit every join of the concert waits on this
	 * one's counter row, so nothing that can run before it runs after
	 * it (the serving counter only grows: read earlier, the position
	 * answered is at most one pass of admissions pessimistic). */
	if ((qrc = read_qstate(concert, &q)) < 0)
		return -1;
	if ((rc = next_seq(c, concert, &seq, &pre)) != 1)
		return rc;
	/* A pre-queue join's row waits under seq -number until the draw. */
	row_seq = pre ? -seq : seq;
	if ((pre ? qtoken_mint_pre(concert, seq, tok) :
	    qtoken_mint(concert, seq, tok)) == -1) {
		log_error("token mint failed for concert %d %s %lld", concert,
		    pre ? "pre-queue join" : "seq", seq);
		return -1;
	}
	if (db_exec(st_tok_ins, "iiuuui", row_seq, (long long)concert, tok,
	    user, user, pre ? seq : 0) < 0) {
		if (db_errno() != DB_ER_DUP_ENTRY)
			return -1;
		/* A concurrent request for this user won the insert (we waited
		 * on its unique-key lock until it committed): answer with its
		 * token, read under lock.  The seq we took stays unused (the
		 * answer commits): a gap, which only makes the positions
		 * behind it an upper bound (queue.h). */
		if (lookup_live(c, concert, user, &t) != 1)
			return -1;
		return answer(c, &t, 200);
	}
	memset(&t, 0, sizeof(t));
	t.concert = concert;
	t.seq = row_seq;
	memcpy(t.user, user, 16);
	t.state = TOKEN_WAITING;
	t.serving = q.serving;
	t.rate = q.rate;
	t.max_active = q.max_active;
	if ((qrc == 1 ? answer_read(c, &t, 201) : answer(c, &t, 201)) == -1)
		return -1;
	queue_event(c, EVENT_TOKEN_ISSUED, &t, EVENT_REASON_NONE);
	return 0;
}

/* lookup(), answering 404 when the row is gone.  1 found, 0 answered,
 * -1 database error. */
static int
lookup_or_404(struct api_ctx *c, int concert, long long seq, int pre,
    struct token_row *t)
{
	int rc = lookup(c, concert, seq, pre, t);

	if (rc == 0)
		http_error(c->w, 404, "TOKEN_NOT_FOUND", "no such token");
	return rc;
}

int
api_token_get(struct api_ctx *c)
{
	struct scoreboard_queue_view v;
	struct token_row t;
	json_object *o;
	long long seq;
	int rc, concert, pre;

	if (!token_seq(c, &concert, &seq, &pre))
		return 0;
	queue_refresh(concert);
	if (!pre && waiting_by_counters(concert, seq, &v)) {
		scoreboard_queue_count_poll();
		token_seen(c, concert, seq);
		http_json(c->w, 200, waiting_body(c, c->p->v[P_TOKEN].u,
		    queue_position(seq, v.serving_seq), v.admit_rate,
		    cap_of(c, v.max_active)));
		return 0;
	}
	if (!scoreboard_queue_has_line(concert))
		scoreboard_queue_count_overflow();
	if ((rc = lookup_or_404(c, concert, seq, pre, &t)) != 1)
		return rc;
	if (claim(&t) == -1)
		return -1;
	if (effective_state(&t) == TOKEN_WAITING && t.seq > 0)
		token_seen(c, concert, t.seq);
	if ((o = token_body(c, &t)) == NULL)
		return -1;
	http_json(c->w, 200, o);
	return 0;
}

int
api_token_release(struct api_ctx *c)
{
	struct token_row t;
	json_object *o;
	long long n, seq;
	int rc, concert, pre;

	if (!token_seq(c, &concert, &seq, &pre))
		return 0;
	if ((rc = lookup_or_404(c, concert, seq, pre, &t)) != 1)
		return rc;
	/* A pre token by its number: the draw may change the row's seq
	 * between the lookup and this. */
	if ((n = pre ? db_exec(st_release_pre, "ii", (long long)concert, seq) :
	    db_exec(st_release, "ii", (long long)concert, t.seq)) < 0)
		return -1;
	if (n == 1) {
		t.state = TOKEN_EXPIRED;
		t.reason = TOKEN_END_LEFT;
		/* This host's polls read EXPIRED at once; other hosts' after
		 * their next refresh.  (If the transaction rolls back, the
		 * token reads from the database until serving passes it.) */
		if (t.seq > 0)
			scoreboard_queue_mark_left(concert, t.seq);
	} else if (effective_state(&t) != TOKEN_EXPIRED) {
		t.state = TOKEN_EXPIRED;
		t.reason = TOKEN_END_LEFT;
	} else if (t.state == TOKEN_ACTIVE) {
		t.state = TOKEN_EXPIRED;
		t.reason = t.lapsed ? TOKEN_END_LAPSED : TOKEN_END_UNCLAIMED;
	}
	if ((o = token_body(c, &t)) == NULL)
		return -1;
	http_json(c->w, 200, o);
	if (n == 1)
		queue_event(c, EVENT_TOKEN_RELEASED, &t, EVENT_REASON_LEFT);
	return 0;
}

int
api_auth_active(struct api_ctx *c, unsigned char user[16], int *concert,
    long long *seq, int *unclaimed)
{
	struct token_row t;
	long long s;
	int rc, tc, pre;

	if (token_key(c->cfg) == -1) {
		http_error(c->w, 503, "INTERNAL", "no token key available");
		return 1;
	}
	if (qtoken_verify_any(c->p->v[P_TOKEN].u, &tc, &s, &pre) == -1) {
		http_error(c->w, 401, "TOKEN_INVALID", "unknown queue token");
		return 1;
	}
	/* Not the host's counters (waiting_by_counters): they lag the
	 * database by up to QUEUE_REFRESH_MS, and with several hosts a token
	 * another host already reported ACTIVE would be refused here. */
	if ((rc = lookup(c, tc, s, pre, &t)) < 0)
		return -1;
	if (rc == 0) {
		http_error(c->w, 401, "TOKEN_INVALID", "unknown queue token");
		return 1;
	}
	switch (effective_state(&t)) {
	case TOKEN_ACTIVE:
		/* The first use is recorded by the caller, under the token's
		 * lock (api_token_still_active, or the hold's extension). */
		*unclaimed = !t.claimed;
		memcpy(user, t.user, 16);
		*concert = tc;
		*seq = t.seq;
		return 0;
	case TOKEN_WAITING: {
		long long pos = queue_position(t.seq, t.serving);

		http_error(c->w, 403, "TOKEN_NOT_ACTIVE",
		    "the token is still waiting in the queue");
		/* null: in a pre-queue, no place drawn yet */
		http_error_detail(c->w, "queuePosition", t.seq > 0 ?
		    json_object_new_int64(pos) : NULL);
		return 1;
	}
	default:
		http_error(c->w, 403, "TOKEN_EXPIRED",
		    "the token's admission has ended; request a new token");
		return 1;
	}
}

int
api_token_concert_mismatch(struct api_ctx *c, int token_concert, int concert)
{
	if (token_concert == concert)
		return 0;
	http_error(c->w, 403, "TOKEN_WRONG_CONCERT",
	    "the queue token admits to concert %d, not concert %d",
	    token_concert, concert);
	http_error_detail(c->w, "tokenConcertId",
	    json_object_new_int64(token_concert));
	return 1;
}

int
api_token_still_active(struct api_ctx *c, int concert, long long seq,
    int claim)
{
	long long one;
	int rc;

	if (claim) {
		/* One round trip when it is the first use (most requests
		 * with claim set); else (claimed meanwhile) the check. */
		if ((rc = db_exec(st_claim_active, "ii", (long long)concert,
		    seq)) < 0)
			return -1;
		if (rc == 1)
			return 0;
	}
	if (db_exec(st_still_active, "ii", (long long)concert, seq) < 0)
		return -1;
	rc = db_fetch(st_still_active, "i", &one);
	db_done(st_still_active);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		http_error(c->w, 403, "TOKEN_EXPIRED",
		    "the token's admission has ended; request a new token");
		return 1;
	}
	return 0;
}
