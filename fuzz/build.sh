#!/bin/sh
# Build the libFuzzer targets with clang (not part of the autotools build)
# and, with "run SECONDS", run each for that long on its seed corpus.
# Usage: fuzz/build.sh [run SECONDS]
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=${FUZZ_OUT:-$top/build-fuzz}
mkdir -p "$out"
cat > "$out/config.h" <<CONF
#define _GNU_SOURCE 1
#define HAVE_EXPLICIT_BZERO 1
#define PACKAGE_VERSION "fuzz"
CONF
L=$top/lib
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -I$out -I$L/util \
	-I$L/mail -I$L/imap -I$L/store -I$L/proto"
LIB="$L/util/buf.c $L/util/xalloc.c $L/util/log.c $L/util/err.c"
clang $CFLAGS -o "$out/fuzz_imapp" "$here/fuzz_imapp.c" "$L/imap/imapp.c" "$L/imap/mutf7.c" $LIB
clang $CFLAGS -o "$out/fuzz_mime" "$here/fuzz_mime.c" "$L/mail/mime_parse.c" \
	"$L/mail/mime_hdr.c" "$L/mail/mime_text.c" "$L/imap/envelope.c" "$L/imap/bodystructure.c" "$L/mail/date.c" "$L/imap/imapp.c" "$L/imap/mutf7.c" $LIB
clang $CFLAGS -o "$out/fuzz_snap" "$here/fuzz_snap.c" "$L/proto/snap.c" \
	"$L/util/ipc.c" "$L/proto/notify.c" "$L/util/cfg.c" \
	"$L/util/cfg_keys.c" $LIB
clang $CFLAGS -o "$out/fuzz_wild" "$here/fuzz_wild.c" "$L/imap/wild.c" \
	"$L/imap/mboxname.c" "$L/imap/mutf7.c" $LIB
clang $CFLAGS -o "$out/fuzz_login" "$here/fuzz_login.c" "$L/imap/imapp.c" "$L/imap/mutf7.c" \
	"$L/util/uname.c" "$L/imap/mboxname.c" $LIB
clang $CFLAGS -o "$out/fuzz_proxyp" "$here/fuzz_proxyp.c" "$L/util/proxyp.c"
clang $CFLAGS -I"$top/imapd" -o "$out/fuzz_search" "$here/fuzz_search.c" \
	"$here/fuzz_store.c" \
	"$top/imapd/search.c" "$L/imap/imapp.c" "$L/imap/mutf7.c" "$L/imap/envelope.c" \
	"$L/mail/mime_parse.c" "$L/mail/mime_hdr.c" "$L/mail/mime_text.c" \
	"$L/mail/date.c" $LIB
clang $CFLAGS -I"$top/imapd" -o "$out/fuzz_sort" "$here/fuzz_sort.c" \
	"$here/fuzz_store.c" \
	"$top/imapd/search.c" "$top/imapd/search_ret.c" "$L/imap/prange.c" \
	"$top/imapd/sort_parse.c" "$top/imapd/thread.c" "$L/imap/imapp.c" \
	"$L/imap/mutf7.c" "$L/imap/envelope.c" "$L/mail/mime_parse.c" \
	"$L/mail/mime_hdr.c" "$L/mail/mime_text.c" "$L/mail/date.c" \
	"$L/util/htab.c" $LIB
clang $CFLAGS -o "$out/fuzz_imapurl" "$here/fuzz_imapurl.c" \
	"$L/imap/imapurl.c" $LIB
clang $CFLAGS -I"$top/imapd" -o "$out/fuzz_notify" "$here/fuzz_notify.c" \
	"$top/imapd/imapd_notify_spec.c" "$top/imapd/fetch.c" "$L/imap/prange.c" \
	"$L/imap/imapp.c" "$L/imap/mutf7.c" "$L/imap/mboxname.c" \
	"$L/mail/mime_parse.c" "$L/mail/mime_hdr.c" "$L/mail/mime_text.c" \
	"$L/mail/date.c" $LIB
clang $CFLAGS -I"$top/imapd" -o "$out/fuzz_list" "$here/fuzz_list.c" \
	"$top/imapd/list_opts.c" "$L/imap/imapp.c" "$L/imap/mutf7.c" \
	"$L/imap/mboxname.c" "$L/imap/wild.c" $LIB
if [ "${1:-}" = run ]; then
	secs=${2:-60}
	for t in imapp mime snap wild login proxyp search sort imapurl notify \
	    list; do
		mkdir -p "$out/corpus-$t"
		"$out/fuzz_$t" -max_total_time="$secs" -max_len=8192 \
		    "$out/corpus-$t" "$here/corpus/$t"
	done
fi
