/*
 * ctl_maildir - berthctl import USER maildir PATH: a Maildir (PATH with
 * cur/ and new/) as INBOX, and its Maildir++ folders (PATH/.Name.Sub,
 * each a maildir) as Name/Sub.
 *
 * What is kept, where the source has it:
 *   - UIDs and UIDVALIDITY from Dovecot's dovecot-uidlist (version 1:
 *     "1 UIDVALIDITY NEXTUID", version 3: "3 V<uidvalidity> N<next> ..."
 *     then "UID [fields] :FILENAME") or Courier's courierimapuiddb (the
 *     version 1 layout);
 *   - flags from the ":2," suffix of names in cur/: S \Seen, R
 *     \Answered, F \Flagged, T \Deleted, D \Draft, P $Forwarded; a-z
 *     the keywords numbered 0-25 in Dovecot's dovecot-keywords;
 *   - the internal date from the file's modification time (the received
 *     date, as Dovecot and Courier keep it).
 * Messages in new/ have no flags.  A message the uidlist does not name
 * gets a UID after those it names.  Folder names are modified UTF-7 on
 * disk already (Dovecot and Courier store them so) and are checked as a
 * client's would be.  Not read: Dovecot's LAYOUT=fs and its index files
 * (modseqs, save dates): modseqs start anew.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "ctl_import.h"
#include "fd.h"
#include "store.h"
#include "xalloc.h"

struct md_msg {
	char *path, *base; /* file, and its unique name (before ',' or
			    * ':') */
	const char *info;  /* after ":2," (cur/ only), or "" */
	uint32_t uid;
	int64_t mtime;
};

struct md_folder {
	uint32_t uidvalidity;
	struct md_uid {
		char *base;
		uint32_t uid;
	} * uids;
	size_t nuids;
	char *keywords[26];
};

static int
md_uid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct md_uid *)a)->base,
	    ((const struct md_uid *)b)->base);
}

/* md_uidlist - dovecot-uidlist or courierimapuiddb of dir, if any */
static void
md_uidlist(const char *dir, struct md_folder *f)
{
	static const char *names[] = { "dovecot-uidlist", "courierimapuiddb" };
	char *path, line[4096], *p, *name;
	unsigned long uid, uv = 0;
	size_t i;
	FILE *fp = NULL;
	int v;

	for (i = 0; i < 2 && fp == NULL; i++) {
		path = xasprintf("%s/%s", dir, names[i]);
		fp = fopen(path, "r");
		free(path);
	}
	if (fp == NULL)
		return;
	if (fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "%d", &v) != 1) {
		fclose(fp);
		return;
	}
	if (v == 1)
		sscanf(line, "%*d %lu", &uv);
	else if ((p = strstr(line, " V")) != NULL)
		uv = strtoul(p + 2, NULL, 10);
	f->uidvalidity = uv > 0 && uv <= UINT32_MAX ? (uint32_t)uv : 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		uid = strtoul(line, &p, 10);
		if (p == line || uid == 0 || uid >= UINT32_MAX)
			continue;
		/* v3: "UID [fields] :FILENAME"; v1: "UID FILENAME" */
		if ((name = strstr(p, " :")) != NULL)
			name += 2;
		else if (v == 1 && *p == ' ')
			name = p + 1;
		else
			continue;
		/* the unique name: without ",S=size,W=vsize" and flags */
		name[strcspn(name, ":,")] = '\0';
		f->uids =
		    xreallocarray(f->uids, f->nuids + 1, sizeof(*f->uids));
		f->uids[f->nuids].base = xstrdup(name);
		f->uids[f->nuids++].uid = (uint32_t)uid;
	}
	fclose(fp);
	xqsort(f->uids, f->nuids, sizeof(*f->uids), md_uid_cmp);
}

/* md_keywords - dovecot-keywords of dir: "N keyword" lines, N 0-25 */
static void
md_keywords(const char *dir, struct md_folder *f)
{
	char *path = xasprintf("%s/dovecot-keywords", dir), line[512], *k;
	unsigned n;
	FILE *fp = fopen(path, "r");

	free(path);
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (sscanf(line, "%u", &n) != 1 || n >= 26 ||
		    (k = strchr(line, ' ')) == NULL ||
		    !ctl_import_keyword_ok(k + 1, strlen(k + 1)))
			continue;
		free(f->keywords[n]);
		f->keywords[n] = xstrdup(k + 1);
	}
	fclose(fp);
}

static void
md_folder_free(struct md_folder *f)
{
	size_t i;

	for (i = 0; i < f->nuids; i++)
		free(f->uids[i].base);
	free(f->uids);
	for (i = 0; i < 26; i++)
		free(f->keywords[i]);
	memset(f, 0, sizeof(*f));
}

/* md_flags - the ":2," letters as flags and keywords */
static uint32_t
md_flags(const struct md_folder *f, const char *info, struct buf *kw)
{
	uint32_t flags = 0;

	buf_reset(kw);
	for (; *info; info++) {
		switch (*info) {
		case 'S':
			flags |= STORE_F_SEEN;
			break;
		case 'R':
			flags |= STORE_F_ANSWERED;
			break;
		case 'F':
			flags |= STORE_F_FLAGGED;
			break;
		case 'T':
			flags |= STORE_F_DELETED;
			break;
		case 'D':
			flags |= STORE_F_DRAFT;
			break;
		case 'P':
			buf_puts(kw, kw->len ? " $Forwarded" : "$Forwarded");
			break;
		default:
			if (*info >= 'a' && *info <= 'z' &&
			    f->keywords[*info - 'a'] != NULL) {
				if (kw->len)
					buf_putc(kw, ' ');
				buf_puts(kw, f->keywords[*info - 'a']);
			}
		}
	}
	return flags;
}

static int
md_msg_cmp(const void *a, const void *b)
{
	const struct md_msg *x = a, *y = b;

	/* those the uidlist names, by UID; then the others by name (a
	 * maildir name starts with its delivery time) */
	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->base, y->base);
}

/* md_list - the messages of dir's cur/ and new/ */
static void
md_list(const char *dir, const struct md_folder *f, struct md_msg **msgs_r,
    size_t *n_r)
{
	static const char *subs[] = { "cur", "new" };
	struct md_uid key, *hit;
	struct dirent *de;
	struct stat sb;
	struct md_msg *m;
	char *sub, *colon;
	size_t i;
	DIR *d;

	*msgs_r = NULL;
	*n_r = 0;
	for (i = 0; i < 2; i++) {
		sub = xasprintf("%s/%s", dir, subs[i]);
		if ((d = opendir(sub)) == NULL) {
			free(sub);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			*msgs_r =
			    xreallocarray(*msgs_r, *n_r + 1, sizeof(**msgs_r));
			m = &(*msgs_r)[(*n_r)++];
			memset(m, 0, sizeof(*m));
			m->path = xasprintf("%s/%s", sub, de->d_name);
			m->base = xstrdup(de->d_name);
			m->info = "";
			if ((colon = strchr(m->base, ':')) != NULL) {
				*colon = '\0';
				if (i == 0 && strncmp(colon + 1, "2,", 2) == 0)
					m->info = colon + 3;
			}
			m->base[strcspn(m->base, ",")] = '\0';
			if (stat(m->path, &sb) == 0)
				m->mtime = (int64_t)sb.st_mtime;
			key.base = m->base;
			hit = bsearch(&key, f->uids, f->nuids, sizeof(*f->uids),
			    md_uid_cmp);
			m->uid = hit != NULL ? hit->uid : 0;
		}
		closedir(d);
		free(sub);
	}
	xqsort(*msgs_r, *n_r, sizeof(**msgs_r), md_msg_cmp);
}

/* md_read - the bytes of path (mapped; *len_r 0: empty, nothing mapped) */
static int
md_read(const char *path, const char **data_r, size_t *len_r)
{
	struct stat sb;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*data_r = NULL;
	*len_r = 0;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		if (fd >= 0)
			fd_close(fd);
		return -1;
	}
	if (sb.st_size > 0) {
		p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
		    0);
		if (p == MAP_FAILED) {
			fd_close(fd);
			return -1;
		}
		*data_r = p;
		*len_r = (size_t)sb.st_size;
	}
	fd_close(fd);
	return 0;
}

/* md_folder_import - one maildir dir into mailbox name */
static int
md_folder_import(struct ctl_import *ci, const char *dir, const char *name)
{
	struct md_folder f;
	struct md_msg *msgs;
	struct store_append opt;
	struct buf kw = BUF_INIT;
	const char *data;
	size_t n, i, len;
	int r = 0;

	memset(&f, 0, sizeof(f));
	md_uidlist(dir, &f);
	md_keywords(dir, &f);
	if (ctl_import_folder(ci, name, f.uidvalidity) < 0) {
		md_folder_free(&f);
		return 0; /* said why; the other folders go on */
	}
	md_list(dir, &f, &msgs, &n);
	for (i = 0; i < n; i++) {
		if (r == 0) {
			memset(&opt, 0, sizeof(opt));
			opt.flags = md_flags(&f, msgs[i].info, &kw);
			opt.keywords = kw.len ? kw.data : NULL;
			opt.internaldate = msgs[i].mtime;
			opt.uid = msgs[i].uid;
			if (md_read(msgs[i].path, &data, &len) < 0) {
				(void)
				    printf("skipped user=%s folder=%s file=%s: "
					   "%s\n",
					ci->user, name, msgs[i].path,
					strerror(errno));
				ci->skipped++;
			} else {
				r = ctl_import_msg(ci, name, data ? data : "",
				    len, &opt);
				if (len > 0)
					munmap((void *)data, len);
			}
		}
		free(msgs[i].path);
		free(msgs[i].base);
	}
	free(msgs);
	buf_free(&kw);
	md_folder_free(&f);
	return r;
}

/* md_is_maildir - does dir have cur/ or new/? */
static int
md_is_maildir(const char *dir)
{
	char *a = xasprintf("%s/cur", dir), *b = xasprintf("%s/new", dir);
	struct stat sa, sb;
	int r = (stat(a, &sa) == 0 && S_ISDIR(sa.st_mode)) ||
	    (stat(b, &sb) == 0 && S_ISDIR(sb.st_mode));

	free(a);
	free(b);
	return r;
}

static int
md_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ctl_maildir_import(struct ctl_import *ci, const char *path)
{
	struct dirent *de;
	char **subs = NULL, *dir, *name, *p;
	size_t n = 0, i;
	DIR *d;
	int r;

	if (!md_is_maildir(path) || (d = opendir(path)) == NULL) {
		ctl_error("import: %s is not a maildir (no cur/ or new/)",
		    path);
		return -1;
	}
	if ((r = md_folder_import(ci, path, "INBOX")) != 0) {
		closedir(d);
		return -1;
	}
	/* Maildir++ folders: ".Name.Sub" beside cur/ new/ tmp/ */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || de->d_name[1] == '\0' ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		subs = xreallocarray(subs, n + 1, sizeof(*subs));
		subs[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* parents before children */
	xqsort(subs, n, sizeof(*subs), md_name_cmp);
	for (i = 0; i < n; i++) {
		dir = xasprintf("%s/%s", path, subs[i]);
		if (r == 0 && md_is_maildir(dir)) {
			name = xstrdup(subs[i] + 1);
			for (p = name; *p; p++)
				if (*p == '.')
					*p = '/';
			r = md_folder_import(ci, dir, name);
			free(name);
		}
		free(dir);
		free(subs[i]);
	}
	free(subs);
	return r;
}
