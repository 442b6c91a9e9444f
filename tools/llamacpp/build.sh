#!/usr/bin/env bash
# Build llama.cpp's reference tools (llama-bench, llama-perplexity, llama-quantize, llama-cli, llama-gguf)
# from a pinned source tree: the llama.cpp copy inside PyPI's llama-cpp-python==0.3.36 sdist
# (vendor/llama.cpp = ggml-org/llama.cpp@0c1e57098 per that sdist's CHANGELOG). No llama.cpp code is
# copied into prunelab; the tree is unpacked under $PRUNELAB_HOME/llama.cpp/ and built there.
#
#   tools/llamacpp/build.sh            build (or do nothing when the binaries exist and the pin matches)
#   tools/llamacpp/build.sh --force    rebuild
#   tools/llamacpp/build.sh --print    print the bin folder only (exit 1 when not built)
#
# Environment: PRUNELAB_HOME (default ~/.cache/prunelab), JOBS (default 2).
# Layout:  $PRUNELAB_HOME/llama.cpp/{downloads/<sdist>, src/ (vendor/llama.cpp), build/, bin/, PIN}
set -euo pipefail

PKG=llama-cpp-python
VERSION=0.3.36
SDIST=llama_cpp_python-${VERSION}.tar.gz
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
LLAMA_CPP_COMMIT=0c1e57098          # from the sdist's CHANGELOG.md ("update llama.cpp to ggml-org/llama.cpp@0c1e57098")
# Essential targets first (what the comparison needs), then llama-cli (it pulls in the server library: slow).
TARGETS_CORE=(llama-bench llama-perplexity llama-quantize llama-gguf)
TARGETS_EXTRA=(llama-cli)
CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DGGML_NATIVE=ON -DGGML_OPENMP=ON
  -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF      # LLAMA_CURL is deprecated in this tree (a warning only); kept for older trees
  -DBUILD_SHARED_LIBS=OFF                   # static libllama/libggml: the binaries can be copied to bin/ and run from there
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=ON                 # llama-gguf lives in examples/gguf
  -DLLAMA_BUILD_SERVER=ON                   # llama-cli links llama-server-impl in this tree
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF   # no npm build, no Hugging Face download of the web UI
)

HOME_DIR="${PRUNELAB_HOME:-$HOME/.cache/prunelab}"
BASE="$HOME_DIR/llama.cpp"
BIN="$BASE/bin"
JOBS="${JOBS:-2}"

say() { echo "llamacpp-build: $*" >&2; }
die() { say "$*"; exit 1; }

FORCE=0
case "${1:-}" in
  --force) FORCE=1 ;;
  --print) for t in "${TARGETS_CORE[@]}"; do [ -x "$BIN/$t" ] || exit 1; done; echo "$BIN"; exit 0 ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (use --force, --print or --help)" ;;
esac

# The pin: everything that determines the binaries. A change to any part rebuilds.
PIN_TEXT="$PKG==$VERSION sha256=$SDIST_SHA256 llama.cpp@$LLAMA_CPP_COMMIT flags=${CMAKE_FLAGS[*]} targets=${TARGETS_CORE[*]} ${TARGETS_EXTRA[*]}"

all_built() {
  local t
  for t in "${TARGETS_CORE[@]}" "${TARGETS_EXTRA[@]}"; do
    [ -x "$BIN/$t" ] || [ -e "$BIN/$t.dropped" ] || return 1
  done
  return 0
}

if [ "$FORCE" = 0 ] && [ -f "$BASE/PIN" ] && [ "$(cat "$BASE/PIN")" = "$PIN_TEXT" ] && all_built; then
  say "up to date ($PKG==$VERSION, llama.cpp@$LLAMA_CPP_COMMIT)"
  echo "$BIN"
  exit 0
fi

for tool in cmake make c++ python3 tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "missing '$tool' (apt-get install cmake build-essential python3 python3-pip)"
done

mkdir -p "$BASE/downloads"
sdist="$BASE/downloads/$SDIST"
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SDIST_SHA256" ]; }

if ! sha_ok "$sdist"; then
  rm -f "$sdist"
  say "downloading $PKG==$VERSION (sdist, ~77 MB) from PyPI ..."
  python3 -m pip download --quiet --no-deps --no-binary :all: "$PKG==$VERSION" -d "$BASE/downloads" >&2 \
    || die "pip download failed"
  [ -f "$sdist" ] || die "pip did not produce $sdist"
  sha_ok "$sdist" || die "SHA-256 mismatch for $sdist: got $(sha256sum "$sdist" | cut -d' ' -f1), want $SDIST_SHA256"
fi
say "sdist verified: $SDIST sha256=$SDIST_SHA256"

# Unpack vendor/llama.cpp only (not the sdist's .git, whose commit would be llama-cpp-python's, not llama.cpp's).
if [ "$FORCE" = 1 ] || [ ! -f "$BASE/src/CMakeLists.txt" ] || [ "$(cat "$BASE/src/.pin" 2>/dev/null)" != "$SDIST_SHA256" ]; then
  rm -rf "$BASE/src" "$BASE/build"
  mkdir -p "$BASE/src"
  say "unpacking vendor/llama.cpp ..."
  tar -xzf "$sdist" -C "$BASE/src" --strip-components=3 "llama_cpp_python-$VERSION/vendor/llama.cpp"
  echo "$SDIST_SHA256" > "$BASE/src/.pin"
fi

# Drop targets this tree does not define (say so); a dropped target leaves bin/<name>.dropped.
have_target() { grep -rqsE "(add_executable\(|set\(TARGET +)$1[ )]" "$BASE/src/tools" "$BASE/src/examples"; }
core=() extra=()
rm -f "$BIN"/*.dropped 2>/dev/null || true
mkdir -p "$BIN"
for t in "${TARGETS_CORE[@]}"; do
  if have_target "$t"; then core+=("$t"); else say "target $t does not exist in this tree: dropped"; : > "$BIN/$t.dropped"; fi
done
for t in "${TARGETS_EXTRA[@]}"; do
  if have_target "$t"; then extra+=("$t"); else say "target $t does not exist in this tree: dropped"; : > "$BIN/$t.dropped"; fi
done

# GIT_CEILING_DIRECTORIES: llama.cpp's build-info runs `git rev-parse` in the source folder; stop it from
# finding an enclosing repository (the build info then says commit "unknown"; PIN records the real one).
export GIT_CEILING_DIRECTORIES="$BASE"
say "configuring (cmake ${CMAKE_FLAGS[*]}) ..."
cmake -S "$BASE/src" -B "$BASE/build" "${CMAKE_FLAGS[@]}" >"$BASE/cmake-configure.log" 2>&1 \
  || { tail -n 30 "$BASE/cmake-configure.log" >&2; die "cmake configure failed (log: $BASE/cmake-configure.log)"; }

start=$(date +%s)
say "building ${core[*]} with -j$JOBS (about 10 minutes on 2 idle cores; log: $BASE/build.log) ..."
cmake --build "$BASE/build" --config Release -j"$JOBS" --target "${core[@]}" >"$BASE/build.log" 2>&1 \
  || { tail -n 40 "$BASE/build.log" >&2; die "build failed (log: $BASE/build.log)"; }
for t in "${core[@]}"; do install -m 0755 "$BASE/build/bin/$t" "$BIN/$t"; done
say "core tools built in $(( $(date +%s) - start )) s"

if [ "${#extra[@]}" -gt 0 ]; then
  say "building ${extra[*]} (links the server library; several more minutes) ..."
  cmake --build "$BASE/build" --config Release -j"$JOBS" --target "${extra[@]}" >>"$BASE/build.log" 2>&1 \
    || { tail -n 40 "$BASE/build.log" >&2; die "build of ${extra[*]} failed (log: $BASE/build.log)"; }
  for t in "${extra[@]}"; do install -m 0755 "$BASE/build/bin/$t" "$BIN/$t"; done
fi

printf '%s\n' "$PIN_TEXT" > "$BASE/PIN"
say "done in $(( $(date +%s) - start )) s; binaries:"
for t in "${core[@]}" "${extra[@]}"; do say "  $BIN/$t"; done
echo "$BIN"
