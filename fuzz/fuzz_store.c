/*
 * fuzz_store - stand-ins for the store's message readers in the fuzz
 * targets that compile imapd/search.c (fuzz_store.h).
 */
#include <stddef.h>

#include "buf.h"
#include "fuzz_store.h"
#include "store.h"

static const char *fuzz_store_data;
static size_t fuzz_store_len;

void
fuzz_store_set_msg(const char *data, size_t len)
{
	fuzz_store_data = data;
	fuzz_store_len = len;
}

/* store_msg_header - no header is cached (search.c then reads the
 * message) */
int
store_msg_header(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char **hdr_r, size_t *len_r,
    const char **error_r)
{
	(void)st, (void)rd, (void)mboxid, (void)m, (void)hdr_r, (void)len_r;
	(void)error_r;
	return STORE_ENOENT;
}

/* store_msg_map - the message set by fuzz_store_set_msg, if any */
int
store_msg_map(struct store *st, const char *guid, const char **data_r,
    size_t *len_r, const char **error_r)
{
	(void)st, (void)guid, (void)error_r;
	if (fuzz_store_data == NULL)
		return STORE_ENOENT;
	*data_r = fuzz_store_data;
	*len_r = fuzz_store_len;
	return 0;
}

void
store_msg_unmap(const char *data, size_t len)
{
	(void)data, (void)len;
}

/* store_crd_new - the cache reader search.c and fetch.c keep: none here
 * (store_msg_header above reads no cache) */
struct store_crd *
store_crd_new(void)
{
	return NULL;
}
