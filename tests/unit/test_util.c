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
