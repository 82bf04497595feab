/*
 * fuzz_request: the request-body path every handler runs first --
 * validate_body() (Content-Type, JSON parse, NaN/Infinity, object check)
 * then validate_params() (JSON body, query string, Authorization: Bearer)
 * on a fake struct http_req, exactly as app.c fills it from FastCGI.
 *
 * Input format (so seeds stay readable): four header lines, then the body.
 *   line 1: METHOD [want-mask [required-mask]]   e.g. "POST 0x3f 0x0c"
 *   line 2: QUERY_STRING
 *   line 3: Authorization header
 *   line 4: Content-Type
 *   rest:   the body (truncated to HTTP_MAX_BODY like http_read)
 * Missing lines are empty.  Masks default to "all parameters" / none.
 *
 * Invariants checked beyond "no crash": every failure sets a 4xx body with
 * an error code; every accepted parameter is in range / canonical.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "util.h"
#include "validate.h"

static struct http_req *req;   /* big (16 KiB body): allocate once */

static const char *
next_line(const char **p, const char *end, char *buf, size_t buflen)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (nl ? nl : end) - *p;

	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p = nl ? nl + 1 : end;
	return buf;
}

/* Every accepted parameter is within its row's bounds, and a value with a
 * canonical text (date, UUID) is accepted again, unchanged, from it. */
static void
check_ok_params(const struct params *ps, unsigned want, unsigned required,
    const struct config *cfg)
{
	int k;

	for (k = 0; k < P__MAX; k++) {
		const struct param_def *d = &validate_params_table[k];
		const struct param_val *v = &ps->v[k];
		long long max = d->max_of != NULL ? d->max_of(cfg) : d->max;
		struct param_val again;
		const char *what;

		if (!(want & PBIT(k))) {
			FUZZ_ASSERT(!v->present);
			continue;
		}
		if (required & PBIT(k))
			FUZZ_ASSERT(v->present);
		if (!v->present)
			continue;
		if (d->json_int) {
			FUZZ_ASSERT(v->i >= d->min);
			FUZZ_ASSERT(v->i <= max);
		}
		if (v->s[0] != '\0') {
			memset(&again, 0, sizeof(again));
			FUZZ_ASSERT(strlen(v->s) <= d->maxlen);
			FUZZ_ASSERT(d->check(d, v->s, max, &again, &what) == PF_OK);
			FUZZ_ASSERT(strcmp(again.s, v->s) == 0);
			FUZZ_ASSERT(memcmp(again.u, v->u, sizeof(v->u)) == 0);
		}
	}
}

/* A string accepted from the JSON body must be all of that string: no
 * "\u0000" cutting it short (regression: validate.c take_json). */
static void
check_json_strings(const struct http_req *r, const struct params *ps)
{
	json_object *j;
	int k;

	if (r->json == NULL)
		return;
	for (k = 0; k < P__MAX; k++)
		if (ps->v[k].present && json_object_object_get_ex(r->json,
		    validate_params_table[k].name, &j) &&
		    json_object_is_type(j, json_type_string))
			FUZZ_ASSERT(strlen(json_object_get_string(j)) ==
			    (size_t)json_object_get_string_len(j));
}

static void
check_error(const struct http_resp *w)
{
	json_object *e, *code;

	FUZZ_ASSERT(w->status >= 400 && w->status <= 599);
	FUZZ_ASSERT(w->body != NULL);
	FUZZ_ASSERT(json_object_object_get_ex(w->body, "error", &e));
	FUZZ_ASSERT(json_object_object_get_ex(e, "code", &code));
	FUZZ_ASSERT(json_object_get_string_len(code) > 0);
	/* What http_write would send. */
	FUZZ_ASSERT(json_object_to_json_string_ext(w->body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char line1[64], method[16];
	char *query, *auth, *ctype;
	unsigned want = (1u << P__MAX) - 1, required = 0;
	/* the config defaults of the two configured bounds */
	static const struct config cfg = { .max_charge_amount = 10000000,
	    .max_balance = 1000000000000L };
	struct http_resp w;
	struct params ps;
	size_t blen;
	int rc, wi = 0, ri = 0;

	if (req == NULL && (req = malloc(sizeof(*req))) == NULL)
		abort();
	/* Each header string gets an exactly-sized heap copy, so any read
	 * past its NUL is an ASan report. */
	query = malloc(HTTP_MAX_BODY + 1);
	auth = malloc(HTTP_MAX_BODY + 1);
	ctype = malloc(HTTP_MAX_BODY + 1);
	next_line(&p, end, line1, sizeof(line1));
	next_line(&p, end, query, HTTP_MAX_BODY + 1);
	next_line(&p, end, auth, HTTP_MAX_BODY + 1);
	next_line(&p, end, ctype, HTTP_MAX_BODY + 1);
	query = fuzz_shrink(query);
	auth = fuzz_shrink(auth);
	ctype = fuzz_shrink(ctype);

	method[0] = '\0';
	if (sscanf(line1, "%15s %i %i", method, &wi, &ri) >= 2)
		want = (unsigned)wi & ((1u << P__MAX) - 1);
	required = (unsigned)ri & want;

	memset(req, 0, sizeof(*req));
	memset(&w, 0, sizeof(w));
	req->fcgi = NULL;
	req->method_name = method;
	req->method = http_method_parse(method);
	snprintf(req->path, sizeof(req->path), "/api/v1/fuzz");
	req->query = query;
	req->authorization = auth;
	req->content_type = ctype;
	req->idem_key = NULL;
	req->request_id = "fuzz";
	blen = (size_t)(end - p);
	if (blen > HTTP_MAX_BODY)
		blen = HTTP_MAX_BODY;
	memcpy(req->body, p, blen);
	req->body[blen] = '\0';
	req->body_len = blen;
	req->content_length = (long)blen;

	rc = validate_body(req, &w);
	if (rc == -1) {
		FUZZ_ASSERT(req->json == NULL);
		check_error(&w);
		goto out;
	}
	FUZZ_ASSERT(w.body == NULL);
	if (req->json != NULL)
		FUZZ_ASSERT(json_object_is_type(req->json, json_type_object));

	/* Every parameter may come from the query too (the widest route). */
	rc = validate_params(req, want, required, want, &cfg, &ps, &w);
	if (rc == -1)
		check_error(&w);
	else {
		FUZZ_ASSERT(w.body == NULL);
		check_ok_params(&ps, want, required, &cfg);
		check_json_strings(req, &ps);
	}
	/* Same request, everything required: must not disagree on success. */
	http_resp_clear(&w);
	if (validate_params(req, want, want, want, &cfg, &ps, &w) == -1)
		check_error(&w);
	else {
		check_ok_params(&ps, want, want, &cfg);
		check_json_strings(req, &ps);
	}
out:
	http_resp_clear(&w);
	json_object_put(req->json);
	req->json = NULL;
	free(query);
	free(auth);
	free(ctype);
	return 0;
}
