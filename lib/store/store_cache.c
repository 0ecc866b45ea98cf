/*
 * store_cache - reading the header block out of the FETCH cache record
 * delivery made (store_cache_build), so that SEARCH's header keys open
 * no message file.  Writing the record is store_msg.c's.
 *
 * The record is "ENVELOPE\0BODY\0BODYSTRUCTURE\0" and, since the header
 * block was added, 'H' and the header block's bytes to the end.  A
 * record without it (stored before, or a header longer than
 * STORE_CACHE_HDR_MAX) says STORE_ENOENT: the caller reads the file.
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "store_int.h"

int
store_msg_header(struct store *st, const char *guid, struct buf *rec,
    const char **hdr_r, size_t *len_r, const char **error_r)
{
	const char *p, *end;
	DBT k, v;
	int i, r;

	store_dbt_key(&k, &v, guid, 40);
	buf_reset(rec);
	v.flags = DB_DBT_USERMEM;
	v.data = buf_reserve(rec, 4096);
	v.ulen = (uint32_t)(rec->size - rec->len);
	r = st->cache->get(st->cache, NULL, &k, &v, DB_READ_UNCOMMITTED);
	if (r == DB_BUFFER_SMALL) {
		v.data = buf_reserve(rec, v.size);
		v.ulen = (uint32_t)(rec->size - rec->len);
		r = st->cache->get(st->cache, NULL, &k, &v,
		    DB_READ_UNCOMMITTED);
	}
	if (r == DB_NOTFOUND)
		return STORE_ENOENT;
	if (r != 0)
		return store_dberr(st, error_r, "cache", r);
	p = v.data;
	end = p + v.size;
	for (i = 0; i < 3 && p < end; i++)
		p += strnlen(p, (size_t)(end - p)) + 1;
	if (p >= end || *p != 'H')
		return STORE_ENOENT;
	*hdr_r = p + 1;
	*len_r = (size_t)(end - p - 1);
	return 0;
}
