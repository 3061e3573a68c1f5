#!/bin/bash -eu
# Builds pollcheck's fuzz targets into $OUT, with their seed corpora, for
# ClusterFuzzLite (inside its builder image, where $SRC and $OUT are set) or locally:
#
#   OUT=/tmp/cflite-out .clusterfuzzlite/build.sh      # from the repository root
#   /tmp/cflite-out/correct_futures -runs=1000000 -fork=2 -artifact_prefix=fuzz/artifacts/correct_futures/
#
# (libFuzzer writes crash-*, leak-* and timeout-* files to the current directory
# unless told otherwise: `-artifact_prefix` keeps them under fuzz/artifacts/.)
#
# The same targets as scripts/fuzz-smoke; see fuzz/Cargo.toml for what each checks.
if [[ -n "${SRC:-}" && -d "$SRC/pollcheck" ]]; then
    cd "$SRC/pollcheck"                 # ClusterFuzzLite's builder image
else
    cd "$(dirname "$0")/.."             # a checkout
fi
OUT="${OUT:-$PWD/fuzz/out}"
mkdir -p "$OUT"

# Locally, use the nightly toolchain; the builder image's default toolchain is nightly.
TOOLCHAIN=()
if [[ -z "${CFL_PLATFORM:-}${FUZZING_ENGINE:-}" ]] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    TOOLCHAIN=(+nightly)
fi

cargo "${TOOLCHAIN[@]}" fuzz build -O --debug-assertions

target_dir="fuzz/target/$(rustc "${TOOLCHAIN[@]}" -vV | sed -n 's/^host: //p')/release"
for target in $(cargo "${TOOLCHAIN[@]}" fuzz list); do
    cp "$target_dir/$target" "$OUT/"
    # A seed corpus travels as <target>_seed_corpus.zip next to the binary.
    if [[ -d "fuzz/corpus/$target" ]] && command -v zip >/dev/null; then
        (cd "fuzz/corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
    fi
done
# buggy_futures and streams_io leak scenarios after a panic on purpose (see
# scripts/fuzz-smoke).
for target in buggy_futures streams_io; do
    printf '[libfuzzer]\ndetect_leaks=0\n' > "$OUT/$target.options"
done
echo "built into $OUT: $(cargo "${TOOLCHAIN[@]}" fuzz list | tr '\n' ' ')"
