/* Unit tests: pm, the dynamic pool's decision, and the pm config keys. */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "pm.h"

static const struct pm_conf dyn = {
	.mode = PM_DYNAMIC, .workers = 4, .min_spare = 2, .max_spare = 6,
	.max_children = 20,
};

static struct pm_action
decide(const struct pm_conf *c, long current, long idle, long *rate)
{
	struct pm_counts n = { current, idle };
	struct pm_action a;

	pm_decide(c, &n, rate, &a);
	return a;
}

Test(pm, static_pool_never_acts)
{
	struct pm_conf c = dyn;
	struct pm_action a;
	long rate = 1;

	c.mode = PM_STATIC;
	a = decide(&c, 4, 0, &rate);
	cr_assert_eq(a.spawn, 0);
	cr_assert_eq(a.retire, 0);
	a = decide(&c, 4, 4, &rate);
	cr_assert_eq(a.spawn + a.retire, 0);
}

Test(pm, idle_between_the_spares_is_left_alone)
{
	long rate = 1, idle;

	for (idle = dyn.min_spare; idle <= dyn.max_spare; idle++) {
		struct pm_action a = decide(&dyn, 10, idle, &rate);

		cr_assert_eq(a.spawn, 0, "idle %ld", idle);
		cr_assert_eq(a.retire, 0, "idle %ld", idle);
		cr_assert_eq(a.limited, 0);
	}
}

Test(pm, shortage_spawns_at_a_rate_doubling_to_the_cap)
{
	struct pm_conf c = dyn;
	long rate = 1, expect[] = { 1, 2, 4, 8, 8, 8 };
	size_t i;

	c.min_spare = 100;
	c.max_spare = 200;
	c.max_children = 1000;
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		struct pm_action a = decide(&c, 10, 0, &rate);

		cr_assert_eq(a.spawn, expect[i], "tick %zu: %ld", i, a.spawn);
		cr_assert_eq(a.retire, 0);
	}
	cr_assert_eq(PM_SPAWN_RATE_MAX, 8);
}

Test(pm, spawns_no_more_than_the_missing_spares)
{
	long rate = 8;
	struct pm_action a = decide(&dyn, 10, 1, &rate);

	cr_assert_eq(a.spawn, 1);     /* min_spare 2, idle 1 */
}

Test(pm, spawn_stops_at_max_children_and_says_so)
{
	long rate = 8;
	struct pm_action a = decide(&dyn, 18, 0, &rate);

	cr_assert_eq(a.spawn, 2);     /* 18 + 2 = max_children: no limit hit */
	cr_assert_eq(a.limited, 0);
	a = decide(&dyn, 19, 0, &rate);
	cr_assert_eq(a.spawn, 1);     /* wanted 2, room for 1 */
	cr_assert_eq(a.limited, 1);
	a = decide(&dyn, 20, 0, &rate);
	cr_assert_eq(a.spawn, 0);
	cr_assert_eq(a.limited, 1);
	cr_assert_eq(rate, 1);
}

Test(pm, rate_resets_once_the_shortage_is_over)
{
	long rate = 1;

	decide(&dyn, 4, 0, &rate);
	decide(&dyn, 5, 0, &rate);
	cr_assert_eq(rate, 4);
	decide(&dyn, 8, 3, &rate);
	cr_assert_eq(rate, 1);
	cr_assert_eq(decide(&dyn, 8, 0, &rate).spawn, 1);
}

Test(pm, too_many_idle_retires_one_per_decision)
{
	long rate = 1;
	struct pm_action a = decide(&dyn, 20, 20, &rate);

	cr_assert_eq(a.retire, 1);
	cr_assert_eq(a.spawn, 0);
	cr_assert_eq(decide(&dyn, 7, dyn.max_spare + 1, &rate).retire, 1);
}

Test(pm, never_retires_the_last_worker)
{
	struct pm_conf c = dyn;
	long rate = 1;

	c.min_spare = 0;
	c.max_spare = 0;
	cr_assert_eq(decide(&c, 2, 2, &rate).retire, 1);
	cr_assert_eq(decide(&c, 1, 1, &rate).retire, 0);
}

Test(pm, an_empty_pool_gets_one_worker)
{
	struct pm_conf c = dyn;
	long rate = 1;

	c.min_spare = 0;
	cr_assert_eq(decide(&c, 0, 0, &rate).spawn, 1);
}

Test(pm, above_max_children_shrinks_one_idle_at_a_time)
{
	struct pm_conf c = dyn;
	long rate = 1;

	c.max_children = 8;            /* a reload lowered it */
	cr_assert_eq(decide(&c, 12, 3, &rate).retire, 1);
	cr_assert_eq(decide(&c, 12, 0, &rate).retire, 0);   /* none idle */
}

Test(pm, mode_names_round_trip)
{
	cr_assert_eq(pm_mode_parse("static"), PM_STATIC);
	cr_assert_eq(pm_mode_parse("dynamic"), PM_DYNAMIC);
	cr_assert_eq(pm_mode_parse("ondemand"), -1);
	cr_assert_str_eq(pm_mode_name(PM_DYNAMIC), "dynamic");
	cr_assert_str_eq(pm_mode_name(PM_STATIC), "static");
}

/* --- config: the pm keys and their combinations --- */

static int
check(const char *pm, long workers, long min, long max, long children,
    char *err, size_t len)
{
	struct config c;
	char kerr[CONFIG_ERR_LEN];

	config_defaults(&c);
	cr_assert_eq(config_set(&c, "pm", pm, kerr, sizeof(kerr)), 0, "%s", kerr);
	c.workers = workers;
	c.pm_min_spare = min;
	c.pm_max_spare = max;
	c.pm_max_children = children;
	err[0] = '\0';
	return config_check(&c, err, len);
}

Test(pm_config, defaults_are_static_and_a_valid_dynamic_pool)
{
	struct config c;
	char err[CONFIG_ERR_LEN];

	config_defaults(&c);
	cr_assert_eq(c.pm, PM_STATIC);
	cr_assert_eq(config_check(&c, err, sizeof(err)), 0);
	cr_assert_eq(config_set(&c, "pm", "dynamic", err, sizeof(err)), 0);
	cr_assert_eq(config_check(&c, err, sizeof(err)), 0, "%s", err);
}

Test(pm_config, unknown_mode_is_refused_naming_the_key)
{
	struct config c;
	char err[CONFIG_ERR_LEN];

	config_defaults(&c);
	cr_assert_eq(config_set(&c, "pm", "ondemand", err, sizeof(err)), -1);
	cr_assert(strstr(err, "'pm'") != NULL, "%s", err);
	cr_assert(strstr(err, "static|dynamic") != NULL, "%s", err);
}

Test(pm_config, min_spare_above_max_spare_is_refused)
{
	char err[CONFIG_ERR_LEN];

	cr_assert_eq(check("dynamic", 4, 9, 8, 64, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'pm_min_spare' (9)") != NULL, "%s", err);
	cr_assert(strchr(err, '\n') == NULL);
}

Test(pm_config, max_children_below_workers_is_refused)
{
	char err[CONFIG_ERR_LEN];

	cr_assert_eq(check("dynamic", 16, 2, 8, 10, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'pm_max_children' (10)") != NULL, "%s", err);
	cr_assert(strstr(err, "'workers' (16)") != NULL, "%s", err);
}

Test(pm_config, max_children_below_min_spare_is_refused)
{
	char err[CONFIG_ERR_LEN];

	cr_assert_eq(check("dynamic", 2, 6, 8, 4, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'pm_max_children' (4)") != NULL, "%s", err);
}

Test(pm_config, static_pool_ignores_the_pm_keys)
{
	char err[CONFIG_ERR_LEN];

	cr_assert_eq(check("static", 16, 9, 8, 10, err, sizeof(err)), 0);
}
