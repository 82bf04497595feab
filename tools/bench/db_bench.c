/*
 * db_bench: the database alone doing concertd's hold and payment
 * transactions, with no HTTP and no FastCGI in front (scripts/bench
 * scenarios db_hold and db_pay).  Each thread has its own connection and
 * runs the same statements as src/api_reservation.c (api_hold) and
 * src/api_payment.c (api_pay) -- the same texts, from src/stmts.h -- in
 * the same order, as prepared statements, one transaction per operation,
 * READ COMMITTED like the workers.
 *
 *   db_bench hold|pay --socket PATH --user U --database DB --date YYYY-MM-DD
 *            --input FILE [--threads N] [--seconds S] [--concert N]
 *            [--claim-seconds S]
 *
 * hold: FILE has "TOKEN USER SEQ" per line (hex, hex, number): ACTIVE
 *       tokens; thread k takes lines k, k+N, ... and makes at most four
 *       holds per token on seats k, k+N, ... of the date (free seats).
 * pay:  FILE has "TOKEN USER SEQ RESERVATION PRICE SEAT": live holds of funded
 *       users; each is paid once.
 * Prints one line: "<op> ops=N seconds=S rps=R p50_ms=A p99_ms=B errors=E".
 */
#include <mysql.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "model.h"
#include "stmts.h"

struct job {
	char token[16], user[16], res[16];
	long long seq, price, seat;
};

static const char *o_socket, *o_user = "root", *o_db = "concert", *o_date, *o_input;
static int o_threads = 16, o_pay;
static long long o_concert = 1, o_claim_seconds = 120;
static double o_seconds = 5;
static struct job *jobs;
static long njobs;

#define LAT_MAX 2000000
struct worker {
	pthread_t th;
	int k;
	long ops, errors;
	float *lat;
	long nlat;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
unhex(const char *s, char *out)
{
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (char)v;
	}
	return 0;
}

/* A prepared statement; params by a format: b = 16 binary bytes, i = long
 * long, s = string.  Results are read and dropped; returns affected rows
 * (or rows read for a SELECT), -1 on error. */
struct st {
	MYSQL_STMT *s;
	const char *fmt;
};

static long
run(struct st *st, ...)
{
	MYSQL_BIND b[8];
	unsigned long len[8];
	long long iv[8];
	va_list ap;
	long rows;

	memset(b, 0, sizeof(b));
	va_start(ap, st);
	for (int i = 0; st->fmt[i]; i++) {
		switch (st->fmt[i]) {
		case 'b':
			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = va_arg(ap, char *);
			len[i] = 16;
			b[i].length = &len[i];
			b[i].buffer_length = 16;
			break;
		case 'i':
			iv[i] = va_arg(ap, long long);
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &iv[i];
			break;
		case 's':
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = va_arg(ap, char *);
			len[i] = strlen(b[i].buffer);
			b[i].length = &len[i];
			b[i].buffer_length = len[i];
			break;
		}
	}
	va_end(ap);
	if (mysql_stmt_bind_param(st->s, b) || mysql_stmt_execute(st->s))
		return -1;
	if (mysql_stmt_field_count(st->s) > 0) {
		if (mysql_stmt_store_result(st->s))
			return -1;
		rows = (long)mysql_stmt_num_rows(st->s);
		mysql_stmt_free_result(st->s);
		return rows;
	}
	return (long)mysql_stmt_affected_rows(st->s);
}

static struct st
prep(MYSQL *db, const char *fmt, const char *sql)
{
	struct st st = { mysql_stmt_init(db), fmt };

	if (st.s == NULL || mysql_stmt_prepare(st.s, sql, strlen(sql))) {
		fprintf(stderr, "db_bench: prepare '%.60s' failed: %s\n", sql, mysql_error(db));
		exit(1);
	}
	return st;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	MYSQL *db = mysql_init(NULL);
	char rid[16];
	long long seat_i = 0;
	long j = w->k;
	int uses = 0;
	double end;

	if (!mysql_real_connect(db, NULL, o_user, NULL, o_db, 0, o_socket, 0) ||
	    mysql_query(db, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") ||
	    mysql_autocommit(db, 0)) {
		fprintf(stderr, "db_bench: connect failed: %s\n", mysql_error(db));
		exit(1);
	}
	/* The workers' own texts (src/stmts.h), in api_hold's and api_pay's
	 * order; the binds the workers use. */
	struct st lookup = prep(db, "iiii", SQL_TOKEN_LOOKUP);
	struct st hold = prep(db, "bibisi", SQL_HOLD_SEAT);
	struct st ulock = prep(db, "isib", SQL_HOLD_USER_LOCK);
	struct st still = prep(db, "ii", SQL_TOKEN_STILL_ACTIVE);
	struct st extend = prep(db, "iii", SQL_HOLD_TOK_EXTEND);
	struct st live = prep(db, "b", SQL_HOLD_LIVE);
	struct st resins = prep(db, "bbisi", SQL_HOLD_RES_INS);
	struct st rlock = prep(db, "b", SQL_PAY_RES_LOCK);
	struct st slock = prep(db, "isi", SQL_PAY_SEAT_LOCK);
	struct st sell = prep(db, "isibb", SQL_PAY_SELL);
	struct st debit = prep(db, "ibi", SQL_PAY_DEBIT);
	struct st ledger = prep(db, "bib", SQL_PAY_LEDGER);
	struct st payins = prep(db, "bbbi", SQL_PAY_INS);
	struct st confirm = prep(db, "b", SQL_PAY_CONFIRM);
	struct st bal = prep(db, "ibb", SQL_PAY_BALANCE);
	/* the payer has no other hold in the bench: the admission ends, the
	 * UPDATE being its re-check under the lock */
	struct st tokend = prep(db, "ii", SQL_PAY_TOK_END);
	const long long cs = o_claim_seconds, c = o_concert;

	end = now_s() + o_seconds;
	int attempt = 0;    /* of the current payment (deadlock retries) */
	while (now_s() < end && j < njobs) {
		struct job *jb = &jobs[j];
		double t0 = now_s();
		int ok = 1;

		/* a fresh id, never one of an earlier run on the same database */
		if (getrandom(rid, sizeof(rid), 0) != (ssize_t)sizeof(rid))
			ok = 0;
		if (!o_pay) {
			long long seat = 1 + w->k + seat_i * o_threads;

			seat_i++;
			ok = ok && run(&lookup, cs, cs, c, jb->seq) == 1 &&
			    run(&hold, jb->user, 300LL, rid, c, o_date, seat) == 1 &&
			    run(&ulock, c, o_date, seat, jb->user) == 1 &&
			    run(&still, c, jb->seq) == 1 &&
			    run(&extend, 301LL, c, jb->seq) >= 0 &&
			    run(&live, jb->user) == 1 &&
			    run(&resins, rid, jb->user, c, o_date, seat) == 1;
			if (++uses == 4) { /* max_holds_per_user */
				uses = 0;
				j += o_threads;
			}
		} else {
			ok = ok && run(&lookup, cs, cs, c, jb->seq) == 1 &&
			    run(&rlock, jb->res) == 1 &&
			    run(&slock, c, o_date, jb->seat) == 1 &&
			    run(&sell, c, o_date, jb->seat, jb->res, jb->res) == 1 &&
			    run(&debit, jb->price, jb->user, jb->price) == 1 &&
			    run(&ledger, jb->user, -jb->price, rid) == 1 &&
			    run(&payins, rid, jb->res, jb->user, jb->price) == 1 &&
			    run(&confirm, jb->res) == 1 &&
			    run(&bal, c, jb->res, jb->user) == 1 &&
			    run(&tokend, c, jb->seq) == 1;
			j += o_threads;
		}
		if (ok && mysql_commit(db) == 0) {
			w->ops++;
			if (w->nlat < LAT_MAX)
				w->lat[w->nlat++] = (float)((now_s() - t0) * 1000);
			attempt = 0;
		} else {
			unsigned no = mysql_errno(db);

			/* As the workers' db_tx_run(): a deadlock or lock wait
			 * timeout is rolled back and the payment run again, up
			 * to DB_TX_ATTEMPTS (3) times in all. */
			if (o_pay && (no == 1213 || no == 1205) && ++attempt < 3) {
				mysql_rollback(db);
				j -= o_threads;
				continue;
			}
			attempt = 0;
			w->errors++;
			if (w->errors <= 3)
				fprintf(stderr, "db_bench: %s failed: %s\n", o_pay ? "pay" : "hold",
				    mysql_error(db));
			mysql_rollback(db);
		}
	}
	mysql_close(db);
	return NULL;
}

static int
cmp_f(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	char line[512], t[64], u[64], r[64];
	long cap = 0, ops = 0, errs = 0, nl = 0;
	struct worker *ws;
	float *all;
	FILE *f;
	double t0, el;

	if (argc < 2)
		goto usage;
	o_pay = strcmp(argv[1], "pay") == 0;
	if (!o_pay && strcmp(argv[1], "hold") != 0)
		goto usage;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--socket")) o_socket = argv[i + 1];
		else if (!strcmp(argv[i], "--user")) o_user = argv[i + 1];
		else if (!strcmp(argv[i], "--database")) o_db = argv[i + 1];
		else if (!strcmp(argv[i], "--date")) o_date = argv[i + 1];
		else if (!strcmp(argv[i], "--input")) o_input = argv[i + 1];
		else if (!strcmp(argv[i], "--threads")) o_threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--concert")) o_concert = atoll(argv[i + 1]);
		else if (!strcmp(argv[i], "--claim-seconds")) o_claim_seconds = atoll(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds")) o_seconds = atof(argv[i + 1]);
		else goto usage;
	}
	if (o_date == NULL || o_input == NULL || o_threads < 1)
		goto usage;
	if ((f = fopen(o_input, "r")) == NULL) {
		perror(o_input);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct job jb;

		memset(&jb, 0, sizeof(jb));
		if (sscanf(line, "%63s %63s %lld %63s %lld %lld", t, u, &jb.seq, r, &jb.price,
		    &jb.seat) < (o_pay ? 6 : 3) ||
		    unhex(t, jb.token) || unhex(u, jb.user) || (o_pay && unhex(r, jb.res)))
			continue;
		if (njobs == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((jobs = realloc(jobs, sizeof(*jobs) * (size_t)cap)) == NULL)
				return 1;
		}
		jobs[njobs++] = jb;
	}
	fclose(f);
	if (mysql_library_init(0, NULL, NULL))
		return 1;
	ws = calloc((size_t)o_threads, sizeof(*ws));
	t0 = now_s();
	for (int i = 0; i < o_threads; i++) {
		ws[i].k = i;
		ws[i].lat = malloc(sizeof(float) * LAT_MAX);
		pthread_create(&ws[i].th, NULL, work, &ws[i]);
	}
	for (int i = 0; i < o_threads; i++) {
		pthread_join(ws[i].th, NULL);
		ops += ws[i].ops;
		errs += ws[i].errors;
		nl += ws[i].nlat;
	}
	el = now_s() - t0;
	all = malloc(sizeof(float) * (size_t)(nl + 1));
	nl = 0;
	for (int i = 0; i < o_threads; i++)
		for (long k = 0; k < ws[i].nlat; k++)
			all[nl++] = ws[i].lat[k];
	qsort(all, (size_t)nl, sizeof(float), cmp_f);
	printf("db_%s ops=%ld seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%ld jobs=%ld\n",
	    o_pay ? "pay" : "hold", ops, el, el > 0 ? (double)ops / el : 0,
	    nl ? all[nl / 2] : 0.0, nl ? all[(long)((double)nl * 0.99)] : 0.0, errs, njobs);
	mysql_library_end();
	return errs > 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: db_bench hold|pay --socket PATH --date YYYY-MM-DD --input FILE"
	    " [--user U] [--database DB] [--threads N] [--seconds S] [--concert N]"
	    " [--claim-seconds S]\n");
	return 2;
}
