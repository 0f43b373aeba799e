#!/usr/bin/env bash
# OTTL benchmark (issue 10): OTLP logs through a `transform` with five typical statements vs
# the same pipeline without it (throughput, same run, ferrotel pinned to core 0), and
# `tail_sampling` with four policies at a fixed span rate (memory, losses).
#
#   bench/ottl.sh            3 runs per mode, 15 s windows (about 4 minutes)
#   bench/ottl.sh --quick    1 run per mode, 6 s windows
#
# Environment (all optional):
#   BENCH_OUT=dir          results and logs (default $BENCH_WORK/ottl-<timestamp>)
#   BENCH_WORK=dir         default /tmp/ferrotel-bench
#   OTTL_RUNS=3 OTTL_WINDOW=15
#   TAIL_RATE=50000        spans/s offered to tail_sampling
#   TAIL_NUM_TRACES=50000  its num_traces
#   BENCH_SKIP_BUILD=1     use the existing release binaries
#   BENCH_NICE=-10         nice value of every benchmarked process
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9
WORK="${BENCH_WORK:-/tmp/ferrotel-bench}"
OUT="${BENCH_OUT:-$WORK/ottl-$(date +%Y%m%d-%H%M%S)}"
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
} | tee "$OUT/machine.txt" >&2

RUNS="${OTTL_RUNS:-3}"; WINDOW="${OTTL_WINDOW:-15}"
if [ "$QUICK" = 1 ]; then RUNS="${OTTL_RUNS:-1}"; WINDOW="${OTTL_WINDOW:-6}"; fi
exec python3 "$ROOT/bench/ottl.py" --loadgen "$TARGET/release/ferrotel-loadgen" \
  --ferrotel "$TARGET/release/ferrotel" --out "$OUT" --runs "$RUNS" --window "$WINDOW" \
  --rate "${TAIL_RATE:-50000}" --num-traces "${TAIL_NUM_TRACES:-50000}" --nice "${BENCH_NICE:--10}"
