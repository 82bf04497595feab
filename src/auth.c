/*
 * auth: see auth.h.  The verifier itself is auth_jwt.c; this file holds
 * the process's key and the hook that decides the caller.
 */
#include "auth.h"

#include <string.h>
#include <time.h>

#include "db.h"
#include "util.h"

/* --- per process --- */

static struct auth_verifier auth_v;
static int auth_ready;          /* auth_v holds a usable key */
static struct db_stmt *st_owner;

int
auth_init(const struct config *cfg, char *err, size_t errlen)
{
	auth_fini();
	if (cfg->auth != CONFIG_AUTH_JWT)
		return 0;
	if (auth_verifier_init(&auth_v, cfg, err, errlen) == -1)
		return -1;
	auth_ready = 1;
	return 0;
}

void
auth_fini(void)
{
	if (auth_ready)
		auth_verifier_free(&auth_v);
	auth_ready = 0;
}

int
auth_prepare(void)
{
	st_owner = db_stmt("SELECT user_id FROM queue_tokens WHERE token = ?");
	return st_owner != NULL ? 0 : -1;
}

/* RFC 6750 section 3: a 401 names the scheme it wants. */
static void
auth_challenge(struct http_resp *w)
{
	http_header(w, "WWW-Authenticate", "Bearer realm=\"concert\"");
}

/* The bearer JWT of r: its subject in sub, or -1 with w set. */
static int
auth_bearer(const struct http_req *r, unsigned char sub[16],
    struct http_resp *w)
{
	char why[128];
	const char *jwt = http_bearer(r->authorization);

	if (jwt == NULL) {
		http_error(w, 401, "AUTH_REQUIRED", "this endpoint needs "
		    "'Authorization: Bearer <JWT>' (the queue token goes in "
		    "'X-Queue-Token' or body 'token')");
		auth_challenge(w);
		return -1;
	}
	if (!auth_ready) {
		/* Fail closed: auth_init() failed in this worker (logged). */
		http_error(w, 500, "INTERNAL", "authentication is not "
		    "configured");
		return -1;
	}
	if (auth_jwt_verify(&auth_v, jwt, (int64_t)time(NULL), sub, why,
	    sizeof(why)) == -1) {
		http_error(w, 401, "AUTH_INVALID", "%s", why);
		auth_challenge(w);
		return -1;
	}
	return 0;
}

/* A queue token in p must be one of the caller's.  A token nobody holds
 * passes: the handler answers it as it always does. */
static enum auth_result
auth_token_owner(const struct params *p, const unsigned char sub[16],
    struct http_resp *w)
{
	unsigned char owner[16];
	int n;

	if (!p->v[P_TOKEN].present)
		return AUTH_PASS;
	if (db_exec(st_owner, "u", p->v[P_TOKEN].u) < 0)
		return AUTH_DBERR;
	n = db_fetch(st_owner, "u", owner);
	db_done(st_owner);
	if (n == -1)
		return AUTH_DBERR;
	if (n == 1 && memcmp(owner, sub, 16) != 0) {
		http_error(w, 403, "USER_MISMATCH", "the queue token belongs "
		    "to another user than the bearer token's");
		return AUTH_REFUSED;
	}
	return AUTH_PASS;
}

enum auth_result
auth_params(const struct config *cfg, int user_route,
    const struct http_req *r, unsigned want, unsigned required,
    unsigned query, struct params *p, struct http_resp *w)
{
	struct param_val *u = &p->v[P_USER_ID];
	unsigned char sub[16];

	if (cfg->auth != CONFIG_AUTH_JWT || !user_route)
		return validate_params(r, want, required, query, cfg, p, w) ==
		    -1 ? AUTH_REFUSED : AUTH_PASS;
	if (auth_bearer(r, sub, w) == -1)
		return AUTH_REFUSED;
	/* Every user route may name its user; none has to. */
	if (validate_params(r, want | PBIT(P_USER_ID),
	    required & ~PBIT(P_USER_ID), query, cfg, p, w) == -1)
		return AUTH_REFUSED;
	if (u->present && memcmp(u->u, sub, 16) != 0) {
		http_error(w, 403, "USER_MISMATCH", "'userId' is not the "
		    "user of the bearer token");
		http_error_detail(w, "field", json_object_new_string("userId"));
		return AUTH_REFUSED;
	}
	memcpy(u->u, sub, 16);
	util_uuid_format(sub, u->s);
	u->present = 1;
	return auth_token_owner(p, sub, w);
}
