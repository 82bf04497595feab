/*
 * fcgi_bare: the smallest libfcgi responder, a baseline for scripts/bench
 * (scenario fcgi_bare): what FastCGI through nginx costs on this box with
 * no application behind it.
 *
 *   fcgi_bare SOCKET-PATH [PROCESSES]
 *
 * Opens the socket (mode 0666: the web server's workers may run as another
 * user), forks PROCESSES (default 4, as concertd's default pool) that each
 * answer every request with a fixed 200 JSON body.  Runs until killed; the
 * forked processes die with the first one.
 */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	int fd, n = argc > 2 ? atoi(argv[2]) : 4;
	FCGX_Request rq;

	if (argc < 2 || FCGX_Init() != 0) {
		fprintf(stderr, "usage: fcgi_bare SOCKET-PATH [PROCESSES]\n");
		return 2;
	}
	unlink(argv[1]);
	if ((fd = FCGX_OpenSocket(argv[1], 1024)) < 0) {
		fprintf(stderr, "fcgi_bare: cannot listen on '%s'\n", argv[1]);
		return 1;
	}
	chmod(argv[1], 0666);
	for (int i = 1; i < n; i++) {
		if (fork() == 0) {
			/* die with the parent: killing the one pid scripts/bench knows stops all */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1)
				return 0;
			break;
		}
	}
	FCGX_InitRequest(&rq, fd, 0);
	while (FCGX_Accept_r(&rq) == 0) {
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: 15\r\n\r\n{\"status\":\"ok\"}", rq.out);
		FCGX_Finish_r(&rq);
	}
	return 0;
}
