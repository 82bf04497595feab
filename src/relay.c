/*
 * relay: see relay.h.
 *
 * Why a datagram socketpair and not a ring in shared memory: a send() per
 * event is one syscall in the worker, after the answer is written, and
 * needs no lock shared with a process that may die holding it (a robust
 * mutex would); the kernel keeps datagrams whole and in order, wakes the
 * relay, and holds them while no relay runs because the master keeps the
 * receiving end open.  The relay reads up to RELAY_BATCH datagrams per
 * recvmmsg().  On a socketpair the receiver's max_dgram_qlen does not
 * apply (the peer is the sender's own pair); what bounds the backlog is
 * the sending socket's SO_SNDBUF, which relay_channel_open() raises to
 * the kernel's wmem_max.
 *
 * Threads in the relay: the main loop (channel, producer, delivery
 * reports, scoreboard) and relay_health_thread(), which alone makes the
 * blocking metadata request.
 */
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "events.h"
#include "log.h"
#include "metrics.h"
#include "scoreboard.h"
#include "sig.h"

#define RELAY_BATCH          32       /* datagrams per recvmmsg() */
#define RELAY_POLL_MS        100      /* main loop wake-up without events */
#define RELAY_HEALTH_MS      500      /* health thread period */
#define RELAY_HEALTH_STALE_MS 3000    /* /health: a check older is "down" */
#define RELAY_DROP_LOG_MS    10000    /* hand-off refusals: one line per */
#define RELAY_SNDBUF         (4 << 20) /* asked; the kernel caps it */

static int relay_fd = -1;             /* worker: the sending end */

static const int relay_signals_caught[] = { SIGQUIT, SIGTERM, SIGINT, SIGUSR1 };
static const int relay_stop_signals[] = { SIGQUIT, SIGTERM, SIGINT };
static const int relay_signals_ignored[] = { SIGPIPE, SIGHUP };

size_t
relay_frame_encode(char *buf, size_t len, enum events_topic topic,
    const char *key, size_t key_len, const char *payload, size_t payload_len)
{
	size_t n = RELAY_FRAME_HEAD + key_len + payload_len;

	if ((int)topic < 0 || (int)topic >= EVENTS__MAX || key_len > 0xffff ||
	    n > len || n > RELAY_FRAME_MAX)
		return 0;
	buf[0] = (char)RELAY_FRAME_MAGIC;
	buf[1] = (char)topic;
	buf[2] = (char)(key_len >> 8);
	buf[3] = (char)(key_len & 0xff);
	if (key_len > 0)
		memcpy(buf + RELAY_FRAME_HEAD, key, key_len);
	memcpy(buf + RELAY_FRAME_HEAD + key_len, payload, payload_len);
	return n;
}

int
relay_frame_decode(const char *buf, size_t n, struct relay_frame *f)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t klen;

	if (n < RELAY_FRAME_HEAD || u[0] != RELAY_FRAME_MAGIC ||
	    u[1] >= EVENTS__MAX)
		return -1;
	klen = ((size_t)u[2] << 8) | u[3];
	if (klen > n - RELAY_FRAME_HEAD)
		return -1;
	f->topic = (enum events_topic)u[1];
	f->key = buf + RELAY_FRAME_HEAD;
	f->key_len = klen;
	f->payload = buf + RELAY_FRAME_HEAD + klen;
	f->payload_len = n - RELAY_FRAME_HEAD - klen;
	return 0;
}

int
relay_channel_open(int fds[2], char *err, size_t errlen)
{
	int sz = RELAY_SNDBUF;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) == -1) {
		snprintf(err, errlen, "socketpair for the event relay failed: %s",
		    strerror(errno));
		return -1;
	}
	/* Capped at net.core.wmem_max: a smaller buffer only means fewer
	 * events survive a relay restart, so no failure. */
	if (setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == -1)
		log_warn("setsockopt SO_SNDBUF on the event relay channel "
		    "failed: %s", strerror(errno));
	return 0;
}

/* --- the relay process --- */

static struct {
	pthread_t health;
	int health_started;
	volatile int health_stop;
	unsigned long failed_counted;
} r;

static struct scoreboard_relay *
relay_sb(void)
{
	struct scoreboard *sb = scoreboard_get();

	return sb != NULL ? &sb->relay : NULL;
}

static void *
relay_health_thread(void *arg)
{
	struct scoreboard_relay *s = relay_sb();
	struct timespec ts = { 0, RELAY_HEALTH_MS * 1000000L };

	while (!__atomic_load_n(&r.health_stop, __ATOMIC_RELAXED)) {
		int ok = events_healthy();
		int64_t now = clock_mono_ms();

		if (s != NULL) {
			__atomic_store_n(&s->kafka_ok, ok, __ATOMIC_RELAXED);
			__atomic_store_n(&s->checked_ms, now, __ATOMIC_RELAXED);
			if (ok)
				__atomic_store_n(&s->ok_ms, now,
				    __ATOMIC_RELAXED);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Publish the producer's queue and its new delivery failures. */
static void
relay_publish_state(void)
{
	struct scoreboard_relay *s = relay_sb();
	unsigned long failed = events_failed();

	if (failed > r.failed_counted) {
		scoreboard_count_kafka_failures(failed - r.failed_counted);
		r.failed_counted = failed;
	}
	if (s != NULL)
		__atomic_store_n(&s->outq, (int64_t)events_outq_len(),
		    __ATOMIC_RELAXED);
}

/*
 * Read what the channel holds, up to max datagrams (0: until it is
 * empty), into the producer.  Returns how many were read.
 */
static size_t
relay_drain(int fd, size_t max)
{
	static char buf[RELAY_BATCH][RELAY_FRAME_MAX];
	struct mmsghdr msg[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	struct scoreboard_relay *s = relay_sb();
	size_t total = 0;
	int i, n;

	for (;;) {
		for (i = 0; i < RELAY_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msg, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_error("read from the event relay channel "
				    "failed: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct relay_frame f;

			if ((msg[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    relay_frame_decode(buf[i], msg[i].msg_len,
			    &f) == -1) {
				log_warn("event relay: malformed hand-off "
				    "datagram (%u bytes) dropped",
				    msg[i].msg_len);
				scoreboard_count_kafka_failures(1);
				continue;
			}
			/* A refusal is counted and logged by events.c. */
			events_produce(f.topic, f.key, f.key_len, f.payload,
			    f.payload_len);
		}
		if (s != NULL)
			__atomic_fetch_add(&s->received, (uint64_t)n,
			    __ATOMIC_RELAXED);
		total += (size_t)n;
		events_poll();
		if (n < RELAY_BATCH || (max > 0 && total >= max))
			break;
	}
	return total;
}

static int
relay_stopping(void)
{
	size_t i;

	for (i = 0; i < SIG_COUNT(relay_stop_signals); i++)
		if (sig_caught(relay_stop_signals[i]))
			return 1;
	return 0;
}

void
relay_run(const struct config *cfg, int recv_fd)
{
	char err[512];
	sigset_t waitmask;
	int status = 1;

	/* "concertd-relay" in ps and /proc/PID/comm (15 characters max). */
	prctl(PR_SET_NAME, "concertd-relay", 0, 0, 0);
	if (sig_catch(relay_signals_caught,
	    SIG_COUNT(relay_signals_caught)) == -1 ||
	    sig_ignore(relay_signals_ignored,
	    SIG_COUNT(relay_signals_ignored)) == -1 ||
	    sig_mask(SIG_SETMASK, relay_signals_caught,
	    SIG_COUNT(relay_signals_caught)) == -1) {
		log_error("event relay: signal set-up failed: %s",
		    strerror(errno));
		_exit(1);
	}
	sigemptyset(&waitmask);

	events_set_linger(RELAY_LINGER_MS);
	/* After the signal mask: librdkafka's threads inherit it. */
	if (events_init(cfg, err, sizeof(err)) == -1) {
		log_error("event relay: kafka producer: %s", err);
		goto out;
	}
	if (pthread_create(&r.health, NULL, relay_health_thread, NULL) != 0)
		log_error("event relay: health thread not started; /health "
		    "will report kafka down");
	else
		r.health_started = 1;
	log_debug("event relay %d started", (int)getpid());

	while (!relay_stopping()) {
		struct pollfd pfd = { .fd = recv_fd, .events = POLLIN };
		struct timespec tmo = { 0, RELAY_POLL_MS * 1000000L };
		int rc;

		if (sig_take(SIGUSR1))
			log_reopen();
		rc = ppoll(&pfd, 1, &tmo, &waitmask);
		if (rc == -1 && errno != EINTR) {
			log_error("event relay: poll failed: %s",
			    strerror(errno));
			goto out;
		}
		if (rc > 0)
			relay_drain(recv_fd, 4096);
		events_poll();
		relay_publish_state();
	}
	/* Stopping: whatever is in the channel now is ours to deliver (on a
	 * shutdown every worker is gone; on a replacement the next relay
	 * takes what arrives after this). */
	relay_drain(recv_fd, 0);
	status = 0;
out:
	if (r.health_started) {
		__atomic_store_n(&r.health_stop, 1, __ATOMIC_RELAXED);
		pthread_join(r.health, NULL);
	}
	events_fini((int)(cfg->shutdown_timeout_seconds > 1 ?
	    (cfg->shutdown_timeout_seconds - 1) * 1000 : 500));
	relay_publish_state();
	_exit(status);
}

/* --- the worker side --- */

void
relay_use(int send_fd)
{
	relay_fd = send_fd;
}

int
relay_in_use(void)
{
	return relay_fd >= 0;
}

/* A refused hand-off: count it; one warning per RELAY_DROP_LOG_MS for the
 * whole host (compare-and-swap on the shared timestamp). */
static void
relay_count_drop(const char *why)
{
	struct scoreboard_relay *s = relay_sb();
	int64_t now = clock_mono_ms(), last;
	uint64_t total;

	if (s == NULL) {
		log_warn("event not handed to the relay: %s", why);
		return;
	}
	total = __atomic_add_fetch(&s->handoff_dropped, 1, __ATOMIC_RELAXED);
	last = __atomic_load_n(&s->drop_logged_ms, __ATOMIC_RELAXED);
	if ((last != 0 && now - last < RELAY_DROP_LOG_MS) ||
	    !__atomic_compare_exchange_n(&s->drop_logged_ms, &last, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	log_warn("event not handed to the relay: %s (%llu event(s) dropped "
	    "since start; at most one line per 10 s)", why,
	    (unsigned long long)total);
}

int
relay_send(const struct event *ev)
{
	static char buf[RELAY_FRAME_MAX];
	char key[UUID_STR_LEN];
	const char *js;
	json_object *o;
	size_t n;
	ssize_t w;

	if ((o = event_json(ev)) == NULL) {
		relay_count_drop("out of memory");
		return -1;
	}
	event_key(ev, key);
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	n = relay_frame_encode(buf, sizeof(buf), event_topic(ev->type), key,
	    strlen(key), js, strlen(js));
	json_object_put(o);
	if (n == 0) {
		relay_count_drop("event larger than a hand-off datagram");
		return -1;
	}
	do
		w = send(relay_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w == -1 && errno == EINTR);
	if (w == -1) {
		relay_count_drop(errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS ? "the hand-off socket is full (the relay "
		    "is down or behind)" : strerror(errno));
		return -1;
	}
	return 0;
}

int
relay_healthy(void)
{
	struct scoreboard_relay *s = relay_sb();

	if (s == NULL || __atomic_load_n(&s->pid, __ATOMIC_RELAXED) == 0)
		return 0;
	return __atomic_load_n(&s->kafka_ok, __ATOMIC_RELAXED) &&
	    clock_mono_ms() - __atomic_load_n(&s->checked_ms,
	    __ATOMIC_RELAXED) < RELAY_HEALTH_STALE_MS;
}

void
relay_metrics(struct metrics_buf *b)
{
	struct scoreboard_relay *s = relay_sb();

	if (s == NULL || relay_fd < 0)
		return;
	metrics_header(b, "concert_event_relay_up", "gauge",
	    "1 if the host's event relay runs and its broker check answered "
	    "within 3 s.");
	metrics_printf(b, "concert_event_relay_up %d\n", relay_healthy());
	metrics_header(b, "concert_event_relay_queue", "gauge",
	    "Events in the relay's producer not yet acknowledged by Kafka.");
	metrics_printf(b, "concert_event_relay_queue %lld\n",
	    (long long)__atomic_load_n(&s->outq, __ATOMIC_RELAXED));
	metrics_header(b, "concert_event_relay_received_total", "counter",
	    "Events the relay read from the workers' hand-off socket.");
	metrics_printf(b, "concert_event_relay_received_total %llu\n",
	    (unsigned long long)__atomic_load_n(&s->received,
	    __ATOMIC_RELAXED));
	metrics_header(b, "concert_event_relay_restarts_total", "counter",
	    "Relays the master started after the first one.");
	metrics_printf(b, "concert_event_relay_restarts_total %llu\n",
	    (unsigned long long)__atomic_load_n(&s->restarts,
	    __ATOMIC_RELAXED));
	metrics_header(b, "concert_events_handoff_dropped_total", "counter",
	    "Events a worker could not hand to the relay (socket full): "
	    "never published.");
	metrics_printf(b, "concert_events_handoff_dropped_total %llu\n",
	    (unsigned long long)__atomic_load_n(&s->handoff_dropped,
	    __ATOMIC_RELAXED));
}
