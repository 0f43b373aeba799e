# Shared preamble of the side-by-side benchmark drivers (sourced, not run): the loopback-only
# environment, the results directory, `--quick`/`--help`, the two-core check, the release
# build and the machine facts. A driver sets NAME and HELP_LINES, sources this file with its
# arguments, then runs its Python part.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# resource_detection: every metadata request of every ferrotel started here goes to a closed
# port on 127.0.0.1, never to a metadata address; platform addresses the machine may carry
# are dropped.
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9
unset AWS_EC2_METADATA_SERVICE_ENDPOINT GCE_METADATA_HOST ECS_CONTAINER_METADATA_URI \
    ECS_CONTAINER_METADATA_URI_V4 KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT DOCKER_HOST
WORK="${BENCH_WORK:-/tmp/ferrotel-bench}"
OUT="${BENCH_OUT:-$WORK/$NAME-$(date +%Y%m%d-%H%M%S)}"
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n "2,${HELP_LINES}p" "$0"; exit 0 ;;
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
  echo "results file system: $(df -T "$OUT" | awk 'NR==2 {print $2}')"
} | tee "$OUT/machine.txt" >&2
