/*
 * log: line-oriented logging shared by every process.
 *
 * Each message is formatted into one buffer and written with one write(2)
 * to a file opened O_APPEND, so lines from the master and its workers never
 * interleave, and any thread may log (librdkafka's do, through log_kafka).
 * Lines below the level set with log_set_level() (config key log_level,
 * default info) are dropped.
 */
#ifndef CONCERT_LOG_H
#define CONCERT_LOG_H

/* librdkafka's rd_kafka_t, declared here so that log.h needs no rdkafka.h. */
struct rd_kafka_s;

/* Most to least severe; a message prints when its level <= the set one. */
enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG,
    LOG_LVL__MAX };

/* Open path for appending ("" or NULL: stderr).  ident names the program
 * (NULL: keep the current one).  0, or -1 with errno set. */
int log_open(const char *path, const char *ident);

/*
 * Reopen the same path (after logrotate moved it; SIGUSR1).  The new file
 * is dup2()ed onto the descriptor already in use, so the number that other
 * threads (librdkafka's) may be writing to at that moment never closes or
 * names anything else: a line goes to the old file or to the new one.
 * No-op for stderr.  0 / -1 (the old file stays in use).
 */
int log_reopen(void);

void log_set_level(enum log_level level);

/* "error", "warn", "info", "debug" <-> the level; parse returns -1 for
 * anything else, name returns "unknown" out of range. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * The librdkafka log callback of both programs (rd_kafka_conf_set_log_cb):
 * syslog levels 0..3 are errors, 4 warnings, the rest debug.
 */
void log_kafka(const struct rd_kafka_s *rk, int level, const char *fac,
    const char *buf);

#endif
