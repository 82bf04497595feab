/*
 * api_token: the waiting queue's front door.
 *
 *   POST   /token  {"userId"}  join the line (or get the live token back)
 *   GET    /token              poll: status, place, estimated wait, when to
 *                              poll again (pollAfterSeconds, Retry-After)
 *   DELETE /token              leave the line / end the admission
 *
 * Joining is one INSERT taking the next AUTO_INCREMENT seq (no shared row
 * is locked) and one primary-key UPDATE storing the token minted from it.
 *
 * A token proves its own seq (qtoken.h: seq || HMAC).  A forged token is
 * refused before any database work.  A WAITING poll is answered from the
 * host's copy of the queue counters (scoreboard.h, struct
 * scoreboard_queue) without a database round trip: the token is still
 * waiting when its seq is above the serving counter (admission goes in
 * seq order and moves serving_seq to the highest seq it admitted or
 * dropped) and it is not in the `left` set.  A seq at or below serving_seq
 * (admitted, or a straggler), one beyond the left set's window, or stale
 * counters (older than QUEUE_STALE_MS) are asked of the database.
 *
 * The counters are refreshed by the poll that finds them older than
 * QUEUE_REFRESH_MS and wins the lease: it reads queue_state and the
 * recent leavers, and writes out the host's pending seen_at marks (the
 * idle detection's "last poll"), then answers.  So a host costs at most
 * about 1000 / QUEUE_REFRESH_MS such refreshes a second, whatever the
 * number of polls.
 */
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
#include "util.h"

#define QUEUE_REFRESH_MS   200     /* counters older than this: refresh */
#define QUEUE_STALE_MS     2000    /* older than this: ask the database */
#define QUEUE_LEASE_MS     2000    /* a refresher's lease */
#define QUEUE_LEAVERS_MAX  16384   /* leavers read per refresh */
#define QUEUE_SEEN_CHUNK   16      /* seqs per seen_at UPDATE (16 binds) */
#define QUEUE_SEEN_MAX     4096    /* seen marks written per refresh */
/* Leavers are re-read this far back (s) beyond the last refresh: a
 * DELETE's expires_at is taken before its commit becomes visible. */
#define QUEUE_LEAVERS_SLACK_S 5
/* First refresh of a host: every leaver above the serving counter. */
#define QUEUE_LEAVERS_ALL_S   100000000

static struct db_stmt *st_lookup, *st_live, *st_lapse_one, *st_user_ins,
    *st_tok_ins, *st_tok_set, *st_qstate, *st_release, *st_still_active,
    *st_claim, *st_claim_active, *st_leavers, *st_seen;

/* Columns shared by lookups: seq, user, state, lapsed?, seconds left,
 * end reason, unclaimed? (admitted claim_seconds ago, never used),
 * claimed?  Binds: claim_seconds twice. */
#define TOKEN_COLS \
	"t.seq, t.user_id, t.state," \
	" t.expires_at IS NOT NULL AND t.expires_at <= UTC_TIMESTAMP(3)," \
	" IFNULL(CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3)," \
	"   t.expires_at) / 1000000), 0), t.end_reason," \
	" t.state = " SQL_TOKEN_ACTIVE " AND t.claimed_at IS NULL AND ? > 0" \
	"   AND t.activated_at <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND," \
	" t.claimed_at IS NOT NULL"

int
api_token_prepare(void)
{
	st_lookup = db_stmt("SELECT " TOKEN_COLS ", s.serving_seq,"
	    " s.admit_rate, s.max_active_tokens"
	    " FROM queue_tokens t JOIN queue_state s ON s.id = 1"
	    " WHERE t.seq = ?");
	st_live = db_stmt("SELECT " TOKEN_COLS
	    " FROM queue_tokens t WHERE t.live_user = ? FOR UPDATE");
	st_lapse_one = db_stmt("UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED
	    ", live_user = NULL, end_reason = IF(expires_at <= UTC_TIMESTAMP(3), "
	    SQL_TOKEN_END_LAPSED ", " SQL_TOKEN_END_UNCLAIMED ")"
	    " WHERE seq = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND (expires_at <= UTC_TIMESTAMP(3) OR (? > 0 AND claimed_at IS NULL"
	    " AND activated_at <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND))");
	st_user_ins = db_stmt("INSERT IGNORE INTO users (id) VALUES (?)");
	/* The token is minted from the seq the INSERT takes: a random
	 * placeholder first (the column is UNIQUE), the token right after. */
	st_tok_ins = db_stmt("INSERT INTO queue_tokens"
	    " (token, user_id, live_user, state)"
	    " VALUES (?, ?, ?, " SQL_TOKEN_WAITING ")");
	st_tok_set = db_stmt("UPDATE queue_tokens SET token = ? WHERE seq = ?");
	st_qstate = db_stmt("SELECT serving_seq, admit_rate, max_active_tokens"
	    " FROM queue_state WHERE id = 1");
	st_release = db_stmt("UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED
	    ", live_user = NULL, expires_at = UTC_TIMESTAMP(3), end_reason = "
	    SQL_TOKEN_END_LEFT " WHERE seq = ? AND state IN (" SQL_TOKEN_WAITING
	    ", " SQL_TOKEN_ACTIVE ")");
	st_still_active = db_stmt("SELECT 1 FROM queue_tokens WHERE seq = ?"
	    " AND state = " SQL_TOKEN_ACTIVE " AND expires_at > UTC_TIMESTAMP(3)"
	    " FOR UPDATE");
	st_claim = db_stmt("UPDATE queue_tokens SET claimed_at = UTC_TIMESTAMP(3)"
	    " WHERE seq = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND claimed_at IS NULL");
	/* still_active and the first use's record in one locking UPDATE:
	 * a row is changed only when it is ACTIVE, unexpired and unclaimed. */
	st_claim_active = db_stmt("UPDATE queue_tokens"
	    " SET claimed_at = UTC_TIMESTAMP(3)"
	    " WHERE seq = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND expires_at > UTC_TIMESTAMP(3) AND claimed_at IS NULL");
	/* Tokens that left above the serving counter, recently (index
	 * qt_state_exp: state, expires_at). */
	st_leavers = db_stmt("SELECT seq FROM queue_tokens"
	    " WHERE state = " SQL_TOKEN_EXPIRED " AND expires_at >="
	    " UTC_TIMESTAMP(3) - INTERVAL ? SECOND AND seq > ?"
	    " LIMIT " MODEL_STR(QUEUE_LEAVERS_MAX));
	st_seen = db_stmt("UPDATE queue_tokens SET seen_at = UTC_TIMESTAMP(3)"
	    " WHERE state = " SQL_TOKEN_WAITING " AND seq IN"
	    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	return st_lookup && st_live && st_lapse_one && st_user_ins &&
	    st_tok_ins && st_tok_set && st_qstate && st_release &&
	    st_still_active && st_claim && st_claim_active && st_leavers && st_seen ? 0 : -1;
}

struct token_row {
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

/* The seq the request's token proves.  1, or 0 when answered (401:
 * forged, or no key). */
static int
token_seq(struct api_ctx *c, long long *seq)
{
	if (token_key(c->cfg) == -1) {
		http_error(c->w, 503, "INTERNAL", "no token key available");
		return 0;
	}
	if (qtoken_verify(c->p->v[P_TOKEN].u, seq) == -1) {
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
token_seen(const struct api_ctx *c, long long seq)
{
	long idle = c->cfg->waiting_idle_seconds;

	if (idle > 0)
		scoreboard_queue_seen(seq, (uint32_t)(clock_mono_ms() / 1000),
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

static json_object *
token_body(struct api_ctx *c, const struct token_row *t)
{
	json_object *o;
	int state = effective_state(t);
	unsigned char tok[16];
	char hex[TOKEN_STR_LEN];
	long long left = 0, poll;

	if (qtoken_mint(t->seq, tok) == -1)
		memset(tok, 0, sizeof(tok));
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
	e->seq = t->seq;
	e->reason = reason;
}

/* Answer with t, reading the serving counter, rate and cap first (the
 * token row alone does not carry them).  0 / -1. */
static int
answer(struct api_ctx *c, struct token_row *t, int status)
{
	if (db_exec(st_qstate, "") < 0 ||
	    db_fetch(st_qstate, "idi", &t->serving, &t->rate,
	    &t->max_active) < 0)
		return -1;
	db_done(st_qstate);
	http_json(c->w, status, token_body(c, t));
	return 0;
}

/* Write out up to QUEUE_SEEN_MAX pending seen marks.  0 / -1. */
static int
refresh_seen(void)
{
	long long s[QUEUE_SEEN_CHUNK];
	int64_t got[QUEUE_SEEN_CHUNK];
	size_t n, i, total = 0;

	while (total < QUEUE_SEEN_MAX &&
	    (n = scoreboard_queue_take_seen(got, QUEUE_SEEN_CHUNK)) > 0) {
		/* Unused binds repeat the first seq (an IN list ignores
		 * duplicates). */
		for (i = 0; i < QUEUE_SEEN_CHUNK; i++)
			s[i] = i < n ? got[i] : got[0];
		if (db_exec(st_seen, "iiiiiiiiiiiiiiii", s[0], s[1], s[2], s[3],
		    s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12],
		    s[13], s[14], s[15]) < 0)
			return -1;
		total += n;
	}
	return 0;
}

/*
 * Refresh the host's queue counters if they are due and we win the lease
 * (outside any transaction: GET /token only).  A failure leaves the old
 * counters, which age out after QUEUE_STALE_MS; the request goes on.
 */
static void
queue_refresh(void)
{
	static int64_t leavers[QUEUE_LEAVERS_MAX];
	static int64_t last_ok_ms;
	static int failing;           /* said once per failing streak */
	long long serving = 0, max_active = 0, since_s, seq;
	double rate = 0;
	int64_t now = clock_mono_ms();
	size_t n = 0;
	int rc;

	if (!scoreboard_queue_lease(now, QUEUE_REFRESH_MS, QUEUE_LEASE_MS))
		return;
	if (refresh_seen() == -1)
		goto fail;
	if (db_exec(st_qstate, "") < 0)
		goto fail;
	rc = db_fetch(st_qstate, "idi", &serving, &rate, &max_active);
	db_done(st_qstate);
	if (rc != 1)
		goto fail;
	/* last_ok_ms is this process's; another worker's refreshes are not
	 * known here, so a first refresh in a worker reads every leaver. */
	since_s = last_ok_ms > 0 ? (now - last_ok_ms) / 1000 +
	    QUEUE_LEAVERS_SLACK_S : QUEUE_LEAVERS_ALL_S;
	if (db_exec(st_leavers, "ii", since_s, serving) < 0)
		goto fail;
	while ((rc = db_fetch(st_leavers, "i", &seq)) == 1)
		if (n < QUEUE_LEAVERS_MAX)
			leavers[n++] = seq;
	if (rc < 0)
		goto fail;
	if (scoreboard_queue_publish(serving, rate, max_active, leavers, n,
	    clock_mono_ms()) == 0)
		last_ok_ms = now;
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
		log_warn("queue counters refresh failed: %s", db_error());
	}
}

/* Fetch the token named by seq (not locked).  1: found. */
static int
lookup(struct api_ctx *c, long long seq, struct token_row *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (db_exec(st_lookup, "iii", (long long)c->cfg->claim_seconds,
	    (long long)c->cfg->claim_seconds, seq) < 0)
		return -1;
	rc = db_fetch(st_lookup, "iuiiiiiiidi", &t->seq, t->user, &t->state,
	    &t->lapsed, &t->left, &t->reason, &t->unclaimed, &t->claimed,
	    &t->serving, &t->rate, &t->max_active);
	db_done(st_lookup);
	return rc;
}

/* The live token of user, locked.  1: found. */
static int
lookup_live(struct api_ctx *c, const unsigned char *user, struct token_row *t)
{
	int rc;

	if (db_exec(st_live, "iiu", (long long)c->cfg->claim_seconds,
	    (long long)c->cfg->claim_seconds, user) < 0)
		return -1;
	rc = db_fetch(st_live, "iuiiiiii", &t->seq, t->user, &t->state,
	    &t->lapsed, &t->left, &t->reason, &t->unclaimed, &t->claimed);
	db_done(st_live);
	return rc;
}

/* An ACTIVE token is used: record its first use (claim_seconds).  0 / -1. */
static int
claim(const struct token_row *t)
{
	if (effective_state(t) != TOKEN_ACTIVE || t->claimed)
		return 0;
	return db_exec(st_claim, "i", t->seq) < 0 ? -1 : 0;
}

/*
 * Is seq waiting, by the host's counters alone?  1 yes (v filled), 0 ask
 * the database.
 */
static int
waiting_by_counters(long long seq, struct scoreboard_queue_view *v)
{
	if (scoreboard_queue_read(seq, clock_mono_ms(), v) == -1)
		return 0;
	return v->age_ms <= QUEUE_STALE_MS && seq > v->serving_seq &&
	    v->left == 0;
}

int
api_token_issue(struct api_ctx *c)
{
	struct token_row t;
	const unsigned char *user = c->p->v[P_USER_ID].u;
	unsigned char tok[16];
	int rc;

	memset(&t, 0, sizeof(t));
	if (token_key(c->cfg) == -1) {
		http_error(c->w, 503, "INTERNAL", "no token key available");
		return 0;
	}
	if ((rc = lookup_live(c, user, &t)) < 0)
		return -1;
	if (rc == 1 && effective_state(&t) != TOKEN_EXPIRED)
		return answer(c, &t, 200);   /* same user: same token, same place */
	if (rc == 1 && db_exec(st_lapse_one, "iii", t.seq,
	    (long long)c->cfg->claim_seconds,
	    (long long)c->cfg->claim_seconds) < 0)
		return -1;
	if (db_exec(st_user_ins, "u", user) < 0)
		return -1;
	if (util_random(tok, sizeof(tok)) == -1) {
		http_error(c->w, 503, "INTERNAL", "no randomness available");
		return 0;
	}
	if (db_exec(st_tok_ins, "uuu", tok, user, user) < 0) {
		if (db_errno() != DB_ER_DUP_ENTRY)
			return -1;
		/* A concurrent request for this user won the insert (we waited
		 * on its unique-key lock until it committed): answer with its
		 * token, read under lock. */
		if (lookup_live(c, user, &t) != 1)
			return -1;
		return answer(c, &t, 200);
	}
	memset(&t, 0, sizeof(t));
	t.seq = (long long)db_insert_id(st_tok_ins);
	if (qtoken_mint(t.seq, tok) == -1) {
		log_error("token mint failed for seq %lld", t.seq);
		return -1;
	}
	if (db_exec(st_tok_set, "ui", tok, t.seq) < 0)
		return -1;
	memcpy(t.user, user, 16);
	t.state = TOKEN_WAITING;
	if (answer(c, &t, 201) == -1)
		return -1;
	queue_event(c, EVENT_TOKEN_ISSUED, &t, EVENT_REASON_NONE);
	return 0;
}

/* lookup(), answering 404 when the row is gone.  1 found, 0 answered,
 * -1 database error. */
static int
lookup_or_404(struct api_ctx *c, long long seq, struct token_row *t)
{
	int rc = lookup(c, seq, t);

	if (rc == 0)
		http_error(c->w, 404, "TOKEN_NOT_FOUND", "no such token");
	return rc;
}

int
api_token_get(struct api_ctx *c)
{
	struct scoreboard_queue_view v;
	struct token_row t;
	long long seq;
	int rc;

	if (!token_seq(c, &seq))
		return 0;
	queue_refresh();
	if (waiting_by_counters(seq, &v)) {
		scoreboard_queue_count_poll();
		token_seen(c, seq);
		http_json(c->w, 200, waiting_body(c, c->p->v[P_TOKEN].u,
		    queue_position(seq, v.serving_seq), v.admit_rate,
		    cap_of(c, v.max_active)));
		return 0;
	}
	if ((rc = lookup_or_404(c, seq, &t)) != 1)
		return rc;
	if (claim(&t) == -1)
		return -1;
	if (effective_state(&t) == TOKEN_WAITING)
		token_seen(c, seq);
	http_json(c->w, 200, token_body(c, &t));
	return 0;
}

int
api_token_release(struct api_ctx *c)
{
	struct token_row t;
	long long n, seq;
	int rc;

	if (!token_seq(c, &seq))
		return 0;
	if ((rc = lookup_or_404(c, seq, &t)) != 1)
		return rc;
	if ((n = db_exec(st_release, "i", t.seq)) < 0)
		return -1;
	if (n == 1) {
		t.state = TOKEN_EXPIRED;
		t.reason = TOKEN_END_LEFT;
		/* This host's polls read EXPIRED at once; other hosts' after
		 * their next refresh.  (If the transaction rolls back, the
		 * token reads from the database until serving passes it.) */
		scoreboard_queue_mark_left(t.seq);
	} else if (effective_state(&t) != TOKEN_EXPIRED) {
		t.state = TOKEN_EXPIRED;
		t.reason = TOKEN_END_LEFT;
	} else if (t.state == TOKEN_ACTIVE) {
		t.state = TOKEN_EXPIRED;
		t.reason = t.lapsed ? TOKEN_END_LAPSED : TOKEN_END_UNCLAIMED;
	}
	http_json(c->w, 200, token_body(c, &t));
	if (n == 1)
		queue_event(c, EVENT_TOKEN_RELEASED, &t, EVENT_REASON_LEFT);
	return 0;
}

int
api_auth_active(struct api_ctx *c, unsigned char user[16], long long *seq,
    int *unclaimed)
{
	struct token_row t;
	long long s;
	int rc;

	if (token_key(c->cfg) == -1) {
		http_error(c->w, 503, "INTERNAL", "no token key available");
		return 1;
	}
	if (qtoken_verify(c->p->v[P_TOKEN].u, &s) == -1) {
		http_error(c->w, 401, "TOKEN_INVALID", "unknown queue token");
		return 1;
	}
	/* Not the host's counters (waiting_by_counters): they lag the
	 * database by up to QUEUE_REFRESH_MS, and with several hosts a token
	 * another host already reported ACTIVE would be refused here. */
	if ((rc = lookup(c, s, &t)) < 0)
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
		*seq = t.seq;
		return 0;
	case TOKEN_WAITING: {
		long long pos = queue_position(t.seq, t.serving);

		http_error(c->w, 403, "TOKEN_NOT_ACTIVE",
		    "the token is still waiting in the queue");
		http_error_detail(c->w, "queuePosition", json_object_new_int64(pos));
		return 1;
	}
	default:
		http_error(c->w, 403, "TOKEN_EXPIRED",
		    "the token's admission has ended; request a new token");
		return 1;
	}
}

int
api_token_still_active(struct api_ctx *c, long long seq, int claim)
{
	long long one;
	int rc;

	if (claim) {
		/* One round trip when it is the first use (most requests
		 * with claim set); else (claimed meanwhile) the check. */
		if ((rc = db_exec(st_claim_active, "i", seq)) < 0)
			return -1;
		if (rc == 1)
			return 0;
	}
	if (db_exec(st_still_active, "i", seq) < 0)
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
