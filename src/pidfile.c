/*
 * pidfile: see pidfile.h.
 */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The kernel's task name length (TASK_COMM_LEN - 1). */
#define PIDFILE_COMM_MAX 15

pid_t
pidfile_read(const char *path)
{
	char buf[32];
	ssize_t n;
	long v = 0;
	int fd, i;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n == 0 || n > 10)
		return 0;
	for (i = 0; i < n; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
		v = v * 10 + (buf[i] - '0');
	}
	if (v <= 0 || v > 0x7fffffffL)
		return 0;
	return (pid_t)v;
}

int
pidfile_alive(pid_t pid, const char *name)
{
	char path[64], buf[512], *open_paren, *close_paren;
	size_t len;
	ssize_t n;
	int fd;

	if (pid <= 0 || pid == getpid() ||
	    (kill(pid, 0) == -1 && errno != EPERM))
		return 0;
	/* "PID (NAME) STATE ...": NAME may itself contain ')' or spaces. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? access("/proc/self", F_OK) != 0 : 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	if ((open_paren = strchr(buf, '(')) == NULL ||
	    (close_paren = strrchr(buf, ')')) == NULL ||
	    close_paren < open_paren || close_paren[1] != ' ')
		return 1;
	if (close_paren[2] == 'Z' || close_paren[2] == 'X')
		return 0;
	len = strlen(name);
	if (len > PIDFILE_COMM_MAX)
		len = PIDFILE_COMM_MAX;
	return (size_t)(close_paren - open_paren - 1) == len &&
	    memcmp(open_paren + 1, name, len) == 0;
}

int
pidfile_create(const char *path, const char *name, char *err, size_t errlen)
{
	char buf[32];
	pid_t old;
	int fd, len, rc = -1;

	if ((old = pidfile_read(path)) != 0 && pidfile_alive(old, name)) {
		snprintf(err, errlen, "pid file '%s' names a running %s "
		    "(pid %d)", path, name, (int)old);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink of stale pid file '%s' failed: %s",
		    path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "create pid file '%s' failed: %s", path,
		    strerror(errno));
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		snprintf(err, errlen, "write pid file '%s' failed: %s", path,
		    strerror(errno));
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

void
pidfile_remove(const char *path)
{
	if (pidfile_read(path) == getpid() && unlink(path) == -1)
		log_error("unlink '%s' failed: %s", path, strerror(errno));
}
