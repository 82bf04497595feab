/* Unit tests: log (levels, names, reopen after rotation). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char dir[64], path[128], rotated[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/concert-log-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/x.log.1", dir);
}

static void
teardown(void)
{
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

TestSuite(log, .init = setup, .fini = teardown);

static char *
slurp(const char *p)
{
	static char buf[8192];
	FILE *fp = fopen(p, "r");
	size_t n;

	buf[0] = '\0';
	if (fp == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

Test(log, level_names_round_trip)
{
	cr_assert_eq(log_level_parse("error"), LOG_LVL_ERROR);
	cr_assert_eq(log_level_parse("warn"), LOG_LVL_WARN);
	cr_assert_eq(log_level_parse("info"), LOG_LVL_INFO);
	cr_assert_eq(log_level_parse("debug"), LOG_LVL_DEBUG);
	cr_assert_eq(log_level_parse("DEBUG"), -1);
	cr_assert_eq(log_level_parse(""), -1);
	cr_assert_str_eq(log_level_name(LOG_LVL_WARN), "warn");
	cr_assert_str_eq(log_level_name(LOG_LVL__MAX), "unknown");
	cr_assert_str_eq(log_level_name(-1), "unknown");
}

Test(log, lines_below_the_level_are_dropped)
{
	cr_assert_eq(log_open(path, "t"), 0);
	log_debug("hidden-by-default");
	log_info("shown-at-info");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("shown-at-debug");
	log_set_level(LOG_LVL_ERROR);
	log_warn("hidden-at-error");
	log_error("shown-at-error");
	cr_assert_null(strstr(slurp(path), "hidden"), "%s", slurp(path));
	cr_assert_not_null(strstr(slurp(path), " info: shown-at-info\n"));
	cr_assert_not_null(strstr(slurp(path), " debug: shown-at-debug\n"));
	cr_assert_not_null(strstr(slurp(path), " error: shown-at-error\n"));
}

Test(log, kafka_levels_map_to_ours)
{
	cr_assert_eq(log_open(path, "t"), 0);
	log_set_level(LOG_LVL_DEBUG);
	log_kafka(NULL, 3, "FAIL", "broker down");
	log_kafka(NULL, 4, "WARN", "slow");
	log_kafka(NULL, 7, "FETCH", "detail");
	cr_assert_not_null(strstr(slurp(path), " error: kafka FAIL: broker down\n"));
	cr_assert_not_null(strstr(slurp(path), " warn: kafka WARN: slow\n"));
	cr_assert_not_null(strstr(slurp(path), " debug: kafka FETCH: detail\n"));
}
