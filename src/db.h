/*
 * db: the process's one MySQL connection and its prepared statements.
 *
 * Workers and the consumer are single-threaded, so the connection is
 * process-global.  Statements are declared once with db_stmt() and are
 * (re)prepared on every (re)connect; callers keep the returned pointer.
 *
 * Parameters and results are described by a small format string:
 *   'i'  long long            (in: value, out: long long *)
 *   'u'  16 bytes (UUID/token) (in: const unsigned char *, out: unsigned char *)
 *   's'  string               (in: const char *, out: char *buf, size_t size)
 *   'd'  double               (in: value, out: double *)
 *   'N'  nullable long long   (out only: long long *, int *is_null)
 *
 * Reconnect policy (STYLE.md): after a lost connection (2006/2013) outside
 * a transaction, reconnect, re-prepare and retry the statement once; inside
 * a transaction the statement fails and the caller rolls back.
 */
#ifndef CONCERT_DB_H
#define CONCERT_DB_H

#include <stddef.h>

#include "config.h"

struct db_stmt;

/* MySQL error numbers the callers branch on. */
#define DB_ER_DUP_ENTRY         1062
#define DB_ER_LOCK_WAIT_TIMEOUT 1205
#define DB_ER_DEADLOCK          1213
#define DB_ER_CHECK_CONSTRAINT  4025

/* mysql_library_init; call once per program before fork. */
int db_library_init(void);

/* Remember the settings; connects lazily (db_connect / first use). */
void db_configure(const struct config *cfg);

/* Connect (or reconnect) and prepare every declared statement. 0 / -1. */
int db_connect(char *err, size_t errlen);

/* Close the connection (only in the process that opened it). */
void db_close(void);

/* mysql_ping with reconnect; 0 when the server answers. */
int db_ping(void);

/* Connect back-off: after a failed connect, none is tried for this long,
 * doubling per failure up to the max (statements fail at once meanwhile
 * with a "server gone" error, db_err_unavailable()).  The max bounds how
 * long after MySQL is back a process keeps refusing. */
#define DB_CONNECT_BACKOFF_MIN_MS 100
#define DB_CONNECT_BACKOFF_MAX_MS 1000

/* Between requests (about once a second): if not connected and the
 * back-off is over, try to connect, so the first request after an outage
 * finds the connection ready. */
void db_tick(void);

/* 1 while a connection is open. */
int db_connected(void);

/* Declare a statement; prepared now if connected, else at next connect.
 * Returns NULL only if out of memory or the statement table is full. */
struct db_stmt *db_stmt(const char *sql);

/*
 * Bind the parameters and execute.  Returns the number of affected rows
 * (for SELECT: the number of rows in the stored result), or -1 on error.
 */
long long db_exec(struct db_stmt *st, const char *fmt, ...);

/* Fetch the next row of the last db_exec into out pointers by fmt.
 * Returns 1 for a row, 0 at the end, -1 on error.  A truncated 's'
 * column is an error. */
int db_fetch(struct db_stmt *st, const char *fmt, ...);

/* Free the stored result of st (also done by the next db_exec). */
void db_done(struct db_stmt *st);

/* AUTO_INCREMENT value of the last INSERT through st. */
unsigned long long db_insert_id(struct db_stmt *st);

/* Attempts of one transaction when MySQL reports a deadlock or a lock
 * wait timeout: the one retry policy of both programs. */
#define DB_TX_ATTEMPTS 3
/* Attempts when every failure was a deadlock (ERROR 1213).  On a Galera
 * cluster that is also how a transaction that lost certification to a
 * conflicting one committed on another node ends -- at COMMIT or at any
 * statement -- and a hot row written through several nodes loses often:
 * each retry waits a random 0..2^(attempt+1) ms (at most 64 ms) first, so
 * that the contenders do not meet again. */
#define DB_TX_DEADLOCK_ATTEMPTS 8

/* What a transaction body returns, and db_tx_run() after it. */
enum db_tx_result {
	DB_TX_ERROR = -1,       /* a database error (db_errno() says which) */
	DB_TX_COMMIT = 0,       /* keep the effects */
	DB_TX_ROLLBACK = 1,     /* the body decided to keep nothing */
};

/*
 * The transaction runner, the only way to open a transaction:
 * START TRANSACTION, body(arg), COMMIT.
 * - DB_TX_ROLLBACK from the body: roll back, no retry, return it.
 * - An error of the body or of the commit: roll back; if it was a
 *   deadlock or lock wait timeout (db_err_retryable) run the body again
 *   from the start, at most DB_TX_ATTEMPTS times in all (a deadlock:
 *   DB_TX_DEADLOCK_ATTEMPTS, after a short random pause).  A failed COMMIT
 *   with a deadlock is a definite rollback (retried); a connection lost
 *   during COMMIT is not (db_err_commit_unknown, never retried).  The body must
 *   therefore begin by resetting whatever an earlier attempt collected
 *   (an answer, events).
 * failed(arg, attempt), unless NULL, is called after each failed attempt
 * (1-based), db_errno()/db_error() still describing it.  Returns
 * DB_TX_COMMIT, DB_TX_ROLLBACK, or DB_TX_ERROR with the last error kept.
 */
enum db_tx_result db_tx_run(enum db_tx_result (*body)(void *arg),
    void (*failed)(void *arg, int attempt), void *arg);

/* Plain statement without parameters (session setup, SAVEPOINT...). */
int db_query_simple(const char *sql);

/* Last error: MySQL error number (0 if none) and message. */
unsigned db_errno(void);
const char *db_error(void);

/* 1 if the last error means "retry the whole transaction" (deadlock,
 * lock wait timeout), 0 otherwise. */
int db_err_retryable(void);

/* 1 if the last error is the connection lost during COMMIT: the
 * transaction may or may not have been committed, so it must not be
 * presented as safe to retry.  (db_err_unavailable() is 1 too.) */
int db_err_commit_unknown(void);

/* 1 if the last error means the server is unreachable / went away. */
int db_err_unavailable(void);

/* 1 if the last error is one retrying cannot fix (a deploy error: access
 * denied, unknown database, missing table or column): start-up fails on
 * it, while an unreachable server only makes the start degraded. */
int db_err_deploy(void);

#endif
