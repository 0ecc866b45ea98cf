/*
 * ctl_user - berthctl user add|passwd|delete: users in the sasldb named
 * by sasl_sasldb_path, written through libsasl2 (as saslpasswd2 does), in
 * the realm of this host's name, so that "alice" logs in as alice.
 */
#include "config.h"

#include <sasl/sasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "saslcfg.h"
#include "xalloc.h"

static sasl_callback_t ctl_user_cbs[] = {
	{ SASL_CB_GETOPT, (int (*)(void))(void (*)(void))saslcfg_getopt,
	  NULL },
	{ SASL_CB_LIST_END, NULL, NULL },
};

/* ctl_user_password - from stdin (-p) or the terminal, twice */
static char *
ctl_user_password(int from_stdin)
{
	char a[1024], b[1024];
	struct termios t, saved;
	int tty = !from_stdin && isatty(0);

	if (tty) {
		tcgetattr(0, &saved);
		t = saved;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &t);
		fprintf(stderr, "Password: ");
	}
	if (fgets(a, sizeof(a), stdin) == NULL)
		a[0] = '\0';
	if (tty) {
		fprintf(stderr, "\nAgain: ");
		if (fgets(b, sizeof(b), stdin) == NULL)
			b[0] = '\0';
		fprintf(stderr, "\n");
		tcsetattr(0, TCSANOW, &saved);
		if (strcmp(a, b) != 0) {
			fprintf(stderr, "berthctl: passwords differ\n");
			exit(1);
		}
	}
	a[strcspn(a, "\r\n")] = '\0';
	return xstrdup(a);
}

int
ctl_user(int argc, char **argv)
{
	sasl_conn_t *conn;
	const char *path = cfg_str("sasl_sasldb_path");
	char *pw = NULL;
	unsigned flags;
	int r, p = argc > 3 && strcmp(argv[3], "-p") == 0;

	if (argc < 3 || (strcmp(argv[1], "add") && strcmp(argv[1], "passwd")
	    && strcmp(argv[1], "delete"))) {
		fprintf(stderr, "usage: berthctl user add|passwd|delete USER "
		    "[-p]  (-p: password on standard input)\n");
		return 2;
	}
	if ((r = sasl_server_init(ctl_user_cbs, "berth")) != SASL_OK ||
	    (r = sasl_server_new("imap", NULL, NULL, NULL, NULL, ctl_user_cbs,
	    0, &conn)) != SASL_OK) {
		fprintf(stderr, "berthctl: sasl: %s\n",
		    sasl_errstring(r, NULL, NULL));
		return 1;
	}
	if (strcmp(argv[1], "delete") == 0) {
		flags = SASL_SET_DISABLE;
	} else {
		pw = ctl_user_password(p);
		if (*pw == '\0') {
			fprintf(stderr, "berthctl: empty password\n");
			return 1;
		}
		flags = strcmp(argv[1], "add") == 0 ? SASL_SET_CREATE : 0;
	}
	r = sasl_setpass(conn, argv[2], pw, pw ? (unsigned)strlen(pw) : 0,
	    NULL, 0, flags);
	if (pw != NULL) {
		memset(pw, 0, strlen(pw));
		free(pw);
	}
	if (r != SASL_OK) {
		fprintf(stderr, "berthctl: user %s: %s\n", argv[2],
		    sasl_errdetail(conn));
		sasl_dispose(&conn);
		return 1;
	}
	sasl_dispose(&conn);
	sasl_done();
	if (path)
		chmod(path, 0640);
	printf("user %s %s\n", argv[2], strcmp(argv[1], "delete") == 0 ?
	    "deleted" : "saved");
	return 0;
}
