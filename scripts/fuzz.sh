#!/usr/bin/env bash
# cargo-fuzz (libFuzzer) over every parser a user feeds: licence numbers,
# USCC, service numbers (and the small vocabularies), dates, the config file
# and holiday files, and the import readers (sheet_csv, sheet_xlsx,
# sheet_json), which run under a 256 MB RSS limit: a hostile file must be
# refused within it. Each target runs for SECONDS_EACH seconds (default 300)
# from the committed seeds in fuzz/seeds/<target> into fuzz/corpus/<target>
# (not committed); a crash leaves its input in fuzz/artifacts/<target>.
# sheet_xlsx reads any workbook (xlsx, xls, ods: calamine tells them by
# their bytes); the runs sheet_xls and sheet_ods fuzz the same binary from
# the .xls or .ods seeds alone, so that the run stays in that format's
# reader rather than drifting to the zip readers.
#
#   scripts/fuzz.sh                          # all targets, 5 minutes each
#   SECONDS_EACH=3600 TARGETS="config date" scripts/fuzz.sh
#
# libFuzzer needs a nightly toolchain. Without one, the same properties run
# as proptest with many cases (tests/it/fuzz.rs, which CI runs with fewer):
# the import readers on their seeds mutated as a fuzzer mutates them, under
# a 1 GiB address-space limit (a file the caps let through into a large
# allocation aborts the run), then the parsers. Without cargo-fuzz, the
# targets are built with the flags cargo-fuzz passes (coverage, no
# sanitizer) and run directly.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${SECONDS_EACH:-300}"
TARGETS="${TARGETS:-licence_no uscc service_number date config holidays sheet_csv sheet_xlsx sheet_xls sheet_ods sheet_json}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cases="${CASES:-200000}"
    echo "fuzz: no nightly toolchain; running the proptest versions with $cases cases each" >&2
    LICWATCH_FUZZ_CASES="$cases" \
        CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="prlimit --as=1073741824 --" \
        cargo test --release --test it fuzz::the_import_readers
    LICWATCH_FUZZ_CASES="$cases" exec cargo test --release --test it fuzz:: -- \
        --skip admin_commands --skip the_import_readers
fi

triple=x86_64-unknown-linux-gnu
if command -v cargo-fuzz >/dev/null; then
    build() { cargo +nightly fuzz build "$1"; }
else
    echo "fuzz: no cargo-fuzz; building the targets with its flags, without a sanitizer" >&2
    build() {
        RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow_checks" \
            cargo +nightly build --release --target "$triple" --bin "$1"
    }
fi

cd fuzz
for target in $TARGETS; do
    mkdir -p "corpus/$target" "artifacts/$target"
    binary="$target"
    seeds="seeds/$target"
    case "$target" in
    sheet_xls | sheet_ods)
        binary=sheet_xlsx
        seeds="$(mktemp -d)"
        cp seeds/sheet_xlsx/*."${target#sheet_}" "$seeds/"
        ;;
    esac
    log="$(mktemp)"
    build "$binary" >"$log" 2>&1 || {
        tail -40 "$log"
        echo "fuzz: $target does not build" >&2
        exit 1
    }
    started=$(date +%s)
    rss=2048
    case "$target" in sheet_*) rss=256 ;; esac
    # An input that takes 10 s is a finding (the default is 20 minutes).
    "target/$triple/release/$binary" "corpus/$target" "$seeds" \
        -artifact_prefix="artifacts/$target/" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb="$rss" -malloc_limit_mb="$rss" -print_final_stats=1 >"$log" 2>&1 || {
        tail -40 "$log"
        echo "fuzz: $target FAILED: see fuzz/artifacts/$target" >&2
        exit 1
    }
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target: $runs runs in $(( $(date +%s) - started )) s, corpus $(ls "corpus/$target" | wc -l) inputs"
    rm -f "$log"
done
