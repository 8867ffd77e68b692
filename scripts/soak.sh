#!/usr/bin/env bash
# The time-lapse soak (tests/it/soak): three simulated years by default,
# with faults (mail port closed for a week, webhook 429 and 5xx, SIGKILL).
#
#   scripts/soak.sh                     # 1095 days, seed 1, faults on
#   DAYS=365 SEED=7 scripts/soak.sh     # another horizon or register
#   FAULTS=0 scripts/soak.sh            # no faults
#   KILLS=60 scripts/soak.sh            # how many runs of the binary to kill
#
# The totals are printed on stderr; the test fails if any alert is missing,
# extra, duplicated outside the send-then-crash window, late without a
# fault, on a day off without cause, or sent after its obligation was done.
# CI runs the same test with a 120-day horizon.
set -euo pipefail
cd "$(dirname "$0")/.."
export LICWATCH_SLOW_TESTS=1
export LICWATCH_SOAK_DAYS="${DAYS:-1095}"
export LICWATCH_SOAK_SEED="${SEED:-1}"
export LICWATCH_SOAK_FAULTS="${FAULTS:-1}"
if [ -n "${KILLS:-}" ]; then export LICWATCH_SOAK_KILLS="$KILLS"; fi
exec cargo test --test it soak::time_lapse -- --nocapture --test-threads 1
