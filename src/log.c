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

#include "clock.h"

/* Once a file is open this number never changes (log_reopen dup2s onto
 * it), which is what lets other threads write without a lock. */
static int log_fd_cur = STDERR_FILENO;
static char log_path[512];
static char log_ident[32] = "concert";
static enum log_level log_level_cur = LOG_LVL_INFO;

static const char *const log_level_names[LOG_LVL__MAX] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

int
log_level_parse(const char *name)
{
	int i;

	for (i = 0; i < LOG_LVL__MAX; i++)
		if (strcmp(name, log_level_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || level >= LOG_LVL__MAX)
		return "unknown";
	return log_level_names[level];
}

void
log_set_level(enum log_level level)
{
	log_level_cur = level;
}

int
log_open(const char *path, const char *ident)
{
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (path == NULL || *path == '\0') {
		if (log_fd_cur != STDERR_FILENO)
			close(log_fd_cur);
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
	int fd, saved;

	if (log_path[0] == '\0')
		return 0;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		saved = errno;
		log_error("open '%s' failed: %s", log_path, strerror(errno));
		errno = saved;
		return -1;
	}
	if (log_fd_cur == STDERR_FILENO) {
		log_fd_cur = fd;
		return 0;
	}
	/* dup3 rather than dup2: keep the descriptor close-on-exec. */
	if (dup3(fd, log_fd_cur, O_CLOEXEC) == -1) {
		saved = errno;
		close(fd);
		log_error("dup3 onto the log descriptor failed: %s",
		    strerror(saved));
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[2048];
	int64_t now = clock_wall_ms();
	time_t sec = (time_t)(now / 1000);
	struct tm tm;
	va_list ap;
	int n, m;
	int saved = errno;

	if (level > log_level_cur)
		return;
	gmtime_r(&sec, &tm);
	n = snprintf(buf, sizeof(buf),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(now % 1000), log_ident,
	    (int)getpid(), log_level_name(level));
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

void
log_kafka(const struct rd_kafka_s *rk, int level, const char *fac,
    const char *buf)
{
	(void)rk;
	if (level <= 3)
		log_error("kafka %s: %s", fac, buf);
	else if (level == 4)
		log_warn("kafka %s: %s", fac, buf);
	else
		log_debug("kafka %s: %s", fac, buf);
}
