#!/usr/bin/env bash
# Fuzzes Smelt's parsers (issue 17): builds every cargo-fuzz target in fuzz/,
# runs each for FUZZ_SECONDS, and merges what it found into the committed,
# minimised corpus under fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh                    # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh search_grammar csv_reader
#   scripts/fuzz.sh --list             # the targets
#
# Settings (environment):
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_MAX_LEN    longest input tried and kept, bytes (default 4096): keeps
#                   the corpus small enough to commit
#   FUZZ_SANITIZER  none (default) or address; Smelt has no unsafe code, so
#                   AddressSanitizer mostly costs build time
#   FUZZ_RSS_MB     memory limit per target process (default 2048)
#   FUZZ_FEATURES   build only these target groups (data, tracking, serving,
#                   specs; comma-separated): the readers build in minutes,
#                   the rest needs Burn and the whole workspace
#   FUZZ_NO_BUILD   1: run the binaries of the last build as they are
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). It passes nightly
# flags to rustc; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
# Builds are release builds with debug assertions (`-O -a`), so an integer
# overflow is a finding too. A crash stops that target only; its input is
# left in fuzz/artifacts/<target>/ and the script exits 1 at the end. Fix
# it with a regression test next to the code, then delete the artifact.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
MAX_LEN="${FUZZ_MAX_LEN:-4096}"
SANITIZER="${FUZZ_SANITIZER:-none}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
export RUSTC_BOOTSTRAP=1

cd "$FUZZ"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
mapfile -t ALL < <(cargo fuzz list)
if [ "${1:-}" = "--list" ]; then
    printf '%s\n' "${ALL[@]}"
    exit 0
fi
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
for target in "${TARGETS[@]}"; do
    printf '%s\n' "${ALL[@]}" | grep -qx "$target" || {
        echo "unknown target '$target'; the targets are: ${ALL[*]}" >&2
        exit 2
    }
done

if [ "${FUZZ_NO_BUILD:-0}" = 1 ]; then
    echo "using the targets as last built (FUZZ_NO_BUILD=1)"
elif [ -n "${FUZZ_FEATURES:-}" ]; then
    echo "building the targets of features $FUZZ_FEATURES (release, debug assertions, sanitizer: $SANITIZER)…"
    cargo fuzz build -O -a --sanitizer "$SANITIZER" --no-default-features --features "$FUZZ_FEATURES"
else
    echo "building every target (release, debug assertions, sanitizer: $SANITIZER)…"
    cargo fuzz build -O -a --sanitizer "$SANITIZER"
fi
BIN="$FUZZ/target/$(rustc -vV | sed -n 's/^host: //p')/release"

SUMMARY="$FUZZ/target/fuzz-summary.tsv"
[ -f "$SUMMARY" ] || printf 'date\ttarget\tseconds\truns\tcorpus_files\tcorpus_bytes\tresult\n' >"$SUMMARY"
failed=()
for target in "${TARGETS[@]}"; do
    corpus="$FUZZ/corpus/$target"
    found="$FUZZ/target/found/$target"
    artifacts="$FUZZ/artifacts/$target"
    log="$FUZZ/target/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    rm -rf "$found" && mkdir -p "$found"
    if [ ! -x "$BIN/$target" ]; then
        echo "== $target: not built (see FUZZ_FEATURES)" >&2
        failed+=("$target")
        continue
    fi
    echo "== $target: ${SECONDS_EACH}s"
    # New inputs go to the first folder ($found); the corpus is read only.
    result=ok
    if ! "$BIN/$target" "$found" "$corpus" \
        -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -timeout=10 \
        -rss_limit_mb="$RSS_MB" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        result=crash
        failed+=("$target")
        grep -E "panicked at|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -8 >&2 || true
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    # Merge into a fresh folder: keeps only inputs that add coverage.
    merged="$FUZZ/target/merged/$target"
    rm -rf "$merged" && mkdir -p "$merged"
    "$BIN/$target" -merge=1 -max_len="$MAX_LEN" -timeout=10 -rss_limit_mb="$RSS_MB" \
        "$merged" "$corpus" "$found" >>"$log" 2>&1 || true
    if [ -n "$(ls -A "$merged")" ]; then
        # Seeds (seed-*) stay: they document what valid input looks like.
        find "$corpus" -type f ! -name 'seed-*' -delete
        find "$merged" -type f -size -"$((MAX_LEN + 1))"c -exec cp -n {} "$corpus"/ \;
        # The merge names files by their SHA-1: drop the copies of the seeds.
        for seed in "$corpus"/seed-*; do
            if [ -f "$seed" ]; then rm -f "$corpus/$(sha1sum "$seed" | cut -c1-40)"; fi
        done
    fi
    files="$(find "$corpus" -type f | wc -l)"
    bytes="$(du -sb "$corpus" | cut -f1)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$SECONDS_EACH" \
        "${runs:-0}" "$files" "$bytes" "$result" >>"$SUMMARY"
    echo "   $result: ${runs:-0} runs, corpus $files files ($bytes bytes); log $log"
done

echo "summary of every run so far: $SUMMARY"
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed or not built: ${failed[*]} (crash inputs under fuzz/artifacts/)" >&2
    exit 1
fi
