/*
 * csv: see csv.h.
 *
 * One pass over the record: the unquoted field bytes are appended to
 * c->buf, each field NUL-terminated, and the field pointers are fixed up
 * at the end (buf may move while it grows).
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
csv_init(struct csv *c, const char *buf, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->p = buf;
	c->end = buf + len;
	c->line = 1;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		c->p += 3;
}

void
csv_free(struct csv *c)
{
	free(c->buf);
	c->buf = NULL;
	c->buflen = c->bufcap = 0;
}

static int
put(struct csv *c, char ch)
{
	if (c->buflen == c->bufcap) {
		size_t ncap = c->bufcap ? c->bufcap * 2 : 256;
		char *n = realloc(c->buf, ncap);

		if (n == NULL)
			return -1;
		c->buf = n;
		c->bufcap = ncap;
	}
	c->buf[c->buflen++] = ch;
	return 0;
}

int
csv_next(struct csv *c, struct csv_record *r, char *err, size_t errlen)
{
	size_t start[CSV_MAX_FIELDS], flen = 0;
	int n = 0, quoted;

	memset(r, 0, sizeof(*r));
	/* Empty lines between records carry nothing. */
	while (c->p < c->end && (*c->p == '\n' || (*c->p == '\r' &&
	    c->p + 1 < c->end && c->p[1] == '\n'))) {
		c->p += *c->p == '\r' ? 2 : 1;
		c->line++;
	}
	if (c->p >= c->end)
		return 0;
	r->line = c->line;
	c->buflen = 0;
	for (;;) {
		if (n == CSV_MAX_FIELDS) {
			c->errline = c->line;
			snprintf(err, errlen, "more than %d fields", CSV_MAX_FIELDS);
			return -1;
		}
		start[n] = c->buflen;
		flen = 0;
		quoted = c->p < c->end && *c->p == '"';
		if (quoted) {
			int qline = c->line;

			c->p++;
			for (;;) {
				if (c->p >= c->end) {
					c->errline = qline;
					snprintf(err, errlen, "quoted field not "
					    "closed at the end of the file");
					return -1;
				}
				if (*c->p == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						c->p += 2;
						if (put(c, '"') == -1)
							goto nomem;
						flen++;
					} else {
						c->p++;
						break;
					}
				} else {
					if (*c->p == '\n')
						c->line++;
					if (put(c, *c->p++) == -1)
						goto nomem;
					flen++;
				}
				if (flen > CSV_MAX_FIELD_LEN)
					goto toolong;
			}
			if (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
			    !(*c->p == '\r' && c->p + 1 < c->end &&
			    c->p[1] == '\n')) {
				c->errline = c->line;
				snprintf(err, errlen, "unexpected '%c' after "
				    "a closing quote", *c->p);
				return -1;
			}
		} else {
			while (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
			    !(*c->p == '\r' && c->p + 1 < c->end &&
			    c->p[1] == '\n')) {
				if (*c->p == '"') {
					c->errline = c->line;
					snprintf(err, errlen, "quote inside an "
					    "unquoted field (quote the whole "
					    "field, doubling the quote)");
					return -1;
				}
				if (put(c, *c->p++) == -1)
					goto nomem;
				if (++flen > CSV_MAX_FIELD_LEN)
					goto toolong;
			}
		}
		if (put(c, '\0') == -1)
			goto nomem;
		r->len[n] = flen;
		n++;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		/* The record's end: a line break, or the input's end. */
		if (c->p < c->end) {
			c->p += *c->p == '\r' ? 2 : 1;
			c->line++;
		}
		break;
	}
	r->nfields = n;
	for (int i = 0; i < n; i++)
		r->field[i] = c->buf + start[i];
	return 1;
toolong:
	c->errline = c->line;
	snprintf(err, errlen, "field longer than %d bytes", CSV_MAX_FIELD_LEN);
	return -1;
nomem:
	c->errline = c->line;
	snprintf(err, errlen, "out of memory");
	return -1;
}
