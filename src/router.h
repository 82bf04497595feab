/*
 * router: the route table (method + path -> handler, parameters, flags).
 * The table is also what tests compare the OpenAPI file with.
 *
 * A path is exact ("/api/v1/token") or a pattern with one "{name}"
 * segment ("/api/v1/reservations/{reservationId}/cancel", OpenAPI's
 * notation).  The segment matches any non-empty text without '/'; the
 * text becomes the request's path parameter (r->path_name, r->path_value),
 * which validate.c's row of that name (source PSRC_PATH) checks like any
 * other input.  An exact path wins over every pattern: a request for
 * /reservations/dates is never a reservation id.
 */
#ifndef CONCERT_ROUTER_H
#define CONCERT_ROUTER_H

#include "api.h"
#include "http.h"

enum route_flags {
	ROUTE_TX = 1 << 0,          /* run inside one transaction */
	ROUTE_IDEMPOTENT = 1 << 1,  /* honours Idempotency-Key */
	/* Its parameters whose row says PSRC_QUERY_ROUTE (credentials) may
	 * come in the query string too: only for a client that cannot send
	 * a header or a body.  Elsewhere they are refused there. */
	ROUTE_QUERY_CREDENTIALS = 1 << 2,
	/* Acts for one user (auth.h): under auth = jwt it needs the
	 * caller's bearer JWT, and its userId is the JWT's subject. */
	ROUTE_USER = 1 << 3,
};

/* The query mask validate_params() takes for route rt. */
#define ROUTE_QUERY_MASK(rt) \
	(((rt)->flags & ROUTE_QUERY_CREDENTIALS) ? (rt)->want : 0u)

struct route {
	enum http_method method;
	const char *path;
	api_handler fn;
	unsigned flags;
	unsigned want;              /* PBIT mask of parameters taken */
	unsigned required;          /* PBIT mask of parameters required */
	const char *name;           /* short name for logs and metrics */
};

/*
 * Invariants (tests/unit/test_router.c): no two rows share method and
 * path; every row has a handler and a name; names are unique, and none is
 * "unmatched" or "-"; required is a subset of want.  A route's index in
 * the table is its number in the scoreboard and the metrics.
 */
extern const struct route router_table[];
extern const int router_count;

/* The name of route index idx for logs and metrics: the row's name,
 * "unmatched" for router_count (no route matched), "-" for anything else
 * (-1: no request yet). */
const char *router_name(int idx);

/*
 * Find the route for method + path.  Returns it, or NULL with *status set
 * to 404 (no such path) or 405 (path exists, method doesn't; allow gets
 * the "GET, POST" list).
 */
const struct route *router_find(enum http_method m, const char *path,
    int *status, char *allow, size_t allowlen);

/*
 * router_find(), and the text of the route's "{name}" segment: name
 * (without the braces) into name, the text into value (both "" for an
 * exact route or no route).  A name or text longer than its buffer is cut
 * to length, so that its validation row refuses it as too long.
 */
const struct route *router_match(enum http_method m, const char *path,
    char *name, size_t namelen, char *value, size_t valuelen, int *status,
    char *allow, size_t allowlen);

/* 1 if path (a table row's) has a "{name}" segment. */
int router_is_pattern(const char *path);

#endif
