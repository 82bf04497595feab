/*
 * accesslog: one JSON line per request, e.g.
 *
 *   {"time":"2026-11-27T11:52:43.784Z","requestId":"e0dc...","method":"GET",
 *    "route":"ping","status":200,"durationMs":0.412,"worker":1234}
 *
 * Each line is formatted into one buffer and written with one write(2) to
 * a file opened O_APPEND, so lines of concurrent workers never interleave.
 * Every string is JSON-escaped (client-supplied request ids and paths
 * included; invalid UTF-8 becomes U+FFFD).  Each worker opens the file
 * itself after fork; accesslog_reopen() is what SIGUSR1 triggers.
 */
#ifndef CONCERT_ACCESSLOG_H
#define CONCERT_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest line written; longer strings are truncated to fit. */
#define ACCESSLOG_LINE_MAX 1024

struct accesslog_entry {
	int64_t time_ms;              /* CLOCK_REALTIME ms when accepted */
	const char *request_id;
	const char *method;
	const char *route;            /* route name, or the path if none */
	int status;
	int64_t duration_us;
	pid_t worker;
};

/* Open path for appending ("" or NULL: access log off).  0 / -1 (logged). */
int accesslog_open(const char *path);

/* Reopen the same path (after logrotate).  0 / -1 (logged; the old file
 * stays in use). */
int accesslog_reopen(void);

/* 1 when a file is open. */
int accesslog_enabled(void);

/* Write one line for e (no-op when off).  Errors are logged once. */
void accesslog_write(const struct accesslog_entry *e);

/* Close the file. */
void accesslog_close(void);

/*
 * Format e as one line ending in '\n' into buf (at most len bytes, NUL
 * terminated).  Pure.  Returns the line's length (without the NUL).
 * len must be at least 256.
 */
size_t accesslog_format(char *buf, size_t len, const struct accesslog_entry *e);

/*
 * Append s JSON-escaped (without quotes) to buf at *pos, never writing at
 * or past buf[lim]; stops before a character that would not fit whole.
 * Returns 0, or -1 if s was truncated.
 */
int accesslog_json_escape(char *buf, size_t *pos, size_t lim, const char *s,
    size_t maxin);

#endif
