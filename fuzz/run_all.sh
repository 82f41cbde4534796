#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after the other, seeded from the
# real captures. Needs cargo-fuzz (`cargo install cargo-fuzz`); works on stable Rust through
# RUSTC_BOOTSTRAP=1. Prints libFuzzer's final statistics line per target.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
./seed_corpus.sh
export RUSTC_BOOTSTRAP=1
for t in decode_replies names text_parsers sim_request; do
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
    > "/tmp/fuzz-$t.log" 2>&1 || { echo "$t: FAILED (see /tmp/fuzz-$t.log)"; tail -40 "/tmp/fuzz-$t.log"; exit 1; }
  runs=$(grep -E '^stat::number_of_executed_units' "/tmp/fuzz-$t.log" | awk '{print $2}')
  echo "$t: ${runs:-?} executions in ${secs} s, no crash"
done
