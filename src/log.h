/*
 * log: line-oriented logging shared by every process.
 *
 * Each message is formatted into one buffer and written with one write(2)
 * to a file opened O_APPEND, so lines from the master and its workers never
 * interleave.  log_reopen() is what SIGUSR1 triggers (after logrotate).
 */
#ifndef CONCERT_LOG_H
#define CONCERT_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Open path for appending ("" or NULL: stderr).  ident names the program. */
int log_open(const char *path, const char *ident);

/* Reopen the same path (no-op for stderr).  Returns 0 or -1. */
int log_reopen(void);

/* Current log fd (for dup2 onto stderr in daemons). */
int log_fd(void);

void log_set_level(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
