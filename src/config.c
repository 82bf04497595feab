/*
 * config: parse the key = value file and CONCERT_<KEY> overrides.
 *
 * The keys are a table (name, type, offset, bounds), so the file parser,
 * the environment pass and the dump share one description of each key.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pm.h"

/* C_ENUM: a long holding the index of one of a few names, which the row's
 * parse/name pair translates (the engine knows no names itself).
 * C_MODE: a long written and shown in octal (file permission bits). */
enum ctype { C_STR, C_LONG, C_ENUM, C_MODE };

struct ckey {
	const char *name;
	enum ctype type;
	size_t off;
	long min, max;       /* C_LONG bounds, inclusive */
	int secret;          /* masked in config_dump */
	int (*parse)(const char *);      /* C_ENUM: index, or -1 */
	const char *(*unparse)(int);     /* C_ENUM: the index's name */
	const char *choices;             /* C_ENUM: for the error message */
};

#define S(k) { #k, C_STR, offsetof(struct config, k), 0, 0, 0, NULL, NULL, NULL }
#define L(k, lo, hi) \
	{ #k, C_LONG, offsetof(struct config, k), lo, hi, 0, NULL, NULL, NULL }
#define E(k, p, u, c) { #k, C_ENUM, offsetof(struct config, k), 0, 0, 0, p, u, c }
#define M(k) { #k, C_MODE, offsetof(struct config, k), 0, 0777, 0, NULL, NULL, NULL }

static const struct ckey keys[] = {
	S(listen), S(pid_file), S(log_file), S(access_log),
	L(workers, 1, 1024),
	L(max_requests, 0, LONG_MAX),
	L(shutdown_timeout_seconds, 1, 3600),
	L(respawn_max, 1, 100000),
	L(respawn_window_seconds, 1, 3600),
	L(listen_backlog, 1, 65535),
	S(listen_owner), S(listen_group), M(listen_mode),
	L(slow_request_ms, 0, 3600000),
	L(request_timeout_seconds, 0, 86400),
	L(hold_ttl_seconds, 1, 86400),
	L(active_ttl_seconds, 1, 86400),
	L(max_active_tokens, 1, 10000000),
	L(max_holds_per_user, 1, 1000),
	L(max_charge_amount, 1, 1000000000000L),
	L(max_balance, 1, 1000000000000000L),
	L(idempotency_ttl_seconds, 1, 30 * 86400),
	L(refund_cutoff_hours, 0, 8760),
	S(db_host), L(db_port, 0, 65535), S(db_socket), S(db_failover),
	S(db_user),
	{ "db_password", C_STR, offsetof(struct config, db_password), 0, 0, 1,
	    NULL, NULL, NULL },
	S(db_name),
	L(db_lock_wait_timeout, 1, 3600),
	S(kafka_brokers), S(kafka_topic_prefix), S(consumer_group),
	L(sweep_interval_ms, 10, 600000),
	S(consumer_log_file), S(consumer_pid_file),
	E(log_level, log_level_parse, log_level_name, "debug|info|warn|error"),
	/* waiting queue (issue 10) */
	{ "token_secret", C_STR, offsetof(struct config, token_secret), 0, 0, 1,
	    NULL, NULL, NULL },
	L(poll_max_seconds, 1, 3600),
	L(waiting_idle_seconds, 0, 86400),
	L(claim_seconds, 0, 86400),
	/* process manager (issue 10 part 5) */
	E(pm, pm_mode_parse, pm_mode_name, "static|dynamic"),
	L(pm_min_spare, 1, 1024),
	L(pm_max_spare, 1, 1024),
	L(pm_max_children, 1, 1024),
	/* authentication (issue 12 part 1) */
	E(auth, config_auth_parse, config_auth_name, "open|jwt"),
	{ "jwt_secret", C_STR, offsetof(struct config, jwt_secret), 0, 0, 1,
	    NULL, NULL, NULL },
	S(jwt_public_key_file), S(jwt_issuer), S(jwt_audience),
	L(jwt_leeway_seconds, 0, 3600),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* Not /tmp: any local user could bind the path first. */
	snprintf(cfg->listen, sizeof(cfg->listen), "/run/concertd/concertd.sock");
	cfg->listen_mode = 0660;
	/* The workers wait on MySQL, not on the CPU: measured through nginx
	 * on 2 cores (scripts/bench ping hold pay, 64 connections), holds
	 * peak at 8-16 workers and payments keep rising to 32, so 16 --
	 * whatever the core count, since the wait is the database's. */
	cfg->workers = CONFIG_WORKERS_DEFAULT;
	cfg->max_requests = 0;
	cfg->shutdown_timeout_seconds = 10;
	cfg->respawn_max = 10;
	cfg->respawn_window_seconds = 10;
	cfg->listen_backlog = 1024;
	cfg->slow_request_ms = 5000;
	cfg->request_timeout_seconds = 30;
	cfg->hold_ttl_seconds = 300;
	cfg->active_ttl_seconds = 600;
	cfg->max_active_tokens = 100;
	cfg->max_holds_per_user = 4;
	cfg->max_charge_amount = 10000000;
	cfg->max_balance = 1000000000000L;
	cfg->idempotency_ttl_seconds = 86400;
	cfg->refund_cutoff_hours = 24;
	snprintf(cfg->db_host, sizeof(cfg->db_host), "localhost");
	cfg->db_port = 3306;
	snprintf(cfg->db_user, sizeof(cfg->db_user), "concert");
	snprintf(cfg->db_name, sizeof(cfg->db_name), "concert");
	cfg->db_lock_wait_timeout = 5;
	snprintf(cfg->kafka_brokers, sizeof(cfg->kafka_brokers), "127.0.0.1:9092");
	snprintf(cfg->kafka_topic_prefix, sizeof(cfg->kafka_topic_prefix), "concert");
	snprintf(cfg->consumer_group, sizeof(cfg->consumer_group), "concert-consumer");
	cfg->sweep_interval_ms = 1000;
	cfg->log_level = LOG_LVL_INFO;
	/* waiting queue (issue 10) */
	cfg->poll_max_seconds = 30;
	cfg->waiting_idle_seconds = 300;
	cfg->claim_seconds = 120;
	/* process manager (issue 10 part 5) */
	cfg->pm = PM_STATIC;
	cfg->pm_min_spare = 2;
	cfg->pm_max_spare = 8;
	cfg->pm_max_children = 64;
	/* authentication (issue 12 part 1): open, as the brief's clients
	 * expect; a minute of skew between us and the identity provider */
	cfg->auth = CONFIG_AUTH_OPEN;
	cfg->jwt_leeway_seconds = 60;
}

static const char *const config_auth_names[CONFIG_AUTH__MAX] = {
	[CONFIG_AUTH_OPEN] = "open",
	[CONFIG_AUTH_JWT] = "jwt",
};

int
config_auth_parse(const char *name)
{
	int i;

	for (i = 0; i < CONFIG_AUTH__MAX; i++)
		if (strcmp(config_auth_names[i], name) == 0)
			return i;
	return -1;
}

const char *
config_auth_name(int mode)
{
	return mode >= 0 && mode < CONFIG_AUTH__MAX ?
	    config_auth_names[mode] : "unknown";
}

static const struct ckey *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int
config_set(struct config *cfg, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct ckey *k = find_key(key);
	char *end;
	long v;

	if (k == NULL) {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	if (k->type == C_STR) {
		char *dst = (char *)cfg + k->off;

		if (strlen(value) >= CONFIG_STR_LEN) {
			snprintf(err, errlen, "value of '%s' is too long", key);
			return -1;
		}
		snprintf(dst, CONFIG_STR_LEN, "%s", value);
		return 0;
	}
	if (k->type == C_ENUM) {
		int i = k->parse(value);

		if (i < 0) {
			snprintf(err, errlen, "value of '%s' is not one of %s: "
			    "'%.64s'", key, k->choices, value);
			return -1;
		}
		*(long *)((char *)cfg + k->off) = i;
		return 0;
	}
	if (k->type == C_MODE) {
		errno = 0;
		v = strtol(value, &end, 8);
		if (value[0] == '\0' || *end != '\0' || errno == ERANGE ||
		    v < k->min || v > k->max) {
			snprintf(err, errlen, "value of '%s' is not an octal "
			    "mode 0 to 0777: '%.64s'", key, value);
			return -1;
		}
		*(long *)((char *)cfg + k->off) = v;
		return 0;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (value[0] == '\0' || *end != '\0' || errno == ERANGE) {
		snprintf(err, errlen, "value of '%s' is not an integer: '%.64s'",
		    key, value);
		return -1;
	}
	if (v < k->min || v > k->max) {
		snprintf(err, errlen, "value of '%s' out of range [%ld, %ld]: %ld",
		    key, k->min, k->max, v);
		return -1;
	}
	*(long *)((char *)cfg + k->off) = v;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char line[2048], kerr[CONFIG_ERR_LEN];
	FILE *fp;
	int lineno = 0, rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "open '%s' failed: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *s, *eq, *key, *val;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (config_set(cfg, key, val, kerr, sizeof(kerr)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, kerr);
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "read '%s' failed: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	fclose(fp);
	return rc;
}

static int
load_env(struct config *cfg, char *err, size_t errlen)
{
	char envname[128], kerr[CONFIG_ERR_LEN];
	size_t i, j;

	for (i = 0; i < NKEYS; i++) {
		const char *v;

		snprintf(envname, sizeof(envname), "CONCERT_%s", keys[i].name);
		for (j = 8; envname[j] != '\0'; j++)
			envname[j] = (char)toupper((unsigned char)envname[j]);
		if ((v = getenv(envname)) == NULL)
			continue;
		if (config_set(cfg, keys[i].name, v, kerr, sizeof(kerr)) == -1) {
			snprintf(err, errlen, "environment %s: %s", envname, kerr);
			return -1;
		}
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	config_defaults(cfg);
	if (path != NULL && *path != '\0' &&
	    load_file(cfg, path, err, errlen) == -1)
		return -1;
	if (load_env(cfg, err, errlen) == -1)
		return -1;
	return config_check(cfg, err, errlen);
}

/* auth = jwt verifies with exactly one key, whose type is the algorithm
 * (auth.h): with both, which one a token names would be its choice. */
static int
config_check_auth(const struct config *cfg, char *err, size_t errlen)
{
	int has_secret = cfg->jwt_secret[0] != '\0';
	int has_key = cfg->jwt_public_key_file[0] != '\0';

	if (cfg->auth != CONFIG_AUTH_JWT)
		return 0;
	if (has_secret == has_key) {
		snprintf(err, errlen, "'auth' = jwt needs exactly one of "
		    "'jwt_secret' (HS256) and 'jwt_public_key_file' (RS256, "
		    "ES256)");
		return -1;
	}
	if (has_secret && strlen(cfg->jwt_secret) < CONFIG_JWT_SECRET_MINLEN) {
		snprintf(err, errlen, "'jwt_secret' is shorter than %d bytes",
		    CONFIG_JWT_SECRET_MINLEN);
		return -1;
	}
	return 0;
}

int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (config_check_auth(cfg, err, errlen) == -1)
		return -1;
	/* A static pool ignores the pm_* keys, as php-fpm's does. */
	if (cfg->pm != PM_DYNAMIC)
		return 0;
	if (cfg->pm_min_spare > cfg->pm_max_spare) {
		snprintf(err, errlen, "'pm_min_spare' (%ld) is greater than "
		    "'pm_max_spare' (%ld)", cfg->pm_min_spare, cfg->pm_max_spare);
		return -1;
	}
	if (cfg->pm_max_children < cfg->workers) {
		snprintf(err, errlen, "'pm_max_children' (%ld) is less than "
		    "'workers' (%ld), the start size of a dynamic pool",
		    cfg->pm_max_children, cfg->workers);
		return -1;
	}
	if (cfg->pm_max_children < cfg->pm_min_spare) {
		snprintf(err, errlen, "'pm_max_children' (%ld) is less than "
		    "'pm_min_spare' (%ld)", cfg->pm_max_children,
		    cfg->pm_min_spare);
		return -1;
	}
	return 0;
}

void
config_dump(const struct config *cfg, FILE *fp)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const char *p = (const char *)cfg + keys[i].off;

		if (keys[i].type == C_LONG)
			fprintf(fp, "%s = %ld\n", keys[i].name, *(const long *)p);
		else if (keys[i].type == C_MODE)
			fprintf(fp, "%s = %04lo\n", keys[i].name,
			    (unsigned long)*(const long *)p);
		else if (keys[i].type == C_ENUM)
			fprintf(fp, "%s = %s\n", keys[i].name,
			    keys[i].unparse((int)*(const long *)p));
		else
			fprintf(fp, "%s = %s\n", keys[i].name,
			    keys[i].secret && *p ? "********" : p);
	}
}
