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

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9
WORK="${BENCH_WORK:-/tmp/ferrotel-bench}"
OUT="${BENCH_OUT:-$WORK/pqueue-$(date +%Y%m%d-%H%M%S)}"
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
mkdir -p "$WORK" "$OUT"
command -v taskset >/dev/null || { apt-get update -qq && apt-get install -y -qq util-linux >/dev/null; }
if [ "$(nproc)" -lt 2 ]; then
  echo "needs at least 2 CPUs (collector on core 0, load on core 1)" >&2; exit 1
fi

cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  cargo build --release -p ferrotel-loadgen -p ferrotel
fi
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "queue directory file system: $(df -T "$OUT" | awk 'NR==2 {print $2}')"
} | tee "$OUT/machine.txt" >&2

RUNS="${PQ_RUNS:-3}"; WINDOW="${PQ_WINDOW:-20}"
if [ "$QUICK" = 1 ]; then RUNS="${PQ_RUNS:-1}"; WINDOW="${PQ_WINDOW:-8}"; fi
exec python3 "$ROOT/bench/pqueue.py" --loadgen "$TARGET/release/ferrotel-loadgen" \
  --ferrotel "$TARGET/release/ferrotel" --out "$OUT" --rate "${PQ_RATE:-50000}" \
  --runs "$RUNS" --window "$WINDOW" --batch "${PQ_BATCH:-{\}}" --nice "${BENCH_NICE:--10}"
