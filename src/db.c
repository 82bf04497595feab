/*
 * db: see db.h.
 */
#include "db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>
#include <errmsg.h>

#include "backoff.h"
#include "clock.h"
#include "log.h"

#define DB_MAX_STMTS  96
#define DB_MAX_PARAMS 16
#define DB_MAX_COLS   16

struct db_param {
	char type;
	long long i;
	double d;
	unsigned char u[16];
	const char *s;
	unsigned long len;
};

struct db_stmt {
	const char *sql;
	MYSQL_STMT *stmt;               /* NULL until prepared */
	int has_result;
	struct db_param params[DB_MAX_PARAMS];
	int nparams;
	unsigned long long insert_id;
};

static struct {
	MYSQL *conn;
	int connected;
	int in_tx;
	const struct config *cfg;
	struct db_stmt stmts[DB_MAX_STMTS];
	int nstmts;
	unsigned err_no;
	char err[512];
	int commit_unknown;             /* err_no: connection lost in COMMIT */
	/* Between failed connects nothing dials the server: a request (and
	 * /health) fails fast instead of waiting out a connect timeout. */
	struct backoff connect_backoff;
	int down_logged;                /* the outage was logged once */
	/* The server in use: 0 = db_host/db_port/db_socket, i = the i-th of
	 * db_failover.  A failed connect moves on to the next; a working
	 * one is kept (no flapping back to the first). */
	int target;
} db = {
	.connect_backoff = BACKOFF_INIT(DB_CONNECT_BACKOFF_MIN_MS,
	    DB_CONNECT_BACKOFF_MAX_MS),
};

static void
set_err(unsigned no, const char *msg)
{
	db.err_no = no;
	db.commit_unknown = 0;
	snprintf(db.err, sizeof(db.err), "%s", msg ? msg : "");
}

int
db_library_init(void)
{
	if (mysql_library_init(0, NULL, NULL) != 0) {
		log_error("mysql_library_init failed");
		return -1;
	}
	return 0;
}

void
db_configure(const struct config *cfg)
{
	db.cfg = cfg;
}

static int
prepare_one(struct db_stmt *st)
{
	if (st->stmt != NULL)
		mysql_stmt_close(st->stmt);
	st->has_result = 0;
	if ((st->stmt = mysql_stmt_init(db.conn)) == NULL) {
		set_err(mysql_errno(db.conn), mysql_error(db.conn));
		return -1;
	}
	if (mysql_stmt_prepare(st->stmt, st->sql, strlen(st->sql)) != 0) {
		set_err(mysql_stmt_errno(st->stmt), mysql_stmt_error(st->stmt));
		log_error("prepare failed: %s: '%.120s'", db.err, st->sql);
		mysql_stmt_close(st->stmt);
		st->stmt = NULL;
		return -1;
	}
	return 0;
}

void
db_close(void)
{
	int i;

	for (i = 0; i < db.nstmts; i++) {
		if (db.stmts[i].stmt != NULL)
			mysql_stmt_close(db.stmts[i].stmt);
		db.stmts[i].stmt = NULL;
		db.stmts[i].has_result = 0;
	}
	if (db.conn != NULL)
		mysql_close(db.conn);
	db.conn = NULL;
	db.connected = 0;
	db.in_tx = 0;
}

/* The i-th server to try (0: the configured one, then db_failover's
 * entries): a socket path or host and port.  0, or -1 when there is no
 * i-th. */
static int
db_target(const struct config *cfg, int i, char *host, size_t hostlen,
    unsigned *port, char *sock, size_t socklen)
{
	const char *p = cfg->db_failover, *end;
	size_t n;

	host[0] = sock[0] = '\0';
	*port = (unsigned)cfg->db_port;
	if (i == 0) {
		snprintf(host, hostlen, "%s", cfg->db_host);
		snprintf(sock, socklen, "%s", cfg->db_socket);
		return 0;
	}
	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			return -1;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (--i == 0)
			break;
		p = end;
	}
	if (p[0] == '/') {
		snprintf(sock, socklen, "%.*s", (int)n, p);
		return 0;
	}
	snprintf(host, hostlen, "%.*s", (int)n, p);
	{
		char *colon = strrchr(host, ':');

		if (colon != NULL && strchr(host, ':') == colon) {
			*colon = '\0';
			*port = (unsigned)strtoul(colon + 1, NULL, 10);
		}
	}
	return 0;
}

/* Open a session on server i and prepare every statement.  0 / -1 (err
 * set, nothing left open). */
static int
db_connect_one(int i, char *err, size_t errlen)
{
	const struct config *cfg = db.cfg;
	unsigned int timeout = 3, port;
	my_bool off = 0;
	char sql[128], host[CONFIG_STR_LEN], sock[CONFIG_STR_LEN];
	const char *name;
	int k;

	if (db_target(cfg, i, host, sizeof(host), &port, sock,
	    sizeof(sock)) == -1) {
		snprintf(err, errlen, "no database server %d", i);
		return -1;
	}
	name = sock[0] ? sock : host;
	if ((db.conn = mysql_init(NULL)) == NULL) {
		snprintf(err, errlen, "mysql_init failed");
		return -1;
	}
	mysql_options(db.conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	timeout = 30;
	mysql_options(db.conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(db.conn, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	/* We reconnect ourselves so statements get re-prepared. */
	mysql_options(db.conn, MYSQL_OPT_RECONNECT, &off);
	mysql_options(db.conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(db.conn, sock[0] ? NULL : host, cfg->db_user,
	    cfg->db_password[0] ? cfg->db_password : NULL, cfg->db_name,
	    port, sock[0] ? sock : NULL, 0) == NULL) {
		set_err(mysql_errno(db.conn), mysql_error(db.conn));
		snprintf(err, errlen, "mysql connect to '%s' failed: %s", name,
		    db.err);
		mysql_close(db.conn);
		db.conn = NULL;
		return -1;
	}
	snprintf(sql, sizeof(sql),
	    "SET time_zone = '+00:00', innodb_lock_wait_timeout = %ld",
	    cfg->db_lock_wait_timeout);
	/* With other servers to go to, a server that accepts connections
	 * but cannot serve (a Galera node outside the primary component:
	 * ER_UNKNOWN_COM_ERROR 1047) is skipped like one that is down. */
	if (mysql_query(db.conn,
	    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") != 0 ||
	    mysql_query(db.conn, sql) != 0 ||
	    (cfg->db_failover[0] != '\0' && (mysql_query(db.conn,
	    "SELECT 1 FROM queue_state LIMIT 1") != 0 ||
	    (mysql_free_result(mysql_store_result(db.conn)), 0)))) {
		set_err(mysql_errno(db.conn), mysql_error(db.conn));
		snprintf(err, errlen, "mysql session setup on '%s' failed: %s",
		    name, db.err);
		db_close();
		return -1;
	}
	db.connected = 1;
	for (k = 0; k < db.nstmts; k++) {
		if (prepare_one(&db.stmts[k]) == -1) {
			snprintf(err, errlen, "prepare failed: %s", db.err);
			db_close();
			return -1;
		}
	}
	return 0;
}

/* The number of servers: the configured one and db_failover's. */
static int
db_targets(const struct config *cfg)
{
	char h[CONFIG_STR_LEN], s[CONFIG_STR_LEN];
	unsigned port;
	int n = 1;

	while (db_target(cfg, n, h, sizeof(h), &port, s, sizeof(s)) == 0)
		n++;
	return n;
}

int
db_connect(char *err, size_t errlen)
{
	int n, k, i;

	db_close();
	if (db.cfg == NULL) {
		snprintf(err, errlen, "db not configured");
		return -1;
	}
	n = db_targets(db.cfg);
	if (db.target >= n)
		db.target = 0;
	for (k = 0; k < n; k++) {
		i = (db.target + k) % n;
		if (db_connect_one(i, err, errlen) == 0) {
			if (i != db.target || k > 0)
				log_warn("mysql: using database server %d of %d "
				    "(db_failover)", i + 1, n);
			db.target = i;
			return 0;
		}
	}
	/* Every one failed: the next try starts with the next server. */
	db.target = (db.target + 1) % n;
	return -1;
}

/*
 * Connect unless connected.  A failed connect starts a back-off (doubling
 * up to DB_CONNECT_BACKOFF_MAX_MS) during which no connect is tried and
 * the error is "server gone" at once; the outage and the recovery are
 * each logged once, not per request.
 */
static int
ensure_connected(void)
{
	char err[512];

	if (db.connected)
		return 0;
	if (backoff_waiting(&db.connect_backoff, clock_mono_ms())) {
		set_err(CR_SERVER_GONE_ERROR, "mysql is unavailable (waiting "
		    "before the next connect)");
		return -1;
	}
	if (db_connect(err, sizeof(err)) == -1) {
		backoff_fail(&db.connect_backoff, clock_mono_ms());
		if (!db.down_logged || !db_err_unavailable())
			log_warn("%s (retrying in the background)", err);
		db.down_logged = 1;
		if (db.err_no == 0)
			set_err(CR_SERVER_GONE_ERROR, err);
		return -1;
	}
	backoff_reset(&db.connect_backoff);
	if (db.down_logged)
		log_info("mysql connection restored");
	db.down_logged = 0;
	return 0;
}

void
db_tick(void)
{
	if (db.cfg != NULL && !db.connected)
		(void)ensure_connected();
}

int
db_connected(void)
{
	return db.connected;
}

int
db_ping(void)
{
	if (ensure_connected() == -1)
		return -1;
	if (mysql_ping(db.conn) == 0)
		return 0;
	set_err(mysql_errno(db.conn), mysql_error(db.conn));
	db_close();
	return ensure_connected();
}

struct db_stmt *
db_stmt(const char *sql)
{
	struct db_stmt *st;

	if (db.nstmts >= DB_MAX_STMTS) {
		log_error("statement table full (%d)", DB_MAX_STMTS);
		return NULL;
	}
	st = &db.stmts[db.nstmts++];
	memset(st, 0, sizeof(*st));
	st->sql = sql;
	if (db.connected && prepare_one(st) == -1)
		return NULL;
	return st;
}

static int
conn_lost(unsigned no)
{
	return no == CR_SERVER_GONE_ERROR || no == CR_SERVER_LOST ||
	    no == CR_CONNECTION_ERROR || no == CR_CONN_HOST_ERROR ||
	    no == 1927 /* ER_CONNECTION_KILLED */ || no == 4031 /* idle timeout */ ||
	    no == 1047 /* Galera node not ready: reconnect, maybe elsewhere */;
}

static int
parse_params(struct db_stmt *st, const char *fmt, va_list ap)
{
	int n = 0;

	for (; *fmt; fmt++, n++) {
		struct db_param *p = &st->params[n];

		if (n >= DB_MAX_PARAMS)
			return -1;
		p->type = *fmt;
		switch (*fmt) {
		case 'i':
			p->i = va_arg(ap, long long);
			break;
		case 'd':
			p->d = va_arg(ap, double);
			break;
		case 'u':
			memcpy(p->u, va_arg(ap, const unsigned char *), 16);
			break;
		case 's':
			p->s = va_arg(ap, const char *);
			p->len = (unsigned long)strlen(p->s);
			break;
		default:
			return -1;
		}
	}
	st->nparams = n;
	return 0;
}

static int
exec_once(struct db_stmt *st, long long *out)
{
	MYSQL_BIND b[DB_MAX_PARAMS];
	int i;

	if (st->stmt == NULL && prepare_one(st) == -1)
		return -1;
	if (st->has_result) {
		mysql_stmt_free_result(st->stmt);
		st->has_result = 0;
	}
	if ((int)mysql_stmt_param_count(st->stmt) != st->nparams) {
		set_err(2034, "parameter count mismatch");
		log_error("parameter count mismatch for '%.120s'", st->sql);
		return -1;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < st->nparams; i++) {
		struct db_param *p = &st->params[i];

		switch (p->type) {
		case 'i':
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &p->i;
			break;
		case 'd':
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = &p->d;
			break;
		case 'u':
			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = p->u;
			b[i].buffer_length = 16;
			p->len = 16;
			b[i].length = &p->len;
			break;
		case 's':
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)p->s;
			b[i].buffer_length = p->len;
			b[i].length = &p->len;
			break;
		}
	}
	if (st->nparams > 0 && mysql_stmt_bind_param(st->stmt, b) != 0)
		goto fail;
	if (mysql_stmt_execute(st->stmt) != 0)
		goto fail;
	if (mysql_stmt_field_count(st->stmt) > 0) {
		if (mysql_stmt_store_result(st->stmt) != 0)
			goto fail;
		st->has_result = 1;
		*out = (long long)mysql_stmt_num_rows(st->stmt);
	} else {
		*out = (long long)mysql_stmt_affected_rows(st->stmt);
		st->insert_id = mysql_stmt_insert_id(st->stmt);
	}
	db.err_no = 0;
	return 0;
fail:
	set_err(mysql_stmt_errno(st->stmt), mysql_stmt_error(st->stmt));
	return -1;
}

long long
db_exec(struct db_stmt *st, const char *fmt, ...)
{
	va_list ap;
	long long n = 0;

	if (st == NULL) {
		set_err(2000, "statement not prepared");
		return -1;
	}
	va_start(ap, fmt);
	if (parse_params(st, fmt, ap) == -1) {
		va_end(ap);
		set_err(2034, "bad parameter format");
		return -1;
	}
	va_end(ap);
	if (ensure_connected() == -1)
		return -1;
	if (exec_once(st, &n) == 0)
		return n;
	if (!conn_lost(db.err_no))
		return -1;
	/* Lost connection: only retry when no transaction was open. */
	if (db.in_tx) {
		db_close();
		return -1;
	}
	log_warn("mysql connection lost (%s), reconnecting", db.err);
	db_close();
	if (ensure_connected() == -1)
		return -1;
	return exec_once(st, &n) == 0 ? n : -1;
}

int
db_fetch(struct db_stmt *st, const char *fmt, ...)
{
	MYSQL_BIND b[DB_MAX_COLS];
	unsigned long lens[DB_MAX_COLS];
	my_bool nulls[DB_MAX_COLS], errs[DB_MAX_COLS];
	int *null_out[DB_MAX_COLS];
	va_list ap;
	int n = 0, rc, i;

	if (st == NULL || !st->has_result)
		return 0;
	memset(b, 0, sizeof(b));
	memset(null_out, 0, sizeof(null_out));
	/* libmariadb reads *error back after converting a column (to count
	 * truncations) but only writes it on some conversions: it must start
	 * initialised (found by valgrind, scripts/sanitize valgrind worker). */
	memset(lens, 0, sizeof(lens));
	memset(nulls, 0, sizeof(nulls));
	memset(errs, 0, sizeof(errs));
	va_start(ap, fmt);
	for (; *fmt && n < DB_MAX_COLS; fmt++, n++) {
		b[n].length = &lens[n];
		b[n].is_null = &nulls[n];
		b[n].error = &errs[n];
		switch (*fmt) {
		case 'i':
			b[n].buffer_type = MYSQL_TYPE_LONGLONG;
			b[n].buffer = va_arg(ap, long long *);
			break;
		case 'N':
			b[n].buffer_type = MYSQL_TYPE_LONGLONG;
			b[n].buffer = va_arg(ap, long long *);
			null_out[n] = va_arg(ap, int *);
			break;
		case 'd':
			b[n].buffer_type = MYSQL_TYPE_DOUBLE;
			b[n].buffer = va_arg(ap, double *);
			break;
		case 'u':
			b[n].buffer_type = MYSQL_TYPE_BLOB;
			b[n].buffer = va_arg(ap, unsigned char *);
			b[n].buffer_length = 16;
			break;
		case 's':
			b[n].buffer_type = MYSQL_TYPE_STRING;
			b[n].buffer = va_arg(ap, char *);
			b[n].buffer_length = va_arg(ap, size_t);
			break;
		default:
			va_end(ap);
			set_err(2034, "bad result format");
			return -1;
		}
	}
	va_end(ap);
	if (mysql_stmt_bind_result(st->stmt, b) != 0) {
		set_err(mysql_stmt_errno(st->stmt), mysql_stmt_error(st->stmt));
		return -1;
	}
	rc = mysql_stmt_fetch(st->stmt);
	if (rc == MYSQL_NO_DATA) {
		db_done(st);
		return 0;
	}
	if (rc == 1) {
		set_err(mysql_stmt_errno(st->stmt), mysql_stmt_error(st->stmt));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (null_out[i] != NULL)
			*null_out[i] = nulls[i] ? 1 : 0;
		if (nulls[i]) {
			if (b[i].buffer_type == MYSQL_TYPE_STRING)
				((char *)b[i].buffer)[0] = '\0';
			else if (b[i].buffer_type == MYSQL_TYPE_LONGLONG)
				*(long long *)b[i].buffer = 0;
			else if (b[i].buffer_type == MYSQL_TYPE_DOUBLE)
				*(double *)b[i].buffer = 0;
			else
				memset(b[i].buffer, 0, 16);
			continue;
		}
		if (b[i].buffer_type == MYSQL_TYPE_STRING) {
			/* Need room for the terminator. */
			if (lens[i] >= b[i].buffer_length) {
				set_err(2032, "string column truncated");
				return -1;
			}
			((char *)b[i].buffer)[lens[i]] = '\0';
		} else if (b[i].buffer_type == MYSQL_TYPE_BLOB && lens[i] != 16) {
			set_err(2032, "binary column is not 16 bytes");
			return -1;
		}
	}
	return 1;
}

void
db_done(struct db_stmt *st)
{
	if (st != NULL && st->stmt != NULL && st->has_result) {
		mysql_stmt_free_result(st->stmt);
		st->has_result = 0;
	}
}

unsigned long long
db_insert_id(struct db_stmt *st)
{
	return st->insert_id;
}

int
db_query_simple(const char *sql)
{
	if (ensure_connected() == -1)
		return -1;
	if (mysql_query(db.conn, sql) != 0) {
		set_err(mysql_errno(db.conn), mysql_error(db.conn));
		if (conn_lost(db.err_no))
			db_close();
		return -1;
	}
	return 0;
}

static int
db_begin(void)
{
	if (ensure_connected() == -1)
		return -1;
	/* A dead idle connection is found here, before any work is done. */
	if (mysql_query(db.conn, "START TRANSACTION") != 0) {
		set_err(mysql_errno(db.conn), mysql_error(db.conn));
		if (!conn_lost(db.err_no))
			return -1;
		db_close();
		if (ensure_connected() == -1 ||
		    mysql_query(db.conn, "START TRANSACTION") != 0) {
			if (db.conn != NULL)
				set_err(mysql_errno(db.conn), mysql_error(db.conn));
			return -1;
		}
	}
	db.in_tx = 1;
	return 0;
}

static int
db_commit(void)
{
	db.in_tx = 0;
	if (db.conn == NULL) {
		set_err(CR_SERVER_GONE_ERROR, "connection lost before commit");
		return -1;
	}
	if (mysql_commit(db.conn) != 0) {
		set_err(mysql_errno(db.conn), mysql_error(db.conn));
		if (conn_lost(db.err_no)) {
			/* The COMMIT was sent: it may have been applied. */
			db.commit_unknown = 1;
			db_close();
		}
		return -1;
	}
	return 0;
}

/* Never fails from the caller's view. */
static void
db_rollback(void)
{
	int i;

	db.in_tx = 0;
	if (db.conn == NULL)
		return;
	for (i = 0; i < db.nstmts; i++)
		db_done(&db.stmts[i]);
	if (mysql_rollback(db.conn) != 0) {
		/* The server rolls back when the connection goes; start over. */
		db_close();
	}
}

/* Before retrying a deadlocked transaction: 0..2^(attempt+1) ms, at most
 * 64 ms, from a per-process xorshift (no need for a strong source). */
static void
db_tx_pause(int attempt)
{
	static uint32_t x;
	struct timespec ts;
	uint32_t range;

	if (x == 0)
		x = ((uint32_t)getpid() * 2654435761u ^ (uint32_t)clock_mono_ms()) |
		    1u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	range = attempt >= 5 ? 64 : 2u << attempt;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(x % (range * 1000u)) * 1000L;
	nanosleep(&ts, NULL);
}

enum db_tx_result
db_tx_run(enum db_tx_result (*body)(void *arg),
    void (*failed)(void *arg, int attempt), void *arg)
{
	enum db_tx_result rc;
	int attempt;

	for (attempt = 1;; attempt++) {
		if (db_begin() == -1) {
			if (failed != NULL)
				failed(arg, attempt);
			return DB_TX_ERROR;
		}
		rc = body(arg);
		if (rc == DB_TX_ROLLBACK) {
			db_rollback();
			return DB_TX_ROLLBACK;
		}
		if (rc == DB_TX_COMMIT && db_commit() == 0)
			return DB_TX_COMMIT;
		/* The error stays in db.err_no: rollback does not touch it. */
		db_rollback();
		if (failed != NULL)
			failed(arg, attempt);
		if (!db_err_retryable())
			break;
		if (db.err_no != DB_ER_DEADLOCK) {
			if (attempt >= DB_TX_ATTEMPTS)
				break;
			continue;
		}
		if (attempt >= DB_TX_DEADLOCK_ATTEMPTS)
			break;
		db_tx_pause(attempt);
	}
	return DB_TX_ERROR;
}

unsigned
db_errno(void)
{
	return db.err_no;
}

const char *
db_error(void)
{
	return db.err;
}

int
db_err_retryable(void)
{
	return db.err_no == DB_ER_DEADLOCK || db.err_no == DB_ER_LOCK_WAIT_TIMEOUT;
}

int
db_err_commit_unknown(void)
{
	return db.err_no != 0 && db.commit_unknown;
}

int
db_err_unavailable(void)
{
	return conn_lost(db.err_no) || db.err_no == CR_CONNECTION_ERROR ||
	    db.err_no == 2002 || db.err_no == 2003 || db.err_no == 2005 ||
	    db.err_no == 1040 /* too many connections */;
}

int
db_err_deploy(void)
{
	/* The server answered and refused: credentials, grants, database,
	 * schema.  Anything else (unreachable, too many connections, shutting
	 * down) may pass by itself. */
	switch (db.err_no) {
	case 1044:      /* ER_DBACCESS_DENIED_ERROR */
	case 1045:      /* ER_ACCESS_DENIED_ERROR */
	case 1049:      /* ER_BAD_DB_ERROR */
	case 1054:      /* ER_BAD_FIELD_ERROR: schema older than the code */
	case 1064:      /* ER_PARSE_ERROR */
	case 1130:      /* ER_HOST_NOT_PRIVILEGED */
	case 1142:      /* ER_TABLEACCESS_DENIED_ERROR */
	case 1143:      /* ER_COLUMNACCESS_DENIED_ERROR */
	case 1146:      /* ER_NO_SUCH_TABLE */
	case 1698:      /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
		return 1;
	default:
		return 0;
	}
}
