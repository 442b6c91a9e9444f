#!/usr/bin/env bash
# Fault checks for the streaming pipeline's scratch and output folders that need root (a loop-free small tmpfs):
#   1. a read-only scratch folder: refused before loading, nothing written;
#   2. a scratch folder too small for the calibration activations: refused before loading, nothing written;
#   3. a read-only disk for the output folder: refused before loading.
# (A disk that fills while the activations are written fails the write with a message naming --scratch; that path is
# not triggered here, because a filler process cannot be timed reliably against the first window's write.)
# Prints each case's exit status and message; exits non-zero if a case misbehaves.
#   sudo tools/scale/fault_scratch.sh
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
[ "$(id -u)" = 0 ] || { echo "fault_scratch: needs root (mounts a small tmpfs)" >&2; exit 2; }
MNT="$(mktemp -d)"; OUTP="$(mktemp -d)"
cleanup() { umount "$MNT" 2>/dev/null; rmdir "$MNT"; rm -rf "$OUTP"; }
trap cleanup EXIT
bad=0
run() { "$PRUNELAB" prune --method wanda --sparsity 0.5 --no-track --streaming --out "$OUTP/out" "$@" 2>&1 >/dev/null | grep -v '^\[\|^prune\|WARNING' | tail -2; return "${PIPESTATUS[0]}"; }
expect_fail() {
  local name="$1"; shift
  msg="$(run "$@")"; status=$?
  echo "== $name: exit $status"; echo "$msg"
  if [ "$status" = 0 ]; then echo "   FAIL: the run succeeded"; bad=1; fi
  if [ -e "$OUTP/out" ] || ls -a "$OUTP" | grep -q partial; then echo "   FAIL: output left behind: $(ls -a "$OUTP")"; bad=1; fi
}
mount -t tmpfs -o size=8m tmpfs "$MNT"
mount -o remount,ro "$MNT"
expect_fail "read-only scratch" --nsamples 4 --seqlen 128 --scratch "$MNT"
mount -o remount,rw "$MNT"
expect_fail "scratch too small (8 MB for 64 x 512 x 576 fp32 = 75 MB)" --nsamples 64 --seqlen 512 --scratch "$MNT"
# A read-only output disk: the folder is refused before anything loads.
mkdir -p "$MNT/models"; mount -o remount,ro "$MNT"
msg="$("$PRUNELAB" prune --method wanda --sparsity 0.5 --no-track --streaming --nsamples 4 --seqlen 128 --out "$MNT/models/out" 2>&1 >/dev/null | tail -1)"; status=$?
echo "== read-only output folder: exit $status"; echo "$msg"
[ "$status" != 0 ] && [ ! -e "$MNT/models/out" ] || { echo "   FAIL"; bad=1; }
exit $bad
