#!/usr/bin/env bash
# cargo-fuzz (libFuzzer) over every parser a user feeds: licence numbers,
# USCC, service numbers (and the small vocabularies), dates, the config file
# and holiday files, and the import readers (sheet_csv, sheet_xlsx,
# sheet_json), which run under a 256 MB RSS limit: a hostile file must be
# refused within it. Each target runs for SECONDS_EACH seconds (default 300)
# from the committed seeds in fuzz/seeds/<target> into fuzz/corpus/<target>
# (not committed); a crash leaves its input in fuzz/artifacts/<target>.
#
#   scripts/fuzz.sh                          # all targets, 5 minutes each
#   SECONDS_EACH=3600 TARGETS="config date" scripts/fuzz.sh
#
# libFuzzer needs a nightly toolchain. Without one, the same properties run
# as proptest with many cases (tests/it/fuzz.rs, which CI runs with fewer).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${SECONDS_EACH:-300}"
TARGETS="${TARGETS:-licence_no uscc service_number date config holidays sheet_csv sheet_xlsx sheet_json}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz: no nightly toolchain; running the proptest versions with 200000 cases each" >&2
    LICWATCH_FUZZ_CASES="${CASES:-200000}" exec cargo test --release --test it fuzz:: -- --skip admin_commands
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cd fuzz
for target in $TARGETS; do
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    started=$(date +%s)
    rss=2048
    case "$target" in sheet_*) rss=256 ;; esac
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" -print_final_stats=1 >"$log" 2>&1 || {
        tail -40 "$log"
        echo "fuzz: $target FAILED: see fuzz/artifacts/$target" >&2
        exit 1
    }
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target: $runs runs in $(( $(date +%s) - started )) s, corpus $(ls "corpus/$target" | wc -l) inputs"
    rm -f "$log"
done
