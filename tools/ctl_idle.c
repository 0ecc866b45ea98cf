/*
 * ctl_idle - berthctl parked: the sessions idled holds, counted per user,
 * per address and per mailbox, then listed oldest first.  (berthctl who,
 * every session wherever it is, asks authd: ctl_who.c.)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "fd.h"
#include "idleproto.h"
#include "ipc.h"
#include "notify.h"
#include "xalloc.h"

struct ctl_count {
	char *key;
	int n;
};

static void
ctl_count_add(struct ctl_count **c, size_t *n, const char *key)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*c)[i].key, key) == 0) {
			(*c)[i].n++;
			return;
		}
	*c = xreallocarray(*c, *n + 1, sizeof(**c));
	(*c)[*n].key = xstrdup(key);
	(*c)[(*n)++].n = 1;
}

static int
ctl_count_cmp(const void *a, const void *b)
{
	return ((const struct ctl_count *)b)->n -
	    ((const struct ctl_count *)a)->n;
}

static void
ctl_count_print(const char *title, struct ctl_count *c, size_t n)
{
	size_t i;

	if (n > 1)
		xqsort(c, n, sizeof(*c), ctl_count_cmp);
	(void)printf("%s:\n", title);
	for (i = 0; i < n; i++) {
		(void)printf("  %6d  %s\n", c[i].n, c[i].key);
		free(c[i].key);
	}
	free(c);
}

struct ctl_sess {
	char user[256], addr[64], kind[16], mailbox[1024];
	long long age;
};

static int
ctl_sess_cmp(const void *a, const void *b)
{
	long long d = ((const struct ctl_sess *)b)->age -
	    ((const struct ctl_sess *)a)->age;

	return d > 0 ? 1 : d < 0 ? -1 : 0;
}

/* ctl_parked_lines - the LINE fields of one LISTING message */
static void
ctl_parked_lines(const struct ipc_msg *m, struct ctl_sess **sess, size_t *ns,
    struct ctl_count **users, size_t *nu, struct ctl_count **addrs, size_t *na,
    struct ctl_count **boxes, size_t *nb)
{
	size_t off;

	for (off = sizeof(struct ipc_hdr); off + 4 <= m->len;) {
		uint16_t tag, len;
		char line[1400];
		struct ctl_sess s;

		memcpy(&tag, m->data + off, 2);
		memcpy(&len, m->data + off + 2, 2);
		if (off + 4 + len > m->len)
			break;
		if (tag == IDLEPROTO_LINE && len < sizeof(line)) {
			memcpy(line, m->data + off + 4, len);
			line[len] = '\0';
			if (sscanf(line, "%255s %63s %lld %15s %1023[^\n]",
				s.user, s.addr, &s.age, s.kind,
				s.mailbox) == 5) {
				*sess = xreallocarray(*sess, *ns + 1,
				    sizeof(**sess));
				(*sess)[(*ns)++] = s;
				ctl_count_add(users, nu, s.user);
				ctl_count_add(addrs, na, s.addr);
				ctl_count_add(boxes, nb, s.mailbox);
			}
		}
		off += 4 + (size_t)len;
	}
}

/* ctl_parked - parked */
int
ctl_parked(int argc, char **argv)
{
	static struct ipc_msg m;
	struct ctl_count *users = NULL, *addrs = NULL, *boxes = NULL;
	struct ctl_sess *sess = NULL;
	size_t nu = 0, na = 0, nb = 0, ns = 0, i, endl;
	const void *endp;
	int c, done;

	(void)argc;
	ipc_msg_init(&m, IDLEPROTO_T_LIST);
	if ((c = ctl_ipc_send("idled", notify_idled_path(), &m)) < 0)
		return 1;
	/* LISTING messages until the one with END */
	for (done = 0; !done;) {
		if (ctl_ipc_recv("idled", c, &m, IDLEPROTO_T_LISTING, 5000) < 0)
			return 1;
		done = ipc_get(&m, IDLEPROTO_END, &endp, &endl) == 0;
		ctl_parked_lines(&m, &sess, &ns, &users, &nu, &addrs, &na,
		    &boxes, &nb);
	}
	fd_close(c);
	(void)argv;
	(void)printf("parked sessions: %zu\n", ns);
	ctl_count_print("per user", users, nu);
	ctl_count_print("per address", addrs, na);
	ctl_count_print("per mailbox", boxes, nb);
	if (ns > 1)
		xqsort(sess, ns, sizeof(*sess), ctl_sess_cmp);
	(void)printf("sessions, oldest first:\n");
	for (i = 0; i < ns; i++)
		(void)printf("  %6llds  %-7s  %s  %s  %s\n", sess[i].age,
		    sess[i].kind, sess[i].user, sess[i].addr, sess[i].mailbox);
	free(sess);
	return 0;
}
