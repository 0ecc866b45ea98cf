/*
 * ctl_auth - berthctl's view of authd: the most-penalised clients,
 * networks and users (penalties), clearing one (penalty clear), and the
 * connections authd counts (connections).  Asks authd over its socket;
 * reads nothing from disk itself (authd owns its database).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authproto.h"
#include "ctl.h"
#include "ipc.h"

static struct ipc_msg ctl_msg;

/* ctl_auth_ask - send ctl_msg to authd and read its reply into it */
static int
ctl_auth_ask(void)
{
	int c, r;

	if ((c = ctl_ipc_send("authd", authproto_socket_path(), &ctl_msg)) < 0)
		return -1;
	r = ctl_ipc_recv("authd", c, &ctl_msg, AUTHPROTO_T_CTL_REPLY, 10000);
	(void)close(c); /* the reply is read: nothing is lost */
	return r;
}

/* ctl_auth_max - "-n N" */
static int
ctl_auth_max(int argc, char **argv, uint32_t *max)
{
	*max = 20;
	if (argc == 1)
		return 0;
	if (argc == 3 && strcmp(argv[1], "-n") == 0 && atoi(argv[2]) > 0) {
		*max = (uint32_t)atoi(argv[2]);
		return 0;
	}
	return -1;
}

/* ctl_auth_fields - split a LINE at tabs into at most n fields */
static int
ctl_auth_fields(char *line, char **f, int n)
{
	int i = 0;

	while (i < n && line != NULL) {
		f[i++] = line;
		line = strchr(line, '\t');
		if (line != NULL)
			*line++ = '\0';
	}
	return i;
}

/* ctl_auth_each - call fn for every LINE of the reply */
static void
ctl_auth_each(void (*fn)(char *line, void *arg), void *arg)
{
	char line[1100];
	size_t off = 0;

	while (authproto_line_next(&ctl_msg, &off, line, sizeof(line)))
		fn(line, arg);
}

static void
ctl_auth_penalty_row(char *line, void *arg)
{
	const char *want = arg;
	char *f[6], when[32] = "-";
	time_t t;
	struct tm tm;

	if (ctl_auth_fields(line, f, 6) != 6 || f[0][0] != *want)
		return;
	t = (time_t)(atoll(f[4]) / 1000);
	if (t > 0 && localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	(void)printf("  %8s %7s  %-19s  %-3s  %s\n", f[2], f[3], when, f[5],
	    f[1]);
}

int
ctl_penalties(int argc, char **argv)
{
	static const struct {
		const char *kind, *title;
	} kinds[] = {
		{ "a", "clients (IPv4 address, IPv6 /64)" },
		{ "n", "networks (IPv4 /24, IPv6 /48)" },
		{ "u", "users" },
	};
	uint32_t max;
	size_t i;

	if (ctl_auth_max(argc, argv, &max) < 0) {
		(void)fprintf(stderr, "usage: berthctl penalties [-n N]\n");
		return 2;
	}
	ipc_msg_init(&ctl_msg, AUTHPROTO_T_CTL_PENALTIES);
	ipc_put_u32(&ctl_msg, AUTHPROTO_MAX, max);
	if (ctl_auth_ask() < 0)
		return 1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		(void)printf("%s, most failures first:\n", kinds[i].title);
		(void)printf("  %8s %7s  %-19s  %-3s  %s\n", "FAILURES",
		    "TOTAL", "LAST FAILURE", "BOX", "KEY");
		ctl_auth_each(ctl_auth_penalty_row, (void *)kinds[i].kind);
	}
	return 0;
}

int
ctl_penalty(int argc, char **argv)
{
	char text[400];
	uint32_t code = 1;

	if (argc != 3 || strcmp(argv[1], "clear") != 0) {
		(void)fprintf(stderr,
		    "usage: berthctl penalty clear ADDRESS|NETWORK"
		    "|USER\n");
		return 2;
	}
	ipc_msg_init(&ctl_msg, AUTHPROTO_T_CTL_CLEAR);
	if (ipc_put_str(&ctl_msg, AUTHPROTO_KEY, argv[2]) < 0 ||
	    ctl_auth_ask() < 0)
		return 1;
	if (ipc_get_str(&ctl_msg, AUTHPROTO_TEXT, text, sizeof(text)) < 0)
		(void)snprintf(text, sizeof(text), "?");
	ipc_get_u32(&ctl_msg, AUTHPROTO_CODE, &code);
	(void)printf("%s\n", text);
	return code == 0 ? 0 : 1;
}

static void
ctl_auth_conn_row(char *line, void *arg)
{
	const char *want = arg;
	char *f[3];

	if (ctl_auth_fields(line, f, 3) != 3 || f[0][0] != *want)
		return;
	if (*want == 't')
		(void)printf("%s: %s\n", f[1], f[2]);
	else
		(void)printf("  %6s  %s\n", f[2], f[1]);
}

int
ctl_connections(int argc, char **argv)
{
	uint32_t max;

	if (ctl_auth_max(argc, argv, &max) < 0) {
		(void)fprintf(stderr, "usage: berthctl connections [-n N]\n");
		return 2;
	}
	ipc_msg_init(&ctl_msg, AUTHPROTO_T_CTL_CONNS);
	ipc_put_u32(&ctl_msg, AUTHPROTO_MAX, max);
	if (ctl_auth_ask() < 0)
		return 1;
	ctl_auth_each(ctl_auth_conn_row, (void *)"t");
	(void)printf("per address:\n");
	ctl_auth_each(ctl_auth_conn_row, (void *)"a");
	(void)printf("per user:\n");
	ctl_auth_each(ctl_auth_conn_row, (void *)"u");
	return 0;
}
