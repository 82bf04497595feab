/*
 * pm: how many workers the pool should have (php-fpm's process manager).
 *
 *   static   the pool is always `workers` workers.
 *   dynamic  the pool starts at `workers`; about once a second the master
 *            counts idle workers and asks pm_decide() what to do: fork
 *            when fewer than pm_min_spare are idle (never beyond
 *            pm_max_children, at a rate that doubles on each consecutive
 *            second of shortage from 1 up to PM_SPAWN_RATE_MAX, php-fpm's
 *            idle spawn rate), retire one idle worker when more than
 *            pm_max_spare are idle.  Never below one worker.
 *
 * The decision is a pure function of counts and configuration, so the
 * master only gathers the counts and carries the action out.
 */
#ifndef CONCERT_PM_H
#define CONCERT_PM_H

enum pm_mode {
	PM_STATIC = 0,
	PM_DYNAMIC
};

/* Largest number of workers forked in one decision (one second). */
#define PM_SPAWN_RATE_MAX 8

/* What pm_decide() needs of the configuration. */
struct pm_conf {
	enum pm_mode mode;
	long workers;         /* static size; dynamic start size */
	long min_spare;
	long max_spare;
	long max_children;
};

/* The pool now: workers of the current generation not told to stop, and
 * how many of them are idle (a worker still starting counts as idle: it
 * will be in a moment, and counting it busy would fork a second one). */
struct pm_counts {
	long current;
	long idle;
};

/* What to do now.  At most one of spawn and retire is non-zero. */
struct pm_action {
	long spawn;           /* fork this many */
	long retire;          /* SIGQUIT this many idle workers */
	int limited;          /* short of spare workers but at pm_max_children */
};

/*
 * Decide one step of the dynamic pool.  *rate is the caller's spawn rate,
 * kept between calls (start it at 1; pm_decide doubles and resets it).
 * A static pool yields no action: the master keeps it at `workers`.
 */
void pm_decide(const struct pm_conf *conf, const struct pm_counts *n,
    long *rate, struct pm_action *act);

/* Index of a mode name ("static", "dynamic"), or -1; for the config key. */
int pm_mode_parse(const char *name);

/* Name of a mode index ("static" for anything unknown). */
const char *pm_mode_name(int mode);

#endif
