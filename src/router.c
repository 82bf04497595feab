/*
 * router: see router.h.  HEAD is served by the GET route.
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
	{ HTTP_POST, V1 "/token", api_token_issue, ROUTE_TX | ROUTE_IDEMPOTENT,
	    PBIT(P_USER_ID) | PBIT(P_CONCERT_ID), PBIT(P_USER_ID),
	    "token_issue" },
	/* The one route that takes ?token=: polling from a client that
	 * cannot set a header (EventSource, <img>). */
	{ HTTP_GET, V1 "/token", api_token_get, ROUTE_QUERY_CREDENTIALS,
	    PBIT(P_TOKEN), PBIT(P_TOKEN), "token_get" },
	{ HTTP_DELETE, V1 "/token", api_token_release, ROUTE_TX,
	    PBIT(P_TOKEN), PBIT(P_TOKEN), "token_release" },
	{ HTTP_GET, V1 "/concerts", api_concerts, 0, 0, 0, "concerts" },
	{ HTTP_GET, V1 "/reservations/dates", api_dates, 0,
	    PBIT(P_CONCERT_ID), 0, "dates" },
	{ HTTP_GET, V1 "/reservations/seats", api_seats, 0,
	    PBIT(P_DATE) | PBIT(P_CONCERT_ID) | PBIT(P_SECTION), PBIT(P_DATE),
	    "seats" },
	{ HTTP_GET, V1 "/reservations/summary", api_seat_summary, 0,
	    PBIT(P_DATE) | PBIT(P_CONCERT_ID), PBIT(P_DATE), "seat_summary" },
	{ HTTP_POST, V1 "/reservations", api_hold, ROUTE_TX | ROUTE_IDEMPOTENT,
	    PBIT(P_DATE) | PBIT(P_SEAT_NUMBER) | PBIT(P_TOKEN) |
	    PBIT(P_CONCERT_ID),
	    PBIT(P_DATE) | PBIT(P_SEAT_NUMBER) | PBIT(P_TOKEN), "hold" },
	{ HTTP_POST, V1 "/balance", api_charge, ROUTE_TX | ROUTE_IDEMPOTENT,
	    PBIT(P_USER_ID) | PBIT(P_CHARGE_AMOUNT),
	    PBIT(P_USER_ID) | PBIT(P_CHARGE_AMOUNT), "charge" },
	{ HTTP_GET, V1 "/balance", api_balance, 0,
	    PBIT(P_USER_ID), PBIT(P_USER_ID), "balance" },
	{ HTTP_POST, V1 "/payments", api_pay, ROUTE_TX | ROUTE_IDEMPOTENT,
	    PBIT(P_RESERVATION_ID) | PBIT(P_AMOUNT) | PBIT(P_TOKEN),
	    PBIT(P_RESERVATION_ID) | PBIT(P_AMOUNT) | PBIT(P_TOKEN), "pay" },
};

const int router_count = (int)(sizeof(router_table) / sizeof(router_table[0]));

const char *
router_name(int idx)
{
	if (idx >= 0 && idx < router_count)
		return router_table[idx].name;
	return idx == router_count ? "unmatched" : "-";
}

const struct route *
router_find(enum http_method m, const char *path, int *status, char *allow,
    size_t allowlen)
{
	int i, path_seen = 0;
	size_t n = 0;

	if (m == HTTP_HEAD)
		m = HTTP_GET;
	allow[0] = '\0';
	for (i = 0; i < router_count; i++) {
		const struct route *rt = &router_table[i];

		if (strcmp(rt->path, path) != 0)
			continue;
		if (rt->method == m)
			return rt;
		path_seen = 1;
		n += (size_t)snprintf(allow + n, n < allowlen ? allowlen - n : 0,
		    "%s%s", n ? ", " : "", http_method_name(rt->method));
		if (n >= allowlen)
			n = allowlen - 1;
	}
	*status = path_seen ? 405 : 404;
	return NULL;
}
