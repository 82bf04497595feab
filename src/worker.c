/*
 * worker: see worker.h.
 *
 * How a stop signal reaches a worker that may be anywhere (idle in accept,
 * mid-request, between the two):
 *
 * - Our signals (QUIT, TERM, INT, USR1) are blocked at all times except
 *   inside ppoll(), which unblocks them atomically while it waits for the
 *   listen socket.  A signal that arrives while a request is being served
 *   stays pending, so no read/write in app.c (MySQL, libfcgi, librdkafka)
 *   ever sees EINTR, and the request completes; the next ppoll() then
 *   delivers it and the loop ends.  There is no window where a signal can be
 *   lost between "check the flag" and "block" (the classic race in
 *   fcgiwrap's pause() and in libfcgi's own accept loop, see below).
 *
 * - The listen socket is made O_NONBLOCK, so FCGX_Accept_r() never blocks in
 *   accept(): several workers share the socket and all of them wake from
 *   ppoll() for one connection; the losers get EAGAIN and go back to ppoll().
 *   (O_NONBLOCK is a property of the shared open file description; every
 *   process using it is one of our workers, which all want it.  On Linux an
 *   accepted socket does not inherit O_NONBLOCK, so libfcgi's reads and
 *   writes on the connection stay blocking, as it expects.)
 *
 * What we rely on in libfcgi 2.4 (libfcgi/os_unix.c, OS_Accept):
 * - accept() failing with EINTR is retried unless FCGI_FAIL_ACCEPT_ON_INTR
 *   or shutdownPending is set; shutdownPending is tested just before
 *   accept(), which leaves a window ("There's a window here") where a signal
 *   is missed and accept() blocks until the next connection.  We avoid that
 *   window entirely: signals are blocked during FCGX_Accept_r() and accept()
 *   cannot block.  FCGX_ShutdownPending() is still called by the handler as
 *   a second line of defence.
 * - accept() failing with EAGAIN is not one of its "reasonable" errnos, so
 *   OS_Accept() returns -1 with errno EAGAIN and FCGX_Accept_r() returns
 *   -EAGAIN with the request reusable.
 * - For AF_UNIX, after accept() it select()s up to 2 s for the first bytes
 *   and silently drops the connection if select() fails; with our signals
 *   blocked there, a stop signal cannot turn into a dropped connection.
 * - FCGX_Init() installs handlers for SIGPIPE and SIGUSR1 only where the
 *   disposition is SIG_DFL, and its SIGUSR1 handler means "shut down"
 *   (mod_fastcgi's convention).  We install ours first, so SIGUSR1 keeps
 *   meaning "reopen the log".
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "accesslog.h"
#include "app.h"
#include "clock.h"
#include "log.h"
#include "router.h"
#include "scoreboard.h"
#include "sig.h"

/* Caught (flags), blocked outside ppoll(); the first three stop us. */
static const int worker_signals_caught[] = { SIGQUIT, SIGTERM, SIGINT, SIGUSR1 };
static const int worker_stop_signals[] = { SIGQUIT, SIGTERM, SIGINT };
static const int worker_signals_ignored[] = { SIGPIPE, SIGHUP };

static void
worker_on_signal(int signo)
{
	/* Only sets a static int in libfcgi: async-signal-safe. */
	if (signo != SIGUSR1)
		FCGX_ShutdownPending();
}

/* A stop signal came (its flag stays set: stopping is for good). */
static int
worker_stopping(void)
{
	size_t i;

	for (i = 0; i < SIG_COUNT(worker_stop_signals); i++)
		if (sig_caught(worker_stop_signals[i]))
			return 1;
	return 0;
}

/*
 * Install the handlers and block our signals; *waitmask gets the mask to
 * use inside ppoll() (everything unblocked).  Must run before app_init() so
 * threads it creates (librdkafka) inherit the blocked mask and every signal
 * is delivered to this thread, and before FCGX_Init() (see SIGUSR1 above).
 */
static int
worker_signals(sigset_t *waitmask)
{
	/* Handlers before the mask: a worker forked by the master arrives
	 * with everything blocked and SIG_DFL, and must not unblock a signal
	 * whose default action would kill it.  (sig_catch also clears any
	 * flag inherited from the master.) */
	sig_hook(worker_on_signal);
	if (sig_catch(worker_signals_caught,
	    SIG_COUNT(worker_signals_caught)) == -1 ||
	    sig_ignore(worker_signals_ignored,
	    SIG_COUNT(worker_signals_ignored)) == -1) {
		log_error("sigaction failed: %s", strerror(errno));
		return -1;
	}
	/* Exactly our signals blocked (the master's others, inherited
	 * blocked, are unblocked again with their default action). */
	if (sig_mask(SIG_SETMASK, worker_signals_caught,
	    SIG_COUNT(worker_signals_caught)) == -1) {
		log_error("sigprocmask failed: %s", strerror(errno));
		return -1;
	}
	sigemptyset(waitmask);
	return 0;
}

static void
worker_notify_ready(int ready_fd)
{
	pid_t pid = getpid();
	ssize_t n;

	if (ready_fd < 0)
		return;
	/* sizeof(pid_t) <= PIPE_BUF: one atomic write, never interleaved
	 * with another worker's. */
	do
		n = write(ready_fd, &pid, sizeof(pid));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(pid))
		log_warn("write to the master's ready pipe failed: %s",
		    n == -1 ? strerror(errno) : "short write");
	close(ready_fd);
}

void
worker_run(const struct config *cfg, int listen_fd, int ready_fd)
{
	FCGX_Request req;
	sigset_t waitmask;
	char err[256];
	long long last_tick;
	long served = 0;
	int flags, rc, status = 1;

	if (worker_signals(&waitmask) == -1)
		goto out_noapp;

	/* Forked by the master: it mapped the scoreboard and attached our
	 * slot.  Alone on an inherited socket: a scoreboard of our own, so
	 * /status and /metrics still answer (for this process). */
	if (scoreboard_get() == NULL) {
		if (scoreboard_create(err, sizeof(err)) == -1)
			log_warn("%s; status and metrics will be empty", err);
		scoreboard_name_routes(router_name, router_count + 1);
		scoreboard_attach(scoreboard_slot_alloc(), listen_fd);
	}
	scoreboard_set_state(SCOREBOARD_STARTING);
	/* Opened here, after fork: each worker owns its descriptor, and a
	 * reload's new config takes effect with the new generation. */
	accesslog_open(cfg->access_log);

	if ((flags = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		log_error("fcntl O_NONBLOCK on the listen socket failed: %s",
		    strerror(errno));
		goto out_noapp;
	}

	/* Not fatal: app.c retries per request and /health reports it. */
	err[0] = '\0';
	if (app_init(cfg, err, sizeof(err)) == -1)
		log_error("app init failed: %s", err[0] ? err : "unknown error");

	if ((rc = FCGX_Init()) != 0) {
		log_error("FCGX_Init failed: %d", rc);
		goto out;
	}
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0) {
		log_error("FCGX_InitRequest failed");
		goto out;
	}
	worker_notify_ready(ready_fd);
	ready_fd = -1;
	scoreboard_set_state(SCOREBOARD_IDLE);

	last_tick = clock_mono_ms();
	while (!worker_stopping()) {
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		struct timespec tmo;
		long long now, wait_ms;

		if (sig_take(SIGUSR1)) {
			log_reopen();
			accesslog_reopen();
		}
		now = clock_mono_ms();
		if (now - last_tick >= 1000) {
			app_tick();
			last_tick = now;
		}
		wait_ms = 1000 - (now - last_tick);
		if (wait_ms < 0)
			wait_ms = 0;
		tmo.tv_sec = wait_ms / 1000;
		tmo.tv_nsec = (wait_ms % 1000) * 1000000;

		rc = ppoll(&pfd, 1, &tmo, &waitmask);
		if (rc == -1 && errno != EINTR) {
			log_error("poll on the listen socket failed: %s",
			    strerror(errno));
			goto out;
		}
		if (rc <= 0 || worker_stopping())
			continue;
		if (pfd.revents & (POLLERR | POLLNVAL)) {
			log_error("listen socket is in error (revents 0x%x)",
			    (unsigned)pfd.revents);
			goto out;
		}

		rc = FCGX_Accept_r(&req);
		if (rc < 0) {
			/* Another worker took the connection, or the
			 * client went away before we got it. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK ||
			    rc == -EINTR || rc == -ECONNABORTED)
				continue;
			/* EMFILE and the like: let the master respawn us
			 * (and its breaker notice if it keeps happening)
			 * rather than spin on a readable socket. */
			log_error("accept on the listen socket failed: %s",
			    rc > -9000 ? strerror(-rc) : "libfcgi error");
			goto out;
		}
		scoreboard_request_begin(clock_mono_ms());
		app_handle(&req);
		FCGX_Finish_r(&req);
		/* After Finish: the duration includes flushing the answer. */
		app_request_done();
		scoreboard_request_end();
		served++;
		app_tick();
		last_tick = clock_mono_ms();
		if (cfg->max_requests > 0 && served >= cfg->max_requests) {
			log_debug("worker retiring after %ld requests", served);
			break;
		}
	}
	status = 0;
out:
	scoreboard_set_state(SCOREBOARD_EXITING);
	app_fini();
	accesslog_close();
out_noapp:
	if (ready_fd >= 0)
		close(ready_fd);
	/* _exit: no atexit handlers or stdio buffers inherited from the
	 * master may run twice. */
	_exit(status);
}
