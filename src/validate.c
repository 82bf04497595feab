/*
 * validate: see validate.h.
 */
#include "validate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

/* json-c accepts NaN and Infinity even in strict mode; JSON (RFC 8259)
 * has neither.  Depth is bounded by the tokener (16). */
static int
all_finite(json_object *o)
{
	struct json_object_iterator it, end;
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o));
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (!all_finite(json_object_array_get_idx(o, i)))
				return 0;
		return 1;
	case json_type_object:
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it))
			if (!all_finite(json_object_iter_peek_value(&it)))
				return 0;
		return 1;
	default:
		return 1;
	}
}

int
validate_body(struct http_req *r, struct http_resp *w)
{
	struct json_tokener *tok;
	json_object *o;
	int needs_json = r->method == HTTP_POST || r->method == HTTP_PUT ||
	    r->method == HTTP_PATCH;

	r->json = NULL;
	if (r->body_len == 0) {
		if (needs_json) {
			http_error(w, 400, "INVALID_JSON",
			    "request body must be a JSON object");
			return -1;
		}
		return 0;
	}
	if (needs_json && !http_is_json(r->content_type)) {
		http_error(w, 415, "UNSUPPORTED_MEDIA_TYPE",
		    "Content-Type must be application/json");
		return -1;
	}
	if (strlen(r->body) != r->body_len) {
		http_error(w, 400, "INVALID_JSON", "body contains a NUL byte");
		return -1;
	}
	if ((tok = json_tokener_new_ex(16)) == NULL) {
		http_error(w, 503, "INTERNAL", "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    strspn(r->body + json_tokener_get_parse_end(tok), " \t\r\n") !=
	    r->body_len - json_tokener_get_parse_end(tok)) {
		json_object_put(o);
		json_tokener_free(tok);
		http_error(w, 400, "INVALID_JSON", "request body is not valid JSON");
		return -1;
	}
	json_tokener_free(tok);
	if (!all_finite(o)) {
		json_object_put(o);
		http_error(w, 400, "INVALID_JSON",
		    "request body is not valid JSON (NaN/Infinity)");
		return -1;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		http_error(w, 400, "INVALID_JSON",
		    "request body must be a JSON object");
		return -1;
	}
	r->json = o;
	return 0;
}

/* --- checks: text -> value (kcgi's kvalid_*) --- */

static int
check_uuid(const struct param_def *d, const char *s, long long max,
    struct param_val *v, const char **what)
{
	if (util_uuid_parse(s, v->u) == -1) {
		*what = "must be a UUID";
		return PF_INVALID;
	}
	util_uuid_format(v->u, v->s);
	return PF_OK;
}

static int
check_token(const struct param_def *d, const char *s, long long max,
    struct param_val *v, const char **what)
{
	if (util_unhex(s, v->u, 16) == -1) {
		*what = "is malformed (32 hex characters expected)";
		return PF_INVALID;
	}
	return PF_OK;
}

static int
check_date(const struct param_def *d, const char *s, long long max,
    struct param_val *v, const char **what)
{
	if (util_date_valid(s) == -1) {
		*what = "must be a calendar date YYYY-MM-DD";
		return PF_INVALID;
	}
	memcpy(v->s, s, 11);
	return PF_OK;
}

/* A section name: 1 to maxlen letters, digits, '-' or '_'. */
static int
check_section(const struct param_def *d, const char *s, long long max,
    struct param_val *v, const char **what)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			break;
	if (n == 0 || i < n || n >= sizeof(v->s)) {
		*what = "must be 1 to 16 letters, digits, '-' or '_'";
		return PF_INVALID;
	}
	memcpy(v->s, s, n + 1);
	return PF_OK;
}

/* A decimal integer (optional '-', no '+', no blanks) within [min, max]. */
static int
check_int(const struct param_def *d, const char *s, long long max,
    struct param_val *v, const char **what)
{
	char *end;

	if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '-')) {
		*what = "must be an integer";
		return PF_INVALID;
	}
	errno = 0;
	v->i = strtoll(s, &end, 10);
	if (*end != '\0') {
		*what = "must be an integer";
		return PF_INVALID;
	}
	if (errno == ERANGE || v->i < d->min || v->i > max)
		return PF_RANGE;
	return PF_OK;
}

/* A list cursor (VALIDATE_CURSOR_LEN): 17 digits of a UTC time, then the
 * row's id in hex.  The time is checked as a date and a clock time. */
static int
check_cursor(const struct param_def *d, const char *s, long long max,
    struct param_val *v, const char **what)
{
	char date[11];
	size_t i;

	*what = "is not a cursor this server returned";
	if (strlen(s) != VALIDATE_CURSOR_LEN)
		return PF_INVALID;
	for (i = 0; i < 17; i++)
		if (s[i] < '0' || s[i] > '9')
			return PF_INVALID;
	/* The documented shape (docs/openapi.json): year 1000-9999, month
	 * 01-12, day 01-31, a time of day.  A day past its month's end (a
	 * cursor this server never returned, but of that shape) is read as
	 * the month's last day: a cursor only bounds the page. */
	if (s[0] == '0' || memcmp(s + 4, "01", 2) < 0 ||
	    memcmp(s + 4, "12", 2) > 0 || memcmp(s + 6, "01", 2) < 0 ||
	    memcmp(s + 6, "31", 2) > 0 || memcmp(s + 8, "24", 2) >= 0 ||
	    s[10] > '5' || s[12] > '5')
		return PF_INVALID;
	snprintf(date, sizeof(date), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
	while (util_date_valid(date) == -1 && date[8] >= '2') {
		if (date[9] > '0')
			date[9]--;
		else {
			date[8]--;
			date[9] = '9';
		}
	}
	if (util_unhex(s + 17, v->u, 16) == -1)
		return PF_INVALID;
	snprintf(v->s, sizeof(v->s), "%s %.2s:%.2s:%.2s.%.3s", date, s + 8,
	    s + 10, s + 12, s + 14);
	return PF_OK;
}

/* --- configured bounds --- */

static long
max_charge(const struct config *cfg)
{
	return cfg->max_charge_amount;
}

static long
max_balance(const struct config *cfg)
{
	return cfg->max_balance;
}

/* --- answers to a refusal --- */

/* 400 naming the field: VALIDATION_ERROR, MISSING_FIELD, or the row's own
 * status and code for a value out of range. */
static void
reject_field(const struct param_def *d, enum param_fault f, const char *what,
    struct http_resp *w)
{
	int status = 400;
	const char *code = "VALIDATION_ERROR";

	if (f == PF_MISSING)
		code = "MISSING_FIELD";
	else if (f == PF_RANGE && d->range_status != 0) {
		status = d->range_status;
		code = d->range_code;
	}
	http_error(w, status, code, "'%s' %s", d->name, what);
	http_error_detail(w, "field", json_object_new_string(d->name));
}

/* A queue token is a credential: every refusal is a 401 (the client must
 * get a token, not fix a field), and the message does not echo the field
 * back beyond "token is malformed". */
static void
reject_token(const struct param_def *d, enum param_fault f, const char *what,
    struct http_resp *w)
{
	if (f == PF_MISSING) {
		http_error(w, 401, "TOKEN_REQUIRED",
		    "a queue token is required (body 'token', header "
		    "'X-Queue-Token' or 'Authorization: Bearer')");
		return;
	}
	/* Not a credential problem: the client must move it, so a 400. */
	if (f == PF_IN_QUERY) {
		http_error(w, 400, "TOKEN_IN_QUERY",
		    "the queue token %s; send it as 'Authorization: Bearer' "
		    "or body 'token'", what);
		return;
	}
	http_error(w, 401, "TOKEN_INVALID", "%s %s", d->name,
	    f == PF_TYPE || f == PF_INVALID ? what : "is malformed");
}

/* The parameters.  A new one is a row here and a key in validate.h; the
 * router's rows say which routes take it. */
const struct param_def validate_params_table[P__MAX] = {
	[P_USER_ID] = { .name = "userId", .sources = PSRC_BODY | PSRC_QUERY,
	    .maxlen = PARAM_MAXLEN, .check = check_uuid,
	    .reject = reject_field },
	[P_DATE] = { .name = "date", .sources = PSRC_BODY | PSRC_QUERY,
	    .maxlen = PARAM_MAXLEN, .check = check_date,
	    .reject = reject_field },
	[P_SEAT_NUMBER] = { .name = "seatNumber",
	    .sources = PSRC_BODY | PSRC_QUERY, .json_int = 1,
	    .maxlen = PARAM_MAXLEN, .check = check_int, .min = 1,
	    .max = 1000000, .reject = reject_field },
	[P_TOKEN] = { .name = "token",
	    .sources = PSRC_BODY | PSRC_BEARER | PSRC_QUEUE_HEADER |
	    PSRC_QUERY_ROUTE,
	    .maxlen = PARAM_MAXLEN, .check = check_token,
	    .reject = reject_token },
	[P_AMOUNT] = { .name = "amount", .sources = PSRC_BODY | PSRC_QUERY,
	    .json_int = 1, .maxlen = PARAM_MAXLEN, .check = check_int,
	    .min = 1, .max_of = max_balance, .range_status = 422,
	    .range_code = "INVALID_AMOUNT", .reject = reject_field },
	[P_RESERVATION_ID] = { .name = "reservationId",
	    .sources = PSRC_BODY | PSRC_QUERY, .maxlen = PARAM_MAXLEN,
	    .check = check_uuid, .reject = reject_field },
	[P_CHARGE_AMOUNT] = { .name = "amount",
	    .sources = PSRC_BODY | PSRC_QUERY, .json_int = 1,
	    .maxlen = PARAM_MAXLEN, .check = check_int, .min = 1,
	    .max_of = max_charge, .range_status = 422,
	    .range_code = "INVALID_AMOUNT", .reject = reject_field },
	[P_PATH_RESERVATION_ID] = { .name = "reservationId",
	    .sources = PSRC_PATH, .maxlen = PARAM_MAXLEN,
	    .check = check_uuid, .reject = reject_field },
	[P_LIMIT] = { .name = "limit", .sources = PSRC_BODY | PSRC_QUERY,
	    .json_int = 1,
	    .maxlen = PARAM_MAXLEN, .check = check_int, .min = 1, .max = 100,
	    .reject = reject_field },
	[P_CURSOR] = { .name = "cursor", .sources = PSRC_BODY | PSRC_QUERY,
	    .maxlen = PARAM_MAXLEN, .check = check_cursor,
	    .reject = reject_field },
	/* A concert id fits the 2 bytes a queue token gives it (qtoken.h). */
	[P_CONCERT_ID] = { .name = "concertId",
	    .sources = PSRC_BODY | PSRC_QUERY, .json_int = 1,
	    .maxlen = PARAM_MAXLEN, .check = check_int, .min = 1,
	    .max = 65535, .reject = reject_field },
	[P_SECTION] = { .name = "section", .sources = PSRC_BODY | PSRC_QUERY,
	    .maxlen = 16, .check = check_section, .reject = reject_field },
};

/* --- the engine --- */

/* Answer a refusal through the row (the range message names the bounds
 * in force).  Returns -1. */
static int
refuse(const struct param_def *d, enum param_fault f, const char *what,
    long long max, struct http_resp *w)
{
	char range[80];

	if (f == PF_RANGE) {
		snprintf(range, sizeof(range), "must be between %lld and %lld",
		    d->min, max);
		what = range;
	}
	d->reject(d, f, what, w);
	return -1;
}

/* Run the row's check on text s.  0 / -1 with w set. */
static int
take_text(const struct param_def *d, const char *s, long long max,
    struct param_val *v, struct http_resp *w)
{
	const char *what = "is invalid";
	int f;

	if (strlen(s) > d->maxlen)
		return refuse(d, PF_LONG, "is too long", max, w);
	if ((f = d->check(d, s, max, v, &what)) != PF_OK)
		return refuse(d, (enum param_fault)f, what, max, w);
	v->present = 1;
	return 0;
}

/* A JSON member: the row's JSON type, then the same check as text. */
static int
take_json(const struct param_def *d, json_object *j, long long max,
    struct param_val *v, struct http_resp *w)
{
	char buf[32];

	if (d->json_int) {
		long long x;

		if (!json_object_is_type(j, json_type_int))
			return refuse(d, PF_TYPE, "must be an integer", max, w);
		errno = 0;
		x = (long long)json_object_get_int64(j);
		if (errno == ERANGE)    /* beyond 64 bits: out of any range */
			return refuse(d, PF_RANGE, NULL, max, w);
		snprintf(buf, sizeof(buf), "%lld", x);
		return take_text(d, buf, max, v, w);
	}
	if (!json_object_is_type(j, json_type_string))
		return refuse(d, PF_TYPE, "must be a string", max, w);
	/* "\u0000" is legal JSON; a C string would silently stop there and
	 * accept "2026-11-28\u0000junk" as a date (or a token with a tail). */
	if (strlen(json_object_get_string(j)) !=
	    (size_t)json_object_get_string_len(j))
		return refuse(d, PF_NUL, "must not contain NUL characters", max,
		    w);
	return take_text(d, json_object_get_string(j), max, v, w);
}

int
validate_params(const struct http_req *r, unsigned want, unsigned required,
    unsigned query, const struct config *cfg, struct params *out,
    struct http_resp *w)
{
	char qbuf[PARAM_MAXLEN + 1];
	int k;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < P__MAX; k++) {
		const struct param_def *d = &validate_params_table[k];
		long long max = d->max_of != NULL ? d->max_of(cfg) : d->max;
		struct param_val *v = &out->v[k], spare;
		json_object *j = NULL;
		const char *bearer, *hdr;
		int qn, in_query;

		if (!(want & PBIT(k)))
			continue;
		in_query = (d->sources & PSRC_QUERY) ||
		    ((d->sources & PSRC_QUERY_ROUTE) && (query & PBIT(k)));
		qn = (d->sources & (PSRC_QUERY | PSRC_QUERY_ROUTE)) ?
		    http_query_get(r->query, d->name, qbuf, d->maxlen + 1) : -1;
		/* Refused before any other source is read: a header must not
		 * make the request acceptable. */
		if (qn != -1 && !in_query)
			return refuse(d, PF_IN_QUERY,
			    "must not be sent in the query string", max, w);
		/* The first source that has it fills v; any later one is
		 * checked into spare and dropped. */
		if ((d->sources & PSRC_PATH) &&
		    strcmp(r->path_name, d->name) == 0 &&
		    take_text(d, r->path_value, max, v, w) == -1)
			return -1;
		if ((d->sources & PSRC_BODY) && r->json != NULL &&
		    json_object_object_get_ex(r->json, d->name, &j) &&
		    !json_object_is_type(j, json_type_null) &&
		    take_json(d, j, max, v, w) == -1)
			return -1;
		if ((d->sources & PSRC_BEARER) &&
		    cfg->auth != CONFIG_AUTH_JWT &&
		    (bearer = http_bearer(r->authorization)) != NULL &&
		    take_text(d, bearer, max, v->present ? &spare : v, w) == -1)
			return -1;
		if ((d->sources & PSRC_QUEUE_HEADER) &&
		    (hdr = r->queue_token) != NULL &&
		    take_text(d, hdr, max, v->present ? &spare : v, w) == -1)
			return -1;
		if (qn == -2)
			return refuse(d, PF_QUERY, "is malformed or too long",
			    max, w);
		if (qn >= 0 &&
		    take_text(d, qbuf, max, v->present ? &spare : v, w) == -1)
			return -1;
		if (!v->present && (required & PBIT(k)))
			return refuse(d, PF_MISSING, "is required", max, w);
	}
	return 0;
}
