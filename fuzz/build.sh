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
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -I$out -I$top/lib"
LIB="$top/lib/buf.c $top/lib/xalloc.c $top/lib/log.c"
clang $CFLAGS -o "$out/fuzz_imapp" "$here/fuzz_imapp.c" "$top/lib/imapp.c" $LIB
clang $CFLAGS -o "$out/fuzz_mime" "$here/fuzz_mime.c" "$top/lib/mime_parse.c" \
	"$top/lib/mime_hdr.c" "$top/lib/mime_envelope.c" "$top/lib/imapp.c" $LIB
clang $CFLAGS -o "$out/fuzz_snap" "$here/fuzz_snap.c" "$top/lib/snap.c" \
	"$top/lib/ipc.c" "$top/lib/notify.c" "$top/lib/cfg.c" \
	"$top/lib/cfg_keys.c" $LIB
clang $CFLAGS -o "$out/fuzz_wild" "$here/fuzz_wild.c" "$top/lib/wild.c" \
	"$top/lib/mboxname.c" $LIB
clang $CFLAGS -o "$out/fuzz_login" "$here/fuzz_login.c" "$top/lib/imapp.c" \
	"$top/lib/uname.c" "$top/lib/mboxname.c" $LIB
if [ "${1:-}" = run ]; then
	secs=${2:-60}
	for t in imapp mime snap wild login; do
		mkdir -p "$out/corpus-$t"
		"$out/fuzz_$t" -max_total_time="$secs" -max_len=8192 \
		    "$out/corpus-$t" "$here/corpus/$t"
	done
fi
