/*
 * validate: the declarative table of request parameters.  Every route
 * names the parameters it takes; validate_params() checks and converts
 * them (JSON body, query string, Authorization header) before any handler
 * runs, so handlers only ever see well-formed, bounded values.
 */
#ifndef CONCERT_VALIDATE_H
#define CONCERT_VALIDATE_H

#include "http.h"

enum param_key {
	P_USER_ID, P_DATE, P_SEAT_NUMBER, P_TOKEN, P_AMOUNT, P_RESERVATION_ID,
	P__MAX
};

#define PBIT(k) (1u << (k))

enum param_type { PT_UUID, PT_DATE, PT_INT, PT_TOKEN };

struct param_def {
	const char *name;        /* JSON / query name */
	enum param_type type;
	long long min, max;      /* PT_INT bounds (max 0: use the limit) */
};

extern const struct param_def validate_params_table[P__MAX];

struct param_val {
	int present;
	long long i;
	unsigned char u[16];     /* PT_UUID, PT_TOKEN */
	char s[40];              /* canonical text (date, uuid) */
};

struct params {
	struct param_val v[P__MAX];
};

/*
 * Parse the body of r into r->json when there is one.  POST/PUT/PATCH need
 * Content-Type application/json (415) and a JSON object (400 INVALID_JSON);
 * a GET may carry a JSON body too.  Returns 0, or -1 with w set.
 */
int validate_body(struct http_req *r, struct http_resp *w);

/*
 * Check and convert the parameters of mask `want` (PBIT set); those in
 * `required` must be present.  amount_max bounds P_AMOUNT.  Sources: the
 * JSON body, then the query string; P_TOKEN also "Authorization: Bearer".
 * Returns 0, or -1 with w set to a 4xx error naming the field.
 */
int validate_params(const struct http_req *r, unsigned want,
    unsigned required, long long amount_max, struct params *out,
    struct http_resp *w);

#endif
