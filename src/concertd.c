/*
 * concertd: the FastCGI application server (master + pre-forked workers).
 *
 *   concertd [-c FILE] [-M] [-t] [-h]
 *
 *   -c FILE  configuration file; default $CONCERT_CONF, else
 *            SYSCONFDIR/concert.conf if it exists, else built-in defaults
 *            (CONCERT_<KEY> environment variables override either way)
 *   -M       fd 0 is an inherited listening socket: run the master (and its
 *            workers) on it instead of a single worker
 *   -t       check the configuration, print it, exit 0 (valid) or 1
 *   -h       help
 *
 * Modes:
 * - fd 0 is a listening socket (spawn-fcgi, mod_fcgid hand it over): without
 *   -M, or with CONCERT_SINGLE=1, run ONE worker on it with no master; the
 *   spawner manages processes.  With -M, run the master over it (the socket
 *   is not ours to unlink).  No pid file in single-worker mode (mod_fcgid
 *   runs several), and no app_check(): a server that is down must not make
 *   spawning fail, /health reports it.
 * - otherwise bind `listen` (a unix socket path, or host:port for TCP;
 *   a unix socket gets listen_owner, listen_group and listen_mode, and its
 *   folder is created 0755 when missing), write `pid_file`, check MySQL and
 *   Kafka with app_check(), and run the master.  A server that does not
 *   answer only makes the start degraded (logged; /health says so; workers
 *   connect in the background); a deploy error (credentials, schema,
 *   refused configuration) fails it.  On exit remove the socket (only if
 *   this process bound it and it is still the same file) and the pid file.
 *
 * Runs in the foreground; start-up errors go to stderr as one line
 * "error: ..." and exit 1.  Signals: see master.h and worker.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "master.h"
#include "pidfile.h"
#include "worker.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CONCERTD_ERR_LEN 1024

struct concertd_listener {
	int fd;
	int bound_unix;       /* we created the path: unlink it at exit */
	dev_t dev;            /* identity of the path we created */
	ino_t ino;
};

static void
concertd_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: concertd [-c FILE] [-M] [-t] [-h]\n"
	    "  -c FILE  configuration file (default $CONCERT_CONF, else "
	    SYSCONFDIR "/concert.conf if present)\n"
	    "  -M       run the master on an inherited listening socket "
	    "(fd 0)\n"
	    "  -t       check the configuration, print it and exit\n"
	    "  -h       this help\n"
	    "signals to the master: HUP reload, TERM/INT/QUIT graceful stop, "
	    "USR1 reopen logs\n");
}

/* Start-up failure: one line on stderr, and in the log if it is a file. */
static void
concertd_fail(const struct config *cfg, const char *msg)
{
	fprintf(stderr, "error: %s\n", msg);
	if (cfg != NULL && cfg->log_file[0] != '\0')
		log_error("%s", msg);
}

static int
concertd_fd_is_listener(int fd)
{
	socklen_t len = sizeof(int);
	int v = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1)
		return 0;
	return v != 0;
}

static int
concertd_is_unix(const char *listen_spec)
{
	return listen_spec[0] == '/' || listen_spec[0] == '.' ||
	    strchr(listen_spec, ':') == NULL;
}

/*
 * listen_owner and listen_group as ids: a name or a number; empty leaves
 * that id as bind() made it ((uid_t)-1 / (gid_t)-1 for chown).  Resolved
 * before anything is bound, so a typo fails the start cleanly.
 */
static int
concertd_socket_ids(const struct config *cfg, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	const struct passwd *pw;
	const struct group *gr;
	const char *o = cfg->listen_owner, *g = cfg->listen_group;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (o[0] != '\0') {
		if (isdigit((unsigned char)o[0]) && strspn(o, "0123456789") ==
		    strlen(o))
			*uid = (uid_t)strtoul(o, NULL, 10);
		else if ((pw = getpwnam(o)) != NULL)
			*uid = pw->pw_uid;
		else {
			snprintf(err, errlen, "listen_owner '%s': no such user",
			    o);
			return -1;
		}
	}
	if (g[0] != '\0') {
		if (isdigit((unsigned char)g[0]) && strspn(g, "0123456789") ==
		    strlen(g))
			*gid = (gid_t)strtoul(g, NULL, 10);
		else if ((gr = getgrnam(g)) != NULL)
			*gid = gr->gr_gid;
		else {
			snprintf(err, errlen, "listen_group '%s': no such group",
			    g);
			return -1;
		}
	}
	return 0;
}

/*
 * Create the socket's folder when it is missing (the default is under
 * /run/concertd/, which a fresh boot does not have): one level, mode 0755
 * whatever the umask -- the web server must traverse it, and nobody but
 * its owner may create (or squat) a path in it.
 */
static int
concertd_socket_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "mkdir '%s' failed: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (chmod(dir, 0755) == -1) {
		snprintf(err, errlen, "chmod '%s' failed: %s", dir,
		    strerror(errno));
		return -1;
	}
	log_info("created socket folder '%s' (0755)", dir);
	return 0;
}

/*
 * Bind a unix socket at path.  A live listener there means another
 * instance: refuse.  A socket nobody listens on (ECONNREFUSED) is stale and
 * replaced; anything that is not a socket is never unlinked.  The socket
 * is created 0600 (umask) and then given listen_owner, listen_group and
 * listen_mode, so no other user can connect in between.
 */
static int
concertd_bind_unix(const struct config *cfg, struct concertd_listener *l,
    char *err, size_t errlen)
{
	const char *path = cfg->listen;
	struct sockaddr_un sa;
	struct stat st;
	mode_t umask_was;
	uid_t uid;
	gid_t gid;
	int fd = -1, probe = -1, rc = -1, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "listen path '%s' is too long (max %zu)",
		    path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (concertd_socket_ids(cfg, &uid, &gid, err, errlen) == -1 ||
	    concertd_socket_dir(path, err, errlen) == -1)
		return -1;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "'%s' exists and is not a socket",
			    path);
			goto out;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0))
		    == -1) {
			snprintf(err, errlen, "socket failed: %s",
			    strerror(errno));
			goto out;
		}
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			snprintf(err, errlen,
			    "another concertd is listening on '%s'", path);
			goto out;
		}
		if (errno != ECONNREFUSED) {
			snprintf(err, errlen, "connect to '%s' failed: %s",
			    path, strerror(errno));
			goto out;
		}
		/* Stale: nobody listens.  (Two instances starting at the
		 * same instant could both get here; the loser's bind()
		 * then fails or replaces a socket nobody accepts on yet --
		 * start instances one at a time.) */
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "unlink of stale socket '%s' "
			    "failed: %s", path, strerror(errno));
			goto out;
		}
		log_info("removed stale socket '%s'", path);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "stat '%s' failed: %s", path,
		    strerror(errno));
		goto out;
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket failed: %s", strerror(errno));
		goto out;
	}
	umask_was = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(umask_was);
	if (r == -1) {
		snprintf(err, errlen, "bind '%s' failed: %s", path,
		    strerror(errno));
		goto out;
	}
	l->bound_unix = 1;
	if (stat(path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	/* The web server runs as another user: it connects as listen_owner
	 * or as a member of listen_group, as listen_mode allows. */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) == -1) {
		snprintf(err, errlen, "chown '%s' to listen_owner '%s' "
		    "listen_group '%s' failed: %s", path, cfg->listen_owner,
		    cfg->listen_group, strerror(errno));
		goto out;
	}
	if (chmod(path, (mode_t)cfg->listen_mode) == -1) {
		snprintf(err, errlen, "chmod '%s' to listen_mode %04lo failed: "
		    "%s", path, (unsigned long)cfg->listen_mode,
		    strerror(errno));
		goto out;
	}
	if (listen(fd, (int)cfg->listen_backlog) == -1) {
		snprintf(err, errlen, "listen on '%s' failed: %s", path,
		    strerror(errno));
		goto out;
	}
	l->fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd != -1) {
		close(fd);
		if (l->bound_unix)
			unlink(path);
		l->bound_unix = 0;
	}
	if (probe != -1)
		close(probe);
	return rc;
}

/* host:port, [v6]:port, *:port or :port (all addresses). */
static int
concertd_bind_tcp(const struct config *cfg, struct concertd_listener *l,
    char *err, size_t errlen)
{
	char host[CONFIG_STR_LEN], *colon, *h;
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, gai, on = 1, rc = -1;

	snprintf(host, sizeof(host), "%s", cfg->listen);
	colon = strrchr(host, ':');
	*colon = '\0';
	h = host;
	if (*h == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	if (*h == '\0' || strcmp(h, "*") == 0)
		h = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((gai = getaddrinfo(h, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "resolve '%s' failed: %s", cfg->listen,
		    gai_strerror(gai));
		return -1;
	}
	snprintf(err, errlen, "bind '%s' failed: no address", cfg->listen);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			snprintf(err, errlen, "socket failed: %s",
			    strerror(errno));
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, (int)cfg->listen_backlog) == 0)
			break;
		snprintf(err, errlen, "bind '%s' failed: %s", cfg->listen,
		    strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		goto out;
	l->fd = fd;
	rc = 0;
out:
	freeaddrinfo(res);
	return rc;
}

static void
concertd_unlink_socket(const struct config *cfg,
    const struct concertd_listener *l)
{
	struct stat st;

	if (!l->bound_unix)
		return;
	/* Only our own socket file: a successor may own the path by now. */
	if (stat(cfg->listen, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino && unlink(cfg->listen) == -1)
		log_error("unlink '%s' failed: %s", cfg->listen,
		    strerror(errno));
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct concertd_listener l = { .fd = -1 };
	char err[CONCERTD_ERR_LEN], cerr[CONFIG_ERR_LEN];
	const char *path = NULL, *env, *single;
	int opt, check = 0, opt_master = 0, pid_written = 0, rc = 1;

	while ((opt = getopt(argc, argv, "c:Mth")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'M':
			opt_master = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'h':
			concertd_usage(stdout);
			return 0;
		default:
			concertd_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		concertd_usage(stderr);
		return 1;
	}
	if (path == NULL) {
		if ((env = getenv("CONCERT_CONF")) != NULL && *env != '\0')
			path = env;
		else if (access(SYSCONFDIR "/concert.conf", F_OK) == 0)
			path = SYSCONFDIR "/concert.conf";
	}

	if (config_load(&cfg, path, cerr, sizeof(cerr)) == -1) {
		concertd_fail(NULL, cerr);
		return 1;
	}
	if (check) {
		config_dump(&cfg, stdout);
		fprintf(stderr, "configuration %s%s%s ok\n", path ? "'" : "",
		    path ? path : "(defaults and environment)",
		    path ? "'" : "");
		return 0;
	}
	if (log_open(cfg.log_file, "concertd") == -1) {
		snprintf(err, sizeof(err), "open log file '%s' failed: %s",
		    cfg.log_file, strerror(errno));
		concertd_fail(NULL, err);
		return 1;
	}
	log_set_level((enum log_level)cfg.log_level);

	single = getenv("CONCERT_SINGLE");
	if (concertd_fd_is_listener(STDIN_FILENO)) {
		if ((single != NULL && strcmp(single, "1") == 0) || !opt_master) {
			log_info("single worker on the inherited socket (fd 0)");
			worker_run(&cfg, STDIN_FILENO, -1);
		}
		log_info("master on the inherited socket (fd 0); 'listen' "
		    "ignored");
		l.fd = STDIN_FILENO;
	} else if (opt_master) {
		concertd_fail(&cfg, "-M given but fd 0 is not a listening "
		    "socket");
		return 1;
	} else {
		int r = concertd_is_unix(cfg.listen) ?
		    concertd_bind_unix(&cfg, &l, err, sizeof(err)) :
		    concertd_bind_tcp(&cfg, &l, err, sizeof(err));

		if (r == -1) {
			concertd_fail(&cfg, err);
			goto out;
		}
	}

	/* From here a stop signal must lead to cleanup, not to death. */
	master_block_signals();

	if (cfg.pid_file[0] != '\0') {
		if (pidfile_create(cfg.pid_file, "concertd", err,
		    sizeof(err)) == -1) {
			concertd_fail(&cfg, err);
			goto out;
		}
		pid_written = 1;
	}
	cerr[0] = '\0';
	if (app_check(&cfg, cerr, sizeof(cerr)) == -1) {
		concertd_fail(&cfg, cerr[0] ? cerr : "app check failed");
		goto out;
	}
	log_info("listening on '%s'", l.fd == STDIN_FILENO ? "fd 0" :
	    cfg.listen);

	if (master_run(&cfg, path, l.fd) == 0)
		rc = 0;
out:
	concertd_unlink_socket(&cfg, &l);
	if (pid_written)
		pidfile_remove(cfg.pid_file);
	if (l.fd > STDIN_FILENO)
		close(l.fd);
	return rc;
}
