/*
 * mconf - master.conf, the Cyrus cyrus.conf format.
 *
 *   SECTION {
 *     name  key=value key="quoted value" ...
 *   }
 * Sections: START, SERVICES, EVENTS, DAEMON.  '#' starts a comment.  An
 * entry may continue on following lines until the next entry name.  Errors
 * name the file, the line and the key.
 */
#ifndef BERTH_MCONF_H
#define BERTH_MCONF_H

#include <stddef.h>

enum mconf_section {
	MCONF_START,
	MCONF_SERVICES,
	MCONF_EVENTS,
	MCONF_DAEMON,
};

struct mconf_entry {
	enum mconf_section section;
	char *name;
	char *cmd;	 /* required */
	char *listen;	 /* SERVICES: required */
	char *handoff;	 /* SERVICES: path of the resume socket */
	int prefork;	 /* default 0 */
	int maxchild;	 /* default 100 */
	int maxforkrate; /* forks per second, 0: unlimited */
	int maxfds;	 /* 0: inherit */
	int maxidle;	 /* s a surplus worker may go unneeded */
	int babysit;
	int period; /* EVENTS: minutes, 0: none */
	int at;	    /* EVENTS: HHMM, -1: none */
	int line;
};

struct mconf {
	struct mconf_entry *ents;
	size_t n;
};

#define MCONF_MAX_FILE 1048576
#define MCONF_MAXIDLE_DEFAULT 60
#define MCONF_MAXIDLE_MAX 3600

struct err;

/* mconf_parse - parse text; -1 with err "file:line: ..." */
int mconf_parse(const char *name, const char *text, size_t len,
    struct mconf *mc, struct err *err);
/* mconf_load - read and parse path (at most MCONF_MAX_FILE bytes) */
int mconf_load(const char *path, struct mconf *mc, struct err *err);
void mconf_free(struct mconf *mc);
const char *mconf_section_name(enum mconf_section s);

#endif
