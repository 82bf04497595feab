/* Unit tests: the RFC 4180 reader of concertctl import (src/ctl/csv.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "ctl/csv.h"

/* Read every record of in; the fields of record i joined by '|' into
 * out[i], their start lines into lines[i].  Returns the record count, or
 * -1 on an error (err, errline set). */
static int
read_all(const char *in, size_t len, char out[][128], int *lines, int max,
    char *err, int *errline)
{
	struct csv c;
	struct csv_record r;
	int n = 0, rc;

	csv_init(&c, in, len);
	while ((rc = csv_next(&c, &r, err, 256)) == 1 && n < max) {
		out[n][0] = '\0';
		for (int i = 0; i < r.nfields; i++) {
			if (i > 0)
				strcat(out[n], "|");
			strcat(out[n], r.field[i]);
		}
		lines[n++] = r.line;
	}
	*errline = c.errline;
	csv_free(&c);
	return rc == -1 ? -1 : n;
}

#define READ(s) read_all(s, strlen(s), out, lines, 8, err, &errline)

Test(csv, splits_fields_and_records_with_lf_and_crlf)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("a,b,c\r\n1,2,3\n4,,6"), 3);
	cr_assert_str_eq(out[0], "a|b|c");
	cr_assert_str_eq(out[1], "1|2|3");
	cr_assert_str_eq(out[2], "4||6");
	cr_assert_eq(lines[2], 3);
}

Test(csv, quoted_fields_hold_commas_quotes_and_line_breaks)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("x,y\n\"a,b\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,1\n"), 4);
	cr_assert_str_eq(out[1], "a,b|say \"hi\"");
	cr_assert_str_eq(out[2], "two\nlines|z");
	/* a record's line is where it starts; quoted breaks count */
	cr_assert_eq(lines[2], 3);
	cr_assert_eq(lines[3], 5);
	cr_assert_str_eq(out[3], "last|1");
}

Test(csv, line_numbers_count_quoted_breaks)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("h\n\"a\nb\nc\"\nnext\n"), 3);
	cr_assert_eq(lines[1], 2);
	cr_assert_eq(lines[2], 5);
}

Test(csv, empty_quoted_field_and_trailing_empty_field)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("\"\",a,\n"), 1);
	cr_assert_str_eq(out[0], "|a|");
}

Test(csv, skips_bom_and_blank_lines)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("\xEF\xBB\xBFh1,h2\n\n\r\nv1,v2\n\n"), 2);
	cr_assert_str_eq(out[0], "h1|h2");
	cr_assert_eq(lines[1], 4);
}

Test(csv, unclosed_quote_names_the_line_it_opened_on)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("h\nok\n\"never\nclosed\n"), -1);
	cr_assert_eq(errline, 3);
	cr_assert(strstr(err, "not closed") != NULL, "%s", err);
}

Test(csv, quote_inside_unquoted_field_is_an_error)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("h\nab\"c\n"), -1);
	cr_assert_eq(errline, 2);
	cr_assert(strstr(err, "quote inside an unquoted field") != NULL, "%s", err);
}

Test(csv, text_after_a_closing_quote_is_an_error)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("h\n\"ab\"c,d\n"), -1);
	cr_assert_eq(errline, 2);
	cr_assert(strstr(err, "after a closing quote") != NULL, "%s", err);
}

Test(csv, a_lone_cr_is_data)
{
	char out[8][128], err[256];
	int lines[8], errline;

	cr_assert_eq(READ("a\rb,c\n"), 1);
	cr_assert_str_eq(out[0], "a\rb|c");
}

Test(csv, too_many_fields_and_too_long_fields_are_errors)
{
	char buf[CSV_MAX_FIELD_LEN + 64], out[8][128], err[256];
	int lines[8], errline;

	memset(buf, ',', CSV_MAX_FIELDS + 1);
	buf[CSV_MAX_FIELDS + 1] = '\0';
	cr_assert_eq(READ(buf), -1);
	cr_assert(strstr(err, "more than") != NULL, "%s", err);
	memset(buf, 'x', CSV_MAX_FIELD_LEN + 1);
	buf[CSV_MAX_FIELD_LEN + 1] = '\0';
	cr_assert_eq(READ(buf), -1);
	cr_assert(strstr(err, "longer than") != NULL, "%s", err);
}

Test(csv, nul_bytes_are_kept_with_their_length)
{
	struct csv c;
	struct csv_record r;
	char err[256];
	static const char in[] = "a\0b,c\n";

	csv_init(&c, in, sizeof(in) - 1);
	cr_assert_eq(csv_next(&c, &r, err, sizeof(err)), 1);
	cr_assert_eq(r.len[0], 3);
	cr_assert_eq(strlen(r.field[0]), 1);
	csv_free(&c);
}
