/*
 * ctl_who - berthctl who [USER] and kick USER: every client session,
 * wherever it is (a worker, parked in idled, in tlsd's handshake, a login
 * in authd), and ending a user's sessions.
 *
 * Both ask authd, the one process that hears of every connection from
 * whichever process holds it (authlink's HOLD events): who lists its
 * records, kick has it tell each holder to end the session, then watches
 * who until they are gone.  Reads nothing from disk.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authproto.h"
#include "clock.h"
#include "ctl.h"
#include "fd.h"
#include "ipc.h"
#include "xalloc.h"

#define CTL_KICK_WAIT_MS 10000 /* for the kicked sessions to end */

static struct ipc_msg ctl_who_msg;

struct ctl_who_row {
	char id[24], user[AUTHPROTO_MAX_USER], addr[AUTHPROTO_MAX_ADDR];
	char role[16];
	long long age;
	int pid;
};

/* ctl_who_connect - a connection to authd with ctl_who_msg sent; -1 said */
static int
ctl_who_connect(void)
{
	return ctl_ipc_send("authd", authproto_socket_path(), &ctl_who_msg);
}

/* ctl_who_recv - the next reply into ctl_who_msg; -1 said */
static int
ctl_who_recv(int c)
{
	return ctl_ipc_recv("authd", c, &ctl_who_msg, AUTHPROTO_T_CTL_REPLY,
	    10000);
}

/* ctl_who_rows - the LINE fields of ctl_who_msg appended to *rows */
static void
ctl_who_rows(struct ctl_who_row **rows, size_t *n)
{
	char line[AUTHPROTO_MAX_USER + AUTHPROTO_MAX_ADDR + 96];
	struct ctl_who_row r;
	size_t off = 0;

	while (authproto_line_next(&ctl_who_msg, &off, line, sizeof(line))) {
		if (sscanf(line,
			"%23[^\t]\t%255[^\t]\t%63[^\t]\t%lld\t%15[^\t]"
			"\t%d",
			r.id, r.user, r.addr, &r.age, r.role, &r.pid) != 6)
			continue;
		*rows = xreallocarray(*rows, *n + 1, sizeof(**rows));
		(*rows)[(*n)++] = r;
	}
}

/* ctl_who_ask - every session authd knows of (user's, if not NULL) */
static int
ctl_who_ask(const char *user, struct ctl_who_row **rows, size_t *n)
{
	const void *more;
	size_t len;
	int c;

	*rows = NULL;
	*n = 0;
	ipc_msg_init(&ctl_who_msg, AUTHPROTO_T_CTL_WHO);
	if (user != NULL)
		ipc_put_str(&ctl_who_msg, AUTHPROTO_USER, user);
	if ((c = ctl_who_connect()) < 0)
		return -1;
	do {
		if (ctl_who_recv(c) < 0) {
			fd_close(c);
			free(*rows);
			return -1;
		}
		ctl_who_rows(rows, n);
	} while (ipc_get(&ctl_who_msg, AUTHPROTO_MORE, &more, &len) == 0);
	fd_close(c);
	return 0;
}

static int
ctl_who_cmp(const void *a, const void *b)
{
	const struct ctl_who_row *x = a, *y = b;

	return x->age < y->age ? 1 : x->age > y->age ? -1 : 0;
}

/* ctl_who_where - where the session is, in words */
static const char *
ctl_who_state(const char *role)
{
	if (strcmp(role, "imapd") == 0)
		return "active";
	if (strcmp(role, "idled") == 0)
		return "parked";
	if (strcmp(role, "tlsd") == 0)
		return "tls";
	if (strcmp(role, "authd") == 0)
		return "login";
	return "-";
}

int
ctl_who(int argc, char **argv)
{
	struct ctl_who_row *rows;
	char since[32], where[40];
	time_t now = time(NULL), t;
	struct tm tm;
	size_t n, i;

	if (argc > 1 && argv[1][0] == '-')
		return ctl_usage_error("who", "unknown option %s", argv[1]);
	if (ctl_who_ask(argc > 1 ? argv[1] : NULL, &rows, &n) < 0)
		return 1;
	if (n > 1)
		xqsort(rows, n, sizeof(*rows), ctl_who_cmp);
	(void)printf("%-16s %-20s %-39s %-6s %-14s %s\n", "SESSION", "USER",
	    "ADDRESS", "STATE", "WHERE", "SINCE");
	for (i = 0; i < n; i++) {
		t = now - (time_t)rows[i].age;
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", &tm) ==
			0)
			snprintf(since, sizeof(since), "-");
		if (rows[i].pid > 0)
			snprintf(where, sizeof(where), "%s[%d]", rows[i].role,
			    rows[i].pid);
		else
			snprintf(where, sizeof(where), "%s", rows[i].role);
		(void)printf("%-16s %-20s %-39s %-6s %-14s %s (%llds)\n",
		    rows[i].id, rows[i].user, rows[i].addr,
		    ctl_who_state(rows[i].role), where, since, rows[i].age);
	}
	free(rows);
	return 0;
}

int
ctl_kick(int argc, char **argv)
{
	struct ctl_who_row *rows;
	char text[512] = "";
	uint32_t code = 1;
	long long end;
	size_t n;
	int c;

	if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0')
		return ctl_usage_error("kick", "a user name is needed");
	ipc_msg_init(&ctl_who_msg, AUTHPROTO_T_CTL_KICK);
	ipc_put_str(&ctl_who_msg, AUTHPROTO_USER, argv[1]);
	if ((c = ctl_who_connect()) < 0)
		return 1;
	if (ctl_who_recv(c) < 0) {
		fd_close(c);
		return 1;
	}
	fd_close(c);
	ipc_get_str(&ctl_who_msg, AUTHPROTO_TEXT, text, sizeof(text));
	ipc_get_u32(&ctl_who_msg, AUTHPROTO_CODE, &code);
	if (code != 0)
		return ctl_error("%s", text[0] ? text : "kick refused");
	/* the holders end them as soon as they read authd's word: watch
	 * until none is left */
	end = clock_mono_ms() + CTL_KICK_WAIT_MS;
	for (;;) {
		if (ctl_who_ask(argv[1], &rows, &n) < 0)
			return 1;
		free(rows);
		if (n == 0)
			break;
		if (clock_mono_ms() >= end)
			return ctl_error("%s; %zu still open after %d s", text,
			    n, CTL_KICK_WAIT_MS / 1000);
		usleep(50000);
	}
	(void)printf("%s: all ended\n", text);
	return 0;
}
