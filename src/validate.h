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
	P_USER_ID, P_DATE, P_SEAT_NUMBER, P_TOKEN,
	P_AMOUNT,            /* a payment: bounded by max_balance */
	P_RESERVATION_ID,
	P_CHARGE_AMOUNT,     /* a top-up: bounded by max_charge_amount */
	P_PATH_RESERVATION_ID, /* /reservations/{reservationId} */
	P_LIMIT,             /* page size of a list */
	P_CURSOR,            /* where a list's next page starts */
	P_CONCERT_ID,        /* optional everywhere: absent = concert 1 */
	P_SECTION,           /* a seat section of a venue */
	P__MAX
};

#define PBIT(k) (1u << (k))

/*
 * Where a parameter may come from, tried in this order: the first source
 * that has it gives the value, and every other source that has it must
 * pass the same check (a malformed value is never silently ignored).
 */
enum param_source {
	PSRC_BODY = 1 << 0,      /* member of the JSON body */
	PSRC_BEARER = 1 << 1,    /* "Authorization: Bearer <value>"; not
	                          * under auth = jwt, where Bearer carries
	                          * the caller's JWT (auth.h) */
	PSRC_QUERY = 1 << 2,     /* the query string */
	/* The query string only on a route whose query mask names the
	 * parameter (a client that cannot send a header or a body); on any
	 * other route its presence there is refused (PF_IN_QUERY).  For
	 * credentials: a URL ends up in logs, history and Referer headers. */
	PSRC_QUERY_ROUTE = 1 << 3,
	/* The route pattern's "{name}" segment of the same name (router.h):
	 * the only source of such a row, so a body or query member of that
	 * name never stands in for the path. */
	PSRC_PATH = 1 << 4,
	PSRC_QUEUE_HEADER = 1 << 5,  /* "X-Queue-Token: <value>" */
};

/* Why a value was refused; a row's reject function turns it into the
 * answer. */
enum param_fault {
	PF_OK = 0,
	PF_TYPE,                 /* JSON value of the wrong type */
	PF_NUL,                  /* JSON string with an embedded NUL */
	PF_LONG,                 /* longer than the row's maxlen */
	PF_QUERY,                /* bad percent-encoding, or too long */
	PF_INVALID,              /* the row's check refused the text */
	PF_RANGE,                /* integer outside [min, max] */
	PF_MISSING,              /* required and absent */
	PF_IN_QUERY,             /* in the query string of a route that
	                          * does not take it from there */
};

/* Longest text any row accepts (the query buffer's size). */
#define PARAM_MAXLEN 64

struct param_val;
struct config;

/*
 * One row per parameter, carrying its own behaviour (kcgi's struct
 * kvalid): the engine, validate_params(), only reads rows and never names
 * a key.
 *
 * check converts the text s into v and returns PF_OK, PF_INVALID (with
 * *what saying what the value must be, e.g. "must be a UUID") or PF_RANGE.
 * reject answers a refusal: f says why, what the text the message ends
 * with ("must be a UUID", "is too long", "must be between 1 and 5").
 */
struct param_def {
	const char *name;        /* JSON member and query name */
	unsigned sources;        /* PSRC_ mask */
	int json_int;            /* the JSON value is a number, not a string */
	size_t maxlen;           /* longest text, <= PARAM_MAXLEN */
	int (*check)(const struct param_def *d, const char *s, long long max,
	    struct param_val *v, const char **what);
	long long min, max;      /* integer bounds (check_int) ... */
	long (*max_of)(const struct config *cfg);  /* ... or max from config */
	int range_status;        /* answer to PF_RANGE (0: 400 VALIDATION_ERROR) */
	const char *range_code;
	void (*reject)(const struct param_def *d, enum param_fault f,
	    const char *what, struct http_resp *w);
};

extern const struct param_def validate_params_table[P__MAX];

struct param_val {
	int present;
	long long i;
	unsigned char u[16];     /* check_uuid, check_token, check_cursor */
	char s[40];              /* canonical text (date, uuid; a cursor's
	                          * time, "YYYY-MM-DD HH:MM:SS.fff") */
};

/*
 * A list cursor: the sort key of the last row of a page, newest first --
 * its created_at as 17 digits (YYYYMMDDHHMMSSmmm) and its id as 32 hex
 * digits.  Opaque to clients (they pass nextCursor back).
 */
#define VALIDATE_CURSOR_LEN 49

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
 * `required` must be present; those in `query` may come from the query
 * string where their row says PSRC_QUERY_ROUTE (the route's own choice).
 * Each row says where its value may come from, how it is checked, its
 * bounds (cfg supplies configured ones) and how a refusal is answered.
 * Returns 0, or -1 with w set to the 4xx answer of the first refused
 * parameter.
 */
int validate_params(const struct http_req *r, unsigned want,
    unsigned required, unsigned query, const struct config *cfg,
    struct params *out, struct http_resp *w);

#endif
