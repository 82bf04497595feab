/*
 * router: see router.h.  HEAD is served by the GET route.  Matching is a
 * scan of the table (a few dozen rows): exact rows first, then patterns.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

#define V1 "/api/v1"

const struct route router_table[] = {
	{ HTTP_GET, V1 "/ping", api_ping, 0, 0, 0, "ping" },
	{ HTTP_GET, V1 "/health", api_health, 0, 0, 0, "health" },
	{ HTTP_GET, V1 "/status", api_status, 0, 0, 0, "status" },
	/* Outside /api/v1: where Prometheus looks by default. */
	{ HTTP_GET, "/metrics", api_metrics, 0, 0, 0, "metrics" },
	{ HTTP_POST, V1 "/token", api_token_issue,
	    ROUTE_TX | ROUTE_IDEMPOTENT | ROUTE_USER,
	    PBIT(P_USER_ID) | PBIT(P_CONCERT_ID), PBIT(P_USER_ID),
	    "token_issue" },
	/* The one route that takes ?token=: polling from a client that
	 * cannot set a header (EventSource, <img>). */
	{ HTTP_GET, V1 "/token", api_token_get,
	    ROUTE_QUERY_CREDENTIALS | ROUTE_USER,
	    PBIT(P_TOKEN), PBIT(P_TOKEN), "token_get" },
	{ HTTP_DELETE, V1 "/token", api_token_release, ROUTE_TX | ROUTE_USER,
	    PBIT(P_TOKEN), PBIT(P_TOKEN), "token_release" },
	{ HTTP_GET, V1 "/concerts", api_concerts, 0, 0, 0, "concerts" },
	{ HTTP_GET, V1 "/reservations/dates", api_dates, 0,
	    PBIT(P_CONCERT_ID), 0, "dates" },
	{ HTTP_GET, V1 "/reservations/seats", api_seats, 0,
	    PBIT(P_DATE) | PBIT(P_CONCERT_ID) | PBIT(P_SECTION), PBIT(P_DATE),
	    "seats" },
	{ HTTP_GET, V1 "/reservations/summary", api_seat_summary, 0,
	    PBIT(P_DATE) | PBIT(P_CONCERT_ID), PBIT(P_DATE), "seat_summary" },
	{ HTTP_POST, V1 "/reservations", api_hold,
	    ROUTE_TX | ROUTE_IDEMPOTENT | ROUTE_USER,
	    PBIT(P_DATE) | PBIT(P_SEAT_NUMBER) | PBIT(P_TOKEN) |
	    PBIT(P_CONCERT_ID),
	    PBIT(P_DATE) | PBIT(P_SEAT_NUMBER) | PBIT(P_TOKEN), "hold" },
	{ HTTP_POST, V1 "/balance", api_charge,
	    ROUTE_TX | ROUTE_IDEMPOTENT | ROUTE_USER,
	    PBIT(P_USER_ID) | PBIT(P_CHARGE_AMOUNT),
	    PBIT(P_USER_ID) | PBIT(P_CHARGE_AMOUNT), "charge" },
	{ HTTP_GET, V1 "/balance", api_balance, ROUTE_USER,
	    PBIT(P_USER_ID), PBIT(P_USER_ID), "balance" },
	{ HTTP_POST, V1 "/payments", api_pay,
	    ROUTE_TX | ROUTE_IDEMPOTENT | ROUTE_USER,
	    PBIT(P_RESERVATION_ID) | PBIT(P_AMOUNT) | PBIT(P_TOKEN),
	    PBIT(P_RESERVATION_ID) | PBIT(P_AMOUNT) | PBIT(P_TOKEN), "pay" },
	/* After the hold (api_booking.c): the caller is userId (auth = jwt:
	 * the token's sub); another user's reservation is answered 404, like
	 * one that does not exist. */
	{ HTTP_GET, V1 "/reservations", api_res_list, ROUTE_USER,
	    PBIT(P_USER_ID) | PBIT(P_LIMIT) | PBIT(P_CURSOR),
	    PBIT(P_USER_ID), "reservation_list" },
	{ HTTP_GET, V1 "/reservations/{reservationId}", api_res_get, ROUTE_USER,
	    PBIT(P_PATH_RESERVATION_ID) | PBIT(P_USER_ID),
	    PBIT(P_PATH_RESERVATION_ID) | PBIT(P_USER_ID), "reservation_get" },
	{ HTTP_DELETE, V1 "/reservations/{reservationId}", api_res_release,
	    ROUTE_TX | ROUTE_USER, PBIT(P_PATH_RESERVATION_ID) | PBIT(P_USER_ID),
	    PBIT(P_PATH_RESERVATION_ID) | PBIT(P_USER_ID),
	    "reservation_release" },
	{ HTTP_POST, V1 "/reservations/{reservationId}/cancel", api_res_cancel,
	    ROUTE_TX | ROUTE_IDEMPOTENT | ROUTE_USER,
	    PBIT(P_PATH_RESERVATION_ID) | PBIT(P_USER_ID),
	    PBIT(P_PATH_RESERVATION_ID) | PBIT(P_USER_ID),
	    "reservation_cancel" },
	{ HTTP_GET, V1 "/payments", api_pay_list, ROUTE_USER,
	    PBIT(P_USER_ID) | PBIT(P_LIMIT) | PBIT(P_CURSOR),
	    PBIT(P_USER_ID), "payment_list" },
};

const int router_count = (int)(sizeof(router_table) / sizeof(router_table[0]));

const char *
router_name(int idx)
{
	if (idx >= 0 && idx < router_count)
		return router_table[idx].name;
	return idx == router_count ? "unmatched" : "-";
}

int
router_is_pattern(const char *path)
{
	return strchr(path, '{') != NULL;
}

/* Copy len bytes of s into dst (size bytes), cut to fit. */
static void
copy_cut(char *dst, size_t size, const char *s, size_t len)
{
	if (size == 0)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/*
 * Does path match pattern pat?  A "{name}" segment of pat matches one
 * non-empty segment of path; everything else must be equal.  On a match,
 * the name and the segment's text are copied out (when the buffers are
 * there).  1 / 0.
 */
static int
match_pattern(const char *pat, const char *path, char *name, size_t namelen,
    char *value, size_t valuelen)
{
	const char *close, *end;

	while (*pat != '\0') {
		if (*pat != '{') {
			if (*pat != *path)
				return 0;
			pat++;
			path++;
			continue;
		}
		if ((close = strchr(pat, '}')) == NULL)
			return 0;       /* a malformed row never matches */
		end = path + strcspn(path, "/");
		if (end == path)
			return 0;
		if (name != NULL)
			copy_cut(name, namelen, pat + 1, (size_t)(close - pat - 1));
		if (value != NULL)
			copy_cut(value, valuelen, path, (size_t)(end - path));
		pat = close + 1;
		path = end;
	}
	return *path == '\0';
}

const struct route *
router_match(enum http_method m, const char *path, char *name,
    size_t namelen, char *value, size_t valuelen, int *status, char *allow,
    size_t allowlen)
{
	int i, pass, path_seen = 0;
	size_t n = 0;

	if (m == HTTP_HEAD)
		m = HTTP_GET;
	allow[0] = '\0';
	if (name != NULL && namelen > 0)
		name[0] = '\0';
	if (value != NULL && valuelen > 0)
		value[0] = '\0';
	/* Pass 0: exact rows; pass 1, only when no exact row has the path:
	 * patterns.  (Allow lists one path's methods, never a mix.) */
	for (pass = 0; pass < 2 && !path_seen; pass++) {
		for (i = 0; i < router_count; i++) {
			const struct route *rt = &router_table[i];

			if (router_is_pattern(rt->path) != pass)
				continue;
			if (pass == 0 ? strcmp(rt->path, path) != 0 :
			    !match_pattern(rt->path, path, NULL, 0, NULL, 0))
				continue;
			if (rt->method == m) {
				if (pass == 1)
					match_pattern(rt->path, path, name,
					    namelen, value, valuelen);
				return rt;
			}
			path_seen = 1;
			n += (size_t)snprintf(allow + n,
			    n < allowlen ? allowlen - n : 0, "%s%s",
			    n ? ", " : "", http_method_name(rt->method));
			if (n >= allowlen)
				n = allowlen - 1;
		}
	}
	*status = path_seen ? 405 : 404;
	return NULL;
}

const struct route *
router_find(enum http_method m, const char *path, int *status, char *allow,
    size_t allowlen)
{
	return router_match(m, path, NULL, 0, NULL, 0, status, allow,
	    allowlen);
}
