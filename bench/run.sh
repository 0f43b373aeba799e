#!/usr/bin/env bash
# Side-by-side benchmark of ferrotel, Rotel and the floor, each pinned to one core.
#
#   bench/run.sh            full run (about 25 minutes)
#   bench/run.sh --quick    smoke run (about 2-3 minutes)
#
# Environment (all optional):
#   BENCH_OUT=dir            results and logs (default /tmp/ferrotel-bench/<timestamp>)
#   BENCH_WORK=dir           venv and cached tools (default /tmp/ferrotel-bench)
#   BENCH_WINDOW=15          measured seconds per throughput scenario (after BENCH_WARMUP=3)
#   BENCH_STEADY=20          measured seconds of the 10k spans/s steady run
#   BENCH_OVERLOAD=60        seconds of the 2x overload run
#   BENCH_COLLECTORS=floor,rotel,ferrotel
#   BENCH_SCENARIOS=traces:grpc:none,...   instead of the signal x protocol x compression grid
#   BENCH_PARTS=throughput,steady,overload
#   BENCH_CONNECTIONS=4 BENCH_IN_FLIGHT=16 generator concurrency for throughput runs
#   BENCH_SKIP_BUILD=1       use the existing release binaries
#   FERROTEL=path            a ferrotel binary instead of target/release/ferrotel (scripts/build-pgo.sh's)
#   BENCH_NICE=-10           nice value of every benchmarked process (the machine may be shared)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# resource_detection: every metadata request of every ferrotel started here (a config that
# merely names a cloud detector included) goes to a closed port on 127.0.0.1, never to a
# metadata address; platform addresses the machine itself may carry are dropped.
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9
unset AWS_EC2_METADATA_SERVICE_ENDPOINT GCE_METADATA_HOST ECS_CONTAINER_METADATA_URI \
    ECS_CONTAINER_METADATA_URI_V4 KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT DOCKER_HOST
WORK="${BENCH_WORK:-/tmp/ferrotel-bench}"
OUT="${BENCH_OUT:-$WORK/$(date +%Y%m%d-%H%M%S)}"
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n 2,21p "$0"; exit 0 ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
mkdir -p "$WORK" "$OUT"

BENCH_PID=""
cleanup() {
  if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    wait "$BENCH_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

# --- tools -------------------------------------------------------------------------------
if ! command -v taskset >/dev/null; then
  echo "installing util-linux (taskset)" >&2
  apt-get update -qq && apt-get install -y -qq util-linux >/dev/null
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "needs at least 2 CPUs (collector on core 0, load on core 1)" >&2; exit 1
fi

ROTEL=""
if [[ ",${BENCH_COLLECTORS:-floor,rotel,ferrotel}," == *",rotel,"* ]]; then
  if [ ! -x "$WORK/venv/bin/python" ]; then python3 -m venv "$WORK/venv"; fi
  if ! "$WORK/venv/bin/python" -c 'import rotel' 2>/dev/null; then
    echo "installing rotel from PyPI" >&2
    "$WORK/venv/bin/pip" install -q rotel
  fi
  ROTEL="$("$WORK/venv/bin/python" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')"
  [ -x "$ROTEL" ] || { echo "rotel-agent not found at $ROTEL" >&2; exit 1; }
fi

# --- builds ------------------------------------------------------------------------------
cd "$ROOT"
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  cargo build --release -p ferrotel-loadgen
  cargo build --release -p ferrotel || echo "ferrotel does not build; benchmarking without it" >&2
fi
LOADGEN="$ROOT/target/release/ferrotel-loadgen"
FERROTEL="${FERROTEL:-$ROOT/target/release/ferrotel}"
FERROTEL_ARGS=()
if [ -x "$FERROTEL" ]; then
  # `validate` is informative only: the run itself is what the benchmark needs.
  "$FERROTEL" validate --config "$ROOT/bench/configs/ferrotel.yaml" >"$OUT/ferrotel-validate.log" 2>&1 \
    || echo "note: ferrotel validate failed (see $OUT/ferrotel-validate.log); running it anyway" >&2
  FERROTEL_ARGS=(--ferrotel "$FERROTEL" --ferrotel-config "$ROOT/bench/configs/ferrotel.yaml"
                 --ferrotel-overload-config "$ROOT/bench/configs/ferrotel-overload.yaml")
else
  echo "no ferrotel release binary; benchmarking without it" >&2
fi

# --- machine -----------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  if [ -n "$ROTEL" ]; then
    echo "rotel: $("$ROTEL" --version 2>&1 | head -1) (PyPI rotel $("$WORK/venv/bin/pip" show rotel 2>/dev/null | awk '/^Version/ {print $2}'))"
  fi
} | tee "$OUT/machine.txt" >&2

ARGS=(--loadgen "$LOADGEN" --out "$OUT" --nice "${BENCH_NICE:--10}" "${FERROTEL_ARGS[@]}")
if [ -n "$ROTEL" ]; then ARGS+=(--rotel "$ROTEL"); fi
ARGS+=(--collectors "${BENCH_COLLECTORS:-floor,rotel,ferrotel}"
       --parts "${BENCH_PARTS:-throughput,steady,overload}"
       --connections "${BENCH_CONNECTIONS:-4}" --in-flight "${BENCH_IN_FLIGHT:-16}")
if [ "$QUICK" = 1 ]; then
  ARGS+=(--scenarios "${BENCH_SCENARIOS:-traces:grpc:none,traces:grpc:gzip}"
         --warmup 2 --window "${BENCH_WINDOW:-6}" --steady "${BENCH_STEADY:-6}" --idle 2
         --overload "${BENCH_OVERLOAD:-10}")
else
  if [ -n "${BENCH_SCENARIOS:-}" ]; then ARGS+=(--scenarios "$BENCH_SCENARIOS"); fi
  ARGS+=(--warmup "${BENCH_WARMUP:-3}" --window "${BENCH_WINDOW:-15}" --steady "${BENCH_STEADY:-20}"
         --overload "${BENCH_OVERLOAD:-60}")
fi

python3 "$ROOT/bench/bench.py" "${ARGS[@]}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=""
echo "results: $OUT/results.md (raw: $OUT/results.json, logs: $OUT/*.log)" >&2
