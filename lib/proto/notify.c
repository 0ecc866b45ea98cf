/*
 * notify - send change messages to idled (and new messages to indexd)
 * over one kept SOCK_SEQPACKET connection per listener and process;
 * parse them on the listeners' side; socket paths.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "fd.h"
#include "log.h"
#include "notify.h"
#include "store.h"

/*
 * The listeners: idled hears every change and is waited for a moment
 * when its queue is full (a parked session must hear); indexd hears only
 * new messages and is never waited for: a message it misses is found by
 * its sweep (indexd.8), and delivery must not wait for indexing.
 */
struct notify_target {
	const char *name;
	const char *(*path)(void);
	unsigned what; /* NOTIFY_EV_* it hears */
	int wait_ms;
	int fd;
	time_t warned;
};

static struct notify_target notify_targets[] = {
	{ "idled", notify_path, 0xffff, NOTIFY_SEND_WAIT_MS, -1, 0 },
	{ "indexd", notify_index_path, NOTIFY_EV_NEW, 0, -1, 0 },
};

static const char *
notify_sock(const char *name, char *buf, size_t size)
{
	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(buf, size, "%s/socket/%s", cfg_str("configdirectory"),
	    name);
	return buf;
}

const char *
notify_path(void)
{
	static char p[1024];

	return notify_sock("notify", p, sizeof(p));
}

const char *
notify_idled_path(void)
{
	static char p[1024];

	return notify_sock("idled", p, sizeof(p));
}

const char *
notify_index_path(void)
{
	static char p[1024];

	return notify_sock("index", p, sizeof(p));
}

const char *
notify_tlsd_path(void)
{
	static char p[1024];
	const char *want = cfg_str("tlsd_socket");

	if (want != NULL && *want != '\0')
		return want;
	return notify_sock("tlsd", p, sizeof(p));
}

/* notify_connect - (re)connect to t; -1 when it is not there */
static int
notify_connect(struct notify_target *t)
{
	struct sockaddr_un sun;
	const char *path = t->path();

	if (t->fd >= 0)
		return 0;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	t->fd =
	    socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->fd < 0)
		return -1;
	/* a non-blocking connect to a Unix listener completes at once or
	 * fails (EAGAIN: the listener's backlog is full) */
	if (connect(t->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fd_close(t->fd);
		t->fd = -1;
		return -1;
	}
	return 0;
}

/* notify_put_str - append s (bounded) and its NUL at *off */
static void
notify_put_str(char *out, size_t *off, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max - 1) : 0;

	memcpy(out + *off, s ? s : "", n);
	out[*off + n] = '\0';
	*off += n + 1;
}

/* notify_write - one send, waiting up to t's wait for room; 0 sent, -1
 * not */
static int
notify_write(struct notify_target *t, const char *data, size_t len)
{
	struct pollfd pfd;
	ssize_t n;

	for (;;) {
		n = send(t->fd, data, len, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			pfd.fd = t->fd;
			pfd.events = POLLOUT;
			if (t->wait_ms > 0 && poll(&pfd, 1, t->wait_ms) > 0)
				continue;
			if (time(NULL) - t->warned >= 60) {
				t->warned = time(NULL);
				log_warn("%s is not reading change "
					 "messages; one dropped",
				    t->name);
			}
			errno = EAGAIN;
		}
		return -1;
	}
}

/* notify_target_send - out to t, on a new connection once more when the
 * kept one is to a listener that has since restarted */
static void
notify_target_send(struct notify_target *t, const char *out, size_t len)
{
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (notify_connect(t) < 0)
			return; /* nobody listens */
		if (notify_write(t, out, len) == 0)
			return;
		if (errno == EAGAIN)
			return; /* logged; the connection is fine */
		fd_close(t->fd);
		t->fd = -1;
	}
}

void
notify_send(const struct notify_msg *m, const char *user, const char *name,
    const char *oldname)
{
	char out[NOTIFY_MAX_MSG];
	size_t off = sizeof(*m), i;

	memcpy(out, m, sizeof(*m));
	((struct notify_msg *)(void *)out)->version = NOTIFY_VERSION;
	notify_put_str(out, &off, user, NOTIFY_MAX_USER);
	notify_put_str(out, &off, name, NOTIFY_MAX_NAME);
	notify_put_str(out, &off, oldname, NOTIFY_MAX_NAME);
	for (i = 0; i < sizeof(notify_targets) / sizeof(notify_targets[0]); i++)
		if (m->what & notify_targets[i].what)
			notify_target_send(&notify_targets[i], out, off);
}

/* the store numbers its events as this protocol does */
_Static_assert(STORE_EV_NEW == NOTIFY_EV_NEW &&
	STORE_EV_EXPUNGE == NOTIFY_EV_EXPUNGE &&
	STORE_EV_FLAGS == NOTIFY_EV_FLAGS &&
	STORE_EV_ANNOTATION == NOTIFY_EV_ANNOTATION &&
	STORE_EV_MAILBOXNAME == NOTIFY_EV_MAILBOXNAME &&
	STORE_EV_SUBSCRIPTION == NOTIFY_EV_SUBSCRIPTION &&
	STORE_W_DELETED == NOTIFY_W_DELETED,
    "store and notify events differ");

void
notify_store_event(const struct store_event *ev, void *ctx)
{
	struct notify_msg m;

	(void)ctx;
	memset(&m, 0, sizeof(m));
	m.what = ev->what;
	m.mboxid = ev->mboxid;
	m.uidvalidity = ev->uidvalidity;
	m.exists = ev->exists;
	m.uidnext = ev->uidnext;
	m.unseen = ev->unseen;
	m.prevmodseq = ev->prevmodseq;
	m.modseq = ev->modseq;
	notify_send(&m, ev->user, ev->name, ev->oldname);
}

/* notify_str - a NUL-terminated string at *off within len */
static const char *
notify_str(const char *d, size_t len, size_t *off, size_t max)
{
	const char *s = d + *off, *nul;

	if (*off >= len)
		return NULL;
	nul = memchr(s, '\0', len - *off);
	if (nul == NULL || (size_t)(nul - s) >= max)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

int
notify_parse(const void *data, size_t len, struct notify_change *c_r)
{
	const char *d = data;
	size_t off = sizeof(c_r->m);

	if (len < sizeof(c_r->m) || len > NOTIFY_MAX_MSG)
		return -1;
	memcpy(&c_r->m, d, sizeof(c_r->m));
	if (c_r->m.version != NOTIFY_VERSION)
		return -1;
	if ((c_r->user = notify_str(d, len, &off, NOTIFY_MAX_USER)) == NULL ||
	    (c_r->name = notify_str(d, len, &off, NOTIFY_MAX_NAME)) == NULL ||
	    (c_r->oldname = notify_str(d, len, &off, NOTIFY_MAX_NAME)) ==
		NULL ||
	    off != len)
		return -1;
	return 0;
}
