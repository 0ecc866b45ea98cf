/*
 * master_conf - load imapd.conf and master.conf at start and on SIGHUP,
 * merging services: new ones are bound, removed ones closed (their idle
 * workers told to exit, busy ones finish their session), changed pool
 * sizes apply at once.  On a reload error the running config stays.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "fd.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "srv.h"
#include "xalloc.h"

static struct master_svc *
master_conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < master.nsvcs; i++)
		if (!master.svcs[i]->removed &&
		    strcmp(master.svcs[i]->e.name, name) == 0)
			return master.svcs[i];
	return NULL;
}

/* master_conf_mkdirs - create the directories above path; those we make
 * belong to berth_user, who runs authd, idled and the store */
static void
master_conf_mkdirs(const char *path)
{
	char *dir = xstrdup(path), *p;

	for (p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(dir, 0755) == 0)
			srv_chown_berth(dir);
		*p = '/';
	}
	free(dir);
}

/* master_conf_take - move entry e into a new svc (binding if needed) */
static struct master_svc *
master_conf_take(struct mconf_entry *e, int initial)
{
	struct master_svc *svc = xcalloc(1, sizeof(*svc));
	struct err err;

	svc->e = *e;
	memset(e, 0, sizeof(*e));
	svc->lfd = -1;
	svc->hfd = -1;
	svc->front_io.fd = -1;
	if (svc->e.section == MCONF_SERVICES) {
		svc->lfd = net_bind(svc->e.listen, &err);
		if (svc->lfd < 0) {
			if (initial)
				log_fatal("service=%s listen=%s: cannot bind: "
					  "%s",
				    svc->e.name, svc->e.listen, err.msg);
			log_error("service=%s listen=%s: cannot bind: %s; "
				  "service not added",
			    svc->e.name, svc->e.listen, err.msg);
			free(svc->e.name);
			free(svc->e.cmd);
			free(svc->e.listen);
			free(svc->e.handoff);
			free(svc);
			return NULL;
		}
		if (!initial && listen(svc->lfd, 1024) < 0)
			log_error("service=%s listen: %m", svc->e.name);
		if (svc->e.handoff != NULL) {
			master_conf_mkdirs(svc->e.handoff);
			svc->hfd = net_bind_seqpacket(svc->e.handoff, &err);
			if (svc->hfd >= 0)
				srv_chown_berth(svc->e.handoff);
			if (svc->hfd < 0 || listen(svc->hfd, 1024) < 0)
				log_fatal("service=%s handoff=%s: cannot bind: "
					  "%s",
				    svc->e.name, svc->e.handoff,
				    svc->hfd < 0 ? err.msg : strerror(errno));
		}
	}
	master_event_schedule(svc, 1);
	return svc;
}

/* master_conf_remove - retire svc */
static void
master_conf_remove(struct master_svc *svc)
{
	size_t i;

	svc->removed = 1;
	svc->next_ms = 0;
	master_front_forget(svc); /* before its listener closes */
	if (svc->lfd >= 0) {
		fd_close(svc->lfd);
		svc->lfd = -1;
	}
	if (svc->hfd >= 0) {
		fd_close(svc->hfd);
		svc->hfd = -1;
	}
	for (i = 0; i < master.nchildren; i++)
		if (master.children[i].svc == svc &&
		    (master.children[i].state != MASTER_C_BUSY ||
			svc->e.section == MCONF_DAEMON))
			kill(master.children[i].pid,
			    svc->e.section == MCONF_SERVICES ? SRV_TRIM_SIGNAL
							     : SIGTERM);
	log_info("service=%s removed", svc->e.name);
}

static void
master_conf_add(struct master_svc *svc)
{
	master.svcs =
	    xreallocarray(master.svcs, master.nsvcs + 1, sizeof(*master.svcs));
	master.svcs[master.nsvcs++] = svc;
}

/* master_conf_merge - apply a newly parsed master.conf */
static void
master_conf_merge(struct mconf *mc, int initial)
{
	struct master_svc *svc;
	size_t i, j;
	int found;

	for (i = 0; i < master.nsvcs; i++) {
		svc = master.svcs[i];
		if (svc->removed)
			continue;
		found = 0;
		for (j = 0; j < mc->n; j++)
			if (strcmp(mc->ents[j].name, svc->e.name) == 0 &&
			    mc->ents[j].section == svc->e.section &&
			    strcmp(mc->ents[j].cmd, svc->e.cmd) == 0 &&
			    (svc->e.listen == NULL ||
				(mc->ents[j].listen &&
				    strcmp(mc->ents[j].listen, svc->e.listen) ==
					0)))
				found = 1;
		if (!found)
			master_conf_remove(svc);
	}
	for (j = 0; j < mc->n; j++) {
		svc = master_conf_find(mc->ents[j].name);
		if (svc != NULL) {
			/* same entry: take the new numbers */
			svc->e.prefork = mc->ents[j].prefork;
			svc->e.maxchild = mc->ents[j].maxchild;
			svc->e.maxforkrate = mc->ents[j].maxforkrate;
			svc->e.maxfds = mc->ents[j].maxfds;
			svc->e.maxidle = mc->ents[j].maxidle;
			svc->e.babysit = mc->ents[j].babysit;
			if (svc->e.period != mc->ents[j].period ||
			    svc->e.at != mc->ents[j].at) {
				svc->e.period = mc->ents[j].period;
				svc->e.at = mc->ents[j].at;
				master_event_schedule(svc, 1);
			}
			continue;
		}
		if (!initial && mc->ents[j].section == MCONF_START)
			continue; /* START runs once, at boot */
		svc = master_conf_take(&mc->ents[j], initial);
		if (svc != NULL) {
			master_conf_add(svc);
			if (!initial)
				log_info("service=%s added", svc->e.name);
		}
	}
}

int
master_conf_load(int initial)
{
	struct mconf mc;
	struct err err;

	if (cfg_load_file(master.imapd_conf, NULL, &err) < 0) {
		if (initial)
			log_fatal("%s", err.msg);
		log_error("reload failed, keeping the running config: %s",
		    err.msg);
		return -1;
	}
	if (mconf_load(master.master_conf, &mc, &err) < 0) {
		if (initial)
			log_fatal("%s", err.msg);
		log_error("reload failed, keeping the running config: %s",
		    err.msg);
		return -1;
	}
	if (initial)
		master_pidfile_take(cfg_str("master_pid_file"));
	else
		master.generation++;
	master_conf_merge(&mc, initial);
	mconf_free(&mc);
	return 0;
}
