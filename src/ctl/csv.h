/*
 * csv: an RFC 4180 record reader over a buffer in memory.
 *
 * Fields are separated by ',' and records by CRLF or LF; a field may be
 * quoted with '"', and inside quotes '""' is one quote and commas, CR and
 * LF are data.  Strict where RFC 4180 is: a quote inside an unquoted
 * field, anything but ',' or the record's end after a closing quote, and a
 * quote left open at the end of the input are errors.  A record's line is
 * the physical line it starts on (quoted line breaks count), so messages
 * can say file:line.  A UTF-8 byte order mark at the start is skipped;
 * empty lines between records are skipped.
 */
#ifndef CONCERT_CSV_H
#define CONCERT_CSV_H

#include <stddef.h>

#define CSV_MAX_FIELDS    32     /* fields of one record */
#define CSV_MAX_FIELD_LEN 4096   /* bytes of one field, unquoted */

struct csv {
	const char *p, *end;
	int line;                    /* physical line of p, 1-based */
	int errline;                 /* the line of the last error */
	char *buf;                   /* the current record's fields, NUL-separated */
	size_t buflen, bufcap;
};

struct csv_record {
	int line;                    /* the line the record starts on */
	int nfields;
	const char *field[CSV_MAX_FIELDS];   /* NUL-terminated, into csv.buf */
	size_t len[CSV_MAX_FIELDS];  /* a field may hold a NUL byte: its length */
};

/* Read from buf[0..len); nothing is copied until csv_next. */
void csv_init(struct csv *c, const char *buf, size_t len);

/* Free what csv_next allocated. */
void csv_free(struct csv *c);

/*
 * The next record into *r (valid until the next call).  Returns 1 for a
 * record, 0 at the end of the input, -1 on a syntax error, what is
 * wrong in err and its line in c->errline (the reader cannot
 * resynchronise after one: stop).
 */
int csv_next(struct csv *c, struct csv_record *r, char *err, size_t errlen);

#endif
