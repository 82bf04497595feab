/* Unit tests: the catalogue files of concertctl import (src/ctl/catalog.c):
 * both formats, every rule, and the messages (file:line or file: path). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/catalog.h"

static int
load_json(struct catalog *cat, const char *s)
{
	cat_init(cat, "f.json");
	return cat_load_json(cat, s, strlen(s));
}

static int
load_csv(struct catalog *cat, const char *s)
{
	cat_init(cat, "f.csv");
	return cat_load_csv(cat, s, strlen(s));
}

/* 1 if one of the recorded errors is exactly msg. */
static int
has_error(const struct catalog *cat, const char *msg)
{
	for (int i = 0; i < cat->nerrors && i < CAT_ERRORS_MAX; i++)
		if (strcmp(cat->errors[i], msg) == 0)
			return 1;
	return 0;
}

/* Every recorded error, one a line, for a failed assertion's message. */
static const char *
all_errors(const struct catalog *cat)
{
	static char buf[16384];
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < cat->nerrors && i < CAT_ERRORS_MAX && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n  %s", cat->errors[i]);
	return buf;
}

#define EXPECT_ERROR(cat, msg) \
	cr_assert(has_error(cat, msg), "no error '%s' in:%s", msg, all_errors(cat))

static const char good_json[] =
    "{\"concerts\": [{\"id\": 40, \"title\": \"Autumn\", \"venue\": \"Arena\",\n"
    " \"onSaleAt\": \"2027-08-01T10:00:00.5Z\",\n"
    " \"grades\": [{\"grade\": \"VIP\", \"price\": 180000}, {\"grade\": \"R\", \"price\": 130000}],\n"
    " \"dates\": [{\"date\": \"2027-09-10\", \"title\": \"Night 1\", \"seats\": [\n"
    "   {\"section\": \"FLOOR\", \"grade\": \"VIP\", \"from\": 3, \"to\": 5},\n"
    "   {\"section\": \"A\", \"grade\": \"R\", \"numbers\": [1, 2]},\n"
    "   {\"price\": 5000, \"from\": 9}]}]}]}\n";

Test(catalog_json, loads_concerts_grades_dates_and_sorted_seats)
{
	struct catalog cat;
	const struct cat_date *d;

	cr_assert_eq(load_json(&cat, good_json), 0);
	cr_assert_eq(cat.nconcerts, 1);
	cr_assert_eq(cat.concerts[0].id, 40);
	cr_assert_str_eq(cat.concerts[0].on_sale_at, "2027-08-01 10:00:00.500");
	cr_assert_eq(cat.concerts[0].ngrades, 2);
	d = &cat.concerts[0].dates[0];
	cr_assert_eq(d->nseats, 6);
	cr_assert_eq(cat.nseats, 6);
	for (size_t i = 0; i + 1 < d->nseats; i++)
		cr_assert_lt(d->seats[i].number, d->seats[i + 1].number);
	/* seat 1: section A, grade R at the grade's price */
	cr_assert_str_eq(d->blocks[d->seats[0].block].section, "A");
	cr_assert_eq(d->blocks[d->seats[0].block].price, 130000);
	/* seat 9: no grade, its own price */
	cr_assert_eq(d->blocks[d->seats[5].block].price, 5000);
	cr_assert_str_eq(d->blocks[d->seats[5].block].grade, "");
	cat_free(&cat);
}

Test(catalog_json, syntax_error_names_line_and_column)
{
	struct catalog cat;

	cr_assert_eq(load_json(&cat, "{\"concerts\": [\n  {\"id\": 1,,}\n]}"), -1);
	EXPECT_ERROR(&cat, "f.json:2:12: JSON syntax error: quoted object property name expected");
	cat_free(&cat);
}

Test(catalog_json, truncated_file_is_an_error_at_its_end)
{
	struct catalog cat;

	cr_assert_eq(load_json(&cat, "{\"concerts\": [\n"), -1);
	EXPECT_ERROR(&cat, "f.json:2:1: unexpected end of the file (JSON not complete)");
	cat_free(&cat);
}

Test(catalog_json, text_after_the_value_is_an_error)
{
	struct catalog cat;

	cr_assert_eq(load_json(&cat, "{\"concerts\": []}\n\nx"), -1);
	EXPECT_ERROR(&cat, "f.json:3:1: JSON syntax error: unexpected character");
	cat_free(&cat);
}

Test(catalog_json, every_semantic_error_is_reported_with_its_path)
{
	struct catalog cat;
	static const char in[] =
	    "{\"concerts\": [{\"id\": 70000, \"title\": \"\", \"venue\": 5, \"colour\": 1,\n"
	    " \"onSaleAt\": \"2027-02-30T10:00:00Z\",\n"
	    " \"grades\": [{\"grade\": \"VIP\", \"price\": 0}, {\"grade\": \"V I P\", \"price\": 1}],\n"
	    " \"dates\": [{\"date\": \"2027-13-01\"},\n"
	    "   {\"date\": \"2027-01-01\", \"seats\": [{\"grade\": \"Q\", \"from\": 1},\n"
	    "     {\"price\": 10, \"from\": 5, \"to\": 4}, {\"price\": 10, \"from\": 0},\n"
	    "     {\"price\": 10}, {\"from\": 1}, {\"price\": 10, \"numbers\": [1, \"2\", 1000001]}]}]}]}";

	cr_assert_eq(load_json(&cat, in), -1);
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].id: out of range [1, 65535]: 70000");
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].title: empty");
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].venue: not a string");
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].colour: unknown key");
	EXPECT_ERROR(&cat, "f.json:2: concerts[0].onSaleAt: not an ISO-8601 UTC time "
	    "(YYYY-MM-DDTHH:MM:SSZ): '2027-02-30T10:00:00Z'");
	EXPECT_ERROR(&cat, "f.json:3: concerts[0].grades[0].price: out of range "
	    "[1, 1000000000000]: 0");
	EXPECT_ERROR(&cat, "f.json:3: concerts[0].grades[1].grade: only letters, digits, "
	    "'-' and '_' are allowed");
	EXPECT_ERROR(&cat, "f.json:4: concerts[0].dates[0].date: not a date (YYYY-MM-DD): "
	    "'2027-13-01'");
	EXPECT_ERROR(&cat, "f.json:5: concerts[0].dates[1].seats[0].grade: grade 'Q' is "
	    "not one of the concert's grades");
	EXPECT_ERROR(&cat, "f.json:6: concerts[0].dates[1].seats[1].to: 4 is below from (5)");
	EXPECT_ERROR(&cat, "f.json:6: concerts[0].dates[1].seats[2].from: out of range "
	    "[1, 1000000]: 0");
	EXPECT_ERROR(&cat, "f.json:7: concerts[0].dates[1].seats[3]: give the seats as "
	    "\"from\" (and \"to\") or as \"numbers\", one of the two");
	EXPECT_ERROR(&cat, "f.json:7: concerts[0].dates[1].seats[4].price: missing (a seat "
	    "without a grade needs a price)");
	EXPECT_ERROR(&cat, "f.json:7: concerts[0].dates[1].seats[5].numbers[1]: not a seat "
	    "number 1 to 1000000: \"2\"");
	EXPECT_ERROR(&cat, "f.json:7: concerts[0].dates[1].seats[5].numbers[2]: not a seat "
	    "number 1 to 1000000: 1000001");
	cr_assert_eq(cat.nerrors, 15);
	cat_free(&cat);
}

Test(catalog_json, duplicates_in_the_file_are_errors)
{
	struct catalog cat;
	static const char in[] =
	    "{\"concerts\": [{\"id\": 7, \"title\": \"a\", \"grades\": [\n"
	    "  {\"grade\": \"R\", \"price\": 5}, {\"grade\": \"R\", \"price\": 6}],\n"
	    " \"dates\": [{\"date\": \"2027-01-01\", \"seats\": [{\"price\": 1, \"from\": 1, \"to\": 3},\n"
	    "   {\"price\": 1, \"numbers\": [3]}]}, {\"date\": \"2027-01-01\"}]},\n"
	    " {\"id\": 7, \"title\": \"b\"}]}";

	cr_assert_eq(load_json(&cat, in), -1);
	EXPECT_ERROR(&cat, "f.json:2: concerts[0].grades[1]: grade 'R' is listed twice");
	EXPECT_ERROR(&cat, "f.json:4: concerts[0].dates[1].date: date 2027-01-01 of concert "
	    "7 is listed twice");
	EXPECT_ERROR(&cat, "f.json:5: concerts[1].id: concert 7 is listed twice");
	EXPECT_ERROR(&cat, "f.json:4: concerts[0].dates[0].seats[1]: seat 3 of concert 7 on "
	    "2027-01-01 is listed twice (also concerts[0].dates[0].seats[0])");
	cat_free(&cat);
}

Test(catalog_json, graded_seat_takes_no_price_of_its_own)
{
	struct catalog cat;

	cr_assert_eq(load_json(&cat, "{\"concerts\": [{\"id\": 7, \"title\": \"a\","
	    " \"grades\": [{\"grade\": \"R\", \"price\": 5}], \"dates\": [{\"date\":"
	    " \"2027-01-01\", \"seats\": [{\"grade\": \"R\", \"price\": 6, \"from\": 1}]}]}]}"), -1);
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].dates[0].seats[0].price: a graded seat "
	    "costs its grade's price (5): leave price out");
	cat_free(&cat);
}

Test(catalog_json, top_level_must_hold_concerts)
{
	struct catalog cat;

	cr_assert_eq(load_json(&cat, "[]"), -1);
	EXPECT_ERROR(&cat, "f.json:1: (top): not an object");
	cat_free(&cat);
	cr_assert_eq(load_json(&cat, "{}"), -1);
	EXPECT_ERROR(&cat, "f.json:1: concerts: missing");
	cat_free(&cat);
}

Test(catalog_json, strings_must_be_valid_utf8_without_nul)
{
	struct catalog cat;

	cr_assert_eq(load_json(&cat, "{\"concerts\": [{\"id\": 7, \"title\": \"a\\u0000b\"}]}"), -1);
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].title: contains a NUL character");
	cat_free(&cat);
	cr_assert_eq(load_json(&cat, "{\"concerts\": [{\"id\": 7, \"title\": \"tab\\there\"}]}"), -1);
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].title: control character 0x09");
	cat_free(&cat);
	/* Korean titles are text like any other */
	cr_assert_eq(load_json(&cat, "{\"concerts\": [{\"id\": 7, \"title\": "
	    "\"\xEC\xBD\x98\xEC\x84\x9C\xED\x8A\xB8\"}]}"), 0);
	cat_free(&cat);
}

Test(catalog_json, seat_cap_per_file)
{
	struct catalog cat;
	char in[512];

	snprintf(in, sizeof(in), "{\"concerts\": [{\"id\": 7, \"title\": \"a\", \"dates\": ["
	    "{\"date\": \"2027-01-01\", \"seats\": [{\"price\": 1, \"from\": 1, \"to\": 1000000}]},"
	    "{\"date\": \"2027-01-02\", \"seats\": [{\"price\": 1, \"from\": 1, \"to\": 1000000}]},"
	    "{\"date\": \"2027-01-03\", \"seats\": [{\"price\": 1, \"from\": 1, \"to\": 1}]}]}]}");
	cr_assert_eq(load_json(&cat, in), -1);
	EXPECT_ERROR(&cat, "f.json:1: concerts[0].dates[2].seats[0]: more than 2000000 seats "
	    "in the file");
	cr_assert_eq(cat.nerrors, 1);
	cat_free(&cat);
}

/* ---- text rules ---- */

struct text_case { char s[16]; int ok; };

ParameterizedTestParameters(catalog_text, utf8_rules)
{
	static struct text_case cases[] = {
		{ "plain", 1 }, { "\xC3\xA9", 1 }, { "\xF0\x9F\x8E\xB5", 1 },
		{ "\xC0\xAF", 0 },              /* overlong '/' */
		{ "\xED\xA0\x80", 0 },          /* surrogate */
		{ "\xF4\x90\x80\x80", 0 },      /* above U+10FFFF */
		{ "\xE2\x82", 0 },              /* cut short */
		{ "\x80", 0 }, { "a\x7f", 0 }, { "\xC2\x85", 0 },  /* C1 control */
	};
	return cr_make_param_array(struct text_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct text_case *t, catalog_text, utf8_rules)
{
	char why[128];

	cr_assert_eq(cat_check_text(t->s, strlen(t->s), 200, why, sizeof(why)) == 0,
	    t->ok, "'%s'", t->s);
}

Test(catalog_text, length_counts_characters_not_bytes)
{
	char s[3 * 201 + 1], why[128];

	for (int i = 0; i < 200; i++)
		memcpy(s + 3 * i, "\xEC\xBD\x98", 3);
	s[600] = '\0';
	cr_assert_eq(cat_check_text(s, 600, 200, why, sizeof(why)), 0);
	memcpy(s + 600, "\xEC\xBD\x98", 3);
	s[603] = '\0';
	cr_assert_eq(cat_check_text(s, 603, 200, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "longer than 200 characters");
}

Test(catalog_text, times)
{
	char out[24], why[128];

	cr_assert_eq(cat_parse_time("2027-08-01T10:00:00Z", out, why, sizeof(why)), 0);
	cr_assert_str_eq(out, "2027-08-01 10:00:00.000");
	cr_assert_eq(cat_parse_time("2028-02-29T23:59:59.12Z", out, why, sizeof(why)), 0);
	cr_assert_str_eq(out, "2028-02-29 23:59:59.120");
	cr_assert_eq(cat_parse_time("2027-08-01T10:00:00", out, why, sizeof(why)), -1);
	cr_assert_eq(cat_parse_time("2027-08-01 10:00:00Z", out, why, sizeof(why)), -1);
	cr_assert_eq(cat_parse_time("2027-08-01T24:00:00Z", out, why, sizeof(why)), -1);
	cr_assert_eq(cat_parse_time("2027-08-01T10:00:00.1234Z", out, why, sizeof(why)), -1);
	cr_assert_eq(cat_parse_time("2027-08-01T10:00:00+09:00", out, why, sizeof(why)), -1);
}

/* ---- CSV ---- */

#define CSV_HEADER "concert_id,title,venue,on_sale_at,date,date_title,section,grade,price,seat\n"

Test(catalog_csv, loads_rows_ranges_and_grades)
{
	struct catalog cat;
	const struct cat_date *d;

	cr_assert_eq(load_csv(&cat, CSV_HEADER
	    "41,\"Jazz, live\",Club,2027-08-15T09:00:00Z,2027-10-01,Night,FLOOR,VIP,120000,1-6\r\n"
	    "41,\"Jazz, live\",Club,2027-08-15T09:00:00Z,2027-10-01,Night,BAR,,40000,7\r\n"
	    "41,\"Jazz, live\",Club,2027-08-15T09:00:00Z,2027-10-02,,FLOOR,VIP,120000,1\r\n"), 0);
	cr_assert_eq(cat.nconcerts, 1);
	cr_assert_str_eq(cat.concerts[0].title, "Jazz, live");
	cr_assert_eq(cat.concerts[0].ngrades, 1);
	cr_assert_eq(cat.concerts[0].grades[0].price, 120000);
	cr_assert_eq(cat.concerts[0].ndates, 2);
	d = &cat.concerts[0].dates[0];
	cr_assert_eq(d->nseats, 7);
	cr_assert_eq(d->blocks[d->seats[6].block].price, 40000);
	cr_assert_eq(d->blocks[d->seats[6].block].line, 3);
	cat_free(&cat);
}

Test(catalog_csv, header_columns_any_order_optional_ones_left_out)
{
	struct catalog cat;

	cr_assert_eq(load_csv(&cat, "seat,price,date,concert_id,title\n1-3,100,2027-01-01,9,T\n"), 0);
	cr_assert_eq(cat.concerts[0].dates[0].nseats, 3);
	cat_free(&cat);
}

Test(catalog_csv, header_errors)
{
	struct catalog cat;

	cr_assert_eq(load_csv(&cat, "concert_id,date,seat,colour,seat\n"), -1);
	EXPECT_ERROR(&cat, "f.csv:1: header: unknown column 'colour'");
	EXPECT_ERROR(&cat, "f.csv:1: header: column 'seat' twice");
	EXPECT_ERROR(&cat, "f.csv:1: header: no column 'price'");
	cat_free(&cat);
	cr_assert_eq(load_csv(&cat, ""), -1);
	EXPECT_ERROR(&cat, "f.csv:1: empty file: a header row (concert_id,date,seat,price,...) "
	    "comes first");
	cat_free(&cat);
}

Test(catalog_csv, every_row_error_is_reported_with_its_line)
{
	struct catalog cat;

	cr_assert_eq(load_csv(&cat, CSV_HEADER
	    "0,T,V,,2027-01-01,,A,,100,1\n"
	    "5,T,V,,2027-02-29,,A,,100,1\n"
	    "5,T,V,,2027-01-01,,A B,,100,1\n"
	    "5,T,V,,2027-01-01,,A,TOOLONGGRADE,100,1\n"
	    "5,T,V,,2027-01-01,,A,,-3,1\n"
	    "5,T,V,,2027-01-01,,A,,100,9-2\n"
	    "5,T,V,soon,2027-01-01,,A,,100,1\n"
	    "5,T,V,,2027-01-01,,A,,100\n"
	    "5,T,V,,2027-01-01,,A,R,100,1\n"
	    "5,T,V,,2027-01-01,,A,R,200,2\n"
	    "5,U,V,,2027-01-01,,A,,100,3\n"
	    "5,T,V,,2027-01-01,,A,,100,1\n"), -1);
	EXPECT_ERROR(&cat, "f.csv:2: concert_id: not a concert id 1 to 65535: '0'");
	EXPECT_ERROR(&cat, "f.csv:3: date: not a date (YYYY-MM-DD): '2027-02-29'");
	EXPECT_ERROR(&cat, "f.csv:4: section: only letters, digits, '-' and '_' are allowed: 'A B'");
	EXPECT_ERROR(&cat, "f.csv:5: grade: longer than 8 characters: 'TOOLONGGRADE'");
	EXPECT_ERROR(&cat, "f.csv:6: price: not a price 1 to 1000000000000: '-3'");
	EXPECT_ERROR(&cat, "f.csv:7: seat: not a seat number or range 1 to 1000000 "
	    "(\"17\", \"1-500\"): '9-2'");
	EXPECT_ERROR(&cat, "f.csv:8: on_sale_at: not an ISO-8601 UTC time "
	    "(YYYY-MM-DDTHH:MM:SSZ): 'soon'");
	EXPECT_ERROR(&cat, "f.csv:9: 9 fields, the header has 10");
	EXPECT_ERROR(&cat, "f.csv:11: price 200 of grade 'R' differs from 100 on line 10 "
	    "(a grade has one price)");
	EXPECT_ERROR(&cat, "f.csv:12: title of concert 5 'U' differs from 'T' on line 10");
	EXPECT_ERROR(&cat, "f.csv:13: seat 1 of concert 5 on 2027-01-01 is listed twice "
	    "(also line 10)");
	cr_assert_eq(cat.nerrors, 11);
	cat_free(&cat);
}

Test(catalog_csv, syntax_error_stops_with_its_line)
{
	struct catalog cat;

	cr_assert_eq(load_csv(&cat, CSV_HEADER "5,\"T,V,,2027-01-01,,A,,100,1\n"), -1);
	EXPECT_ERROR(&cat, "f.csv:2: quoted field not closed at the end of the file");
	cat_free(&cat);
	cr_assert_eq(load_csv(&cat, CSV_HEADER "5,T\"x,V,,2027-01-01,,A,,100,1\n"), -1);
	EXPECT_ERROR(&cat, "f.csv:2: quote inside an unquoted field (quote the whole field, "
	    "doubling the quote)");
	cat_free(&cat);
}

Test(catalog_csv, quoted_line_break_in_a_title_is_refused_as_a_control_character)
{
	struct catalog cat;

	cr_assert_eq(load_csv(&cat, CSV_HEADER "5,\"two\nlines\",V,,2027-01-01,,A,,100,1\n"
	    "5,T,V,,2027-01-01,,A,,100,x\n"), -1);
	EXPECT_ERROR(&cat, "f.csv:2: title: control character 0x0a");
	/* the next record's line counts the quoted line break */
	EXPECT_ERROR(&cat, "f.csv:4: seat: not a seat number or range 1 to 1000000 "
	    "(\"17\", \"1-500\"): 'x'");
	cat_free(&cat);
}

Test(catalog_csv, first_row_of_a_concert_needs_a_title)
{
	struct catalog cat;

	cr_assert_eq(load_csv(&cat, CSV_HEADER "5,,V,,2027-01-01,,A,,100,1\n"), -1);
	EXPECT_ERROR(&cat, "f.csv:2: title: empty (the first row of concert 5 names it)");
	cat_free(&cat);
}

Test(catalog_csv, error_list_is_capped_but_counted)
{
	struct catalog cat;
	char *in = malloc(200 * 40 + 200);
	size_t n = 0;

	n += (size_t)sprintf(in, CSV_HEADER);
	for (int i = 0; i < 200; i++)
		n += (size_t)sprintf(in + n, "x,T,V,,2027-01-01,,A,,100,1\n");
	cat_init(&cat, "f.csv");
	cr_assert_eq(cat_load_csv(&cat, in, n), -1);
	cr_assert_eq(cat.nerrors, 200);
	cr_assert_not_null(cat.errors[CAT_ERRORS_MAX - 1]);
	cat_free(&cat);
	free(in);
}

Test(catalog_csv, rows_switching_concerts_on_one_day_stay_with_their_concert)
{
	struct catalog cat;

	cr_assert_eq(load_csv(&cat, "concert_id,title,date,price,seat\n"
	    "41,A,2027-10-01,5,1\n40,B,2027-10-01,5,2\n41,A,2027-10-01,5,3\n"), 0);
	cr_assert_eq(cat.nconcerts, 2);
	cr_assert_eq(cat.concerts[0].id, 41);
	cr_assert_eq(cat.concerts[0].dates[0].nseats, 2);
	cr_assert_eq(cat.concerts[1].dates[0].nseats, 1);
	cat_free(&cat);
}

Test(catalog_json, a_value_is_named_on_its_line_a_missing_key_on_its_objects)
{
	struct catalog cat;

	cr_assert_eq(load_json(&cat, "{\"concerts\": [\n"
	    "  {\"id\": 7, \"title\": \"a\", \"dates\": [\n"
	    "    {\"date\": \"2027-01-01\", \"seats\": [\n"
	    "      {\"numbers\": [1, 2,\n"
	    "         \"three\"],\n"
	    "       \"price\": 5, \"note\": {\"a\": [1, {\"b\": \"}]\"}]}},\n"
	    "      {\"from\": 4,\n"
	    "       \"section\": \"A\"}]}]}]}"), -1);
	EXPECT_ERROR(&cat, "f.json:5: concerts[0].dates[0].seats[0].numbers[2]: not a seat "
	    "number 1 to 1000000: \"three\"");
	EXPECT_ERROR(&cat, "f.json:6: concerts[0].dates[0].seats[0].note: unknown key");
	EXPECT_ERROR(&cat, "f.json:7: concerts[0].dates[0].seats[1].price: missing (a seat "
	    "without a grade needs a price)");
	cat_free(&cat);
}

Test(catalog_json, a_key_twice_in_one_object_is_an_error)
{
	struct catalog cat;

	/* json-c would keep the second silently */
	cr_assert_eq(load_json(&cat, "{\"concerts\": [{\"id\": 5, \"title\": \"a\",\n"
	    "  \"title\": \"b\", \"dates\": [{\"date\": \"2027-01-01\", \"seats\": [\n"
	    "   {\"price\": 1, \"from\": 1,\n    \"price\": 2}]}]}]}"), -1);
	EXPECT_ERROR(&cat, "f.json:2: concerts[0]: key 'title' is listed twice");
	EXPECT_ERROR(&cat, "f.json:4: concerts[0].dates[0].seats[0]: key 'price' is listed twice");
	cr_assert_eq(cat.nerrors, 2);
	cat_free(&cat);
}
