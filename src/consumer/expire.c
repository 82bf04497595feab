/*
 * expire: releasing unpaid seat holds (see consumer.h).
 *
 * Correctness does not come from here: every reader and writer treats a
 * hold past its expires_at as free (lazy expiry).  This file makes the
 * data tidy and tells the world: the reservation row becomes EXPIRED, the
 * seat row is cleared if it still belongs to that reservation, and a
 * seat.released event is published.
 *
 * Race with payment: the payment transaction locks the reservation row
 * and checks expires_at > now under that lock; our UPDATE takes the same
 * row lock and checks state = HELD and expires_at <= now, so exactly one
 * of the two wins.  Race with a re-hold: a worker may already have given
 * the lazily-freed seat to someone else, in which case the seat row names
 * another reservation and our seat UPDATE matches nothing, as it should.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer.h"
#include "db.h"
#include "event.h"
#include "events.h"
#include "heap.h"
#include "log.h"
#include "model.h"
#include "util.h"

/* Deadlines remembered at most; beyond that the sweep finds them. */
#define EXPIRE_HEAP_MAX   100000
/* Overdue holds handled per sweep, and old idempotency rows deleted per
 * statement / per sweep (small batches keep lock times short). */
#define EXPIRE_SWEEP_MAX  500
#define EXPIRE_IDEM_BATCH 1000
#define EXPIRE_IDEM_ROUNDS 5

static struct db_stmt *st_res_expire, *st_res_get, *st_seat_free,
    *st_sweep_sel, *st_idem_del;

static struct heap deadlines;

int
expire_init(void)
{
	heap_init(&deadlines, EXPIRE_HEAP_MAX);
	st_res_expire = db_stmt(
	    "UPDATE reservations SET state = " SQL_RES_EXPIRED ", "
	    "updated_at = UTC_TIMESTAMP(3) "
	    "WHERE id = ? AND state = " SQL_RES_HELD " "
	    "AND expires_at <= UTC_TIMESTAMP(3)");
	st_res_get = db_stmt(
	    "SELECT concert_date, seat_number, concert_id FROM reservations "
	    "WHERE id = ?");
	st_seat_free = db_stmt(
	    "UPDATE seats SET state = " SQL_SEAT_FREE ", hold_user = NULL, "
	    "hold_expires_at = NULL, reservation_id = NULL "
	    "WHERE concert_id = ? AND concert_date = ? AND seat_number = ? "
	    "AND reservation_id = ? AND state = " SQL_SEAT_HELD);
	st_sweep_sel = db_stmt(
	    "SELECT id FROM reservations "
	    "WHERE state = " SQL_RES_HELD " AND expires_at <= UTC_TIMESTAMP(3) "
	    "ORDER BY expires_at LIMIT " MODEL_STR(EXPIRE_SWEEP_MAX));
	st_idem_del = db_stmt(
	    "DELETE FROM idempotency_keys "
	    "WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND "
	    "LIMIT " MODEL_STR(EXPIRE_IDEM_BATCH));
	if (st_res_expire == NULL || st_res_get == NULL ||
	    st_seat_free == NULL || st_sweep_sel == NULL || st_idem_del == NULL)
		return -1;
	return 0;
}

void
expire_fini(void)
{
	heap_free(&deadlines);
}

/* ---------------------------------------------------------------- expiry */

struct expire_job {
	const unsigned char *id;
	char date[16];
	long long seat;
};

/* The transaction body: commit if this call expired the hold, roll back
 * when there was nothing to do. */
static enum db_tx_result
expire_tx(void *arg)
{
	struct expire_job *j = arg;
	long long n, concert = 1;
	int rc;

	if ((n = db_exec(st_res_expire, "u", j->id)) < 0)
		return DB_TX_ERROR;
	if (n == 0)
		return DB_TX_ROLLBACK;  /* nothing written */
	if (db_exec(st_res_get, "u", j->id) < 0)
		return DB_TX_ERROR;
	rc = db_fetch(st_res_get, "sii", j->date, sizeof(j->date), &j->seat,
	    &concert);
	db_done(st_res_get);
	if (rc != 1)
		return DB_TX_ERROR;
	/* 0 rows is fine: the seat was re-held or already tidied. */
	if (db_exec(st_seat_free, "isiu", concert, j->date, j->seat, j->id) < 0)
		return DB_TX_ERROR;
	return DB_TX_COMMIT;
}

int
expire_reservation(const unsigned char id[16])
{
	struct expire_job j = { id, "", 0 };
	struct event ev;
	char rid[UUID_STR_LEN];

	util_uuid_format(id, rid);
	switch (db_tx_run(expire_tx, NULL, &j)) {
	case DB_TX_ROLLBACK:
		return 0;
	case DB_TX_COMMIT:
		log_info("hold expired, reservation '%s' (%s seat %lld)",
		    rid, j.date, j.seat);
		event_init(&ev, EVENT_SEAT_RELEASED);
		memcpy(ev.reservation, id, 16);
		snprintf(ev.date, sizeof(ev.date), "%.10s", j.date);
		ev.seat = j.seat;
		ev.reason = EVENT_REASON_EXPIRED;
		events_send(&ev);
		return 1;
	case DB_TX_ERROR:
		break;
	}
	log_warn("expiring reservation failed, '%s': %s", rid, db_error());
	return -1;
}

/* ---------------------------------------------------------------- heap */

int
expire_heap_push(int64_t due_ms, const unsigned char id[16])
{
	if (heap_push(&deadlines, due_ms, id) == 0)
		return 0;
	if (deadlines.v == NULL)
		log_warn("deadline heap allocation failed; relying on the sweep");
	return -1;
}

int64_t
expire_heap_next(void)
{
	const struct heap_entry *e = heap_top(&deadlines);

	return e != NULL ? e->due_ms : -1;
}

int
expire_heap_run(int64_t now_ms, int max)
{
	const struct heap_entry *e;
	int done = 0, rc;

	while ((e = heap_top(&deadlines)) != NULL && e->due_ms <= now_ms &&
	    max-- > 0) {
		/* Keep the entry while the database is unreachable; any
		 * other failure is logged and left to the sweep, so one bad
		 * row cannot stall the heap. */
		if ((rc = expire_reservation(e->id)) < 0 &&
		    db_err_unavailable())
			return -1;
		if (rc > 0)
			done += rc;
		heap_pop(&deadlines);
	}
	return done;
}

/* ---------------------------------------------------------------- sweep */

int
expire_sweep(const struct config *cfg)
{
	static unsigned char ids[EXPIRE_SWEEP_MAX][16];
	long long n;
	int count = 0, i, nids = 0, rc, failed = 0;

	if (db_exec(st_sweep_sel, "") < 0) {
		log_warn("sweep failed, 'reservations': %s", db_error());
		return -1;
	}
	while (nids < EXPIRE_SWEEP_MAX &&
	    (rc = db_fetch(st_sweep_sel, "u", ids[nids])) == 1)
		nids++;
	db_done(st_sweep_sel);
	for (i = 0; i < nids; i++) {
		/* One row that fails (logged) must not hide the others; a
		 * server that went away ends the sweep. */
		if ((rc = expire_reservation(ids[i])) < 0) {
			if (db_err_unavailable()) {
				failed = 1;
				break;
			}
			continue;
		}
		count += rc;
	}
	if (count > 0)
		log_info("sweep expired %d hold(s)", count);

	for (i = 0; i < EXPIRE_IDEM_ROUNDS; i++) {
		n = db_exec(st_idem_del, "i", (long long)cfg->idempotency_ttl_seconds);
		if (n < 0) {
			log_warn("sweep failed, 'idempotency_keys': %s", db_error());
			failed = 1;
			break;
		}
		if (n < EXPIRE_IDEM_BATCH)
			break;
	}
	return failed ? -1 : count;
}
