/*
 * log: see log.h.  Lines look like
 *   2026-11-27T11:34:26.123Z concertd[1234] error: message
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd_cur = STDERR_FILENO;
static char log_path[512];
static char log_ident[32] = "concert";
static enum log_level log_level_cur = LOG_LVL_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
log_open(const char *path, const char *ident)
{
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (path == NULL || *path == '\0') {
		log_path[0] = '\0';
		log_fd_cur = STDERR_FILENO;
		return 0;
	}
	snprintf(log_path, sizeof(log_path), "%s", path);
	return log_reopen();
}

int
log_reopen(void)
{
	int fd;

	if (log_path[0] == '\0')
		return 0;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_error("open '%s' failed: %s", log_path, strerror(errno));
		return -1;
	}
	if (log_fd_cur != STDERR_FILENO)
		close(log_fd_cur);
	log_fd_cur = fd;
	return 0;
}

int
log_fd(void)
{
	return log_fd_cur;
}

void
log_set_level(enum log_level level)
{
	log_level_cur = level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;
	int saved = errno;

	if (level > log_level_cur)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(buf, sizeof(buf),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
	    (int)getpid(), level_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line; a failed log write has nowhere to be reported. */
	if (write(log_fd_cur, buf, (size_t)n) < 0) {
		/* ignored */
	}
	errno = saved;
}
