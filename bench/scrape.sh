#!/usr/bin/env bash
# Metrics-path benchmarks (issue 7), collector pinned to core 0, instruments on core 1:
# (a) scraping a target of 100,000 series every 10 s and remote-writing them: ferrotel
#     (prometheus receiver -> prometheusremotewrite) side by side with Prometheus in agent mode
#     and vmagent (Debian's packages) doing the same, CPU per 1M samples and peak RSS;
# (b) spanmetrics at 100k spans/s: ferrotel's CPU per span with and without the connector.
#
#   bench/scrape.sh            full run: 120 s windows, 3 runs each
#   bench/scrape.sh --quick    smoke run: 20,000 series every 5 s, 20 s windows, 1 run
#
# Environment (all optional):
#   BENCH_OUT=dir          results and logs (default $BENCH_WORK/scrape-<timestamp>)
#   BENCH_WORK=dir         default /tmp/ferrotel-bench
#   SCRAPE_SERIES=100000 SCRAPE_INTERVAL=10s SCRAPE_DURATION=120 SCRAPE_RUNS=3
#   SPAN_RATE=100000       spans/s for the spanmetrics part
#   BENCH_PARTS=remote-write,spanmetrics
#   BENCH_COLLECTORS=vmagent,prometheus-agent,ferrotel
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
OUT="${BENCH_OUT:-$WORK/scrape-$(date +%Y%m%d-%H%M%S)}"
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n 2,19p "$0"; exit 0 ;;
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

if [ "$(nproc)" -lt 2 ]; then
  echo "needs at least 2 CPUs (collector on core 0, instruments on core 1)" >&2; exit 1
fi
need=()
command -v taskset >/dev/null || need+=(util-linux)
command -v prometheus >/dev/null || need+=(prometheus)
command -v vmagent >/dev/null || need+=(victoria-metrics)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
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
  echo "prometheus: $(prometheus --version 2>&1 | head -1)"
  echo "vmagent: $(dpkg-query -W -f '${Version}' victoria-metrics 2>/dev/null || echo unknown)"
} | tee "$OUT/machine.txt" >&2

if [ "$QUICK" = 1 ]; then
  SERIES="${SCRAPE_SERIES:-20000}"; INTERVAL="${SCRAPE_INTERVAL:-5s}"
  DURATION="${SCRAPE_DURATION:-20}"; RUNS="${SCRAPE_RUNS:-1}"; WINDOW=10
else
  SERIES="${SCRAPE_SERIES:-100000}"; INTERVAL="${SCRAPE_INTERVAL:-10s}"
  DURATION="${SCRAPE_DURATION:-120}"; RUNS="${SCRAPE_RUNS:-3}"; WINDOW=20
fi
python3 "$ROOT/bench/scrape.py" --loadgen "$TARGET/release/ferrotel-loadgen" \
  --ferrotel "$TARGET/release/ferrotel" --out "$OUT" \
  --parts "${BENCH_PARTS:-remote-write,spanmetrics}" \
  --collectors "${BENCH_COLLECTORS:-vmagent,prometheus-agent,ferrotel}" \
  --series "$SERIES" --interval "$INTERVAL" --duration "$DURATION" --runs "$RUNS" \
  --span-rate "${SPAN_RATE:-100000}" --span-window "$WINDOW" --nice "${BENCH_NICE:--10}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=""
echo "results: $OUT/results.md (raw: $OUT/results.json, configs and logs: $OUT/)" >&2
