/* Unit tests: log (levels, names, reopen after rotation). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
/* The descriptor that names path, or -1. */
static int
fd_of(const char *p)
{
	char link[64], target[256];
	ssize_t n;
	int fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, p) == 0)
			return fd;
	}
	return -1;
}

/*
 * SIGUSR1 after logrotate: librdkafka's threads may be writing through the
 * old descriptor number while we reopen, so the number must keep naming
 * the log (never closed, never reused for another file) and stay
 * close-on-exec; lines after the reopen go to the new file only.
 */
Test(log, reopen_keeps_the_descriptor_number_and_writes_to_the_new_file)
{
	int before, after;

	cr_assert_eq(log_open(path, "t"), 0);
	log_info("line-before");
	before = fd_of(path);
	cr_assert_geq(before, 0);
	cr_assert_eq(rename(path, rotated), 0);
	cr_assert_eq(log_reopen(), 0);
	after = fd_of(path);
	cr_assert_eq(after, before, "log fd moved from %d to %d", before, after);
	cr_assert_eq(fd_of(rotated), -1, "the rotated file is still open");
	cr_assert_neq(fcntl(after, F_GETFD) & FD_CLOEXEC, 0);
	log_info("line-after");
	cr_assert_not_null(strstr(slurp(path), " info: line-after\n"));
	cr_assert_null(strstr(slurp(path), "line-before"));
	cr_assert_not_null(strstr(slurp(rotated), " info: line-before\n"));
	cr_assert_null(strstr(slurp(rotated), "line-after"));
}

Test(log, a_failed_reopen_keeps_writing_to_the_old_file)
{
	int before;

	cr_assert_eq(log_open(path, "t"), 0);
	before = fd_of(path);
	cr_assert_eq(rename(path, rotated), 0);
	cr_assert_eq(mkdir(path, 0700), 0);        /* open() fails: EISDIR */
	cr_assert_eq(log_reopen(), -1);
	cr_assert_eq(fd_of(rotated), before);
	log_info("still-here");
	cr_assert_not_null(strstr(slurp(rotated), " info: still-here\n"));
	rmdir(path);
}
