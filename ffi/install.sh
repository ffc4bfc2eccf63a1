#!/usr/bin/env bash
# Installs libtrent_ffi into PREFIX: lib/libtrent_ffi.a, lib/libtrent_ffi.so, include/trent.h and
# lib/pkgconfig/trent.pc (then `pkg-config --cflags --libs trent`, or `--static`).
#
#   ffi/install.sh PREFIX [PROFILE] [CARGO ARGS...]
#       PROFILE: release (default) or debug; CARGO ARGS, e.g. `--features aws-lc`.
#
# Builds the library first (cargo build -p trent-ffi, with --release for the release profile).
set -euo pipefail
prefix="${1:?usage: ffi/install.sh PREFIX [PROFILE]}"
profile="${2:-release}"
shift $(($# < 2 ? $# : 2))
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$profile" in
release) (cd "$root" && cargo build -p trent-ffi --release --quiet "$@") ;;
debug) (cd "$root" && cargo build -p trent-ffi --quiet "$@") ;;
*) echo "install.sh: PROFILE is release or debug" >&2; exit 2 ;;
esac
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0644 "$target/$profile/libtrent_ffi.a" "$prefix/lib/libtrent_ffi.a"
install -m 0755 "$target/$profile/libtrent_ffi.so" "$prefix/lib/libtrent_ffi.so"
install -m 0644 "$here/include/trent.h" "$prefix/include/trent.h"
sed "s|@PREFIX@|$prefix|" "$here/trent.pc.in" >"$prefix/lib/pkgconfig/trent.pc"
echo "installed libtrent_ffi into $prefix"
