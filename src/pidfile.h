/*
 * pidfile: the pid files of concertd and concert-consumer (one rule for
 * both).
 *
 * A pid file is "live" only if it holds a plain decimal pid (optionally
 * followed by a newline) of a process that exists, is not a zombie, is not
 * this process, and runs the expected program (its /proc/PID/stat name).
 * Anything else -- a missing, empty or garbage file, a dead pid, a zombie,
 * a pid reused by another program, our own pid left by an earlier life --
 * is stale and replaced.  The name check is what keeps a reused pid from
 * blocking a start after a crash.
 */
#ifndef CONCERT_PIDFILE_H
#define CONCERT_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* The pid in path, or 0 if the file is missing, unreadable or not a plain
 * positive decimal number. */
pid_t pidfile_read(const char *path);

/* Is pid a live, non-zombie process other than us, named name (compared
 * as the kernel keeps it: the first 15 characters)?  Without /proc a
 * process that exists counts as live. */
int pidfile_alive(pid_t pid, const char *name);

/*
 * Write our pid to path, refusing (-1, err set) if the file names a live
 * name; a stale file is replaced.  Creation is O_EXCL, so of two instances
 * starting at once one fails cleanly.  0 / -1.
 */
int pidfile_create(const char *path, const char *name, char *err,
    size_t errlen);

/* Remove path if it still names this process (a successor may own it). */
void pidfile_remove(const char *path);

#endif
