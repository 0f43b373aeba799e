#!/usr/bin/env bash
# Persistent sending queue benchmark (issue 9): ferrotel's items/s and CPU per item with the
# in-memory sending queue vs `sending_queue.storage: file_storage` in the same run, at a
# fixed rate (default 50,000 spans/s). ferrotel pinned to core 0, load and sink on core 1.
#
#   bench/pqueue.sh            3 runs per mode, 20 s windows (about 3 minutes)
#   bench/pqueue.sh --quick    1 run per mode, 8 s windows
#
# Environment (all optional):
#   BENCH_OUT=dir          results and logs (default $BENCH_WORK/pqueue-<timestamp>)
#   BENCH_WORK=dir         default /tmp/ferrotel-bench
#   PQ_RATE=50000          spans/s offered
#   PQ_RUNS=3 PQ_WINDOW=20 runs per mode, measured seconds per run
#   PQ_BATCH='{}'          the batch processor's settings (YAML flow map)
#   BENCH_SKIP_BUILD=1     use the existing release binaries
#   BENCH_NICE=-10         nice value of every benchmarked process
set -euo pipefail

NAME=pqueue
HELP_LINES=16
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS="${PQ_RUNS:-3}"; WINDOW="${PQ_WINDOW:-20}"
if [ "$QUICK" = 1 ]; then RUNS="${PQ_RUNS:-1}"; WINDOW="${PQ_WINDOW:-8}"; fi
exec python3 "$ROOT/bench/pqueue.py" --loadgen "$TARGET/release/ferrotel-loadgen" \
  --ferrotel "$TARGET/release/ferrotel" --out "$OUT" --rate "${PQ_RATE:-50000}" \
  --runs "$RUNS" --window "$WINDOW" --batch "${PQ_BATCH:-{\}}" --nice "${BENCH_NICE:--10}"
