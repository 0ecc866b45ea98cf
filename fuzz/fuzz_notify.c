/*
 * fuzz_notify - libFuzzer target: NOTIFY's parser (imapd_notify_spec.c,
 * RFC 5465 SET/NONE with their event groups, mailbox specifiers and
 * FETCH attributes) on the arguments the IMAP tokenizer makes of the
 * input, as a session with or without UTF-8 sends them; a spec it
 * accepts survives the snapshot encoding (encode, decode, encode gives
 * the same bytes) and answers notify_spec_covers.
 *
 * Input: byte 0 bit 0 chooses UTF8=ACCEPT; the rest follows "t NOTIFY ".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapd_notify.h"
#include "imapp.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * fetch.c (which the parser uses for MessageNew's FETCH attributes)
 * links against the session's flag writer and the store's message
 * readers; parsing never calls them, so reaching one is a finding.
 */
void imap_flags_put(struct buf *out, uint32_t flags, const char *kw,
    int recent);

void
imap_flags_put(struct buf *out, uint32_t flags, const char *kw, int recent)
{
	(void)out, (void)flags, (void)kw, (void)recent;
	abort();
}

int
store_msg_map(struct store *st, const char *guid, const char **data_r,
    size_t *len_r, const char **error_r)
{
	(void)st, (void)guid, (void)data_r, (void)len_r, (void)error_r;
	abort();
}

void
store_msg_unmap(const char *data, size_t len)
{
	(void)data, (void)len;
	abort();
}

int
store_msg_open(struct store *st, const char *guid, int *fd_r, size_t *len_r,
    const char **error_r)
{
	(void)st, (void)guid, (void)fd_r, (void)len_r, (void)error_r;
	abort();
}

int
store_msg_fd(struct store *st, const char *guid, int *fd_r,
    const char **error_r)
{
	(void)st, (void)guid, (void)fd_r, (void)error_r;
	abort();
}

struct store_crd *
store_crd_new(void)
{
	abort();
}

int
store_msg_cache(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char *fields_r[3], const char **error_r)
{
	(void)st, (void)rd, (void)mboxid, (void)m, (void)fields_r;
	(void)error_r;
	abort();
}

static void
check_spec(struct imap_notify *n)
{
	struct imap_notify *m = NULL;
	struct buf a = BUF_INIT, b = BUF_INIT;

	(void)notify_spec_covers(n, "INBOX", 1);
	(void)notify_spec_covers(n, "a/b", 0);
	if (notify_spec_encode(n, &a) < 0)
		abort();
	if (notify_spec_decode(a.data, a.len, &m) < 0)
		abort();
	if (notify_spec_encode(m, &b) < 0 || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0)
		abort();
	notify_spec_free(&m);
	buf_free(&a);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_notify *n = NULL;
	struct imapp_cmd c;
	struct buf wire = BUF_INIT;
	const char *err = NULL;
	int utf8, status = 0, r;

	if (size < 1)
		return 0;
	utf8 = data[0] & 1;
	buf_puts(&wire, "t NOTIFY ");
	buf_append(&wire, data + 1, size - 1);
	buf_puts(&wire, "\r\n");
	if (imapp_parse_flags(wire.data, wire.len, utf8 ? IMAPP_PARSE_UTF8 : 0,
		&c, &err) == 0) {
		r = notify_spec_parse_as(c.args, c.nargs, utf8, &n, &status,
		    &err);
		if (r != 0 && err == NULL)
			abort();
		if (r == 0 && n != NULL)
			check_spec(n);
		notify_spec_free(&n);
	}
	imapp_cmd_free(&c);
	buf_free(&wire);
	return 0;
}
