/*
 * master: see master.h.
 *
 * Everything happens in master_run()'s loop: ppoll() on the workers' ready
 * pipe with our signals unblocked only for the duration of the call, then
 * (in this order) reap, act on signal flags, read ready notifications, and
 * run master_maintain(), which compares the wanted state with the actual
 * one: spawn missing workers of the current generation, retire the previous
 * generation once the current one is ready, SIGKILL workers that ignored
 * SIGQUIT for shutdown_timeout_seconds.  Being level-triggered, a lost
 * wakeup or a failed fork() is simply retried on the next pass (at most one
 * second later).
 *
 * Watching requests (master_watch(), every MASTER_TICK_MS): the master
 * reads each worker's scoreboard slot (scoreboard.h).  A request running
 * longer than slow_request_ms is logged once (php-fpm's slowlog); a worker
 * whose request runs longer than request_timeout_seconds is SIGKILLed
 * (php-fpm's request_terminate_timeout) and replaced at once, without
 * counting as a crash for the breaker.  A check that finds every worker of
 * the current generation busy counts in maxChildrenReached.
 *
 * The crash breaker: more than respawn_max abnormal deaths (a non-zero
 * exit, or a signal the master did not send) within respawn_window_seconds
 * open it for a back-off that starts at the window and doubles on each
 * consecutive trip (up to MASTER_BACKOFF_MAX_MS).  While it is open the
 * pool shrinks to one worker but never to none: the last one is respawned
 * at once after it died serving, or after a doubling delay if it died
 * before reporting ready (a start-up crash loop costs at most one fork per
 * MASTER_LONE_DELAY_MAX_MS).  Connections wait in the backlog, they are
 * not refused; php-fpm and nginx likewise never park a pool at zero.
 *
 * The process manager (pm.h): `pm_size` is how many workers of the current
 * generation master_maintain() keeps.  A static pool keeps it at `workers`.
 * A dynamic one starts there (and again on each reload), and master_pm()
 * moves it about once a second from the scoreboard's idle count, as
 * pm_decide() says: up to pm_max_children by forking, down by SIGQUIT to
 * one idle worker at a time (it finishes nothing, it is idle; an exit 0 is
 * no crash).  It pauses while the breaker is open (the breaker's one
 * worker wins), while a reload waits for its generation, and while
 * stopping.
 *
 * Workers and generations: every worker remembers the generation it was
 * forked in.  SIGHUP bumps the generation; the new one is started first and
 * the old one gets SIGQUIT once every new worker has reported ready (after
 * app_init, before its first accept) -- or, at the latest, after
 * shutdown_timeout_seconds if at least one new worker is ready.  Until then
 * both generations accept, which is harmless: each worker serves whole
 * requests.
 */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "clock.h"
#include "log.h"
#include "pm.h"
#include "relay.h"
#include "router.h"
#include "scoreboard.h"
#include "sig.h"
#include "worker.h"

/* Cap of the breaker's back-off, which doubles on each consecutive trip. */
#define MASTER_BACKOFF_MAX_MS (300 * 1000LL)

/* While the breaker is open the pool keeps one worker.  Its respawn waits
 * a delay that doubles from the min to the max each time a worker dies
 * before it reported ready (a crash at start-up), and is immediate after
 * a worker that was serving died. */
#define MASTER_LONE_DELAY_MIN_MS 100
#define MASTER_LONE_DELAY_MAX_MS 5000

/* Period of master_watch(), and so the resolution of the slow log and
 * of the request timeout. */
#define MASTER_TICK_MS 250

/* Period of master_pm(): php-fpm's process manager also decides once a
 * second. */
#define MASTER_PM_TICK_MS 1000

/* The event relay is restarted at once when it had run this long, else
 * after a delay doubling from the min to the max (a relay that cannot
 * start costs at most one fork per MASTER_RELAY_DELAY_MAX_MS). */
#define MASTER_RELAY_STABLE_MS    2000
#define MASTER_RELAY_DELAY_MIN_MS 100
#define MASTER_RELAY_DELAY_MAX_MS 5000

struct master_child {
	pid_t pid;
	unsigned gen;
	int slot;             /* scoreboard slot, -1: none */
	int ready;            /* reported in through the ready pipe */
	long long quit_at;    /* when SIGQUIT was sent, 0: not retiring */
	int killed;           /* SIGKILL sent */
	uint64_t slow_logged; /* accepted count of the request last slow-logged */
};

static const int master_signals[] = {
	SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1
};
static const int master_stop_signals[] = { SIGTERM, SIGINT, SIGQUIT };
static const int master_ignored[] = { SIGPIPE };

static struct {
	struct config *cfg;
	const char *config_path;
	int listen_fd;
	int ready_pipe[2];
	pid_t pid;

	struct master_child *child;
	size_t nchild, cap;
	unsigned gen;
	int retire_pending;         /* a reload waits for its new generation */
	long long retire_deadline;
	int retire_stalled_logged;

	/* crash-rate breaker: times of recent abnormal deaths */
	long long *deaths;
	size_t ndeaths;
	long long breaker_until;    /* only one worker before this; 0: closed */
	long long last_trip;
	long long backoff;
	long long lone_at;          /* breaker open: no respawn before this */
	long long lone_delay;       /* its current delay, 0: none */
	int spawn_failed_logged;
	int no_slot_logged;
	long long last_watch;

	/* process manager: see the file comment */
	long pm_size;               /* workers of the current generation wanted */
	long pm_rate;               /* pm_decide()'s spawn rate */
	long long last_pm;
	int pm_limit_logged;

	int stopping;

	/* the event relay (relay.h): not in child[], never more than one */
	int relay_fd[2];            /* [0] the relay reads, [1] workers send */
	pid_t relay_pid;            /* 0: none running */
	long long relay_started;
	long long relay_quit_at;    /* SIGQUIT sent, 0: not stopping it */
	int relay_killed;
	struct backoff relay_backoff;   /* (re)start delay after a quick death */
	int relay_replace;          /* a reload changed the Kafka settings */
	int relay_final;            /* stopping: the last relay was asked */
	unsigned long relay_spawns;
} m;

void
master_block_signals(void)
{
	sig_mask(SIG_BLOCK, master_signals, SIG_COUNT(master_signals));
}

static int
master_install_signals(void)
{
	master_block_signals();
	if (sig_catch(master_signals, SIG_COUNT(master_signals)) == -1 ||
	    sig_ignore(master_ignored, SIG_COUNT(master_ignored)) == -1) {
		log_error("sigaction failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static struct master_child *
master_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < m.nchild; i++)
		if (m.child[i].pid == pid)
			return &m.child[i];
	return NULL;
}

/* In the child, between fork() and worker_run(). */
static void
master_child_init(void)
{
	/* Signals are still blocked (the master keeps them blocked outside
	 * ppoll), so anything sent to us now stays pending until the worker
	 * has its own handlers. */
	sig_default(master_signals, SIG_COUNT(master_signals));
	sig_default(master_ignored, SIG_COUNT(master_ignored));
	close(m.ready_pipe[0]);

	/* A SIGKILLed master cannot stop us; have the kernel tell us.  The
	 * getppid() check closes the race with a master that died before
	 * prctl(). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		log_warn("prctl PR_SET_PDEATHSIG failed: %s", strerror(errno));
	if (getppid() != m.pid)
		_exit(0);
}

static int
master_spawn(void)
{
	struct master_child *c;
	pid_t pid;
	int slot;

	if (m.nchild == m.cap) {
		size_t ncap = m.cap ? m.cap * 2 : 16;
		void *p = realloc(m.child, ncap * sizeof(*m.child));

		if (p == NULL) {
			log_error("realloc of the worker table failed: %s",
			    strerror(errno));
			return -1;
		}
		m.child = p;
		m.cap = ncap;
	}
	/* Before fork: the slot is STARTING before the worker can write
	 * it, and from then on the worker is its only writer. */
	slot = scoreboard_slot_alloc();
	if (slot == -1 && !m.no_slot_logged) {
		m.no_slot_logged = 1;
		log_warn("scoreboard full (%d slots): new workers are not shown "
		    "in the status", SCOREBOARD_SLOTS);
	}
	pid = fork();
	if (pid == -1) {
		scoreboard_slot_free(slot);
		if (!m.spawn_failed_logged)
			log_error("fork of a worker failed: %s; retrying",
			    strerror(errno));
		m.spawn_failed_logged = 1;
		return -1;
	}
	if (pid == 0) {
		master_child_init();
		close(m.relay_fd[0]);
		relay_use(m.relay_fd[1]);
		scoreboard_attach(slot, m.listen_fd);
		worker_run(m.cfg, m.listen_fd, m.ready_pipe[1]);
	}
	m.spawn_failed_logged = 0;
	scoreboard_slot_pid(slot, pid);
	c = &m.child[m.nchild++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->gen = m.gen;
	c->slot = slot;
	log_debug("worker %d started (generation %u)", (int)pid, m.gen);
	return 0;
}

static void
master_quit(struct master_child *c, long long now)
{
	if (c->quit_at != 0)
		return;
	c->quit_at = now;
	scoreboard_slot_retire(c->slot);
	if (kill(c->pid, SIGQUIT) == -1 && errno != ESRCH)
		log_error("kill(%d, SIGQUIT) failed: %s", (int)c->pid,
		    strerror(errno));
}

/* Record an abnormal death; trip the breaker when there are too many. */
static void
master_breaker_note(long long now)
{
	long long window = m.cfg->respawn_window_seconds * 1000LL;
	size_t i, j;

	if (m.deaths == NULL &&
	    (m.deaths = calloc((size_t)m.cfg->respawn_max + 1,
	    sizeof(*m.deaths))) == NULL)
		return;
	for (i = j = 0; i < m.ndeaths; i++)
		if (now - m.deaths[i] < window)
			m.deaths[j++] = m.deaths[i];
	m.ndeaths = j;
	if (m.ndeaths < (size_t)m.cfg->respawn_max + 1)
		m.deaths[m.ndeaths++] = now;
	if (m.ndeaths <= (size_t)m.cfg->respawn_max)
		return;

	/* A quiet period as long as the last back-off plus a window since
	 * the last trip starts the doubling over. */
	if (m.backoff == 0 || now - m.last_trip > 2 * m.backoff + window)
		m.backoff = window;
	else if (m.backoff < MASTER_BACKOFF_MAX_MS)
		m.backoff *= 2;
	if (m.backoff > MASTER_BACKOFF_MAX_MS)
		m.backoff = MASTER_BACKOFF_MAX_MS;
	m.last_trip = now;
	m.breaker_until = now + m.backoff;
	log_error("workers are crashing: %zu abnormal exits within %lds; "
	    "NOT respawning beyond one worker for %llds", m.ndeaths,
	    m.cfg->respawn_window_seconds, m.backoff / 1000);
	m.ndeaths = 0;
}

/* An abnormal death: when may the breaker's one worker be respawned? */
static void
master_lone_note(int was_ready, long long now)
{
	if (was_ready)
		m.lone_delay = 0;
	else if (m.lone_delay == 0)
		m.lone_delay = MASTER_LONE_DELAY_MIN_MS;
	else if ((m.lone_delay *= 2) > MASTER_LONE_DELAY_MAX_MS)
		m.lone_delay = MASTER_LONE_DELAY_MAX_MS;
	m.lone_at = now + m.lone_delay;
}

/* Fork the event relay (relay.h). */
static void
master_relay_spawn(long long now)
{
	struct scoreboard *sb = scoreboard_get();
	pid_t pid = fork();

	if (pid == -1) {
		log_error("fork of the event relay failed: %s; retrying",
		    strerror(errno));
		m.relay_backoff.until_ms = now + MASTER_RELAY_DELAY_MAX_MS;
		return;
	}
	if (pid == 0) {
		master_child_init();
		close(m.ready_pipe[1]);
		close(m.relay_fd[1]);
		close(m.listen_fd);
		relay_run(m.cfg, m.relay_fd[0]);
	}
	m.relay_pid = pid;
	m.relay_replace = 0;        /* it has the running configuration */
	m.relay_started = now;
	m.relay_quit_at = 0;
	m.relay_killed = 0;
	if (sb != NULL) {
		__atomic_store_n(&sb->relay.pid, (int32_t)pid, __ATOMIC_RELAXED);
		if (m.relay_spawns > 0)
			__atomic_fetch_add(&sb->relay.restarts, 1,
			    __ATOMIC_RELAXED);
	}
	m.relay_spawns++;
	log_debug("event relay %d started", (int)pid);
}

static void
master_relay_quit(long long now)
{
	m.relay_quit_at = now;
	if (kill(m.relay_pid, SIGQUIT) == -1 && errno != ESRCH)
		log_error("kill(%d, SIGQUIT) failed: %s", (int)m.relay_pid,
		    strerror(errno));
}

/* The relay is gone: when may the next one start? */
static void
master_relay_reaped(int status, long long now)
{
	struct scoreboard *sb = scoreboard_get();
	int expected = m.relay_quit_at != 0;

	if (WIFSIGNALED(status) && !(m.relay_killed &&
	    WTERMSIG(status) == SIGKILL))
		log_error("event relay %d killed by signal %d (%s); events "
		    "it had not delivered are lost, those still in the "
		    "hand-off socket go to the next relay", (int)m.relay_pid,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_error("event relay %d exited with status %d",
		    (int)m.relay_pid, WEXITSTATUS(status));
	else
		log_debug("event relay %d exited", (int)m.relay_pid);
	if (sb != NULL)
		__atomic_store_n(&sb->relay.pid, 0, __ATOMIC_RELAXED);
	if (expected || now - m.relay_started >= MASTER_RELAY_STABLE_MS)
		backoff_reset(&m.relay_backoff);
	else
		backoff_fail(&m.relay_backoff, now);
	m.relay_pid = 0;
	m.relay_replace = 0;
}

/*
 * Keep one relay running; on a reload that changed the Kafka settings,
 * stop it (it drains and flushes) and start the next once it is gone, so
 * two relays never read the channel at once and order per key holds.
 * Stopping: the relay outlives the workers, then is asked to drain and
 * flush last.
 */
static void
master_relay(long long now)
{
	long long kill_after = m.cfg->shutdown_timeout_seconds * 1000LL;
	int workers_gone = m.stopping && m.nchild == 0;

	if (m.relay_pid == 0) {
		if (m.relay_final || backoff_waiting(&m.relay_backoff, now))
			return;
		/* Workers gone: one last relay drains the channel, unless
		 * relays are failing to start (then nobody would). */
		if (workers_gone && m.relay_backoff.delay_ms != 0) {
			m.relay_final = 1;
			return;
		}
		master_relay_spawn(now);
		if (m.relay_pid == 0)
			return;
	}
	if (m.relay_quit_at == 0) {
		if (workers_gone) {
			m.relay_final = 1;
			master_relay_quit(now);
		} else if (m.relay_replace) {
			log_info("reload: replacing the event relay (kafka "
			    "settings changed)");
			master_relay_quit(now);
		}
	} else if (!m.relay_killed && now - m.relay_quit_at >= kill_after) {
		log_warn("event relay %d still flushing %lds after SIGQUIT; "
		    "sending SIGKILL", (int)m.relay_pid,
		    m.cfg->shutdown_timeout_seconds);
		m.relay_killed = 1;
		if (kill(m.relay_pid, SIGKILL) == -1 && errno != ESRCH)
			log_error("kill(%d, SIGKILL) failed: %s",
			    (int)m.relay_pid, strerror(errno));
	}
}

static void
master_reap(long long now)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct master_child *c;
		int expected, abnormal;

		if (pid == m.relay_pid) {
			master_relay_reaped(status, now);
			continue;
		}
		if ((c = master_find(pid)) == NULL)
			continue;
		/* Exit 0 is a retirement (max_requests) or an obeyed
		 * SIGQUIT; our own SIGKILL is logged when sent. */
		expected = c->quit_at != 0;
		abnormal = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (WIFSIGNALED(status) && !(c->killed &&
		    WTERMSIG(status) == SIGKILL))
			log_error("worker %d killed by signal %d (%s)%s",
			    (int)pid, WTERMSIG(status),
			    strsignal(WTERMSIG(status)),
			    WCOREDUMP(status) ? ", core dumped" : "");
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_error("worker %d exited with status %d", (int)pid,
			    WEXITSTATUS(status));
		else
			log_debug("worker %d exited", (int)pid);
		if (abnormal && !expected && !m.stopping) {
			master_breaker_note(now);
			master_lone_note(c->ready, now);
		}
		scoreboard_slot_free(c->slot);
		*c = m.child[--m.nchild];
	}
	if (pid == -1 && errno != ECHILD)
		log_error("waitpid failed: %s", strerror(errno));
}

/* Start (or restart, on reload) the pool at `workers`. */
static void
master_pm_reset(void)
{
	m.pm_size = m.cfg->workers;
	m.pm_rate = 1;
	m.pm_limit_logged = 0;
	scoreboard_set_pm((int)m.cfg->pm, m.cfg->pm == PM_DYNAMIC ?
	    m.cfg->pm_max_children : m.cfg->workers);
}

/*
 * SIGHUP: re-read the configuration.  The socket, its backlog and the pid
 * file belong to this process's lifetime and are kept.
 */
static void
master_reload(long long now)
{
	struct config ncfg;
	char err[CONFIG_ERR_LEN];

	if (config_load(&ncfg, m.config_path, err, sizeof(err)) == -1) {
		log_error("reload failed: %s; keeping the running configuration",
		    err);
		return;
	}
	if (strcmp(ncfg.listen, m.cfg->listen) != 0 ||
	    ncfg.listen_backlog != m.cfg->listen_backlog)
		log_warn("reload: 'listen' and 'listen_backlog' need a restart; "
		    "keeping '%s'", m.cfg->listen);
	if (strcmp(ncfg.pid_file, m.cfg->pid_file) != 0)
		log_warn("reload: 'pid_file' needs a restart; keeping '%s'",
		    m.cfg->pid_file);
	memcpy(ncfg.listen, m.cfg->listen, sizeof(ncfg.listen));
	memcpy(ncfg.pid_file, m.cfg->pid_file, sizeof(ncfg.pid_file));
	ncfg.listen_backlog = m.cfg->listen_backlog;
	if (strcmp(ncfg.log_file, m.cfg->log_file) != 0 &&
	    log_open(ncfg.log_file, NULL) == -1) {
		log_error("reload: keeping log file '%s'", m.cfg->log_file);
		log_open(m.cfg->log_file, NULL);
		memcpy(ncfg.log_file, m.cfg->log_file, sizeof(ncfg.log_file));
	}
	/* The breaker's history buffer is sized by respawn_max. */
	if (ncfg.respawn_max != m.cfg->respawn_max) {
		free(m.deaths);
		m.deaths = NULL;
		m.ndeaths = 0;
	}
	if (strcmp(ncfg.kafka_brokers, m.cfg->kafka_brokers) != 0 ||
	    strcmp(ncfg.kafka_topic_prefix, m.cfg->kafka_topic_prefix) != 0)
		m.relay_replace = 1;
	*m.cfg = ncfg;
	log_set_level((enum log_level)m.cfg->log_level);
	scoreboard_set_workers_wanted(m.cfg->workers);
	master_pm_reset();
	m.gen++;
	m.retire_pending = 1;
	m.retire_stalled_logged = 0;
	m.retire_deadline = now + m.cfg->shutdown_timeout_seconds * 1000LL;
	log_info("reloading: starting %ld workers of generation %u",
	    m.cfg->workers, m.gen);
}

static void
master_stop(int signo, long long now)
{
	size_t i;

	if (m.stopping) {
		log_info("received signal %d while stopping; still waiting for "
		    "%zu workers", signo, m.nchild);
		return;
	}
	m.stopping = 1;
	log_info("received signal %d (%s), stopping: waiting up to %lds for "
	    "%zu workers", signo, strsignal(signo),
	    m.cfg->shutdown_timeout_seconds, m.nchild);
	for (i = 0; i < m.nchild; i++)
		master_quit(&m.child[i], now);
}

static void
master_read_ready(void)
{
	pid_t pids[64];
	ssize_t n;
	size_t i;

	/* Each notification is one atomic sizeof(pid_t) write and we read in
	 * multiples of that, so records never straddle two reads. */
	while ((n = read(m.ready_pipe[0], pids, sizeof(pids))) > 0) {
		for (i = 0; i < (size_t)n / sizeof(pid_t); i++) {
			struct master_child *c = master_find(pids[i]);

			if (c != NULL)
				c->ready = 1;
		}
	}
}

/*
 * Slow log, request timeout and the "every worker busy" counter; see the
 * file comment.  Reads only: the workers own their slots.
 */
static void
master_watch(long long now)
{
	long long slow = m.cfg->slow_request_ms;
	long long limit = m.cfg->request_timeout_seconds * 1000LL;
	struct scoreboard *sb = scoreboard_get();
	struct scoreboard_view v;
	size_t i, cur = 0, busy = 0;

	if (sb == NULL || now - m.last_watch < MASTER_TICK_MS)
		return;
	m.last_watch = now;
	for (i = 0; i < m.nchild; i++) {
		struct master_child *c = &m.child[i];
		long long age;

		if (scoreboard_read(c->slot, &v) == -1 || v.pid != c->pid)
			continue;
		if (c->gen == m.gen && c->quit_at == 0) {
			cur++;
			busy += v.state == SCOREBOARD_BUSY;
		}
		if (v.state != SCOREBOARD_BUSY || v.req_start_ms == 0 ||
		    c->killed)
			continue;
		age = now - v.req_start_ms;
		if (slow > 0 && age >= slow && c->slow_logged != v.accepted) {
			c->slow_logged = v.accepted;
			log_warn("slow request: worker %d has been serving %s "
			    "for %lld ms (request %s)", (int)c->pid,
			    scoreboard_route_name(v.route), age,
			    v.request_id[0] ? v.request_id : "-");
		}
		if (limit > 0 && age >= limit) {
			log_error("worker %d killed: request to %s exceeded "
			    "%ld s (request %s)", (int)c->pid,
			    scoreboard_route_name(v.route),
			    m.cfg->request_timeout_seconds,
			    v.request_id[0] ? v.request_id : "-");
			/* Retiring: replaced now, and its death is no crash. */
			if (c->quit_at == 0) {
				c->quit_at = now;
				scoreboard_slot_retire(c->slot);
			}
			c->killed = 1;
			if (kill(c->pid, SIGKILL) == -1 && errno != ESRCH)
				log_error("kill(%d, SIGKILL) failed: %s",
				    (int)c->pid, strerror(errno));
		}
	}
	if (cur > 0 && busy == cur && !m.stopping)
		__atomic_fetch_add(&sb->pool.max_children_reached, 1,
		    __ATOMIC_RELAXED);
}

/* Bring the actual state towards the wanted one; see the file comment. */
static void
master_maintain(long long now)
{
	long long kill_after = m.cfg->shutdown_timeout_seconds * 1000LL;
	size_t i, cur = 0, ready = 0;

	for (i = 0; i < m.nchild; i++) {
		struct master_child *c = &m.child[i];

		if (c->quit_at != 0 && !c->killed &&
		    now - c->quit_at >= kill_after) {
			log_warn("worker %d still running %lds after SIGQUIT; "
			    "sending SIGKILL", (int)c->pid,
			    m.cfg->shutdown_timeout_seconds);
			c->killed = 1;
			if (kill(c->pid, SIGKILL) == -1 && errno != ESRCH)
				log_error("kill(%d, SIGKILL) failed: %s",
				    (int)c->pid, strerror(errno));
		}
		if (c->gen == m.gen && c->quit_at == 0) {
			cur++;
			ready += c->ready;
		}
	}
	if (m.stopping)
		return;

	if (m.breaker_until != 0 && now >= m.breaker_until) {
		m.breaker_until = 0;
		log_warn("crash back-off over: respawning workers again");
	}
	if (m.breaker_until == 0) {
		while (cur < (size_t)m.pm_size && master_spawn() == 0)
			cur++;
	} else if (cur == 0 && now >= m.lone_at && master_spawn() == 0) {
		/* Never an empty pool: connections would wait in the backlog
		 * for the whole back-off. */
		log_warn("crash back-off: no worker left, started one "
		    "(full pool in %llds)", (m.breaker_until - now + 999) / 1000);
	}

	if (m.retire_pending) {
		int all = ready >= (size_t)m.cfg->workers;
		int late = now >= m.retire_deadline;

		if (all || (late && ready > 0)) {
			size_t n = 0;

			for (i = 0; i < m.nchild; i++) {
				if (m.child[i].gen != m.gen &&
				    m.child[i].quit_at == 0) {
					master_quit(&m.child[i], now);
					n++;
				}
			}
			m.retire_pending = 0;
			log_info("reload: generation %u %s; retiring %zu "
			    "workers of the previous one", m.gen,
			    all ? "ready" : "partly ready after the timeout",
			    n);
		} else if (late && !m.retire_stalled_logged) {
			m.retire_stalled_logged = 1;
			log_error("reload: no worker of generation %u became "
			    "ready; the previous generation keeps serving",
			    m.gen);
		}
	}
}

/*
 * The dynamic pool's step (see the file comment): count, decide, act.
 * Spawning only raises pm_size; master_maintain() forks on its next pass.
 */
static void
master_pm(long long now)
{
	struct pm_conf conf;
	struct pm_counts n = { 0, 0 };
	struct pm_action act;
	struct scoreboard_view v;
	struct master_child *spare = NULL;
	size_t i;

	if (m.cfg->pm != PM_DYNAMIC || m.stopping || m.breaker_until != 0 ||
	    m.retire_pending || now - m.last_pm < MASTER_PM_TICK_MS)
		return;
	m.last_pm = now;
	for (i = 0; i < m.nchild; i++) {
		struct master_child *c = &m.child[i];

		if (c->gen != m.gen || c->quit_at != 0)
			continue;
		n.current++;
		/* No slot yet or still starting: idle in a moment. */
		if (scoreboard_read(c->slot, &v) == -1 || v.pid != c->pid ||
		    v.state == SCOREBOARD_STARTING) {
			n.idle++;
			continue;
		}
		if (v.state == SCOREBOARD_IDLE) {
			n.idle++;
			if (c->ready)
				spare = c;
		}
	}
	conf.mode = PM_DYNAMIC;
	conf.workers = m.cfg->workers;
	conf.min_spare = m.cfg->pm_min_spare;
	conf.max_spare = m.cfg->pm_max_spare;
	conf.max_children = m.cfg->pm_max_children;
	pm_decide(&conf, &n, &m.pm_rate, &act);

	if (act.limited) {
		scoreboard_count_pm_limit();
		if (!m.pm_limit_logged)
			log_warn("pm: %ld workers reached pm_max_children with "
			    "%ld idle (pm_min_spare %ld); consider raising "
			    "pm_max_children", n.current, n.idle,
			    m.cfg->pm_min_spare);
		m.pm_limit_logged = 1;
	} else if (act.spawn == 0) {
		m.pm_limit_logged = 0;
	}
	if (act.spawn > 0) {
		m.pm_size = n.current + act.spawn;
		log_info("pm: %ld idle of %ld workers (pm_min_spare %ld); "
		    "forking %ld", n.idle, n.current, m.cfg->pm_min_spare,
		    act.spawn);
	} else if (act.retire > 0 && spare != NULL) {
		m.pm_size = n.current - 1;
		log_info("pm: %ld idle of %ld workers (pm_max_spare %ld); "
		    "retiring worker %d", n.idle, n.current,
		    m.cfg->pm_max_spare, (int)spare->pid);
		master_quit(spare, now);
	}
}

/* ppoll() timeout: wake every MASTER_TICK_MS to run master_maintain() and
 * master_watch(). */
static void
master_timeout(struct timespec *ts, long long now)
{
	long long wait = MASTER_TICK_MS;

	if (m.breaker_until != 0 && m.breaker_until - now < wait)
		wait = m.breaker_until - now;
	if (m.breaker_until != 0 && m.lone_at > now && m.lone_at - now < wait)
		wait = m.lone_at - now;
	if (m.relay_pid == 0 && backoff_waiting(&m.relay_backoff, now) &&
	    m.relay_backoff.until_ms - now < wait)
		wait = m.relay_backoff.until_ms - now;
	if (wait < 0)
		wait = 0;
	ts->tv_sec = wait / 1000;
	ts->tv_nsec = (wait % 1000) * 1000000;
}

int
master_run(struct config *cfg, const char *config_path, int listen_fd)
{
	char err[256];
	sigset_t waitmask;
	int rc = -1, signo;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.config_path = config_path;
	m.listen_fd = listen_fd;
	m.pid = getpid();
	m.ready_pipe[0] = m.ready_pipe[1] = -1;
	m.relay_backoff = (struct backoff)BACKOFF_INIT(MASTER_RELAY_DELAY_MIN_MS,
	    MASTER_RELAY_DELAY_MAX_MS);
	m.relay_fd[0] = m.relay_fd[1] = -1;

	if (master_install_signals() == -1)
		goto out;
	/* Once per master, before the first fork: it outlives reloads. */
	if (scoreboard_create(err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto out;
	}
	scoreboard_name_routes(router_name, router_count + 1);
	scoreboard_set_workers_wanted(cfg->workers);
	master_pm_reset();
	sigemptyset(&waitmask);
	if (pipe2(m.ready_pipe, O_CLOEXEC) == -1) {
		log_error("pipe for worker readiness failed: %s",
		    strerror(errno));
		goto out;
	}
	if (fcntl(m.ready_pipe[0], F_SETFL, O_NONBLOCK) == -1) {
		log_error("fcntl O_NONBLOCK on the ready pipe failed: %s",
		    strerror(errno));
		goto out;
	}
	/* Before the first fork, kept to the end: see relay.h. */
	if (relay_channel_open(m.relay_fd, err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto out;
	}
	log_info("master started (pid %d), %ld workers, pm %s, max_requests %ld",
	    (int)m.pid, cfg->workers, pm_mode_name((int)cfg->pm),
	    cfg->max_requests);

	for (;;) {
		struct pollfd pfd = { .fd = m.ready_pipe[0], .events = POLLIN };
		struct timespec ts;
		long long now = clock_mono_ms();

		master_maintain(now);
		master_watch(now);
		master_pm(now);
		master_relay(now);
		if (m.stopping && m.nchild == 0 && m.relay_pid == 0 &&
		    m.relay_final)
			break;
		master_timeout(&ts, now);
		/* The only place our signals are unblocked. */
		if (ppoll(&pfd, 1, &ts, &waitmask) == -1 && errno != EINTR) {
			log_error("poll in the master failed: %s",
			    strerror(errno));
			/* Keep supervising; the timeout still paces us. */
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		}
		now = clock_mono_ms();
		if (sig_take(SIGCHLD))
			master_reap(now);
		master_read_ready();
		if ((signo = sig_take_any(master_stop_signals,
		    SIG_COUNT(master_stop_signals))) != 0)
			master_stop(signo, now);
		if (sig_take(SIGHUP)) {
			if (m.stopping)
				log_info("ignoring SIGHUP while stopping");
			else
				master_reload(now);
		}
		if (sig_take(SIGUSR1)) {
			log_reopen();
			log_info("log reopened");
			for (i = 0; i < m.nchild; i++)
				kill(m.child[i].pid, SIGUSR1);
			if (m.relay_pid != 0)
				kill(m.relay_pid, SIGUSR1);
		}
	}
	log_info("all workers and the event relay gone; master exiting");
	rc = 0;
out:
	/* On a setup failure there may be children already; never leave
	 * them behind unsupervised. */
	for (i = 0; i < m.nchild; i++)
		kill(m.child[i].pid, SIGKILL);
	if (m.relay_pid != 0) {
		kill(m.relay_pid, SIGKILL);
		m.nchild++;
	}
	while (m.nchild > 0 && waitpid(-1, NULL, 0) > 0)
		m.nchild--;
	for (i = 0; i < 2; i++)
		if (m.relay_fd[i] >= 0)
			close(m.relay_fd[i]);
	if (m.ready_pipe[0] >= 0)
		close(m.ready_pipe[0]);
	if (m.ready_pipe[1] >= 0)
		close(m.ready_pipe[1]);
	free(m.child);
	free(m.deaths);
	memset(&m, 0, sizeof(m));
	return rc;
}
