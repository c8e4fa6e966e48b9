#!/usr/bin/env bash
# The coupling study's quick default (README, "Theorems 1 and 2 measured"): three β with
# independent noise (and the batch-size sweep), then β = 1 with shared noise. Runs are reused,
# so a second call only re-measures. Usage: scripts/coupling-quick.sh [extra flags for every call]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p experiments
bin=target/release/experiments
start=$(date +%s)
for beta in 0.5 0.75 1; do
  "$bin" coupling --beta "$beta" --batch-sweep 1,10,100,1000 "$@"
done
"$bin" coupling --beta 1 --shared-noise "$@"
echo "coupling quick default: $(( $(date +%s) - start )) s"
