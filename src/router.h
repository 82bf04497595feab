/*
 * router: the route table (method + exact path -> handler, parameters,
 * flags).  The table is also what tests compare the OpenAPI file with.
 */
#ifndef CONCERT_ROUTER_H
#define CONCERT_ROUTER_H

#include "api.h"
#include "http.h"

enum route_flags {
	ROUTE_TX = 1 << 0,          /* run inside one transaction */
	ROUTE_IDEMPOTENT = 1 << 1,  /* honours Idempotency-Key */
};

struct route {
	enum http_method method;
	const char *path;
	api_handler fn;
	unsigned flags;
	unsigned want;              /* PBIT mask of parameters taken */
	unsigned required;          /* PBIT mask of parameters required */
	const char *name;           /* short name for logs and metrics */
};

extern const struct route router_table[];
extern const int router_count;

/*
 * Find the route for method + path.  Returns it, or NULL with *status set
 * to 404 (no such path) or 405 (path exists, method doesn't; allow gets
 * the "GET, POST" list).
 */
const struct route *router_find(enum http_method m, const char *path,
    int *status, char *allow, size_t allowlen);

#endif
