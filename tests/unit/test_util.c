/* Unit tests: util (UUIDs, hex, dates, ISO times) and queue arithmetic. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "queue.h"
#include "util.h"

Test(util_uuid, parses_and_formats_round_trip)
{
	unsigned char u[16];
	char s[UUID_STR_LEN];

	cr_assert_eq(util_uuid_parse("123E4567-e89b-12d3-a456-426614174000", u), 0);
	util_uuid_format(u, s);
	cr_assert_str_eq(s, "123e4567-e89b-12d3-a456-426614174000");
}

struct bad_str { char s[64]; };  /* by value: Criterion copies params into a new process */

ParameterizedTestParameters(util_uuid, rejects_malformed)
{
	static struct bad_str bad[] = {
		{ "" }, { "123e4567e89b12d3a456426614174000" },
		{ "123e4567-e89b-12d3-a456-42661417400" },
		{ "123e4567-e89b-12d3-a456-4266141740000" },
		{ "123e4567-e89b-12d3-a456_426614174000" },
		{ "g23e4567-e89b-12d3-a456-426614174000" },
		{ " 23e4567-e89b-12d3-a456-426614174000" },
	};
	return cr_make_param_array(struct bad_str, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_str *b, util_uuid, rejects_malformed)
{
	unsigned char u[16];

	cr_assert_eq(util_uuid_parse(b->s, u), -1, "accepted '%s'", b->s);
}

Test(util_uuid, new_ones_differ_and_are_v4)
{
	unsigned char a[16], b[16];

	util_uuid_new(a);
	util_uuid_new(b);
	cr_assert_neq(memcmp(a, b, 16), 0);
	cr_assert_eq(a[6] >> 4, 4);
}

Test(util_hex, round_trip_and_rejects_bad)
{
	unsigned char in[4] = { 0x00, 0xab, 0x7f, 0xff }, out[4];
	char s[9];

	util_hex(in, 4, s);
	cr_assert_str_eq(s, "00ab7fff");
	cr_assert_eq(util_unhex("00AB7FFF", out, 4), 0);
	cr_assert_eq(memcmp(in, out, 4), 0);
	cr_assert_eq(util_unhex("00ab7ff", out, 4), -1);
	cr_assert_eq(util_unhex("00ab7ffz", out, 4), -1);
}

ParameterizedTestParameters(util_date, rejects_impossible)
{
	static struct bad_str bad[] = {
		{ "2024-02-30" }, { "2023-02-29" }, { "2024-13-01" }, { "2024-00-10" },
		{ "2024-01-00" }, { "2024-04-31" }, { "2024-1-01" }, { "24-01-01" },
		{ "2024/01/01" }, { "2024-01-01x" }, { "0999-01-01" }, { "" },
		{ "1900-02-29" },
	};
	return cr_make_param_array(struct bad_str, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_str *b, util_date, rejects_impossible)
{
	cr_assert_eq(util_date_valid(b->s), -1, "accepted '%s'", b->s);
}

Test(util_date, accepts_real_dates)
{
	cr_assert_eq(util_date_valid("2024-02-29"), 0);
	cr_assert_eq(util_date_valid("2000-02-29"), 0);
	cr_assert_eq(util_date_valid("2024-07-03"), 0);
	cr_assert_eq(util_date_valid("2024-12-31"), 0);
}

Test(util_time, mysql_datetime_to_iso)
{
	char out[40];

	cr_assert_eq(util_mysql_to_iso("2024-07-03 12:34:56.789000", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "2024-07-03T12:34:56.789Z");
	cr_assert_eq(util_mysql_to_iso("2024-07-03 12:34:56", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "2024-07-03T12:34:56.000Z");
	cr_assert_eq(util_mysql_to_iso("garbage", out, sizeof(out)), -1);
}

Test(queue, position_is_seq_minus_serving_never_below_one)
{
	cr_assert_eq(queue_position(105, 100), 5);
	cr_assert_eq(queue_position(101, 100), 1);
	cr_assert_eq(queue_position(99, 100), 1);   /* late straggler */
	cr_assert_eq(queue_position(1, 0), 1);
}

Test(queue, wait_uses_rate_or_a_sane_default)
{
	cr_assert_eq(queue_wait_seconds(10, 2.0, 100, 600), 5);
	cr_assert_eq(queue_wait_seconds(1, 1000.0, 100, 600), 1);
	/* no rate yet: 100 slots turning over every 600 s */
	cr_assert_eq(queue_wait_seconds(100, 0.0, 100, 600), 600);
	cr_assert_geq(queue_wait_seconds(5, -1.0, 0, 0), 1);
}

Test(queue, rate_is_a_moving_average)
{
	double r = queue_rate_update(0, 10, 1000, 0.5);

	cr_assert_float_eq(r, 10.0, 1e-9);
	r = queue_rate_update(r, 20, 1000, 0.5);
	cr_assert_float_eq(r, 15.0, 1e-9);
	cr_assert_float_eq(queue_rate_update(r, 5, 0, 0.5), 15.0, 1e-9);
}

Test(util_time, iso_time_of_epoch_milliseconds)
{
	char out[ISO_TIME_LEN];

	util_iso_time(0, out, sizeof(out));
	cr_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
	util_iso_time(1720009496789LL, out, sizeof(out));
	cr_assert_str_eq(out, "2024-07-03T12:24:56.789Z");
}

/* ---- ISO-8601 and dates: leap years, bounds, malformed input */

struct iso_case { char in[40]; char want[40]; };

ParameterizedTestParameters(util_time, mysql_to_iso_cases)
{
	static struct iso_case c[] = {
		/* DATETIME(3) and DATE_FORMAT(..., '%f') spellings */
		{ "2024-02-29 23:59:59.999", "2024-02-29T23:59:59.999Z" },
		{ "2000-02-29 00:00:00.000000", "2000-02-29T00:00:00.000Z" },
		/* microseconds are cut to milliseconds, never rounded up */
		{ "1999-12-31 23:59:59.999999", "1999-12-31T23:59:59.999Z" },
		{ "2024-07-03 12:34:56.123456", "2024-07-03T12:34:56.123Z" },
		/* a short fraction is padded on the right: .7 s is 700 ms */
		{ "2024-07-03 12:34:56.7", "2024-07-03T12:34:56.700Z" },
		{ "2024-07-03 12:34:56.05", "2024-07-03T12:34:56.050Z" },
		/* no digits after the dot: no milliseconds */
		{ "2024-07-03 12:34:56.", "2024-07-03T12:34:56.000Z" },
		{ "1000-01-01 00:00:00", "1000-01-01T00:00:00.000Z" },
		{ "9999-12-31 23:59:59.999", "9999-12-31T23:59:59.999Z" },
	};
	return cr_make_param_array(struct iso_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct iso_case *c, util_time, mysql_to_iso_cases)
{
	char out[40];

	cr_assert_eq(util_mysql_to_iso(c->in, out, sizeof(out)), 0, "refused '%s'", c->in);
	cr_assert_str_eq(out, c->want, "'%s' gave '%s'", c->in, out);
}

ParameterizedTestParameters(util_time, mysql_to_iso_rejects_malformed)
{
	static struct bad_str bad[] = {
		{ "" }, { "2024-07-03" }, { "2024-07-03 12:34" }, { "2024-07-03 12:34:5" },
		/* already ISO, or another separator: not what MySQL sends */
		{ "2024-07-03T12:34:56" }, { "2024-07-03_12:34:56.000" },
	};
	return cr_make_param_array(struct bad_str, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_str *b, util_time, mysql_to_iso_rejects_malformed)
{
	char out[40];

	cr_assert_eq(util_mysql_to_iso(b->s, out, sizeof(out)), -1, "accepted '%s'", b->s);
}

Test(util_time, mysql_to_iso_needs_room_for_the_whole_answer)
{
	char out[40];

	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" is 24 characters plus the NUL */
	cr_assert_eq(util_mysql_to_iso("2024-07-03 12:34:56.789", out, 24), -1);
	cr_assert_eq(util_mysql_to_iso("2024-07-03 12:34:56.789", out, 25), 0);
	cr_assert_str_eq(out, "2024-07-03T12:34:56.789Z");
	cr_assert_eq(strlen(out), 24);
}

struct epoch_case { long long ms; char want[40]; };

ParameterizedTestParameters(util_time, iso_time_cases)
{
	static struct epoch_case c[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ 999, "1970-01-01T00:00:00.999Z" },
		{ 1000, "1970-01-01T00:00:01.000Z" },
		/* leap days: divisible by 4, and by 400 */
		{ 1709164800000LL, "2024-02-29T00:00:00.000Z" },
		{ 951825600000LL, "2000-02-29T12:00:00.000Z" },
		/* 2100 is not a leap year: 28 February is followed by 1 March */
		{ 4107542400000LL - 1, "2100-02-28T23:59:59.999Z" },
		{ 4107542400000LL, "2100-03-01T00:00:00.000Z" },
		/* the last millisecond of a year, and past 32-bit time_t */
		{ 946684799999LL, "1999-12-31T23:59:59.999Z" },
		{ 2147483648000LL, "2038-01-19T03:14:08.000Z" },
	};
	return cr_make_param_array(struct epoch_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct epoch_case *c, util_time, iso_time_cases)
{
	char out[ISO_TIME_LEN];

	util_iso_time((int64_t)c->ms, out, sizeof(out));
	cr_assert_str_eq(out, c->want, "%lld ms gave '%s'", c->ms, out);
}

Test(util_time, iso_time_truncates_to_the_buffer)
{
	char out[11];

	memset(out, 'x', sizeof(out));
	util_iso_time(1720009496789LL, out, sizeof(out));
	cr_assert_str_eq(out, "2024-07-03");
}

ParameterizedTestParameters(util_date, rejects_more_impossible_and_malformed)
{
	static struct bad_str bad[] = {
		/* century years are leap years only when divisible by 400 */
		{ "2100-02-29" }, { "2200-02-29" }, { "1000-02-29" },
		/* day 31 of the 30-day months; day 32 anywhere */
		{ "2024-06-31" }, { "2024-09-31" }, { "2024-11-31" }, { "2024-01-32" },
		{ "2024-12-32" }, { "2024-02-31" },
		/* bounds of the year */
		{ "0000-01-01" }, { "0999-12-31" },
		/* malformed: signs, spaces, letters, separators, length */
		{ "+024-07-03" }, { "-024-07-03" }, { "2024-07-0a" }, { "2024-0a-03" },
		{ " 2024-07-03" }, { "2024-07-03 " }, { "2024-07-3 " }, { "2024--7-03" },
		{ "2024-07-03\n" }, { "2024_07_03" }, { "20240703" }, { "2024-07-033" },
		{ "2024-7-003" }, { "99999-01-01" },
	};
	return cr_make_param_array(struct bad_str, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_str *b, util_date, rejects_more_impossible_and_malformed)
{
	cr_assert_eq(util_date_valid(b->s), -1, "accepted '%s'", b->s);
}

ParameterizedTestParameters(util_date, accepts_leap_days_and_bounds)
{
	static struct bad_str good[] = {
		{ "2400-02-29" }, { "1996-02-29" }, { "2024-02-28" }, { "2023-02-28" },
		{ "2100-02-28" }, { "1000-01-01" }, { "9999-12-31" }, { "2024-01-31" },
		{ "2024-03-31" }, { "2024-04-30" }, { "2024-05-31" }, { "2024-06-30" },
		{ "2024-07-31" }, { "2024-08-31" }, { "2024-09-30" }, { "2024-10-31" },
		{ "2024-11-30" }, { "2024-12-01" },
	};
	return cr_make_param_array(struct bad_str, good, sizeof(good) / sizeof(good[0]));
}

ParameterizedTest(struct bad_str *b, util_date, accepts_leap_days_and_bounds)
{
	cr_assert_eq(util_date_valid(b->s), 0, "refused '%s'", b->s);
}
