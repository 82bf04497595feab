/*
 * pm: see pm.h.
 *
 * The shape is php-fpm's fpm_pctl_perform_idle_server_maintenance(): one
 * decision per tick, retiring gently (one per tick) and growing faster the
 * longer the shortage lasts, because a pool that waits on MySQL needs its
 * workers within seconds of an on-sale opening, while an idle worker costs
 * only memory and can wait to be let go.
 */
#include "pm.h"

#include <string.h>

static const char *const pm_names[] = {
	[PM_STATIC] = "static",
	[PM_DYNAMIC] = "dynamic",
};

#define PM_NMODES ((int)(sizeof(pm_names) / sizeof(pm_names[0])))

void
pm_decide(const struct pm_conf *conf, const struct pm_counts *n,
    long *rate, struct pm_action *act)
{
	long want, room;

	memset(act, 0, sizeof(*act));
	if (*rate < 1)
		*rate = 1;
	if (conf->mode != PM_DYNAMIC)
		return;

	if (n->current < 1) {
		/* Never an empty pool, whatever the spare counts say. */
		act->spawn = 1;
		return;
	}
	if (n->idle < conf->min_spare) {
		room = conf->max_children - n->current;
		if (room <= 0) {
			act->limited = 1;
			*rate = 1;
			return;
		}
		want = conf->min_spare - n->idle;
		if (want > *rate)
			want = *rate;
		if (want > room) {
			want = room;
			act->limited = 1;
		}
		act->spawn = want;
		if (*rate < PM_SPAWN_RATE_MAX)
			*rate *= 2;
		return;
	}
	*rate = 1;
	/* Shrink one a tick: past pm_max_children (a reload lowered it) or
	 * past pm_max_spare idle ones; the last worker always stays. */
	if (n->current > 1 && n->idle > 0 &&
	    (n->idle > conf->max_spare || n->current > conf->max_children))
		act->retire = 1;
}

int
pm_mode_parse(const char *name)
{
	int i;

	for (i = 0; i < PM_NMODES; i++)
		if (strcmp(pm_names[i], name) == 0)
			return i;
	return -1;
}

const char *
pm_mode_name(int mode)
{
	return mode >= 0 && mode < PM_NMODES ? pm_names[mode] : pm_names[0];
}
