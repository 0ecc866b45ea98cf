/*
 * cmd_append_cat - CATENATE (RFC 4469): the message an APPEND builds from
 * text literals and IMAP URLs (RFC 5092, lib/imap/imapurl) naming
 * messages or parts of them that the user may read on this server.
 *
 * A URL resolves when: it parses; it carries no URLAUTH; its host, if
 * any, is this server (servername or the host name, and the port, if
 * given, one the client reached or this service listens on); its user, if
 * any, is the session's; its mailbox (UTF-8 in the URL; none: the
 * selected one) exists and is selectable; its UIDVALIDITY, if given, is
 * the mailbox's; the UID is there; the section, if any, is one FETCH
 * takes and the message has.  Anything else is NO [BADURL url].
 *
 * Memory: the message is built in memory, at most append_limit() bytes:
 * each URL's part is measured (fetch_section_get) before it is read, so
 * a URL naming more than is left costs no read.  The literals themselves
 * were bounded by the reader before they were read.  Called from
 * cmd_append.c, one message at a time.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "cmd_append.h"
#include "fetch.h"
#include "imapurl.h"
#include "log.h"
#include "mboxname.h"
#include "mutf7.h"
#include "srv.h"

#define APPEND_CAT_URL_ECHO 1024 /* bytes of a URL said in BADURL */

size_t
append_limit(void)
{
	long long limit = cfg_size("maxmessagesize");

	if (cfg_size("maxliteral") > 0 && cfg_size("maxliteral") < limit)
		limit = cfg_size("maxliteral");
	return limit > 0 ? (size_t)limit : 0;
}

/* append_cat_utf8 - the literal of a "UTF8 (literal8)" part (RFC 6855
 * 4, cat-part =/ utf8-literal) once UTF-8 is enabled, else NULL */
static const struct imapp_arg *
append_cat_utf8(const struct imap_cmd *cmd, const struct imapp_arg *k,
    const struct imapp_arg *v)
{
	if (!cmd->s->utf8 || strcasecmp(k->str, "UTF8") != 0 ||
	    v->type != IMAPP_LIST || v->nlist != 1 ||
	    v->list[0].type != IMAPP_LITERAL)
		return NULL;
	return &v->list[0];
}

int
append_cat_check(struct imap_cmd *cmd, const struct imapp_arg *l)
{
	size_t i;

	if (l->type != IMAPP_LIST || l->nlist == 0 || l->nlist % 2 != 0)
		goto bad;
	for (i = 0; i < l->nlist; i += 2) {
		const struct imapp_arg *k = &l->list[i], *v = &l->list[i + 1];

		if (k->type != IMAPP_ATOM)
			goto bad;
		if (strcasecmp(k->str, "TEXT") == 0 && v->type == IMAPP_LITERAL)
			continue;
		if (strcasecmp(k->str, "URL") == 0 && imapp_arg_is_astring(v))
			continue;
		if (append_cat_utf8(cmd, k, v) != NULL)
			continue;
		goto bad;
	}
	if (l->nlist / 2 > APPEND_CAT_MAX_PARTS) {
		log_info("append refused user=%s addr=%s parts=%zu "
			 "reason=\"catenate parts\" limit=%d",
		    cmd->s->user, cmd->s->addr, l->nlist / 2,
		    APPEND_CAT_MAX_PARTS);
		imap_no(cmd, "[LIMIT] At most %d parts in one CATENATE",
		    APPEND_CAT_MAX_PARTS);
		return -1;
	}
	return 0;
bad:
	imap_bad(cmd, "CATENATE needs (TEXT literal / URL url ...)");
	return -1;
}

/* append_cat_host - is host this server's name: servername or the
 * host name (either; a client may know the server by both)? */
static int
append_cat_host(const char *host)
{
	const char *name = cfg_str("servername");
	char buf[256];

	if (name != NULL && strcasecmp(host, name) == 0)
		return 1;
	if (gethostname(buf, sizeof(buf)) < 0)
		return 0;
	buf[sizeof(buf) - 1] = '\0';
	return strcasecmp(host, buf) == 0;
}

/* append_cat_local_port - the TCP port fd is bound to, 0 if none (a
 * Unix socket: a TLS session from tlsd, a test's socketpair) */
static unsigned
append_cat_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* append_cat_port - does a URL's port (0: none given) name this server:
 * the port the client reached, or this service's listener?  Another
 * port on the same host is another server (RFC 5092 3: the iserver is
 * host and port) */
static int
append_cat_port(struct imap_session *s, unsigned port)
{
	return port == 0 || port == append_cat_local_port(s->fd) ||
	    port == append_cat_local_port(srv_listen_fd());
}

/* append_cat_mbox - the mailbox the URL names: its id and UIDVALIDITY;
 * -1 with *why_r when it names none this user may read */
static int
append_cat_mbox(struct imap_session *s, const struct imapurl *u, uint32_t *id_r,
    uint32_t *uidvalidity_r, const char **why_r)
{
	struct store_mbox mb;
	struct buf name = BUF_INIT;
	const char *err;
	int r;

	if (u->mailbox == NULL) {
		if (s->state != IMAP_S_SELECTED) {
			*why_r = "relative URL without a selected mailbox";
			return -1;
		}
		*id_r = s->view.mboxid;
		*uidvalidity_r = s->view.uidvalidity;
		return 0;
	}
	if (mutf7_from_utf8(u->mailbox, strlen(u->mailbox), &name, why_r) < 0 ||
	    mboxname_check(buf_cstr(&name), name.len, why_r) < 0) {
		buf_free(&name);
		return -1;
	}
	r = store_mbox_get(s->st, s->user, buf_cstr(&name), &mb, &err);
	buf_free(&name);
	if (r != 0 || (mb.attrs & STORE_MBOX_NOSELECT)) {
		if (r != 0 && r != STORE_ENOENT)
			log_error("catenate user=%s mailbox lookup: %s",
			    s->user, err);
		*why_r = "no such mailbox";
		return -1;
	}
	*id_r = mb.id;
	*uidvalidity_r = mb.uidvalidity;
	return 0;
}

/* append_cat_refusal - why the parsed URL names no mailbox this user
 * may read here (a static reason), or NULL with its *id_r */
static const char *
append_cat_refusal(struct imap_session *s, const struct imapurl *u,
    uint32_t *id_r)
{
	uint32_t uidvalidity;
	const char *why = NULL;

	if (u->urlauth)
		return "URLAUTH is not supported";
	if (u->host != NULL &&
	    (!append_cat_host(u->host) || !append_cat_port(s, u->port)))
		return "another server";
	if (u->user != NULL && strcmp(u->user, s->user) != 0)
		return "another user";
	if (append_cat_mbox(s, u, id_r, &uidvalidity, &why) < 0)
		return why;
	if (u->uidvalidity != 0 && u->uidvalidity != uidvalidity)
		return "UIDVALIDITY differs";
	return NULL;
}

/* append_cat_fetch - what the parsed URL names, onto out when it fits
 * in max: 0, FETCH_ETOOBIG, or -1 with *why_r */
static int
append_cat_fetch(struct imap_session *s, const struct imapurl *u, size_t max,
    struct buf *out, const char **why_r)
{
	struct store_msg *msg = NULL;
	uint32_t id = 0;
	size_t n = 0;
	const char *err;
	int r;

	if ((*why_r = append_cat_refusal(s, u, &id)) != NULL)
		return -1;
	if (store_msg_get_uids(s->st, id, &u->uid, 1, &msg, &n, &err) != 0) {
		log_error("catenate user=%s message lookup: %s", s->user, err);
		*why_r = "message lookup failed";
		return -1;
	}
	if (n == 0) {
		free(msg);
		*why_r = "no such message";
		return -1;
	}
	r = fetch_section_get(s->st, &msg[0], u->section, u->partial, u->poff,
	    u->plen, max, out, &err);
	free(msg);
	if (r == -1) {
		log_error("catenate user=%s uid=%u: %s", s->user, u->uid, err);
		*why_r = "message unreadable";
	} else if (r == FETCH_ENOSECTION) {
		*why_r = "no such section";
	}
	return r == FETCH_ETOOBIG || r == 0 ? r : -1;
}

/* append_cat_badurl - NO [BADURL url]: the URL as url-resp-text (a ']',
 * a control or an 8-bit byte would end or break it: each said as '?') */
static void
append_cat_badurl(struct imap_cmd *cmd, const struct imapp_arg *a,
    const char *why)
{
	struct buf t = BUF_INIT;
	size_t i,
	    n = a->len < APPEND_CAT_URL_ECHO ? a->len : APPEND_CAT_URL_ECHO;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a->str[i];

		buf_putc(&t, c <= ' ' || c == ']' || c >= 0x7f ? '?' : (char)c);
	}
	if (t.len == 0)
		buf_putc(&t, '?');
	log_info("append refused user=%s addr=%s reason=\"bad url: %s\" "
		 "url=%s",
	    cmd->s->user, cmd->s->addr, why, buf_cstr(&t));
	imap_no(cmd, "[BADURL %s] CATENATE URL: %s", buf_cstr(&t), why);
	buf_free(&t);
}

static void
append_cat_toobig(struct imap_cmd *cmd, size_t max)
{
	log_info("append refused user=%s addr=%s reason=\"catenated message "
		 "too big\" limit=%zu",
	    cmd->s->user, cmd->s->addr, max);
	imap_no(cmd, "[TOOBIG] Catenated message larger than %zu bytes", max);
}

int
append_cat_build(struct imap_cmd *cmd, const struct imapp_arg *l,
    struct buf *out)
{
	size_t max = append_limit(), i;
	struct imapurl u;
	const char *why = NULL;
	int r;

	for (i = 0; i < l->nlist; i += 2) {
		const struct imapp_arg *v = &l->list[i + 1];

		if (strcasecmp(l->list[i].str, "UTF8") == 0)
			v = append_cat_utf8(cmd, &l->list[i], v);
		if (strcasecmp(l->list[i].str, "URL") != 0) {
			if (v->len > max - out->len) {
				append_cat_toobig(cmd, max);
				return -1;
			}
			buf_append(out, v->str, v->len);
			continue;
		}
		if (memchr(v->str, '\0', v->len) != NULL ||
		    imapurl_parse(v->str, v->len, &u, &why) < 0) {
			append_cat_badurl(cmd, v,
			    why != NULL ? why : "NUL in the URL");
			return -1;
		}
		r = append_cat_fetch(cmd->s, &u, max - out->len, out, &why);
		imapurl_free(&u);
		if (r == FETCH_ETOOBIG) {
			append_cat_toobig(cmd, max);
			return -1;
		}
		if (r < 0) {
			append_cat_badurl(cmd, v, why);
			return -1;
		}
	}
	return 0;
}
