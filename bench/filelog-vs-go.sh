#!/usr/bin/env bash
# ferrotel against the Go collector on the filelog seed pipeline (issue 6), measured in the
# same minutes: both run at once on the same core (core 0).
#
#   bench/filelog-vs-go.sh [ROUNDS]
#
# bench/filelog.sh runs Go and ferrotel one after the other. On this shared machine the
# speed moves +-15 % from minute to minute, so its Go ratio moves with it. Here, in each
# round, the Go collector reads the tree once (seed receiver and operators into otlphttp ->
# the OTLP sink, as bench/filelog.sh runs it). Meanwhile ferrotel runs the seed config
# over the same tree again and again, a fresh process each time, into the Loki sink. Both
# are pinned to core 0 and the sinks to core 1.
#
# Go's CPU per line is taken from its first delivered line to its last: its start-up is left
# out, as in bench/filelog.sh. ferrotel's is the median of its runs that ended while Go was
# still running. Each round prints both and Go/ferrotel, the "per CPU-s vs Go" ratio.
# Both share the core and its caches, so each one's CPU per line is higher than alone:
# compare the ratio.
#
# Environment: TREE (a tree written by bench/filelog.sh, default the 100-byte 256M one),
# GOCOL (default the otelcol-contrib bench/filelog.sh downloaded), LOADGEN, FERROTEL, SEED.
# Only 127.0.0.1 is used.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS=${1:-2}
FERROTEL=${FERROTEL:-$ROOT/target/release/ferrotel}
GOCOL=${GOCOL:-/tmp/ferrotel-bench/gocol/otelcol-contrib}
[ -x "$GOCOL" ] || { echo "no Go collector at $GOCOL: run bench/filelog.sh first or set GOCOL" >&2; exit 1; }
# shellcheck source=bench/filelog-side.sh
source "$ROOT/bench/filelog-side.sh"

# The two configs, made as bench/filelog.sh makes them.
python3 - "$ROOT/bench" "$SEED" "$TREE/pods" "$WORK" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import filelog
seed = open(sys.argv[2]).read()
open(f"{sys.argv[4]}/ferrotel.yaml", "w").write(filelog.ferrotel_config(seed, sys.argv[3]))
open(f"{sys.argv[4]}/go.yaml", "w").write(filelog.go_config(seed, sys.argv[3]))
EOF

per_line() { python3 -c "import sys;print(f'{1e4*int(sys.argv[1])/int(sys.argv[2]):.3f}')" "$1" "$2"; }

for r in $(seq "$ROUNDS"); do
  cat "$TREE"/pods/*/*/*.log > /dev/null
  taskset -c 1 "$LOADGEN" sink --grpc 127.0.0.1:14317 --http 127.0.0.1:14318 > /dev/null 2>&1 & so=$!
  PIDS=($so)
  for _ in $(seq 100); do items 14318 >/dev/null 2>&1 && break; sleep 0.1; done
  taskset -c 0 "$GOCOL" --config "$WORK/go.yaml" > "$WORK/go.log" 2>&1 & g=$!
  PIDS+=($g)
  g0="" l0=0 runs=()
  while :; do
    # One ferrotel run over the whole tree, into a fresh Loki sink.
    taskset -c 1 "$LOADGEN" loki-sink --listen 127.0.0.1:13100 > /dev/null 2>&1 & sl=$!
    for _ in $(seq 100); do items 13100 >/dev/null 2>&1 && break; sleep 0.1; done
    MY_POD_IP=127.0.0.1 taskset -c 0 "$FERROTEL" --config "$WORK/ferrotel.yaml" > "$WORK/f.log" 2>&1 & f=$!
    PIDS=($so $g $sl $f)
    while [ "$(items 13100)" -lt "$expected" ]; do
      kill -0 $f 2>/dev/null || { echo "ferrotel exited: $(tail -3 "$WORK/f.log")" >&2; exit 1; }
      if [ -z "$g0" ]; then
        n=$(items 14318); [ "$n" -gt 0 ] && { g0=$(cpu_ticks $g); l0=$n; }
      fi
      sleep 0.05
    done
    t=$(cpu_ticks $f)
    kill $f $sl; wait $f $sl 2>/dev/null || true
    gone=$(items 14318)
    # Only runs that ended while Go was still reading count.
    [ "$gone" -lt "$expected" ] && runs+=("$(per_line "$t" "$expected")")
    [ "$gone" -ge "$expected" ] && break
    kill -0 $g 2>/dev/null || { echo "Go exited: $(tail -3 "$WORK/go.log")" >&2; exit 1; }
  done
  g1=$(cpu_ticks $g)
  kill $g $so; wait 2>/dev/null || true
  [ -n "$g0" ] || { echo "round $r: Go delivered nothing while measured" >&2; exit 1; }
  go_us=$(per_line $((g1 - g0)) $((expected - l0)))
  python3 - "$r" "$go_us" "${runs[@]}" <<'EOF'
import statistics, sys
r, go = sys.argv[1], float(sys.argv[2])
runs = [float(x) for x in sys.argv[3:]]
if not runs:
    sys.exit(f"round {r}: no ferrotel run ended while Go was running")
f = statistics.median(runs)
print(f"round {r}: Go {go:.3f} us/line, ferrotel {f:.3f} us/line (median of {len(runs)} runs: "
      f"{', '.join(f'{x:.3f}' for x in runs)}), Go/ferrotel {go / f:.2f}x")
EOF
done
