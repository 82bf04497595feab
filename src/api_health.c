/*
 * api_health: /ping (no database, no broker: the baseline route) and
 * /health (db and kafka status; 503 naming what is down).  The kafka
 * status is the event relay's (relay.h) when there is one.
 */
#include "api.h"
#include "db.h"
#include "events.h"
#include "relay.h"

int
api_ping(struct api_ctx *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("ok"));
	http_json(c->w, 200, o);
	return 0;
}

int
api_health(struct api_ctx *c)
{
	json_object *o = json_object_new_object();
	int db_ok = db_ping() == 0;
	/* Under a master the relay owns the producer and publishes the
	 * broker's state; a worker alone asks its own producer. */
	int kafka_ok = relay_in_use() ? relay_healthy() : events_healthy();

	json_object_object_add(o, "status",
	    json_object_new_string(db_ok && kafka_ok ? "ok" : "degraded"));
	json_object_object_add(o, "db", json_object_new_string(db_ok ? "ok" : "down"));
	json_object_object_add(o, "kafka",
	    json_object_new_string(kafka_ok ? "ok" : "down"));
	http_json(c->w, db_ok && kafka_ok ? 200 : 503, o);
	return 0;
}
