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

/* 1 when a connection is open and answered its last command. */
int db_connected(void);

/* mysql_ping with reconnect; 0 when the server answers. */
int db_ping(void);

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

int db_begin(void);
int db_commit(void);
void db_rollback(void);   /* never fails from the caller's view */
int db_in_tx(void);

/* Plain statement without parameters (session setup, SAVEPOINT...). */
int db_query_simple(const char *sql);

/* Last error: MySQL error number (0 if none) and message. */
unsigned db_errno(void);
const char *db_error(void);

/* 1 if the last error means "retry the whole transaction" (deadlock,
 * lock wait timeout), 0 otherwise. */
int db_err_retryable(void);

/* 1 if the last error means the server is unreachable / went away. */
int db_err_unavailable(void);

#endif
