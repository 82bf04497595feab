/*
 * validate: see validate.h.
 */
#include "validate.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const struct param_def validate_params_table[P__MAX] = {
	[P_USER_ID]        = { "userId", PT_UUID, 0, 0 },
	[P_DATE]           = { "date", PT_DATE, 0, 0 },
	[P_SEAT_NUMBER]    = { "seatNumber", PT_INT, 1, 1000000 },
	[P_TOKEN]          = { "token", PT_TOKEN, 0, 0 },
	[P_AMOUNT]         = { "amount", PT_INT, 1, 0 },
	[P_RESERVATION_ID] = { "reservationId", PT_UUID, 0, 0 },
};

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

static void
field_error(struct http_resp *w, int status, const char *code,
    const char *field, const char *what)
{
	http_error(w, status, code, "'%s' %s", field, what);
	http_error_detail(w, "field", json_object_new_string(field));
}

/* Convert the text form s of parameter k into v.  0 / -1 with w set. */
static int
convert_text(enum param_key k, const char *s, long long amount_max,
    struct param_val *v, struct http_resp *w)
{
	const struct param_def *d = &validate_params_table[k];
	long long max = d->max ? d->max : amount_max;
	char *end;

	switch (d->type) {
	case PT_UUID:
		if (util_uuid_parse(s, v->u) == -1) {
			field_error(w, 400, "VALIDATION_ERROR", d->name,
			    "must be a UUID");
			return -1;
		}
		util_uuid_format(v->u, v->s);
		break;
	case PT_TOKEN:
		if (util_unhex(s, v->u, 16) == -1) {
			http_error(w, 401, "TOKEN_INVALID",
			    "token is malformed (32 hex characters expected)");
			return -1;
		}
		break;
	case PT_DATE:
		if (util_date_valid(s) == -1) {
			field_error(w, 400, "VALIDATION_ERROR", d->name,
			    "must be a calendar date YYYY-MM-DD");
			return -1;
		}
		memcpy(v->s, s, 11);
		break;
	case PT_INT:
		errno = 0;
		if (s[0] == '\0' || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-'))
			goto notint;
		v->i = strtoll(s, &end, 10);
		if (*end != '\0')
			goto notint;
		if (errno == ERANGE || v->i < d->min || v->i > max)
			goto range;
		break;
	}
	v->present = 1;
	return 0;
notint:
	field_error(w, 400, "VALIDATION_ERROR", d->name, "must be an integer");
	return -1;
range:
	if (k == P_AMOUNT) {
		http_error(w, 422, "INVALID_AMOUNT",
		    "'amount' must be between %lld and %lld", d->min, max);
		http_error_detail(w, "field", json_object_new_string(d->name));
	} else {
		http_error(w, 400, "VALIDATION_ERROR",
		    "'%s' must be between %lld and %lld", d->name, d->min, max);
		http_error_detail(w, "field", json_object_new_string(d->name));
	}
	return -1;
}

static int
convert_json(enum param_key k, json_object *j, long long amount_max,
    struct param_val *v, struct http_resp *w)
{
	const struct param_def *d = &validate_params_table[k];
	char buf[32];

	if (d->type == PT_INT) {
		long long x;

		if (!json_object_is_type(j, json_type_int)) {
			field_error(w, 400, "VALIDATION_ERROR", d->name,
			    "must be an integer");
			return -1;
		}
		errno = 0;
		x = (long long)json_object_get_int64(j);
		if (errno == ERANGE || x == LLONG_MAX || x == LLONG_MIN)
			snprintf(buf, sizeof(buf), "%s", "99999999999999999999");
		else
			snprintf(buf, sizeof(buf), "%lld", x);
		return convert_text(k, buf, amount_max, v, w);
	}
	if (!json_object_is_type(j, json_type_string)) {
		if (d->type == PT_TOKEN) {
			http_error(w, 401, "TOKEN_INVALID", "token must be a string");
			return -1;
		}
		field_error(w, 400, "VALIDATION_ERROR", d->name,
		    "must be a string");
		return -1;
	}
	/* "\u0000" is legal JSON; a C string would silently stop there and
	 * accept "2026-11-28\u0000junk" as a date (or a token with a tail). */
	if (strlen(json_object_get_string(j)) !=
	    (size_t)json_object_get_string_len(j)) {
		if (d->type == PT_TOKEN) {
			http_error(w, 401, "TOKEN_INVALID", "token is malformed");
			return -1;
		}
		field_error(w, 400, "VALIDATION_ERROR", d->name,
		    "must not contain NUL characters");
		return -1;
	}
	if (json_object_get_string_len(j) > 64) {
		if (d->type == PT_TOKEN) {
			http_error(w, 401, "TOKEN_INVALID", "token is malformed");
			return -1;
		}
		field_error(w, 400, "VALIDATION_ERROR", d->name, "is too long");
		return -1;
	}
	return convert_text(k, json_object_get_string(j), amount_max, v, w);
}

int
validate_params(const struct http_req *r, unsigned want, unsigned required,
    long long amount_max, struct params *out, struct http_resp *w)
{
	char qbuf[72];
	int k;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < P__MAX; k++) {
		const struct param_def *d = &validate_params_table[k];
		struct param_val *v = &out->v[k];
		json_object *j = NULL;
		const char *bearer;
		int qn;

		if (!(want & PBIT(k)))
			continue;
		if (r->json != NULL && json_object_object_get_ex(r->json,
		    d->name, &j) && !json_object_is_type(j, json_type_null)) {
			if (convert_json(k, j, amount_max, v, w) == -1)
				return -1;
			continue;
		}
		if (d->type == PT_TOKEN &&
		    (bearer = http_bearer(r->authorization)) != NULL) {
			if (strlen(bearer) > 64 ||
			    convert_text(k, bearer, amount_max, v, w) == -1) {
				if (strlen(bearer) > 64)
					http_error(w, 401, "TOKEN_INVALID",
					    "token is malformed");
				return -1;
			}
			continue;
		}
		qn = http_query_get(r->query, d->name, qbuf, sizeof(qbuf));
		if (qn == -2) {
			if (d->type == PT_TOKEN) {
				http_error(w, 401, "TOKEN_INVALID", "token is malformed");
				return -1;
			}
			field_error(w, 400, "VALIDATION_ERROR", d->name,
			    "is malformed or too long");
			return -1;
		}
		if (qn >= 0) {
			if (convert_text(k, qbuf, amount_max, v, w) == -1)
				return -1;
			continue;
		}
		if (required & PBIT(k)) {
			if (d->type == PT_TOKEN) {
				http_error(w, 401, "TOKEN_REQUIRED",
				    "a queue token is required (body 'token', "
				    "'Authorization: Bearer', or ?token=)");
				return -1;
			}
			field_error(w, 400, "MISSING_FIELD", d->name, "is required");
			return -1;
		}
	}
	return 0;
}
