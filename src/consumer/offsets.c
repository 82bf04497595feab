/*
 * offsets: see offsets.h.
 */
#include "offsets.h"

#include "log.h"

static rd_kafka_t *offsets_rk;

void
offsets_init(rd_kafka_t *rk)
{
	offsets_rk = rk;
}

/* rd_kafka_offsets_store() stores .offset as is, unlike the legacy
 * rd_kafka_offset_store(): the entries already hold offset + 1. */
void
offsets_store(rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_resp_err_t e;
	int i;

	if (l->cnt == 0)
		return;
	e = rd_kafka_offsets_store(offsets_rk, l);
	for (i = 0; i < l->cnt; i++) {
		/* __STATE: partition revoked meanwhile; its new owner
		 * reprocesses from the last commit (at-least-once). */
		if (l->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
			log_debug("offset store '%s'[%d] %lld failed: %s",
			    l->elems[i].topic, (int)l->elems[i].partition,
			    (long long)l->elems[i].offset,
			    rd_kafka_err2str(l->elems[i].err));
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_debug("offsets store failed: %s", rd_kafka_err2str(e));
}

void
offsets_done(rd_kafka_topic_partition_list_t *pending,
    const rd_kafka_message_t *m, int wait)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	rd_kafka_topic_partition_t *p;
	rd_kafka_topic_partition_list_t *one;

	p = rd_kafka_topic_partition_list_find(pending, topic, m->partition);
	if (wait || p != NULL) {
		if (p == NULL)
			p = rd_kafka_topic_partition_list_add(pending, topic,
			    m->partition);
		if (m->offset + 1 > p->offset)
			p->offset = m->offset + 1;
		return;
	}
	one = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(one, topic, m->partition)->offset =
	    m->offset + 1;
	offsets_store(one);
	rd_kafka_topic_partition_list_destroy(one);
}

void
offsets_forget(rd_kafka_topic_partition_list_t *pending,
    const rd_kafka_topic_partition_list_t *parts)
{
	int i;

	for (i = 0; i < parts->cnt; i++)
		rd_kafka_topic_partition_list_del(pending,
		    parts->elems[i].topic, parts->elems[i].partition);
}
