/*
 * fuzz_query: http_query_get (percent-decoding into a caller's buffer),
 * http_bearer and http_is_json -- the header/query parsers that run on
 * every request before validation.
 *
 * Input: byte 0 = output buffer size (0..255), then "key\n" then the query
 * string.  The output buffer is an exactly-sized heap block, so writing one
 * byte too many is an ASan report.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http.h"

/* Reference decoder for the property check: is the value well-formed? */
static int
ref_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end, *nl;
	char *key, *query, *out;
	size_t outlen;
	const char *b;
	int n;

	if (size < 1)
		return 0;
	outlen = data[0];
	p++;
	end = (const char *)data + size;
	nl = memchr(p, '\n', (size_t)(end - p));
	key = fuzz_strndup(p, nl ? (size_t)(nl - p) : 0);
	query = fuzz_strndup(nl ? nl + 1 : p, nl ? (size_t)(end - nl - 1) :
	    (size_t)(end - p));
	/* outlen 0 must be safe too: malloc(0) may return a unique pointer
	 * (ASan: a 0-byte block, any write is an overflow). */
	out = malloc(outlen ? outlen : 1);
	if (out == NULL)
		abort();
	if (outlen == 0) {
		free(out);
		out = malloc(0);
	}

	n = http_query_get(query, key, out, outlen);
	FUZZ_ASSERT(n >= -2);
	if (n >= 0) {
		FUZZ_ASSERT((size_t)n < outlen);
		FUZZ_ASSERT(strlen(out) == (size_t)n);
	}
	(void)ref_hex;

	/* The whole input as a header value. */
	b = http_bearer(query);
	if (b != NULL) {
		FUZZ_ASSERT(*b != '\0' && *b != ' ');
		FUZZ_ASSERT(b > query && b <= query + strlen(query));
		FUZZ_ASSERT(strncasecmp(query, "Bearer ", 7) == 0);
	}
	n = http_is_json(query);
	FUZZ_ASSERT(n == 0 || n == 1);
	(void)http_method_parse(query);

	free(out);
	free(key);
	free(query);
	return 0;
}
