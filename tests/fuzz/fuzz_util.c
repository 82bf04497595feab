/*
 * fuzz_util: the pure parsers in util.c -- util_uuid_parse, util_unhex,
 * util_date_valid, util_mysql_to_iso -- with round-trip and differential
 * properties:
 *   - a parsed UUID formats back to the lowercased input;
 *   - util_unhex accepts exactly 2*len hex digits and round-trips through
 *     util_hex;
 *   - util_date_valid agrees with timegm() normalisation (a date is valid
 *     iff it survives struct tm -> time_t -> struct tm unchanged);
 *   - util_mysql_to_iso never writes past outlen (exact heap block).
 * Input: byte 0 picks the outlen for util_mysql_to_iso, the rest is the
 * string given to every parser.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "util.h"

static int
date_ref(const char *s)
{
	struct tm tm, back;
	time_t t;
	int i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !(s[i] >= '0' && s[i] <= '9'))
			return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = 12;
	if (tm.tm_year + 1900 < 1000)
		return -1;
	back = tm;
	t = timegm(&back);
	if (t == (time_t)-1)
		return -1;
	gmtime_r(&t, &back);
	return back.tm_year == tm.tm_year && back.tm_mon == tm.tm_mon &&
	    back.tm_mday == tm.tm_mday ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char u[16], u2[16], *bin;
	char ustr[UUID_STR_LEN], *s, *hex, *iso;
	size_t outlen, len, i;

	if (size < 1)
		return 0;
	outlen = data[0] & 63;
	s = fuzz_strndup(data + 1, size - 1);

	/* UUID: round trip. */
	if (util_uuid_parse(s, u) == 0) {
		FUZZ_ASSERT(strlen(s) == 36);
		util_uuid_format(u, ustr);
		for (i = 0; i < 36; i++)
			FUZZ_ASSERT(ustr[i] == tolower((unsigned char)s[i]));
		FUZZ_ASSERT(util_uuid_parse(ustr, u2) == 0);
		FUZZ_ASSERT(memcmp(u, u2, 16) == 0);
	}

	/* Hex: exact length, round trip (len = half the input, rounded). */
	len = strlen(s) / 2;
	bin = malloc(len ? len : 1);
	hex = malloc(2 * len + 1);
	if (bin == NULL || hex == NULL)
		abort();
	if (util_unhex(s, bin, len) == 0) {
		FUZZ_ASSERT(strlen(s) == 2 * len);
		util_hex(bin, len, hex);
		for (i = 0; i < 2 * len; i++)
			FUZZ_ASSERT(hex[i] == tolower((unsigned char)s[i]));
	}
	(void)util_unhex(s, u, 16);
	free(bin);
	free(hex);

	/* Date: differential against timegm. */
	FUZZ_ASSERT(util_date_valid(s) == date_ref(s));

	/* MySQL DATETIME -> ISO: bounded output. */
	iso = malloc(outlen ? outlen : 1);
	if (iso == NULL)
		abort();
	if (outlen > 0 && util_mysql_to_iso(s, iso, outlen) == 0) {
		FUZZ_ASSERT(strlen(iso) < outlen);
		FUZZ_ASSERT(iso[10] == 'T');
		FUZZ_ASSERT(iso[strlen(iso) - 1] == 'Z');
	}
	free(iso);
	iso = malloc(ISO_TIME_LEN);
	if (iso == NULL)
		abort();
	(void)util_mysql_to_iso(s, iso, ISO_TIME_LEN);
	free(iso);

	free(s);
	return 0;
}
