/*
 * compress - COMPRESS=DEFLATE (RFC 4978): raw deflate (RFC 1951, no zlib
 * header) both ways on a session, with zlib.
 *
 * Output: every io_flush deflates what is pending with Z_SYNC_FLUSH, so
 * the client can read each response at once, and our stream is
 * byte-aligned, outside any block, between flushes.  That is what lets a
 * compressed session park: a new compressor may continue a raw deflate
 * stream after a flush (it never refers back to what went before), and
 * idled, which keeps no compressor, writes its few lines as stored
 * blocks (snap_deflate_stored).
 *
 * Input: the client's compressor may refer back 32 KB into what it sent
 * before, so the inflater's window is state that must travel.  A parked
 * session carries it (itself deflated, in the snapshot's zdict) when the
 * inflater stands between blocks with no input held, as it does after
 * the client's flush at the end of a command; otherwise the session is
 * not parked (served in the worker, as any session idled cannot take).
 * idled does not inflate: any byte from the client wakes a worker, which
 * restores the window and then inflates idled's pending bytes.
 *
 * Not here: the command (cmd_compress.c), the socket (io.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "imapd.h"
#include "log.h"
#include "snap.h"
#include "xalloc.h"

#define COMPRESS_WINDOW 32768 /* deflate's largest window */
#define COMPRESS_CHUNK 16384

struct compress {
	z_stream in, out;
	struct buf raw;	 /* client bytes not yet inflated */
	struct buf zout; /* deflated output of the last flush */
	int starved;	 /* the inflater needs more input */
	int full;	 /* it filled all room: may hold more */
};

/* compress_new - a fresh inflater and deflater, or NULL */
static struct compress *
compress_new(void)
{
	struct compress *z = xcalloc(1, sizeof(*z));

	if (inflateInit2(&z->in, -15) != Z_OK) {
		free(z);
		return NULL;
	}
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
		Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return NULL;
	}
	buf_init(&z->raw, 0);
	buf_init(&z->zout, 0);
	return z;
}

void
compress_start(struct imap_session *s)
{
	struct buf early = s->in;

	if ((s->z = compress_new()) == NULL)
		log_fatal("zlib: cannot set up a compressor");
	imapd_client_deflated(1);
	/* bytes already read after the command are the client's first
	 * deflated ones */
	buf_init(&s->in, 0);
	if (early.len > 0 &&
	    compress_inflate(s, early.data, early.len, SIZE_MAX) < 0)
		s->dead = 1;
	buf_free(&early);
}

void
compress_free(struct imap_session *s)
{
	struct compress *z = s->z;

	if (z == NULL)
		return;
	imapd_client_deflated(0);
	inflateEnd(&z->in);
	deflateEnd(&z->out);
	buf_free(&z->raw);
	buf_free(&z->zout);
	free(z);
	s->z = NULL;
}

int
compress_deflate(struct imap_session *s, const char *data, size_t len,
    const char **out_r, size_t *len_r)
{
	struct compress *z = s->z;
	uInt n;
	char *p;
	int flush;

	buf_reset(&z->zout);
	do {
		n = len > COMPRESS_CHUNK * 64 ? COMPRESS_CHUNK * 64 : (uInt)len;
		flush = n == len ? Z_SYNC_FLUSH : Z_NO_FLUSH;
		z->out.next_in = (Bytef *)(uintptr_t)data;
		z->out.avail_in = n;
		do {
			p = buf_reserve(&z->zout, COMPRESS_CHUNK);
			z->out.next_out = (Bytef *)p;
			z->out.avail_out = COMPRESS_CHUNK;
			if (deflate(&z->out, flush) == Z_STREAM_ERROR)
				return -1;
			z->zout.len += COMPRESS_CHUNK - z->out.avail_out;
		} while (z->out.avail_out == 0);
		data += n;
		len -= n;
	} while (len > 0);
	*out_r = z->zout.data;
	*len_r = z->zout.len;
	return 0;
}

int
compress_inflate(struct imap_session *s, const char *raw, size_t len,
    size_t max)
{
	struct compress *z = s->z;
	size_t made = 0, used, got;
	char *p;
	int r;

	if (len > 0) {
		buf_append(&z->raw, raw, len);
		z->starved = 0;
	}
	while ((z->raw.len > 0 || z->full) && !z->starved && made < max) {
		p = buf_reserve(&s->in, COMPRESS_CHUNK);
		z->in.next_in = (Bytef *)z->raw.data;
		z->in.avail_in =
		    (uInt)(z->raw.len > UINT32_MAX ? UINT32_MAX : z->raw.len);
		z->in.next_out = (Bytef *)p;
		z->in.avail_out = COMPRESS_CHUNK;
		used = z->in.avail_in;
		r = inflate(&z->in, Z_SYNC_FLUSH);
		used -= z->in.avail_in;
		got = COMPRESS_CHUNK - z->in.avail_out;
		buf_consume(&z->raw, used);
		s->in.len += got;
		s->in.data[s->in.len] = '\0';
		made += got;
		z->full = z->in.avail_out == 0;
		if (r == Z_STREAM_END) {
			/* the client ended its stream: no more input */
			errno = 0;
			return -1;
		}
		if (r == Z_BUF_ERROR || (used == 0 && got == 0)) {
			z->starved = 1;
			break;
		}
		if (r != Z_OK) {
			log_info("refused user=%s addr=%s "
				 "reason=compressed-input-broken: %s",
			    s->user[0] ? s->user : "-", s->addr,
			    z->in.msg ? z->in.msg : "zlib error");
			errno = EPROTO;
			return -1;
		}
	}
	if (z->raw.len == 0 && !z->full)
		z->starved = 1;
	return 0;
}

int
compress_more(const struct imap_session *s)
{
	return s->z != NULL && !s->z->starved &&
	    (s->z->raw.len > 0 || s->z->full);
}

int
compress_snap(struct imap_session *s, struct snap *sn)
{
	struct compress *z = s->z;
	unsigned char win[COMPRESS_WINDOW];
	unsigned char *zd;
	uInt wl = sizeof(win);
	uLongf zl;

	/*
	 * between blocks (data_type 128: inflate stopped at a block
	 * boundary), byte-aligned (no bits held), nothing more held: then
	 * the window alone is the inflater's state
	 */
	if (z->raw.len > 0 || z->full || !(z->in.data_type & 128) ||
	    (z->in.data_type & 7) != 0 || z->in.data_type & 64)
		return -1;
	if (inflateGetDictionary(&z->in, win, &wl) != Z_OK)
		return -1;
	sn->flags |= SNAP_F_DEFLATE;
	if (wl == 0)
		return 0;
	zl = compressBound(wl);
	zd = xmalloc(zl);
	if (compress2(zd, &zl, win, wl, Z_BEST_COMPRESSION) != Z_OK ||
	    buf_append(&sn->zdict, zd, zl) < 0) {
		free(zd);
		return -1;
	}
	free(zd);
	return 0;
}

int
compress_restore(struct imap_session *s, const struct snap *sn)
{
	unsigned char win[COMPRESS_WINDOW];
	uLongf wl = sizeof(win);

	if ((s->z = compress_new()) == NULL)
		return -1;
	imapd_client_deflated(1);
	if (sn->zdict.len > 0 &&
	    (uncompress(win, &wl, (const Bytef *)sn->zdict.data,
		 sn->zdict.len) != Z_OK ||
		inflateSetDictionary(&s->z->in, win, (uInt)wl) != Z_OK))
		return -1;
	if (sn->pending.len > 0 &&
	    compress_inflate(s, sn->pending.data, sn->pending.len, SIZE_MAX) <
		0)
		return -1;
	return 0;
}
