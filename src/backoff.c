/*
 * backoff: see backoff.h.
 */
#include "backoff.h"

void
backoff_fail(struct backoff *b, int64_t now_ms)
{
	b->delay_ms = b->delay_ms == 0 ? b->min_ms : b->delay_ms * 2;
	if (b->delay_ms > b->max_ms)
		b->delay_ms = b->max_ms;
	b->until_ms = now_ms + b->delay_ms;
}

void
backoff_reset(struct backoff *b)
{
	b->delay_ms = 0;
	b->until_ms = 0;
}

int
backoff_waiting(const struct backoff *b, int64_t now_ms)
{
	return now_ms < b->until_ms;
}
