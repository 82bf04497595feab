/*
 * lag: see lag.h.
 */
#include "lag.h"

#include <stdio.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

static struct db_stmt *st_lag, *st_lag_del;
static char lag_instance[128];

int
lag_init(void)
{
	char host[64] = "localhost";

	gethostname(host, sizeof(host) - 1);
	snprintf(lag_instance, sizeof(lag_instance), "%s:%d", host,
	    (int)getpid());
	st_lag = db_stmt("INSERT INTO consumer_status (instance, lag, updated_at)"
	    " VALUES (?, ?, UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE"
	    " lag = VALUES(lag), updated_at = VALUES(updated_at)");
	st_lag_del = db_stmt("DELETE FROM consumer_status WHERE instance = ?");
	return st_lag != NULL && st_lag_del != NULL ? 0 : -1;
}

void
lag_report(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	long long lag = 0;
	int i;

	if (rd_kafka_assignment(rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (rd_kafka_position(rk, a) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (i = 0; i < a->cnt; i++) {
			int64_t lo, hi, pos = a->elems[i].offset;

			if (rd_kafka_get_watermark_offsets(rk, a->elems[i].topic,
			    a->elems[i].partition, &lo, &hi) !=
			    RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
				continue;
			if (pos < 0)
				pos = lo;    /* nothing consumed yet here */
			if (hi > pos)
				lag += hi - pos;
		}
	}
	rd_kafka_topic_partition_list_destroy(a);
	if (db_exec(st_lag, "si", lag_instance, lag) < 0)
		log_debug("consumer lag report failed: %s", db_error());
}

void
lag_forget(void)
{
	db_exec(st_lag_del, "s", lag_instance);
}
