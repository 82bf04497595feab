/*
 * api_token: the waiting queue's front door.
 *
 *   POST   /token  {"userId"}  join the line (or get the live token back)
 *   GET    /token              poll: status, place, estimated wait
 *   DELETE /token              leave the line / end the admission
 *
 * Joining is one INSERT taking the next AUTO_INCREMENT seq: no shared row
 * is locked.  A poll is two primary-key reads (token row, queue_state row)
 * joined in one statement: O(1) however long the line.
 */
#include <string.h>

#include "api.h"
#include "db.h"
#include "event.h"
#include "model.h"
#include "queue.h"
#include "util.h"

static struct db_stmt *st_lookup, *st_live, *st_lapse_one, *st_user_ins,
    *st_tok_ins, *st_qstate, *st_release, *st_still_active;

/* Columns shared by lookups: seq, user, state, lapsed?, seconds left. */
#define TOKEN_COLS \
	"t.seq, t.user_id, t.state," \
	" t.expires_at IS NOT NULL AND t.expires_at <= UTC_TIMESTAMP(3)," \
	" IFNULL(CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3)," \
	"   t.expires_at) / 1000000), 0)"

int
api_token_prepare(void)
{
	st_lookup = db_stmt("SELECT " TOKEN_COLS ", s.serving_seq, s.admit_rate"
	    " FROM queue_tokens t JOIN queue_state s ON s.id = 1"
	    " WHERE t.token = ?");
	st_live = db_stmt("SELECT " TOKEN_COLS ", t.token"
	    " FROM queue_tokens t WHERE t.live_user = ? FOR UPDATE");
	st_lapse_one = db_stmt("UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED
	    ", live_user = NULL WHERE seq = ? AND state = " SQL_TOKEN_ACTIVE
	    " AND expires_at <= UTC_TIMESTAMP(3)");
	st_user_ins = db_stmt("INSERT IGNORE INTO users (id) VALUES (?)");
	st_tok_ins = db_stmt("INSERT INTO queue_tokens"
	    " (token, user_id, live_user, state)"
	    " VALUES (?, ?, ?, " SQL_TOKEN_WAITING ")");
	st_qstate = db_stmt("SELECT serving_seq, admit_rate FROM queue_state"
	    " WHERE id = 1");
	st_release = db_stmt("UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED
	    ", live_user = NULL, expires_at = UTC_TIMESTAMP(3)"
	    " WHERE seq = ? AND state IN (" SQL_TOKEN_WAITING ", "
	    SQL_TOKEN_ACTIVE ")");
	st_still_active = db_stmt("SELECT 1 FROM queue_tokens WHERE seq = ?"
	    " AND state = " SQL_TOKEN_ACTIVE " AND expires_at > UTC_TIMESTAMP(3)"
	    " FOR UPDATE");
	return st_lookup && st_live && st_lapse_one && st_user_ins &&
	    st_tok_ins && st_qstate && st_release && st_still_active ? 0 : -1;
}

struct token_row {
	long long seq;
	unsigned char user[16];
	unsigned char token[16];
	long long state;
	long long lapsed;
	long long left;
	long long serving;
	double rate;
};

/* The effective state: an ACTIVE token past its deadline is EXPIRED
 * whether or not the consumer has marked it yet. */
static int
effective_state(const struct token_row *t)
{
	if (t->state == TOKEN_ACTIVE && t->lapsed)
		return TOKEN_EXPIRED;
	return (int)t->state;
}

static json_object *
token_body(const struct api_ctx *c, const struct token_row *t, int with_token)
{
	json_object *o = json_object_new_object();
	int state = effective_state(t);
	long long pos = 0, wait = 0;
	char hex[TOKEN_STR_LEN];

	if (state == TOKEN_WAITING) {
		pos = queue_position(t->seq, t->serving);
		wait = queue_wait_seconds(pos, t->rate,
		    c->cfg->max_active_tokens, c->cfg->active_ttl_seconds);
	} else if (state == TOKEN_ACTIVE) {
		wait = t->left > 0 ? t->left : 0;
	}
	if (with_token) {
		util_hex(t->token, 16, hex);
		json_object_object_add(o, "token", json_object_new_string(hex));
	}
	json_object_object_add(o, "status",
	    json_object_new_string(model_token_state_name(state)));
	json_object_object_add(o, "queuePosition", json_object_new_int64(pos));
	json_object_object_add(o, "remainingTime", json_object_new_int64(wait));
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

/* Answer with t, reading the serving counter and rate first (the token
 * row alone does not carry them).  0 / -1. */
static int
answer(struct api_ctx *c, struct token_row *t, int status)
{
	if (db_exec(st_qstate, "") < 0 ||
	    db_fetch(st_qstate, "id", &t->serving, &t->rate) < 0)
		return -1;
	db_done(st_qstate);
	http_json(c->w, status, token_body(c, t, 1));
	return 0;
}

/* Fetch the token named by the request (not locked).  1: found. */
static int
lookup(struct api_ctx *c, struct token_row *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (db_exec(st_lookup, "u", c->p->v[P_TOKEN].u) < 0)
		return -1;
	rc = db_fetch(st_lookup, "iuiiiid", &t->seq, t->user, &t->state,
	    &t->lapsed, &t->left, &t->serving, &t->rate);
	db_done(st_lookup);
	memcpy(t->token, c->p->v[P_TOKEN].u, 16);
	return rc;
}

int
api_token_issue(struct api_ctx *c)
{
	struct token_row t;
	const unsigned char *user = c->p->v[P_USER_ID].u;
	int rc;

	memset(&t, 0, sizeof(t));
	if (db_exec(st_live, "u", user) < 0)
		return -1;
	rc = db_fetch(st_live, "iuiiiu", &t.seq, t.user, &t.state, &t.lapsed,
	    &t.left, t.token);
	db_done(st_live);
	if (rc < 0)
		return -1;
	if (rc == 1 && effective_state(&t) != TOKEN_EXPIRED)
		return answer(c, &t, 200);   /* same user: same token, same place */
	if (rc == 1 && db_exec(st_lapse_one, "i", t.seq) < 0)
		return -1;
	if (db_exec(st_user_ins, "u", user) < 0)
		return -1;
	if (util_random(t.token, sizeof(t.token)) == -1) {
		http_error(c->w, 503, "INTERNAL", "no randomness available");
		return 0;
	}
	if (db_exec(st_tok_ins, "uuu", t.token, user, user) < 0) {
		if (db_errno() != DB_ER_DUP_ENTRY)
			return -1;
		/* A concurrent request for this user won the insert (we waited
		 * on its unique-key lock until it committed): answer with its
		 * token, read under lock. */
		if (db_exec(st_live, "u", user) < 0)
			return -1;
		rc = db_fetch(st_live, "iuiiiu", &t.seq, t.user, &t.state,
		    &t.lapsed, &t.left, t.token);
		db_done(st_live);
		if (rc != 1)
			return -1;
		return answer(c, &t, 200);
	}
	t.seq = (long long)db_insert_id(st_tok_ins);
	memcpy(t.user, user, 16);
	t.state = TOKEN_WAITING;
	if (answer(c, &t, 201) == -1)
		return -1;
	queue_event(c, EVENT_TOKEN_ISSUED, &t, EVENT_REASON_NONE);
	return 0;
}

/* lookup(), answering 404 when the token is unknown.  1 found, 0 answered,
 * -1 database error. */
static int
lookup_or_404(struct api_ctx *c, struct token_row *t)
{
	int rc = lookup(c, t);

	if (rc == 0)
		http_error(c->w, 404, "TOKEN_NOT_FOUND", "no such token");
	return rc;
}

int
api_token_get(struct api_ctx *c)
{
	struct token_row t;
	int rc;

	if ((rc = lookup_or_404(c, &t)) != 1)
		return rc;
	http_json(c->w, 200, token_body(c, &t, 1));
	return 0;
}

int
api_token_release(struct api_ctx *c)
{
	struct token_row t;
	long long n;
	int rc;

	if ((rc = lookup_or_404(c, &t)) != 1)
		return rc;
	if ((n = db_exec(st_release, "i", t.seq)) < 0)
		return -1;
	t.state = TOKEN_EXPIRED;
	http_json(c->w, 200, token_body(c, &t, 1));
	if (n == 1)
		queue_event(c, EVENT_TOKEN_RELEASED, &t, EVENT_REASON_LEFT);
	return 0;
}

int
api_auth_active(struct api_ctx *c, unsigned char user[16], long long *seq)
{
	struct token_row t;
	int rc;

	if ((rc = lookup(c, &t)) < 0)
		return -1;
	if (rc == 0) {
		http_error(c->w, 401, "TOKEN_INVALID", "unknown queue token");
		return 1;
	}
	switch (effective_state(&t)) {
	case TOKEN_ACTIVE:
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
api_token_still_active(struct api_ctx *c, long long seq)
{
	long long one;
	int rc;

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
