/*
 * accesslog: see accesslog.h.
 */
#include "accesslog.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Longest string field kept (request ids, unknown paths). */
#define ACCESSLOG_FIELD_MAX 200

static int accesslog_fd = -1;
static char accesslog_path[512];
static int accesslog_write_failed;

int
accesslog_open(const char *path)
{
	accesslog_close();
	if (path == NULL || *path == '\0') {
		accesslog_path[0] = '\0';
		return 0;
	}
	snprintf(accesslog_path, sizeof(accesslog_path), "%s", path);
	return accesslog_reopen();
}

int
accesslog_reopen(void)
{
	int fd;

	if (accesslog_path[0] == '\0')
		return 0;
	fd = open(accesslog_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	if (fd == -1) {
		log_error("open access log '%s' failed: %s", accesslog_path,
		    strerror(errno));
		return -1;
	}
	if (accesslog_fd != -1)
		close(accesslog_fd);
	accesslog_fd = fd;
	accesslog_write_failed = 0;
	return 0;
}

int
accesslog_enabled(void)
{
	return accesslog_fd != -1;
}

void
accesslog_close(void)
{
	if (accesslog_fd != -1)
		close(accesslog_fd);
	accesslog_fd = -1;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
accesslog_utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned c = s[0];
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
accesslog_json_escape(char *buf, size_t *pos, size_t lim, const char *s,
    size_t maxin)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strnlen(s, maxin);
	size_t o = *pos;
	int rc = 0;

	while (p < end) {
		char esc[8];
		const char *out = esc;
		size_t olen, in = 1;

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			olen = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			olen = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
		} else if (*p < 0x80) {
			out = (const char *)p;
			olen = 1;
		} else if ((in = accesslog_utf8_len(p)) != 0 &&
		    p + in <= end) {
			out = (const char *)p;
			olen = in;
		} else {
			/* Not UTF-8: the line must stay valid JSON. */
			out = "\\ufffd";
			olen = 6;
			in = 1;
		}
		if (o + olen >= lim) {
			rc = -1;
			break;
		}
		memcpy(buf + o, out, olen);
		o += olen;
		p += in;
	}
	if (p < (const unsigned char *)s + strlen(s))
		rc = -1;
	*pos = o;
	return rc;
}

size_t
accesslog_format(char *buf, size_t len, const struct accesslog_entry *e)
{
	/* Room kept for the fixed tail: status, duration, worker, "}\n". */
	const size_t tail = 96;
	size_t pos, lim = len > tail ? len - tail : 0;
	char when[ISO_TIME_LEN];
	int n;

	util_iso_time(e->time_ms, when, sizeof(when));
	n = snprintf(buf, len, "{\"time\":\"%s\",\"requestId\":\"", when);
	pos = n > 0 ? (size_t)n : 0;
	if (pos >= lim)
		pos = 0;
	accesslog_json_escape(buf, &pos, lim, e->request_id ? e->request_id :
	    "", ACCESSLOG_FIELD_MAX);
	if (pos + 12 < lim) {
		memcpy(buf + pos, "\",\"method\":\"", 12);
		pos += 12;
	}
	accesslog_json_escape(buf, &pos, lim, e->method ? e->method : "", 16);
	if (pos + 11 < lim) {
		memcpy(buf + pos, "\",\"route\":\"", 11);
		pos += 11;
	}
	accesslog_json_escape(buf, &pos, lim, e->route ? e->route : "",
	    ACCESSLOG_FIELD_MAX);
	n = snprintf(buf + pos, len - pos, "\",\"status\":%d,\"durationMs\":"
	    "%lld.%03lld,\"worker\":%d}\n", e->status,
	    (long long)(e->duration_us / 1000),
	    (long long)(e->duration_us % 1000), (int)e->worker);
	if (n > 0 && (size_t)n < len - pos)
		pos += (size_t)n;
	return pos;
}

void
accesslog_write(const struct accesslog_entry *e)
{
	char line[ACCESSLOG_LINE_MAX];
	size_t n;
	ssize_t w;

	if (accesslog_fd == -1)
		return;
	n = accesslog_format(line, sizeof(line), e);
	/* One write: O_APPEND makes it atomic with respect to the other
	 * workers' lines on a local file system. */
	do
		w = write(accesslog_fd, line, n);
	while (w == -1 && errno == EINTR);
	if (w != (ssize_t)n && !accesslog_write_failed) {
		accesslog_write_failed = 1;   /* once until the next reopen */
		log_error("write to access log '%s' failed: %s", accesslog_path,
		    w == -1 ? strerror(errno) : "short write");
	}
}
