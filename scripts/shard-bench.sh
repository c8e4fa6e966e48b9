#!/usr/bin/env bash
# One run sharded over MPI processes against one process, on this machine (docs/cluster.md,
# "Measured"): for each width, alternating, one process with all threads, then S processes with
# one thread each (and S = 1 under mpirun, the sharded path alone). Prints the step time (from
# summary.json: training time only), the logits' exchange share of the lead's step time, and
# each process's peak resident memory.
#
#   scripts/shard-bench.sh [WIDTHS...]        default: 100000 400000
#   SHARDS=2 STEPS=40 REPEATS=2 scripts/shard-bench.sh 100000
#
# Needs: the binary built with MPI (cargo build --release -p experiments --features mpi),
# mpirun, /usr/bin/time (Debian: time), MNIST in data/mnist.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/experiments
shards=${SHARDS:-2}
steps=${STEPS:-40}
repeats=${REPEATS:-2}
threads=$(nproc)
widths=("${@:-100000 400000}")
[ $# -eq 0 ] && widths=(100000 400000)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lscpu | grep -E "Model name|^CPU\(s\)" | sed 's/^/# /'
echo "width,processes,threads_each,seconds_per_step,exchange_share,peak_rss_mb_per_process"
for width in "${widths[@]}"; do
  args=(mnist --width "$width" --beta 0.75 --steps "$steps" --train-subset 2000 --test-subset 500
        --eval-every 0 --force)
  for rep in $(seq "$repeats"); do
    for case in single mpi1 sharded; do
      out="$tmp/$case"
      case $case in
        single) n=1; each=$threads
          /usr/bin/time -f "rss %M" -o "$tmp/rss" "$bin" "${args[@]}" --out "$out" \
            >/dev/null 2>"$tmp/err"
          share=""; rss=$(awk '{print int($2/1024)}' "$tmp/rss") ;;
        mpi1|sharded)
          if [ $case = mpi1 ]; then n=1; each=$threads; else n=$shards; each=1; fi
          # --bind-to none: Open MPI binds each process to one core by default, which would
          # confine a multithreaded process to a single core.
          mpirun --oversubscribe --bind-to none -n "$n" -x RAYON_NUM_THREADS="$each" \
            /usr/bin/time -f "rss %M" "$bin" "${args[@]}" --out "$out" >/dev/null 2>"$tmp/err"
          share=$(grep -o '([0-9.]*%' "$tmp/err" | tr -d '(%' | head -1)
          rss=$(grep '^rss' "$tmp/err" | awk '{printf "%s%d", sep, $2/1024; sep="/"}') ;;
      esac
      sps=$(python3 -c "import json,sys; print(round(1/json.load(open(sys.argv[1]))['steps_per_second'],4))" "$out/summary.json")
      echo "$width,$n,$each,$sps,${share:+$share%},$rss"
    done
  done
done
