#!/usr/bin/env bash
# The Go binding's suite: builds libtrent (release) if needed, then gofmt, go vet and the
# tests of both modules (the core package trent and the SDK adapter awskms), plain, with
# -race, with GODEBUG=cgocheck=1, and in the forced-GC debug mode (build tag
# trent_gcdebug); the core package again with GOEXPERIMENT=cgocheck2; a bounded fuzz run
# of Decrypt; the benchmarks run once each (as a smoke test: the figures come from
# bench.sh). About a minute with warm caches, three from cold, once the library is built.
# TRENT_GO_PROVIDER=aws-lc links libtrent built on aws-lc-rs instead of ring (the default).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "run-tests.sh: go not found" >&2; exit 1; }

target=${CARGO_TARGET_DIR:-$root/target}
[[ $target == /* ]] || target="$root/$target"
fuzztime=${TRENT_GO_FUZZTIME:-10s}

step() { printf '\n== go: %s\n' "$*"; }

provider="${TRENT_GO_PROVIDER:-ring}"
features=()
case "$provider" in
  ring) ;;
  aws-lc) features=(--features aws-lc) ;;
  *) echo "TRENT_GO_PROVIDER must be ring or aws-lc, not $provider" >&2; exit 2 ;;
esac

step "build libtrent (release, $provider)"
(cd "$root" && cargo build --release -p trent-ffi --quiet "${features[@]}")
lib="$target/release/libtrent_ffi.a"
[[ -f $lib ]] || { echo "run-tests.sh: $lib missing" >&2; exit 1; }
# The library's directory comes first on the link line (the package's own -L points at
# <root>/target/release), and its hash is part of the C flags, so Go's build cache never
# links a stale libtrent.a.
export CGO_LDFLAGS="-L$target/release"
export CGO_CFLAGS="-O2 -g -DTRENT_LIBTRENT_SHA=$(sha256sum "$lib" | cut -c1-16)"

modules=("$here" "$here/awskms")

step "gofmt"
bad=$(gofmt -l "$here")
if [[ -n $bad ]]; then
  echo "gofmt would change:" >&2
  echo "$bad" >&2
  exit 1
fi

for m in "${modules[@]}"; do
  (
    cd "$m"
    name=$(go list -m)
    step "$name: go vet"
    go vet ./...
    go vet -tags trent_gcdebug ./...
    step "$name: go test"
    go test -count=1 ./...
    step "$name: go test -race"
    go test -count=1 -race ./...
    step "$name: GODEBUG=cgocheck=1"
    GODEBUG=cgocheck=1 go test -count=1 ./...
    step "$name: forced-GC debug mode (-tags trent_gcdebug)"
    go test -count=1 -tags trent_gcdebug ./...
  )
done

cd "$here"
# cgocheck=2 also checks every store of a Go pointer into C memory; it needs a runtime built
# for it (GOEXPERIMENT), so it runs once, on the package that has the cgo code.
step "GOEXPERIMENT=cgocheck2 (core package)"
GOEXPERIMENT=cgocheck2 go test -count=1 ./...

step "fuzz Decrypt for $fuzztime"
go test -run '^$' -fuzz '^FuzzDecrypt$' -fuzztime "$fuzztime" .

step "example: envelope"
go run -buildvcs=false ./examples/envelope

step "benchmarks, once each (smoke)"
go test -run '^$' -bench . -benchtime 1x . >/dev/null

step "Go binding: all passed"
