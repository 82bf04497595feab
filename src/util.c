/*
 * util: see util.h.
 */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <uuid/uuid.h>

#include "clock.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
util_uuid_parse(const char *s, unsigned char out[16])
{
	static const int dash[] = { 8, 13, 18, 23 };
	int i, n = 0, d = 0;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36;) {
		int hi, lo;

		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return -1;
			i++;
			d++;
			continue;
		}
		if ((hi = hexval((unsigned char)s[i])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 1])) < 0)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return n == 16 ? 0 : -1;
}

void
util_uuid_format(const unsigned char in[16], char out[UUID_STR_LEN])
{
	uuid_unparse_lower(in, out);
}

void
util_uuid_new(unsigned char out[16])
{
	uuid_generate_random(out);
}

int
util_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
util_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int
util_unhex(const char *s, unsigned char *out, size_t len)
{
	size_t i;

	if (strlen(s) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
util_mysql_to_iso(const char *in, char *out, size_t outlen)
{
	char ms[4] = "000";
	const char *dot;
	size_t i;

	if (strlen(in) < 19 || in[10] != ' ')
		return -1;
	if ((dot = strchr(in, '.')) != NULL)
		for (i = 0; i < 3 && dot[1 + i] >= '0' && dot[1 + i] <= '9'; i++)
			ms[i] = dot[1 + i];
	if ((size_t)snprintf(out, outlen, "%.10sT%.8s.%sZ", in, in + 11, ms)
	    >= outlen)
		return -1;
	return 0;
}

int
util_date_valid(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, i, leap;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1000 || m < 1 || m > 12 || d < 1)
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	return 0;
}

void
util_iso_time(int64_t epoch_ms, char *out, size_t len)
{
	time_t sec = (time_t)(epoch_ms / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(epoch_ms % 1000));
}

void
util_now_iso(char *out, size_t len)
{
	util_iso_time(clock_wall_ms(), out, len);
}
