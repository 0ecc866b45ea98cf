/*
 * ctl_user - berthctl user add|passwd|delete: users in the sasldb named
 * by sasl_sasldb_path, written through libsasl2 (as saslpasswd2 does), in
 * the realm of this host's name, so that "alice" logs in as alice.
 */
#include "config.h"

#include <db.h>
#include <errno.h>
#include <sasl/sasl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "notify.h"
#include "saslcfg.h"
#include "store.h"
#include "xalloc.h"

static sasl_callback_t ctl_user_cbs[] = {
	{ SASL_CB_GETOPT, (int (*)(void))(void (*)(void))saslcfg_getopt, NULL },
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
		(void)fprintf(stderr, "Password: ");
	}
	if (fgets(a, sizeof(a), stdin) == NULL)
		a[0] = '\0';
	if (tty) {
		(void)fprintf(stderr, "\nAgain: ");
		if (fgets(b, sizeof(b), stdin) == NULL)
			b[0] = '\0';
		(void)fprintf(stderr, "\n");
		tcsetattr(0, TCSANOW, &saved);
		if (strcmp(a, b) != 0) {
			(void)fprintf(stderr, "berthctl: passwords differ\n");
			exit(1);
		}
	}
	a[strcspn(a, "\r\n")] = '\0';
	return xstrdup(a);
}

/*
 * ctl_user_each - call fn(user, ctx) for every user with a password in
 * the sasldb (a Berkeley DB whose keys are "user\0realm\0property"), in
 * the order stored; returns -1 when the database cannot be read
 */
static int
ctl_user_each(const char *path, void (*fn)(const char *, void *), void *ctx)
{
	DB *db;
	DBC *c;
	DBT k, v;
	char user[512];
	size_t ul;
	int r;

	if (db_create(&db, NULL, 0) != 0)
		return -1;
	if (db->open(db, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0) != 0) {
		db->close(db, 0);
		return -1;
	}
	if (db->cursor(db, NULL, &c, 0) != 0) {
		db->close(db, 0);
		return -1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((r = c->get(c, &k, &v, DB_NEXT)) == 0) {
		ul = strnlen(k.data, k.size);
		if (ul == k.size || ul >= sizeof(user) || k.size < ul + 14 ||
		    memcmp((char *)k.data + k.size - 13, "\0userPassword",
			13) != 0)
			continue;
		memcpy(user, k.data, ul);
		user[ul] = '\0';
		fn(user, ctx);
	}
	c->close(c);
	db->close(db, 0);
	return 0;
}

static void
ctl_user_print(const char *user, void *ctx)
{
	(void)ctx;
	(void)printf("%s\n", user);
}

struct ctl_user_find {
	const char *user;
	int found;
};

static void
ctl_user_match(const char *user, void *ctx)
{
	struct ctl_user_find *f = ctx;

	if (strcmp(user, f->user) == 0)
		f->found = 1;
}

/* ctl_user_remove_mail - delete every mailbox of user, with stops held
 * while the store is open (see ctl_run) */
static int
ctl_user_remove_mail(const char *user)
{
	sigset_t old;
	struct store *st;
	struct err err;
	const char *e;
	size_t n = 0;
	int r;

	if (ctl_hold_stops(&old) < 0)
		return 1;
	r = store_open(cfg_str("configdirectory"), ctl_partition(),
	    STORE_OPEN_CREATE, &st, &err);
	if (r == 0) {
		store_set_event_fn(st, notify_store_event, NULL);
		r = store_user_remove(st, user, &n, &e);
		if (r != 0) /* e lives in st */
			err_set(&err, "%s", e);
		store_close(&st);
	}
	/* the mask as it was: a failure here changes nothing done */
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return ctl_error("user %s deleted, but its mailboxes were not "
				 "(%zu removed): %s",
		    user, n, err.msg);
	(void)printf("user %s deleted with its %zu mailboxes\n", user, n);
	log_info("user delete user=%s mailboxes=%zu by berthctl", user, n);
	return 0;
}

int
ctl_user(int argc, char **argv)
{
	sasl_conn_t *conn;
	const char *path = cfg_str("sasl_sasldb_path");
	struct ctl_user_find find;
	char *pw = NULL;
	unsigned flags;
	int r, p = 0, keep = 0, i;

	if (strcmp(argv[1], "list") == 0) {
		if (argc != 2)
			return ctl_usage_error("user",
			    "list takes no "
			    "arguments");
		if (path == NULL)
			return ctl_error("user list: no sasl_sasldb_path in "
					 "%s",
			    cfg_path());
		if (access(path, F_OK) != 0)
			return 0; /* no user yet */
		if (ctl_user_each(path, ctl_user_print, NULL) < 0)
			return ctl_error("user list: cannot read %s", path);
		return 0;
	}
	if (argc < 3 ||
	    (strcmp(argv[1], "add") && strcmp(argv[1], "passwd") &&
		strcmp(argv[1], "delete")))
		return ctl_usage_error("user",
		    "unknown or incomplete "
		    "command");
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0 && strcmp(argv[1], "delete"))
			p = 1;
		else if (strcmp(argv[i], "--keep-mail") == 0 &&
		    strcmp(argv[1], "delete") == 0)
			keep = 1;
		else
			return ctl_usage_error("user", "unknown option %s",
			    argv[i]);
	}
	if (strcmp(argv[1], "add") != 0) {
		/* passwd and delete need a user that exists */
		find.user = argv[2];
		find.found = 0;
		if (path != NULL && access(path, F_OK) == 0 &&
		    ctl_user_each(path, ctl_user_match, &find) < 0)
			return ctl_error("user: cannot read %s", path);
		if (!find.found)
			return ctl_error("user %s: no such user", argv[2]);
	}
	if ((r = sasl_server_init(ctl_user_cbs, "berth")) != SASL_OK ||
	    (r = sasl_server_new("imap", NULL, NULL, NULL, NULL, ctl_user_cbs,
		 0, &conn)) != SASL_OK)
		return ctl_error("sasl: %s", sasl_errstring(r, NULL, NULL));
	if (strcmp(argv[1], "delete") == 0) {
		flags = SASL_SET_DISABLE;
	} else {
		pw = ctl_user_password(p);
		if (*pw == '\0') {
			free(pw);
			sasl_dispose(&conn);
			sasl_done();
			return ctl_error("empty password");
		}
		flags = strcmp(argv[1], "add") == 0 ? SASL_SET_CREATE : 0;
	}
	r = sasl_setpass(conn, argv[2], pw, pw ? (unsigned)strlen(pw) : 0, NULL,
	    0, flags);
	if (pw != NULL) {
		memset(pw, 0, strlen(pw));
		free(pw);
	}
	if (r != SASL_OK) {
		ctl_error("user %s: %s", argv[2], sasl_errdetail(conn));
		sasl_dispose(&conn);
		sasl_done();
		return 1;
	}
	sasl_dispose(&conn);
	sasl_done();
	if (path != NULL && chmod(path, 0640) < 0)
		return ctl_error("chmod %s: %s", path, strerror(errno));
	if (strcmp(argv[1], "delete") == 0 && keep)
		(void)
		    printf("user %s deleted; mailboxes kept (berthctl mailbox "
			   "list %s)\n",
			argv[2], argv[2]);
	else if (strcmp(argv[1], "delete") == 0)
		return ctl_user_remove_mail(argv[2]);
	else
		(void)printf("user %s saved\n", argv[2]);
	return 0;
}
