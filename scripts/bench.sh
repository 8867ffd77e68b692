#!/usr/bin/env bash
# Runs every bench (tick, agenda, import) in release mode and prints one
# table: figure, measured, target, verdict. Each bench prints its figures as
# BENCH<TAB>figure<TAB>measured<TAB>target<TAB>verdict lines; the rest of
# their output (seeding times, medians, min/max) goes to target/bench.log.
#
#   scripts/bench.sh                       # 100k and 1M registers (minutes)
#   LICWATCH_BENCH_SMALL=1 scripts/bench.sh   # skip the 1M registers
#
# Timings depend on the machine and its load; the ratios and peak memory
# are what the targets are about. The header line says when and where.
set -euo pipefail
cd "$(dirname "$0")/.."
log=target/bench.log
mkdir -p target
: >"$log"
for bench in tick agenda import web; do
    echo "running the $bench bench..." >&2
    cargo bench --bench "$bench" >>"$log" 2>&1 || {
        echo "the $bench bench failed; see $log" >&2
        exit 1
    }
done
cores=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg)
model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), ${model:-unknown CPU}, $cores cores, load $load"
{
    printf 'figure\tmeasured\ttarget\tverdict\n'
    grep '^BENCH' "$log" | cut -f2-
} | column -t -s $'\t'
