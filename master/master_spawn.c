/*
 * master_spawn - fork and exec children with the srv.h contract:
 * status pipe on fd 3, listener on fd 4, "-C <imapd.conf>" after argv[0].
 *
 * Does not decide when to fork (master_pool.c, master_event.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "master.h"
#include "srv.h"
#include "xalloc.h"

#ifndef BERTH_SBINDIR
#define BERTH_SBINDIR "/usr/sbin"
#endif

/* master_resolve - full path of a cmd's program; NULL if not found */
static char *
master_resolve(const char *prog)
{
	const char *env = getenv("BERTH_PROGDIR");
	char *dirs, *d, *save = NULL, *path;

	if (prog[0] == '/')
		return xstrdup(prog);
	dirs =
	    xasprintf("%s:%s:%s", env ? env : "", BERTH_PROGDIR, BERTH_SBINDIR);
	for (d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		path = xasprintf("%s/%s", d, prog);
		if (access(path, X_OK) == 0) {
			free(dirs);
			return path;
		}
		free(path);
	}
	free(dirs);
	return NULL;
}

/* master_argv - split cmd on blanks ("quoted words" kept), add -C */
static char **
master_argv(const char *cmd, char **prog_r)
{
	char **argv = xcalloc(64, sizeof(*argv));
	const char *p = cmd, *s;
	size_t n = 0;

	while (*p && n < 60) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '\'' || *p == '"') {
			char q = *p++;

			s = p;
			while (*p && *p != q)
				p++;
			argv[n++] = xstrndup(s, (size_t)(p - s));
			if (*p)
				p++;
		} else {
			s = p;
			while (*p && *p != ' ' && *p != '\t')
				p++;
			argv[n++] = xstrndup(s, (size_t)(p - s));
		}
		if (n == 1) {
			argv[n++] = xstrdup("-C");
			argv[n++] = xstrdup(master.imapd_conf);
		}
	}
	*prog_r = argv[0];
	return argv;
}

/* master_child_setup - in the child, before exec */
static void
master_child_setup(struct master_svc *svc)
{
	char gen[32];
	int fd, maxfd, sfd, lfd, hfd;
	struct rlimit rl;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(1);
	/* move both out of the way first: either may sit on fd 3 or 4 */
	sfd = fcntl(master.status_wfd, F_DUPFD, 10);
	lfd = svc->lfd >= 0 ? fcntl(svc->lfd, F_DUPFD, 10) : -1;
	hfd = svc->hfd >= 0 ? fcntl(svc->hfd, F_DUPFD, 10) : -1;
	if (sfd < 0 || dup2(sfd, SRV_STATUS_FD) < 0)
		_exit(126);
	if (hfd >= 0) {
		if (dup2(hfd, SRV_HANDOFF_FD) < 0)
			_exit(126);
		setenv("BERTH_HANDOFF", svc->e.handoff, 1);
	} else {
		(void)close(SRV_HANDOFF_FD); /* may not be open: EBADF */
		unsetenv("BERTH_HANDOFF");
	}
	if (lfd >= 0) {
		if (dup2(lfd, SRV_LISTEN_FD) < 0)
			_exit(126);
		setenv("BERTH_LISTEN", svc->e.listen, 1);
	} else {
		(void)close(SRV_LISTEN_FD); /* may not be open: EBADF */
		unsetenv("BERTH_LISTEN");
	}
	maxfd = (int)sysconf(_SC_OPEN_MAX);
	/* whatever is open above ours; most are not (EBADF) */
	for (fd = SRV_HANDOFF_FD + 1; fd < maxfd && fd < 65536; fd++)
		(void)close(fd);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		if (!master.foreground)
			dup2(fd, 1);
		/* stderr stays where master's lines go (the foreground, a
		 * terminal, or no syslog socket) */
		if (!log_to_stderr())
			dup2(fd, 2);
		if (fd > 2 && fd != SRV_STATUS_FD && fd != SRV_LISTEN_FD)
			fd_close(fd);
	}
	if (svc->e.maxfds > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)svc->e.maxfds;
		getrlimit(RLIMIT_NOFILE, &rl);
		if ((rlim_t)svc->e.maxfds <= rl.rlim_max)
			rl.rlim_cur = (rlim_t)svc->e.maxfds;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	(void)snprintf(gen, sizeof(gen), "%u", master.generation);
	setenv("BERTH_GENERATION", gen, 1);
	setenv("BERTH_SERVICE", svc->e.name, 1);
	if (master.foreground)
		setenv("BERTH_LOG_STDERR", "1", 1);
	(void)signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
}

pid_t
master_spawn(struct master_svc *svc)
{
	char **argv, *prog, *path;
	sigset_t all;
	pid_t pid;

	argv = master_argv(svc->e.cmd, &prog);
	path = master_resolve(prog);
	if (path == NULL) {
		log_error("service=%s cmd=\"%s\": program '%s' not found in "
			  "the program directory",
		    svc->e.name, svc->e.cmd, prog);
		for (size_t i = 0; argv[i]; i++)
			free(argv[i]);
		free(argv);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		master_child_setup(svc);
		execv(path, argv);
		log_error("service=%s exec %s: %m", svc->e.name, path);
		_exit(127);
	}
	if (pid < 0)
		log_error("service=%s fork: %m", svc->e.name);
	free(path);
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
	if (pid > 0) {
		master.children = xreallocarray(master.children,
		    master.nchildren + 1, sizeof(*master.children));
		master.children[master.nchildren].pid = pid;
		master.children[master.nchildren].svc = svc;
		master.children[master.nchildren].state = MASTER_C_STARTING;
		master.children[master.nchildren].reloads = 0;
		master.children[master.nchildren].slow = 0;
		master.children[master.nchildren].generation =
		    master.generation;
		master.children[master.nchildren].started_ms = master_now_ms();
		master.nchildren++;
	}
	return pid;
}

int
master_run_wait(struct master_svc *svc)
{
	pid_t pid = master_spawn(svc);
	int status;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	master_child_remove(pid);
	return status;
}

struct master_child *
master_child_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < master.nchildren; i++)
		if (master.children[i].pid == pid)
			return &master.children[i];
	return NULL;
}

void
master_child_remove(pid_t pid)
{
	size_t i;

	for (i = 0; i < master.nchildren; i++) {
		if (master.children[i].pid == pid) {
			master.children[i] =
			    master.children[--master.nchildren];
			return;
		}
	}
}
