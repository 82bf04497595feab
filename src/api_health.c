/*
 * api_health: /ping (no database, no broker: the baseline route) and
 * /health (db and kafka status; 503 naming what is down).
 */
#include "api.h"
#include "db.h"
#include "events.h"

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
	int kafka_ok = events_healthy();

	json_object_object_add(o, "status",
	    json_object_new_string(db_ok && kafka_ok ? "ok" : "degraded"));
	json_object_object_add(o, "db", json_object_new_string(db_ok ? "ok" : "down"));
	json_object_object_add(o, "kafka",
	    json_object_new_string(kafka_ok ? "ok" : "down"));
	http_json(c->w, db_ok && kafka_ok ? 200 : 503, o);
	return 0;
}
