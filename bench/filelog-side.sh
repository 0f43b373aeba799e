# Shared setup of the side-by-side filelog drivers, bench/filelog-ab.sh and
# bench/filelog-vs-go.sh (sourced, not run): the tree and its expected line count, the
# loopback-only environment, a work directory and the processes to stop on exit, and the
# sinks' item count and a process's CPU ticks.
#
# Environment: TREE (a tree written by bench/filelog.sh, default the 100-byte 256M one),
# LOADGEN (default target/release/ferrotel-loadgen), SEED (the seed config).
LOADGEN=${LOADGEN:-$ROOT/target/release/ferrotel-loadgen}
TREE=${TREE:-/tmp/ferrotel-bench/pods-100B-256M-32pods}
SEED=${SEED:-$ROOT/../shared/configs/seed-agent-filelog.yaml}
[ -f "$TREE/manifest.json" ] || { echo "no tree at $TREE: run bench/filelog.sh first" >&2; exit 1; }
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9
expected=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['lines'])" "$TREE/manifest.json")
WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The item count of the sink whose stats are on 127.0.0.1:<port>.
items() { curl -sf "http://127.0.0.1:$1/stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["items"])'; }
# A process's user + system CPU ticks.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
