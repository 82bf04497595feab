/*
 * catalog: see catalog.h.
 *
 * Both loaders build the same structure: concerts, each with its grades
 * and dates, each date with blocks (seats described together, which say
 * where they came from) and the seats (a number and its block).  A value
 * that breaks a rule is reported and left out, and loading goes on, so
 * one run lists every error; the importer only ever sees a catalogue
 * with none (cat->nerrors == 0).
 */
#include "catalog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "csv.h"
#include "util.h"

void
cat_init(struct catalog *cat, const char *name)
{
	memset(cat, 0, sizeof(*cat));
	snprintf(cat->name, sizeof(cat->name), "%s", name);
}

void
cat_free(struct catalog *cat)
{
	size_t i, j;
	int k;

	for (i = 0; i < cat->nconcerts; i++) {
		struct cat_concert *c = &cat->concerts[i];

		for (j = 0; j < c->ndates; j++) {
			free(c->dates[j].blocks);
			free(c->dates[j].seats);
		}
		free(c->dates);
	}
	free(cat->concerts);
	for (k = 0; k < CAT_ERRORS_MAX; k++)
		free(cat->errors[k]);
	memset(cat, 0, sizeof(*cat));
}

/* ---- where a JSON path is in the text ----
 *
 * json-c keeps no positions, so an error naming a value by its path
 * finds the value's line by scanning the text (valid JSON: json-c has
 * parsed it) down that path only, skipping every other member whole.
 * The deepest value on the path that exists gives the line (a missing
 * key: its object's). */

struct jscan {
	const char *p, *end;
	int line;
};

static void
js_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r')) {
		if (*s->p == '\n')
			s->line++;
		s->p++;
	}
}

static void
js_string(struct jscan *s)
{
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++)
		if (*s->p == '\\')
			s->p++;
	s->p++;
}

static void
js_skip(struct jscan *s)
{
	int depth = 0;

	js_ws(s);
	if (s->p >= s->end)
		return;
	if (*s->p == '"') {
		js_string(s);
		return;
	}
	if (*s->p != '{' && *s->p != '[') {
		/* a number, true, false or null */
		while (s->p < s->end && strchr(",}] \t\r\n", *s->p) == NULL)
			s->p++;
		return;
	}
	do {
		if (*s->p == '"') {
			js_string(s);
			continue;
		}
		if (*s->p == '{' || *s->p == '[')
			depth++;
		else if (*s->p == '}' || *s->p == ']')
			depth--;
		else if (*s->p == '\n')
			s->line++;
		s->p++;
	} while (depth > 0 && s->p < s->end);
}

/* 1 when path continues target: target is path, or path followed by
 * '.' or '['. */
static int
js_on_path(const char *target, const char *path, size_t n)
{
	return strncmp(target, path, n) == 0 && (target[n] == '\0' ||
	    target[n] == '.' || target[n] == '[');
}

/* The value at s->p has path cur (length n, room in cur[0..cap)):
 * descend toward target.  Returns the line of the deepest value found. */
static int
js_find(struct jscan *s, const char *target, char *cur, size_t n,
    size_t cap)
{
	int line, i = 0;
	size_t m;

	js_ws(s);
	line = s->line;
	if (target[n] == '\0' || s->p >= s->end)
		return line;
	if (*s->p != '{' && *s->p != '[')
		return line;
	if (*s->p == '{') {
		for (s->p++;;) {
			const char *k;
			size_t klen;

			js_ws(s);
			if (s->p >= s->end || *s->p != '"')
				return line;
			k = s->p + 1;
			js_string(s);
			klen = (size_t)(s->p - 1 - k);
			js_ws(s);
			s->p++;         /* ':' */
			m = (size_t)snprintf(cur + n, cap - n, "%s%.*s",
			    n > 0 ? "." : "", (int)klen, k);
			if (n + m < cap && js_on_path(target, cur, n + m))
				return js_find(s, target, cur, n + m, cap);
			cur[n] = '\0';
			js_skip(s);
			js_ws(s);
			if (s->p >= s->end || *s->p != ',')
				return line;
			s->p++;
		}
	}
	for (s->p++;; i++) {
		js_ws(s);
		if (s->p >= s->end || *s->p == ']')
			return line;
		m = (size_t)snprintf(cur + n, cap - n, "[%d]", i);
		if (n + m < cap && js_on_path(target, cur, n + m))
			return js_find(s, target, cur, n + m, cap);
		cur[n] = '\0';
		js_skip(s);
		js_ws(s);
		if (s->p >= s->end || *s->p != ',')
			return line;
		s->p++;
	}
}

/* The line of the value at path in buf (or of its deepest ancestor). */
static int
js_path_line(const char *buf, size_t len, const char *path)
{
	struct jscan s = { buf, buf + len, 1 };
	char cur[CAT_PATH_LEN + 32];

	cur[0] = '\0';
	if (strcmp(path, "(top)") == 0)
		path = "";
	return js_find(&s, path, cur, 0, sizeof(cur));
}

/* Keys of one object compared for duplicates, at most (an object with
 * more has unknown keys anyway). */
#define JS_KEYS_MAX 64

static void cat_error_at(struct catalog *, int, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* json-c keeps the last of two equal keys without a word, so a second
 * "price" would win silently: walk the whole text, every object's keys
 * compared, and report each duplicate on its line. */
static void
js_dups(struct catalog *cat, struct jscan *s, char *cur, size_t n, size_t cap)
{
	const char *keys[JS_KEYS_MAX];
	size_t lens[JS_KEYS_MAX], m;
	int nkeys = 0, i, idx = 0;

	js_ws(s);
	if (s->p >= s->end)
		return;
	if (*s->p == '{') {
		for (s->p++;;) {
			const char *k;
			size_t klen;
			int line;

			js_ws(s);
			if (s->p >= s->end || *s->p != '"')
				break;
			line = s->line;
			k = s->p + 1;
			js_string(s);
			klen = (size_t)(s->p - 1 - k);
			for (i = 0; i < nkeys; i++)
				if (lens[i] == klen && memcmp(keys[i], k, klen) == 0) {
					cat_error_at(cat, line, 0, "%s%skey '%.*s' is "
					    "listed twice", n > 0 ? cur : "",
					    n > 0 ? ": " : "", (int)(klen > 40 ? 40 :
					    klen), k);
					break;
				}
			if (nkeys < JS_KEYS_MAX) {
				keys[nkeys] = k;
				lens[nkeys++] = klen;
			}
			js_ws(s);
			s->p++;         /* ':' */
			m = (size_t)snprintf(cur + n, cap - n, "%s%.*s",
			    n > 0 ? "." : "", (int)(klen > 40 ? 40 : klen), k);
			if (n + m >= cap)
				m = 0;
			js_dups(cat, s, cur, n + m, cap);
			cur[n] = '\0';
			js_ws(s);
			if (s->p >= s->end || *s->p != ',')
				break;
			s->p++;
		}
		js_ws(s);
		s->p++;                 /* '}' */
		return;
	}
	if (*s->p == '[') {
		for (s->p++;; idx++) {
			js_ws(s);
			if (s->p >= s->end || *s->p == ']')
				break;
			m = (size_t)snprintf(cur + n, cap - n, "[%d]", idx);
			if (n + m >= cap)
				m = 0;
			js_dups(cat, s, cur, n + m, cap);
			cur[n] = '\0';
			js_ws(s);
			if (s->p >= s->end || *s->p != ',')
				break;
			s->p++;
		}
		js_ws(s);
		s->p++;                 /* ']' */
		return;
	}
	js_skip(s);
}

static void
cat_verror(struct catalog *cat, int line, int col, const char *path,
    const char *fmt, va_list ap)
{
	char msg[512], full[1024];
	int n;

	if (cat->nerrors++ >= CAT_ERRORS_MAX)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0 && col > 0)
		n = snprintf(full, sizeof(full), "%s:%d:%d: %s", cat->name, line,
		    col, msg);
	else if (line > 0)
		n = snprintf(full, sizeof(full), "%s:%d: %s", cat->name, line,
		    msg);
	else if (path != NULL && *path != '\0' && cat->jbuf != NULL)
		n = snprintf(full, sizeof(full), "%s:%d: %s: %s", cat->name,
		    js_path_line(cat->jbuf, cat->jlen, path), path, msg);
	else if (path != NULL && *path != '\0')
		n = snprintf(full, sizeof(full), "%s: %s: %s", cat->name, path,
		    msg);
	else
		n = snprintf(full, sizeof(full), "%s: %s", cat->name, msg);
	if (n < 0)
		full[0] = '\0';
	cat->errors[cat->nerrors - 1] = strdup(full);
}

void
cat_error(struct catalog *cat, int line, const char *path, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	cat_verror(cat, line, 0, path, fmt, ap);
	va_end(ap);
}

/* "NAME:LINE:COL: msg", for JSON syntax errors. */
static void
cat_error_at(struct catalog *cat, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cat_verror(cat, line, col, NULL, fmt, ap);
	va_end(ap);
}

void
cat_block_where(const struct cat_block *b, char *out, size_t outlen)
{
	if (b->line > 0)
		snprintf(out, outlen, "line %d", b->line);
	else
		snprintf(out, outlen, "%s", b->path);
}

/* ---- the text rules ---- */

int
cat_check_text(const char *s, size_t len, int maxchars, char *why,
    size_t whylen)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	int chars = 0;

	while (p < end) {
		unsigned c = *p, cp, min;
		int n, i;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f) {
				snprintf(why, whylen, "control character 0x%02x",
				    c);
				return -1;
			}
			p++;
			chars++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			goto bad;
		if (end - p <= n)
			goto bad;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates, beyond Unicode. */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		if (cp >= 0x80 && cp < 0xa0) {
			snprintf(why, whylen, "control character U+%04X", cp);
			return -1;
		}
		p += n + 1;
		chars++;
	}
	if (chars > maxchars) {
		snprintf(why, whylen, "longer than %d characters", maxchars);
		return -1;
	}
	return 0;
bad:
	snprintf(why, whylen, "not valid UTF-8 (byte %zu)",
	    (size_t)(p - (const unsigned char *)s) + 1);
	return -1;
}

int
cat_check_name(const char *s, size_t maxlen, char *why, size_t whylen)
{
	size_t i, n = strlen(s);

	if (n > maxlen) {
		snprintf(why, whylen, "longer than %zu characters", maxlen);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-')) {
			snprintf(why, whylen, "only letters, digits, '-' and "
			    "'_' are allowed");
			return -1;
		}
	}
	return 0;
}

static int
digits(const char *s, int n)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
cat_parse_time(const char *s, char out[24], char *why, size_t whylen)
{
	char date[11], ms[4] = "000";
	size_t n = strlen(s), i;
	int h, m, sec;

	if (n < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
	    s[n - 1] != 'Z')
		goto bad;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (util_date_valid(date) == -1)
		goto bad;
	h = digits(s + 11, 2);
	m = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
		goto bad;
	if (n != 20) {
		/* ".f" to ".fff" before the Z */
		if (s[19] != '.' || n < 22 || n > 24)
			goto bad;
		for (i = 20; i < n - 1; i++) {
			if (s[i] < '0' || s[i] > '9')
				goto bad;
			ms[i - 20] = s[i];
		}
	}
	snprintf(out, 24, "%s %.2s:%.2s:%.2s.%s", date, s + 11, s + 14,
	    s + 17, ms);
	return 0;
bad:
	snprintf(why, whylen, "not an ISO-8601 UTC time "
	    "(YYYY-MM-DDTHH:MM:SSZ): '%.40s'", s);
	return -1;
}

/* ---- building ---- */

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *q;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 8;
	if ((q = realloc(p, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return q;
}

static struct cat_concert *
add_concert(struct catalog *cat)
{
	struct cat_concert *c, *n;

	if ((n = grow(cat->concerts, &cat->concertcap, cat->nconcerts,
	    sizeof(*n))) == NULL)
		return NULL;
	cat->concerts = n;
	c = &cat->concerts[cat->nconcerts++];
	memset(c, 0, sizeof(*c));
	return c;
}

static struct cat_date *
add_date(struct cat_concert *c)
{
	struct cat_date *d, *n;

	if ((n = grow(c->dates, &c->datecap, c->ndates, sizeof(*n))) == NULL)
		return NULL;
	c->dates = n;
	d = &c->dates[c->ndates++];
	memset(d, 0, sizeof(*d));
	return d;
}

static struct cat_block *
add_block(struct cat_date *d)
{
	struct cat_block *b, *n;

	if ((n = grow(d->blocks, &d->blockcap, d->nblocks,
	    sizeof(*n))) == NULL)
		return NULL;
	d->blocks = n;
	b = &d->blocks[d->nblocks++];
	memset(b, 0, sizeof(*b));
	return b;
}

/* Seats from..to of block b (the last block of d).  0 / -1 (over the
 * file's cap, reported once; out of memory). */
static int
add_seats(struct catalog *cat, struct cat_date *d, long long from,
    long long to, int line, const char *path)
{
	long long n;

	if (cat->nseats + (size_t)(to - from + 1) > CAT_SEATS_TOTAL_MAX) {
		if (cat->nseats <= CAT_SEATS_TOTAL_MAX) {
			cat_error(cat, line, path, "more than %d seats in the "
			    "file", CAT_SEATS_TOTAL_MAX);
			cat->nseats = CAT_SEATS_TOTAL_MAX + 1;
		}
		return -1;
	}
	for (n = from; n <= to; n++) {
		struct cat_seat *s;

		if ((s = grow(d->seats, &d->seatcap, d->nseats,
		    sizeof(*s))) == NULL) {
			cat_error(cat, line, path, "out of memory");
			return -1;
		}
		d->seats = s;
		d->seats[d->nseats].number = (int)n;
		d->seats[d->nseats].block = (int)d->nblocks - 1;
		d->nseats++;
		cat->nseats++;
	}
	return 0;
}

static int
seat_cmp(const void *a, const void *b)
{
	const struct cat_seat *x = a, *y = b;

	if (x->number != y->number)
		return x->number < y->number ? -1 : 1;
	/* Stable for the message: the earlier block first. */
	return (x->block > y->block) - (x->block < y->block);
}

void
cat_finish(struct catalog *cat)
{
	size_t i, j, k;

	for (i = 0; i < cat->nconcerts; i++) {
		struct cat_concert *c = &cat->concerts[i];

		for (j = 0; j < c->ndates; j++) {
			struct cat_date *d = &c->dates[j];

			/* (a date without seats has no array: qsort wants one) */
			if (d->nseats > 1)
				qsort(d->seats, d->nseats, sizeof(*d->seats),
				    seat_cmp);
			for (k = 1; k < d->nseats; k++) {
				const struct cat_block *b;
				char first[CAT_PATH_LEN + 16];

				if (d->seats[k].number != d->seats[k - 1].number)
					continue;
				cat_block_where(&d->blocks[d->seats[k - 1].block],
				    first, sizeof(first));
				b = &d->blocks[d->seats[k].block];
				cat_error(cat, b->line, b->path, "seat %d of "
				    "concert %lld on %s is listed twice (also "
				    "%s)", d->seats[k].number, c->id, d->date,
				    first);
			}
		}
	}
}

static const struct cat_grade *
find_grade(const struct cat_concert *c, const char *grade)
{
	int i;

	for (i = 0; i < c->ngrades; i++)
		if (strcmp(c->grades[i].grade, grade) == 0)
			return &c->grades[i];
	return NULL;
}

/* ---- JSON ---- */

/* The JSON path of a value, for messages: parent + ".key" or "[i]". */
static void
jpath(char *out, size_t outlen, const char *parent, const char *key, int idx)
{
	int n;

	/* Paths are short (CAT_PATH_LEN is far above the deepest); one cut
	 * short would only shorten a message. */
	if (key != NULL)
		n = snprintf(out, outlen, "%s%s%s", parent, *parent ? "." : "",
		    key);
	else
		n = snprintf(out, outlen, "%s[%d]", parent, idx);
	if (n < 0)
		out[0] = '\0';
}

/* 0 when every key of obj is one of keys (NULL-terminated). */
static int
j_known(struct catalog *cat, json_object *obj, const char *path,
    const char *const *keys)
{
	int bad = 0;

	json_object_object_foreach(obj, k, v) {
		const char *const *p;

		(void)v;
		for (p = keys; *p != NULL; p++)
			if (strcmp(*p, k) == 0)
				break;
		if (*p == NULL) {
			char kp[CAT_PATH_LEN];

			jpath(kp, sizeof(kp), strcmp(path, "(top)") == 0 ? "" :
			    path, strlen(k) <= 40 ? k : "(long)", 0);
			cat_error(cat, 0, kp, "unknown key");
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* An integer member key of obj in [min, max].  1 found (in *out), 0
 * absent (and not required), -1 wrong (reported). */
static int
j_int(struct catalog *cat, json_object *obj, const char *parent,
    const char *key, int required, long long min, long long max,
    long long *out)
{
	char path[CAT_PATH_LEN];
	json_object *v;
	long long n;

	jpath(path, sizeof(path), parent, key, 0);
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (!required)
			return 0;
		cat_error(cat, 0, path, "missing");
		return -1;
	}
	if (!json_object_is_type(v, json_type_int)) {
		cat_error(cat, 0, path, "not an integer");
		return -1;
	}
	errno = 0;
	n = json_object_get_int64(v);
	if (errno != 0 || n < min || n > max) {
		cat_error(cat, 0, path, "out of range [%lld, %lld]: %s", min,
		    max, json_object_to_json_string(v));
		return -1;
	}
	*out = n;
	return 1;
}

/* A string member: 1 found (copied into out), 0 absent, -1 wrong.  kind:
 * 't' text of at most maxlen characters, 'n' a name of at most maxlen
 * characters of [A-Za-z0-9_-]. */
static int
j_str(struct catalog *cat, json_object *obj, const char *parent,
    const char *key, int required, char kind, size_t maxlen, char *out,
    size_t outlen)
{
	char path[CAT_PATH_LEN], why[128];
	json_object *v;
	const char *s;
	size_t len;

	jpath(path, sizeof(path), parent, key, 0);
	out[0] = '\0';
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (!required)
			return 0;
		cat_error(cat, 0, path, "missing");
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		cat_error(cat, 0, path, "not a string");
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		cat_error(cat, 0, path, "contains a NUL character");
		return -1;
	}
	if (kind == 't' ? cat_check_text(s, len, (int)maxlen, why,
	    sizeof(why)) : cat_check_name(s, maxlen, why, sizeof(why))) {
		cat_error(cat, 0, path, "%s", why);
		return -1;
	}
	if (len >= outlen) {
		cat_error(cat, 0, path, "too long");
		return -1;
	}
	memcpy(out, s, len + 1);
	return 1;
}

/* An array member: the array, or NULL (absent and optional: *absent = 1;
 * else reported). */
static json_object *
j_array(struct catalog *cat, json_object *obj, const char *parent,
    const char *key, int required, int *bad)
{
	char path[CAT_PATH_LEN];
	json_object *v;

	jpath(path, sizeof(path), parent, key, 0);
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		if (required) {
			cat_error(cat, 0, path, "missing");
			*bad = 1;
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_array)) {
		cat_error(cat, 0, path, "not an array");
		*bad = 1;
		return NULL;
	}
	return v;
}

static int
j_object(struct catalog *cat, json_object *v, const char *path)
{
	if (json_object_is_type(v, json_type_object))
		return 0;
	cat_error(cat, 0, path, "not an object");
	return -1;
}

static void
j_block(struct catalog *cat, struct cat_concert *c, struct cat_date *d,
    json_object *o, const char *path)
{
	static const char *const keys[] = { "section", "grade", "price",
	    "from", "to", "numbers", NULL };
	struct cat_block *b;
	const struct cat_grade *g;
	json_object *nums;
	long long from = 0, to = 0, price = 0;
	char sub[CAT_PATH_LEN];
	int hasfrom, hasto, hasprice, bad = 0;
	size_t i, n;

	if (j_object(cat, o, path) == -1)
		return;
	(void)j_known(cat, o, path, keys);
	if ((b = add_block(d)) == NULL) {
		cat_error(cat, 0, path, "out of memory");
		return;
	}
	if (snprintf(b->path, sizeof(b->path), "%s", path) < 0)
		b->path[0] = '\0';
	if (j_str(cat, o, path, "section", 0, 'n', CAT_SECTION_MAX, b->section,
	    sizeof(b->section)) < 0)
		bad = 1;
	if (j_str(cat, o, path, "grade", 0, 'n', CAT_GRADE_MAX, b->grade,
	    sizeof(b->grade)) < 0)
		bad = 1;
	hasprice = j_int(cat, o, path, "price", 0, 1, CAT_PRICE_MAX, &price);
	if (hasprice < 0)
		bad = 1;
	jpath(sub, sizeof(sub), path, "grade", 0);
	if (b->grade[0] != '\0') {
		if ((g = find_grade(c, b->grade)) == NULL) {
			cat_error(cat, 0, sub, "grade '%s' is not one of the "
			    "concert's grades", b->grade);
			bad = 1;
		} else if (hasprice > 0) {
			jpath(sub, sizeof(sub), path, "price", 0);
			cat_error(cat, 0, sub, "a graded seat costs its grade's "
			    "price (%lld): leave price out", g->price);
			bad = 1;
		} else
			b->price = g->price;
	} else if (hasprice == 0) {
		jpath(sub, sizeof(sub), path, "price", 0);
		cat_error(cat, 0, sub, "missing (a seat without a grade "
		    "needs a price)");
		bad = 1;
	} else
		b->price = price;
	hasfrom = j_int(cat, o, path, "from", 0, 1, CAT_SEAT_MAX, &from);
	hasto = j_int(cat, o, path, "to", 0, 1, CAT_SEAT_MAX, &to);
	nums = j_array(cat, o, path, "numbers", 0, &bad);
	if (hasfrom < 0 || hasto < 0)
		bad = 1;
	else if ((hasfrom > 0) == (nums != NULL) || (hasto > 0 && hasfrom == 0)) {
		cat_error(cat, 0, path, "give the seats as \"from\" (and "
		    "\"to\") or as \"numbers\", one of the two");
		bad = 1;
	} else if (hasto > 0 && to < from) {
		jpath(sub, sizeof(sub), path, "to", 0);
		cat_error(cat, 0, sub, "%lld is below from (%lld)", to, from);
		bad = 1;
	}
	if (bad) {
		d->nblocks--;
		return;
	}
	if (hasfrom > 0) {
		if (hasto == 0)
			to = from;
		(void)add_seats(cat, d, from, to, 0, path);
		return;
	}
	n = json_object_array_length(nums);
	jpath(sub, sizeof(sub), path, "numbers", 0);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(nums, i);
		char ip[CAT_PATH_LEN];
		long long num;

		jpath(ip, sizeof(ip), sub, NULL, (int)i);
		errno = 0;
		if (!json_object_is_type(v, json_type_int) ||
		    (num = json_object_get_int64(v), errno != 0) ||
		    num < 1 || num > CAT_SEAT_MAX) {
			cat_error(cat, 0, ip, "not a seat number 1 to %d: %s",
			    CAT_SEAT_MAX, json_object_to_json_string(v));
			continue;
		}
		if (add_seats(cat, d, num, num, 0, ip) == -1)
			return;
	}
}

static void
j_date(struct catalog *cat, struct cat_concert *c, json_object *o,
    const char *path)
{
	static const char *const keys[] = { "date", "title", "seats", NULL };
	struct cat_date *d;
	json_object *seats;
	char sub[CAT_PATH_LEN];
	size_t i, j, n;
	int bad = 0;

	if (j_object(cat, o, path) == -1)
		return;
	(void)j_known(cat, o, path, keys);
	if (c->ndates >= CAT_DATES_MAX) {
		cat_error(cat, 0, path, "more than %d dates", CAT_DATES_MAX);
		return;
	}
	if ((d = add_date(c)) == NULL) {
		cat_error(cat, 0, path, "out of memory");
		return;
	}
	jpath(sub, sizeof(sub), path, "date", 0);
	if (j_str(cat, o, path, "date", 1, 't', 10, d->date,
	    sizeof(d->date)) == 1 && util_date_valid(d->date) == -1) {
		cat_error(cat, 0, sub, "not a date (YYYY-MM-DD): '%s'", d->date);
		bad = 1;
	} else if (d->date[0] == '\0')
		bad = 1;
	for (j = 0; !bad && j + 1 < c->ndates; j++)
		if (strcmp(c->dates[j].date, d->date) == 0) {
			cat_error(cat, 0, sub, "date %s of concert %lld is "
			    "listed twice", d->date, c->id);
			bad = 1;
		}
	if (j_str(cat, o, path, "title", 0, 't', CAT_TEXT_MAX, d->title,
	    sizeof(d->title)) < 0)
		bad = 1;
	seats = j_array(cat, o, path, "seats", 0, &bad);
	if (bad) {
		free(d->blocks);
		free(d->seats);
		cat->nseats -= d->nseats;
		c->ndates--;
		return;
	}
	n = seats != NULL ? json_object_array_length(seats) : 0;
	jpath(sub, sizeof(sub), path, "seats", 0);
	for (i = 0; i < n; i++) {
		char bp[CAT_PATH_LEN];

		jpath(bp, sizeof(bp), sub, NULL, (int)i);
		j_block(cat, c, d, json_object_array_get_idx(seats, i), bp);
	}
}

static void
j_concert(struct catalog *cat, json_object *o, const char *path)
{
	static const char *const keys[] = { "id", "title", "venue",
	    "onSaleAt", "grades", "dates", NULL };
	static const char *const gkeys[] = { "grade", "price", NULL };
	struct cat_concert *c;
	json_object *grades, *dates, *v;
	char sub[CAT_PATH_LEN], why[128];
	size_t i, n;
	int bad = 0;

	if (j_object(cat, o, path) == -1)
		return;
	(void)j_known(cat, o, path, keys);
	if (cat->nconcerts >= CAT_CONCERTS_MAX) {
		cat_error(cat, 0, path, "more than %d concerts",
		    CAT_CONCERTS_MAX);
		return;
	}
	if ((c = add_concert(cat)) == NULL) {
		cat_error(cat, 0, path, "out of memory");
		return;
	}
	if (j_int(cat, o, path, "id", 1, 1, CAT_CONCERT_ID_MAX, &c->id) < 0)
		bad = 1;
	for (i = 0; !bad && i + 1 < cat->nconcerts; i++)
		if (cat->concerts[i].id == c->id) {
			jpath(sub, sizeof(sub), path, "id", 0);
			cat_error(cat, 0, sub, "concert %lld is listed twice",
			    c->id);
			bad = 1;
		}
	if (j_str(cat, o, path, "title", 1, 't', CAT_TEXT_MAX, c->title,
	    sizeof(c->title)) < 0)
		bad = 1;
	else if (c->title[0] == '\0') {
		jpath(sub, sizeof(sub), path, "title", 0);
		cat_error(cat, 0, sub, "empty");
		bad = 1;
	}
	if (j_str(cat, o, path, "venue", 0, 't', CAT_TEXT_MAX, c->venue,
	    sizeof(c->venue)) < 0)
		bad = 1;
	jpath(sub, sizeof(sub), path, "onSaleAt", 0);
	if (json_object_object_get_ex(o, "onSaleAt", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string)) {
			cat_error(cat, 0, sub, "not a string (or null)");
			bad = 1;
		} else if (cat_parse_time(json_object_get_string(v),
		    c->on_sale_at, why, sizeof(why)) == -1) {
			cat_error(cat, 0, sub, "%s", why);
			bad = 1;
		}
	}
	grades = j_array(cat, o, path, "grades", 0, &bad);
	n = grades != NULL ? json_object_array_length(grades) : 0;
	jpath(sub, sizeof(sub), path, "grades", 0);
	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(grades, i);
		struct cat_grade *cg;
		char gp[CAT_PATH_LEN];
		int k;

		jpath(gp, sizeof(gp), sub, NULL, (int)i);
		if (j_object(cat, g, gp) == -1) {
			bad = 1;
			continue;
		}
		(void)j_known(cat, g, gp, gkeys);
		if (c->ngrades >= CAT_GRADES_MAX) {
			cat_error(cat, 0, gp, "more than %d grades",
			    CAT_GRADES_MAX);
			bad = 1;
			break;
		}
		cg = &c->grades[c->ngrades];
		if (j_str(cat, g, gp, "grade", 1, 'n', CAT_GRADE_MAX, cg->grade,
		    sizeof(cg->grade)) != 1 || j_int(cat, g, gp, "price", 1, 1,
		    CAT_PRICE_MAX, &cg->price) != 1) {
			bad = 1;
			continue;
		}
		if (cg->grade[0] == '\0') {
			cat_error(cat, 0, gp, "empty grade");
			bad = 1;
			continue;
		}
		for (k = 0; k < c->ngrades; k++)
			if (strcmp(c->grades[k].grade, cg->grade) == 0)
				break;
		if (k < c->ngrades) {
			cat_error(cat, 0, gp, "grade '%s' is listed twice",
			    cg->grade);
			bad = 1;
			continue;
		}
		c->ngrades++;
	}
	dates = j_array(cat, o, path, "dates", 0, &bad);
	n = dates != NULL ? json_object_array_length(dates) : 0;
	jpath(sub, sizeof(sub), path, "dates", 0);
	for (i = 0; i < n; i++) {
		char dp[CAT_PATH_LEN];

		jpath(dp, sizeof(dp), sub, NULL, (int)i);
		j_date(cat, c, json_object_array_get_idx(dates, i), dp);
	}
	(void)bad;      /* reported; the concert stays for the checks after */
}

/* Line and column (1-based) of byte off of buf. */
static void
line_col(const char *buf, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

int
cat_load_json(struct catalog *cat, const char *buf, size_t len)
{
	static const char *const keys[] = { "concerts", NULL };
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *root, *concerts;
	size_t end, i, n;
	int line, col, bad = 0;

	if (len > (size_t)CAT_FILE_MAX || len > (size_t)0x7fffffff) {
		cat_error(cat, 0, NULL, "file larger than %ld bytes",
		    CAT_FILE_MAX);
		return -1;
	}
	if ((tok = json_tokener_new_ex(64)) == NULL) {
		cat_error(cat, 0, NULL, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		line_col(buf, len, &line, &col);
		cat_error_at(cat, line, col, "unexpected end of the file "
		    "(JSON not complete)");
		json_tokener_free(tok);
		return -1;
	}
	if (jerr != json_tokener_success) {
		/* The offset is where the tokener stopped: the byte it
		 * refused. */
		line_col(buf, end, &line, &col);
		cat_error_at(cat, line, col, "JSON syntax error: %s",
		    json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	for (i = end; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
		    buf[i] != '\r') {
			line_col(buf, i, &line, &col);
			cat_error_at(cat, line, col, "text after the JSON "
			    "value");
			json_object_put(root);
			return -1;
		}
	cat->jbuf = buf;
	cat->jlen = len;
	{
		struct jscan js = { buf, buf + len, 1 };
		char cur[CAT_PATH_LEN + 48];

		cur[0] = '\0';
		js_dups(cat, &js, cur, 0, sizeof(cur));
	}
	if (j_object(cat, root, "(top)") == -1) {
		json_object_put(root);
		cat->jbuf = NULL;
		return -1;
	}
	(void)j_known(cat, root, "(top)", keys);
	concerts = j_array(cat, root, "", "concerts", 1, &bad);
	n = concerts != NULL ? json_object_array_length(concerts) : 0;
	for (i = 0; i < n; i++) {
		char cp[CAT_PATH_LEN];

		jpath(cp, sizeof(cp), "concerts", NULL, (int)i);
		j_concert(cat, json_object_array_get_idx(concerts, i), cp);
	}
	json_object_put(root);
	cat_finish(cat);
	cat->jbuf = NULL;
	return cat->nerrors > 0 ? -1 : 0;
}

/* ---- CSV ---- */

enum csv_col {
	COL_CONCERT_ID, COL_TITLE, COL_VENUE, COL_ON_SALE_AT, COL_DATE,
	COL_DATE_TITLE, COL_SECTION, COL_GRADE, COL_PRICE, COL_SEAT, COL__MAX
};

static const struct {
	const char *name;
	int required;
} csv_cols[COL__MAX] = {
	[COL_CONCERT_ID] = { "concert_id", 1 },
	[COL_TITLE] = { "title", 0 },
	[COL_VENUE] = { "venue", 0 },
	[COL_ON_SALE_AT] = { "on_sale_at", 0 },
	[COL_DATE] = { "date", 1 },
	[COL_DATE_TITLE] = { "date_title", 0 },
	[COL_SECTION] = { "section", 0 },
	[COL_GRADE] = { "grade", 0 },
	[COL_PRICE] = { "price", 1 },
	[COL_SEAT] = { "seat", 1 },
};

/* A whole cell as a number in [min, max]: 0, or -1. */
static int
csv_num(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 13)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A concert's row sets its title, venue and on-sale time on the first
 * row; every later row must say the same. */
static int
csv_same(struct catalog *cat, int line, const char *what, const char *have,
    int have_line, const char *got)
{
	if (strcmp(have, got) == 0)
		return 0;
	cat_error(cat, line, NULL, "%s '%.60s' differs from '%.60s' on line %d",
	    what, got, have, have_line);
	return -1;
}

/* One data row.  The row's problems are all reported; a row with any is
 * left out. */
static void
csv_row(struct catalog *cat, const struct csv_record *r, const int *col,
    struct cat_concert **lastc, struct cat_date **lastd)
{
	const char *v[COL__MAX];
	char why[128], onsale[24] = "", what[64];
	struct cat_concert *c = NULL;
	struct cat_date *d = NULL;
	struct cat_block *b;
	long long id = 0, price = 0, from = 0, to = 0;
	const char *dash;
	int i, bad = 0, line = r->line;
	size_t j;

	for (i = 0; i < COL__MAX; i++) {
		v[i] = col[i] >= 0 ? r->field[col[i]] : "";
		if (col[i] >= 0 && strlen(v[i]) != r->len[col[i]]) {
			cat_error(cat, line, NULL, "%s: contains a NUL "
			    "character", csv_cols[i].name);
			return;
		}
	}
	if (csv_num(v[COL_CONCERT_ID], 1, CAT_CONCERT_ID_MAX, &id) == -1) {
		cat_error(cat, line, NULL, "concert_id: not a concert id 1 to "
		    "%d: '%.20s'", CAT_CONCERT_ID_MAX, v[COL_CONCERT_ID]);
		bad = 1;
	}
	for (i = 0; i < 3; i++) {
		static const enum csv_col texts[] = { COL_TITLE, COL_VENUE,
		    COL_DATE_TITLE };
		enum csv_col t = texts[i];

		if (cat_check_text(v[t], strlen(v[t]), CAT_TEXT_MAX, why,
		    sizeof(why)) == -1) {
			cat_error(cat, line, NULL, "%s: %s", csv_cols[t].name,
			    why);
			bad = 1;
		}
	}
	if (v[COL_ON_SALE_AT][0] != '\0' && cat_parse_time(v[COL_ON_SALE_AT],
	    onsale, why, sizeof(why)) == -1) {
		cat_error(cat, line, NULL, "on_sale_at: %s", why);
		bad = 1;
	}
	if (util_date_valid(v[COL_DATE]) == -1) {
		cat_error(cat, line, NULL, "date: not a date (YYYY-MM-DD): "
		    "'%.20s'", v[COL_DATE]);
		bad = 1;
	}
	if (cat_check_name(v[COL_SECTION], CAT_SECTION_MAX, why,
	    sizeof(why)) == -1) {
		cat_error(cat, line, NULL, "section: %s: '%.20s'", why,
		    v[COL_SECTION]);
		bad = 1;
	}
	if (cat_check_name(v[COL_GRADE], CAT_GRADE_MAX, why,
	    sizeof(why)) == -1) {
		cat_error(cat, line, NULL, "grade: %s: '%.20s'", why,
		    v[COL_GRADE]);
		bad = 1;
	}
	if (csv_num(v[COL_PRICE], 1, CAT_PRICE_MAX, &price) == -1) {
		cat_error(cat, line, NULL, "price: not a price 1 to %lld: "
		    "'%.20s'", CAT_PRICE_MAX, v[COL_PRICE]);
		bad = 1;
	}
	dash = strchr(v[COL_SEAT], '-');
	if (dash == NULL) {
		if (csv_num(v[COL_SEAT], 1, CAT_SEAT_MAX, &from) == -1)
			goto badseat;
		to = from;
	} else {
		char a[16];

		if ((size_t)(dash - v[COL_SEAT]) >= sizeof(a))
			goto badseat;
		memcpy(a, v[COL_SEAT], (size_t)(dash - v[COL_SEAT]));
		a[dash - v[COL_SEAT]] = '\0';
		if (csv_num(a, 1, CAT_SEAT_MAX, &from) == -1 ||
		    csv_num(dash + 1, 1, CAT_SEAT_MAX, &to) == -1 || to < from)
			goto badseat;
	}
	if (0) {
badseat:
		cat_error(cat, line, NULL, "seat: not a seat number or range "
		    "1 to %d (\"17\", \"1-500\"): '%.20s'", CAT_SEAT_MAX,
		    v[COL_SEAT]);
		bad = 1;
	}
	if (bad)
		return;

	/* The concert: the last row's, or one seen before, or a new one. */
	if (*lastc != NULL && (*lastc)->id == id)
		c = *lastc;
	for (j = 0; c == NULL && j < cat->nconcerts; j++)
		if (cat->concerts[j].id == id)
			c = &cat->concerts[j];
	if (c == NULL) {
		if (cat->nconcerts >= CAT_CONCERTS_MAX) {
			cat_error(cat, line, NULL, "more than %d concerts",
			    CAT_CONCERTS_MAX);
			return;
		}
		if ((c = add_concert(cat)) == NULL) {
			cat_error(cat, line, NULL, "out of memory");
			return;
		}
		c->id = id;
		c->line = line;
		snprintf(c->title, sizeof(c->title), "%s", v[COL_TITLE]);
		snprintf(c->venue, sizeof(c->venue), "%s", v[COL_VENUE]);
		snprintf(c->on_sale_at, sizeof(c->on_sale_at), "%s", onsale);
		if (c->title[0] == '\0') {
			cat_error(cat, line, NULL, "title: empty (the first row "
			    "of concert %lld names it)", id);
			bad = 1;
		}
		*lastd = NULL;
	} else {
		snprintf(what, sizeof(what), "title of concert %lld", id);
		bad |= csv_same(cat, line, what, c->title, c->line,
		    v[COL_TITLE]);
		snprintf(what, sizeof(what), "venue of concert %lld", id);
		bad |= csv_same(cat, line, what, c->venue, c->line,
		    v[COL_VENUE]);
		snprintf(what, sizeof(what), "on_sale_at of concert %lld", id);
		bad |= csv_same(cat, line, what, c->on_sale_at, c->line, onsale);
	}
	/* The date cache belongs to the last row's concert (found by the
	 * fuzzer: rows of 41, 40, 41 on one day put 41's seats into 40). */
	if (*lastc != c)
		*lastd = NULL;
	*lastc = c;
	/* A grade's price: the first row with the grade sets it. */
	if (v[COL_GRADE][0] != '\0') {
		const struct cat_grade *g = find_grade(c, v[COL_GRADE]);

		if (g == NULL) {
			if (c->ngrades >= CAT_GRADES_MAX) {
				cat_error(cat, line, NULL, "more than %d grades "
				    "in concert %lld", CAT_GRADES_MAX, id);
				return;
			}
			snprintf(c->grades[c->ngrades].grade,
			    sizeof(c->grades[0].grade), "%s", v[COL_GRADE]);
			c->grades[c->ngrades].price = price;
			c->grades[c->ngrades].line = line;
			c->ngrades++;
		} else if (g->price != price) {
			cat_error(cat, line, NULL, "price %lld of grade '%s' "
			    "differs from %lld on line %d (a grade has one "
			    "price)", price, g->grade, g->price, g->line);
			bad = 1;
		}
	}
	/* The date, likewise. */
	if (*lastd != NULL && strcmp((*lastd)->date, v[COL_DATE]) == 0)
		d = *lastd;
	for (j = 0; d == NULL && j < c->ndates; j++)
		if (strcmp(c->dates[j].date, v[COL_DATE]) == 0)
			d = &c->dates[j];
	if (d == NULL) {
		if (c->ndates >= CAT_DATES_MAX) {
			cat_error(cat, line, NULL, "more than %d dates in "
			    "concert %lld", CAT_DATES_MAX, id);
			return;
		}
		if ((d = add_date(c)) == NULL) {
			cat_error(cat, line, NULL, "out of memory");
			return;
		}
		snprintf(d->date, sizeof(d->date), "%s", v[COL_DATE]);
		snprintf(d->title, sizeof(d->title), "%s", v[COL_DATE_TITLE]);
		d->line = line;
	} else {
		snprintf(what, sizeof(what), "date_title of %s", d->date);
		bad |= csv_same(cat, line, what, d->title, d->line,
		    v[COL_DATE_TITLE]);
	}
	*lastd = d;
	if (bad)
		return;
	if ((b = add_block(d)) == NULL) {
		cat_error(cat, line, NULL, "out of memory");
		return;
	}
	snprintf(b->section, sizeof(b->section), "%s", v[COL_SECTION]);
	snprintf(b->grade, sizeof(b->grade), "%s", v[COL_GRADE]);
	b->price = price;
	b->line = line;
	(void)add_seats(cat, d, from, to, line, NULL);
}

int
cat_load_csv(struct catalog *cat, const char *buf, size_t len)
{
	struct cat_concert *lastc = NULL;
	struct cat_date *lastd = NULL;
	struct csv_record r;
	struct csv c;
	char err[256];
	int col[COL__MAX], i, j, rc, nheader;

	if (len > (size_t)CAT_FILE_MAX) {
		cat_error(cat, 0, NULL, "file larger than %ld bytes",
		    CAT_FILE_MAX);
		return -1;
	}
	csv_init(&c, buf, len);
	if ((rc = csv_next(&c, &r, err, sizeof(err))) != 1) {
		if (rc == 0)
			cat_error(cat, 1, NULL, "empty file: a header row "
			    "(concert_id,date,seat,price,...) comes first");
		else
			cat_error(cat, c.errline, NULL, "%s", err);
		goto out;
	}
	/* The header: each name once, every required one. */
	nheader = r.nfields;
	for (i = 0; i < COL__MAX; i++)
		col[i] = -1;
	for (j = 0; j < r.nfields; j++) {
		for (i = 0; i < COL__MAX; i++)
			if (strcmp(r.field[j], csv_cols[i].name) == 0)
				break;
		if (i == COL__MAX)
			cat_error(cat, r.line, NULL, "header: unknown column "
			    "'%.40s'", r.field[j]);
		else if (col[i] >= 0)
			cat_error(cat, r.line, NULL, "header: column '%s' "
			    "twice", csv_cols[i].name);
		else
			col[i] = j;
	}
	for (i = 0; i < COL__MAX; i++)
		if (csv_cols[i].required && col[i] < 0)
			cat_error(cat, r.line, NULL, "header: no column '%s'",
			    csv_cols[i].name);
	if (cat->nerrors > 0)
		goto out;
	while ((rc = csv_next(&c, &r, err, sizeof(err))) == 1) {
		if (r.nfields != nheader) {
			cat_error(cat, r.line, NULL, "%d fields, the header "
			    "has %d", r.nfields, nheader);
			continue;
		}
		csv_row(cat, &r, col, &lastc, &lastd);
	}
	if (rc == -1) {
		cat_error(cat, c.errline, NULL, "%s", err);
		goto out;
	}
	cat_finish(cat);
out:
	csv_free(&c);
	return cat->nerrors > 0 ? -1 : 0;
}

/* ---- files ---- */

int
cat_load_file(struct catalog *cat, const char *path, enum cat_format fmt)
{
	FILE *fp;
	char *buf = NULL;
	size_t len = 0, cap = 0, n, plen = strlen(path);
	int rc = -1;

	if ((fp = fopen(path, "rb")) == NULL) {
		cat_error(cat, 0, NULL, "open failed: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 65536 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 1 << 20;
			if (cap > (size_t)CAT_FILE_MAX + 65536 + 1) {
				cat_error(cat, 0, NULL, "file larger than %ld "
				    "bytes", CAT_FILE_MAX);
				goto out;
			}
			if ((nb = realloc(buf, cap)) == NULL) {
				cat_error(cat, 0, NULL, "out of memory");
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, 65536, fp);
		len += n;
		if (n < 65536)
			break;
	}
	if (ferror(fp)) {
		cat_error(cat, 0, NULL, "read failed: %s", strerror(errno));
		goto out;
	}
	buf[len] = '\0';
	if (fmt == CAT_FORMAT_AUTO) {
		if (plen > 5 && strcmp(path + plen - 5, ".json") == 0)
			fmt = CAT_FORMAT_JSON;
		else if (plen > 4 && strcmp(path + plen - 4, ".csv") == 0)
			fmt = CAT_FORMAT_CSV;
		else {
			size_t i = 0;

			while (i < len && (buf[i] == ' ' || buf[i] == '\n' ||
			    buf[i] == '\r' || buf[i] == '\t'))
				i++;
			fmt = i < len && buf[i] == '{' ? CAT_FORMAT_JSON :
			    CAT_FORMAT_CSV;
		}
	}
	rc = fmt == CAT_FORMAT_JSON ? cat_load_json(cat, buf, len) :
	    cat_load_csv(cat, buf, len);
out:
	fclose(fp);
	free(buf);
	return rc;
}
