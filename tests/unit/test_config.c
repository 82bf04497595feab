/* Unit tests: config file parsing, environment overrides and errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char path[64];

static void
write_conf(const char *text)
{
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/concert-test-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
}

static void
cleanup(void)
{
	if (path[0])
		unlink(path);
	unsetenv("CONCERT_HOLD_TTL_SECONDS");
	unsetenv("CONCERT_WORKERS");
	unsetenv("CONCERT_LOG_LEVEL");
}

TestSuite(config, .fini = cleanup);

Test(config, defaults_match_the_spec)
{
	struct config c;

	config_defaults(&c);
	cr_assert_eq(c.hold_ttl_seconds, 300);
	cr_assert_eq(c.refund_cutoff_hours, 24);
	cr_assert_eq(c.active_ttl_seconds, 600);
	cr_assert_eq(c.max_active_tokens, 100);
	cr_assert_eq(c.max_holds_per_user, 4);
	cr_assert_eq(c.max_charge_amount, 10000000);
	cr_assert_eq(c.workers, CONFIG_WORKERS_DEFAULT);
}

Test(config, file_sets_keys_with_comments_and_spaces)
{
	struct config c;
	char err[256];

	write_conf("# comment\n\n  hold_ttl_seconds =  42 \ndb_name=shows\n; other\n");
	cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.hold_ttl_seconds, 42);
	cr_assert_str_eq(c.db_name, "shows");
}

Test(config, environment_overrides_file)
{
	struct config c;
	char err[256];

	write_conf("hold_ttl_seconds = 42\n");
	setenv("CONCERT_HOLD_TTL_SECONDS", "7", 1);
	cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.hold_ttl_seconds, 7);
}

Test(config, unknown_key_is_an_error_naming_it)
{
	struct config c;
	char err[256];

	write_conf("hold_ttl = 5\n");
	cr_assert_eq(config_load(&c, path, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'hold_ttl'") != NULL, "%s", err);
	cr_assert(strstr(err, ":1:") != NULL, "%s", err);
}

Test(config, malformed_value_is_an_error_naming_the_key)
{
	struct config c;
	char err[256];

	setenv("CONCERT_WORKERS", "abc", 1);
	cr_assert_eq(config_load(&c, NULL, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'workers'") != NULL, "%s", err);
	cr_assert(strstr(err, "CONCERT_WORKERS") != NULL, "%s", err);
}

Test(config, out_of_range_is_an_error)
{
	struct config c;
	char err[256];

	write_conf("max_holds_per_user = 0\n");
	cr_assert_eq(config_load(&c, path, err, sizeof(err)), -1);
	cr_assert(strstr(err, "out of range") != NULL, "%s", err);
}

Test(config, line_without_equals_is_an_error)
{
	struct config c;
	char err[256];

	write_conf("workers 4\n");
	cr_assert_eq(config_load(&c, path, err, sizeof(err)), -1);
}

Test(config, missing_file_is_an_error)
{
	struct config c;
	char err[256];

	cr_assert_eq(config_load(&c, "/nonexistent/concert.conf", err, sizeof(err)), -1);
	cr_assert(strstr(err, "/nonexistent/concert.conf") != NULL);
}

Test(config, log_level_defaults_to_info)
{
	struct config c;

	config_defaults(&c);
	cr_assert_eq(c.log_level, LOG_LVL_INFO);
}

Test(config, log_level_takes_each_name)
{
	static const struct { const char *name; long level; } t[] = {
		{ "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
		{ "warn", LOG_LVL_WARN }, { "error", LOG_LVL_ERROR },
	};
	struct config c;
	char err[256], text[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "log_level = %s\n", t[i].name);
		write_conf(text);
		cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(c.log_level, t[i].level, "%s", t[i].name);
		unlink(path);
	}
}

Test(config, log_level_environment_overrides_file)
{
	struct config c;
	char err[256];

	write_conf("log_level = error\n");
	setenv("CONCERT_LOG_LEVEL", "debug", 1);
	cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.log_level, LOG_LVL_DEBUG);
}

Test(config, bad_log_level_is_one_line_naming_the_key_and_choices)
{
	struct config c;
	char err[256];

	write_conf("log_level = verbose\n");
	cr_assert_eq(config_load(&c, path, err, sizeof(err)), -1);
	cr_assert_str_eq(err, strcat(strcpy((char[128]){ 0 }, path),
	    ":1: value of 'log_level' is not one of debug|info|warn|error: "
	    "'verbose'"));
}

Test(config, dump_prints_log_level_by_name)
{
	struct config c;
	char buf[8192] = "";
	FILE *fp = fmemopen(buf, sizeof(buf) - 1, "w");

	config_defaults(&c);
	c.log_level = LOG_LVL_WARN;
	config_dump(&c, fp);
	fclose(fp);
	cr_assert(strstr(buf, "\nlog_level = warn\n") != NULL, "%s", buf);
}

/* The FastCGI socket: php-fpm's listen.owner/group/mode, not /tmp. */
Test(config, socket_defaults_are_0660_under_run)
{
	struct config c;

	config_defaults(&c);
	cr_assert_str_eq(c.listen, "/run/concertd/concertd.sock");
	cr_assert_eq(c.listen_mode, 0660);
	cr_assert_str_eq(c.listen_owner, "");
	cr_assert_str_eq(c.listen_group, "");
}

Test(config, listen_mode_is_octal)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	cr_assert_eq(config_set(&c, "listen_mode", "0640", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(c.listen_mode, 0640);
	cr_assert_eq(config_set(&c, "listen_mode", "666", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(c.listen_mode, 0666);
	cr_assert_eq(config_set(&c, "listen_group", "www-data", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.listen_group, "www-data");
}

Test(config, bad_listen_mode_is_one_line_naming_the_key)
{
	struct config c;
	const char *bad[] = { "0888", "1777", "-1", "rw-rw----", "" };
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c);
		cr_assert_eq(config_set(&c, "listen_mode", bad[i], err,
		    sizeof(err)), -1, "accepted '%s'", bad[i]);
		cr_assert(strstr(err, "'listen_mode'") != NULL, "%s", err);
		cr_assert_eq(c.listen_mode, 0660);
	}
}

Test(config, dump_prints_listen_mode_in_octal)
{
	struct config c;
	char buf[16384];
	FILE *fp;
	size_t n;

	config_defaults(&c);
	fp = fmemopen(buf, sizeof(buf) - 1, "w");
	cr_assert_not_null(fp);
	config_dump(&c, fp);
	n = (size_t)ftell(fp);
	fclose(fp);
	buf[n] = '\0';
	cr_assert(strstr(buf, "\nlisten_mode = 0660\n") != NULL, "%s", buf);
}
