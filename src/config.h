/*
 * config: the key = value file shared by concertd and concert-consumer.
 *
 * Every key may be overridden by the environment variable CONCERT_<KEY>
 * (upper case).  Precedence: built-in default < file < environment.
 * An unknown key or a malformed value is an error naming the key.
 */
#ifndef CONCERT_CONFIG_H
#define CONCERT_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_ERR_LEN 256
#define CONFIG_STR_LEN 512

/* The `auth` key (auth.h says what each mode means). */
enum config_auth {
	CONFIG_AUTH_OPEN = 0,   /* the caller is the userId sent (default) */
	CONFIG_AUTH_JWT = 1,    /* the caller is a verified JWT's sub */
	CONFIG_AUTH__MAX
};

/* Shortest jwt_secret: HS256 wants a key of at least the hash's size
 * (RFC 7518 section 3.2). */
#define CONFIG_JWT_SECRET_MINLEN 32

/* Default `workers` (see config_defaults() for the measurement). */
#define CONFIG_WORKERS_DEFAULT 16

struct config {
	/* concertd */
	char listen[CONFIG_STR_LEN];     /* unix socket path, or host:port */
	char pid_file[CONFIG_STR_LEN];
	char log_file[CONFIG_STR_LEN];   /* empty: stderr */
	char access_log[CONFIG_STR_LEN]; /* empty: no access log */
	long workers;
	long max_requests;               /* 0: never retire a worker */
	long shutdown_timeout_seconds;   /* SIGTERM -> SIGKILL escalation */
	long respawn_max;                /* crash-rate breaker: deaths ... */
	long respawn_window_seconds;     /* ... within this window */
	long listen_backlog;
	/* The unix socket's owner, group (names or numbers; empty: the
	 * process's own) and mode (octal, default 0660): php-fpm's model. */
	char listen_owner[CONFIG_STR_LEN];
	char listen_group[CONFIG_STR_LEN];
	long listen_mode;
	long slow_request_ms;            /* log a request running longer; 0: off */
	long request_timeout_seconds;    /* SIGKILL its worker after; 0: off */

	/* business rules */
	long hold_ttl_seconds;
	long active_ttl_seconds;
	long max_active_tokens;
	long max_holds_per_user;
	long max_charge_amount;
	long max_balance;
	long idempotency_ttl_seconds;
	long refund_cutoff_hours;        /* cancel + full refund until this
	                                  * long before the concert date */

	/* MySQL */
	char db_host[CONFIG_STR_LEN];
	long db_port;
	char db_socket[CONFIG_STR_LEN];
	/* Other database servers (a Galera cluster's other nodes), tried in
	 * order when the current one cannot be reached: socket paths or
	 * host[:port], comma-separated. */
	char db_failover[CONFIG_STR_LEN];
	char db_user[CONFIG_STR_LEN];
	char db_password[CONFIG_STR_LEN];
	char db_name[CONFIG_STR_LEN];
	long db_lock_wait_timeout;

	/* Kafka */
	char kafka_brokers[CONFIG_STR_LEN];
	char kafka_topic_prefix[CONFIG_STR_LEN];
	char consumer_group[CONFIG_STR_LEN];

	/* concert-consumer */
	long sweep_interval_ms;
	char consumer_log_file[CONFIG_STR_LEN];
	char consumer_pid_file[CONFIG_STR_LEN];

	/* waiting queue (issue 10): token signing, polling hint, idle places */
	char token_secret[CONFIG_STR_LEN]; /* HMAC key of the tokens; empty: per-start */
	long poll_max_seconds;           /* largest pollAfterSeconds */
	long waiting_idle_seconds;       /* drop a WAITING token unpolled this long; 0: off */
	long claim_seconds;              /* lapse an admission unused this long; 0: off */

	/* process manager (issue 10 part 5; pm.h): static or dynamic pool */
	long pm;                         /* enum pm_mode; default static */
	long pm_min_spare;               /* dynamic: fork below this many idle */
	long pm_max_spare;               /* dynamic: retire above this many idle */
	long pm_max_children;            /* dynamic: never more workers */

	/* authentication (issue 12 part 1; auth.h) */
	long auth;                       /* enum config_auth; default open */
	char jwt_secret[CONFIG_STR_LEN]; /* HS256 key (secret) */
	char jwt_public_key_file[CONFIG_STR_LEN]; /* PEM: RS256 or ES256 */
	char jwt_issuer[CONFIG_STR_LEN]; /* required iss; empty: not checked */
	char jwt_audience[CONFIG_STR_LEN]; /* required in aud; empty: not checked */
	long jwt_leeway_seconds;         /* clock skew allowed on exp and nbf */

	/* both programs */
	long log_level;                  /* enum log_level; default info */
};

/* Fill *cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/*
 * Load defaults, then the file at path (NULL or "" to skip the file), then
 * the CONCERT_<KEY> environment overrides.  Returns 0, or -1 with a one-line
 * message naming the offending key (and file:line) in err.  Keys that
 * are only wrong together (pm_min_spare > pm_max_spare, pm_max_children <
 * workers in a dynamic pool, auth = jwt without exactly one key) are
 * checked last, by config_check().
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/*
 * Set one key from its text form, as the file and environment do.
 * Returns 0, or -1 with err set ("unknown key", "not a number", range).
 */
int config_set(struct config *cfg, const char *key, const char *value,
    char *err, size_t errlen);

/* Check the keys that constrain one another.  0, or -1 with a one-line
 * message naming the key in err. */
int config_check(const struct config *cfg, char *err, size_t errlen);

/* Index of an auth mode name ("open", "jwt"), or -1; its name ("unknown"
 * out of range).  For the `auth` key. */
int config_auth_parse(const char *name);
const char *config_auth_name(int mode);

/* Write every key = value to fp (passwords, token_secret and jwt_secret
 * masked), for `concertd -T`. */
void config_dump(const struct config *cfg, FILE *fp);

#endif
