#!/usr/bin/env bash
# Paired A/B of two ferrotel binaries on the filelog -> Loki seed pipeline (issue 6).
#
#   bench/filelog-ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# Both binaries run at the same time, pinned to the same core (core 0), each with its own
# `ferrotel-loadgen loki-sink` on core 1, over the same pre-written pod log tree. Sharing the
# core, both see the machine's speed of that minute: on this shared machine that speed moves
# +-15 % from minute to minute, more than most single changes, so runs one after the other
# cannot tell them apart, while the ratio of two runs side by side can. Each round prints
# both binaries' CPU microseconds per line (from /proc/<pid>/stat once their sink counted
# every line) and NEW/OLD; rounds alternate which binary starts first. The CPU per line of
# each is higher than alone (they share caches and the core): compare the ratios.
#
# Environment: TREE (a tree written by bench/filelog.sh, default the 100-byte 256M one),
# LOADGEN (default target/release/ferrotel-loadgen), SEED (the seed config).
# Only 127.0.0.0/8 is used: the two collectors listen on 127.0.0.2 and 127.0.0.3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 2 ] || { sed -n 2,17p "$0"; exit 2; }
OLD=$1; NEW=$2; ROUNDS=${3:-4}
# shellcheck source=bench/filelog-side.sh
source "$ROOT/bench/filelog-side.sh"

config() { # name loki-port -> config path: the seed with only paths, endpoints and self-metrics changed
  sed -e "s#/var/log/pods/\*/\*/\*.log#$TREE/pods/*/*/*.log#" \
      -e "s#http://loki.default.svc.cluster.local:3100/loki/api/v1/push#http://127.0.0.1:$2/loki/api/v1/push#" \
      -e "s#tempo.default.svc.cluster.local:4317#127.0.0.1:14399#" \
      -e "s#^service:#service:\n  telemetry:\n    metrics:\n      level: none#" "$SEED" > "$WORK/$1.yaml"
  echo "$WORK/$1.yaml"
}

round() { # first-binary second-binary -> "cpu_first cpu_second" (ticks)
  cat "$TREE"/pods/*/*/*.log > /dev/null
  taskset -c 1 "$LOADGEN" loki-sink --listen 127.0.0.1:13100 > /dev/null 2>&1 & local s1=$!
  taskset -c 1 "$LOADGEN" loki-sink --listen 127.0.0.1:13101 > /dev/null 2>&1 & local s2=$!
  PIDS=($s1 $s2)
  for _ in $(seq 100); do items 13100 >/dev/null 2>&1 && items 13101 >/dev/null 2>&1 && break; sleep 0.1; done
  MY_POD_IP=127.0.0.2 taskset -c 0 "$1" --config "$(config a 13100)" > "$WORK/a.log" 2>&1 & local a=$!
  MY_POD_IP=127.0.0.3 taskset -c 0 "$2" --config "$(config b 13101)" > "$WORK/b.log" 2>&1 & local b=$!
  PIDS+=($a $b)
  local ca="" cb=""
  while [ -z "$ca" ] || [ -z "$cb" ]; do
    if [ -z "$ca" ] && [ "$(items 13100)" -ge "$expected" ]; then ca=$(cpu_ticks $a); fi
    if [ -z "$cb" ] && [ "$(items 13101)" -ge "$expected" ]; then cb=$(cpu_ticks $b); fi
    kill -0 $a 2>/dev/null || { echo "$1 exited: $(tail -3 "$WORK/a.log")" >&2; exit 1; }
    kill -0 $b 2>/dev/null || { echo "$2 exited: $(tail -3 "$WORK/b.log")" >&2; exit 1; }
    sleep 0.1
  done
  kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true
  PIDS=()
  echo "$ca $cb"
}

ratios=()
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then read -r o n < <(round "$OLD" "$NEW"); else read -r n o < <(round "$NEW" "$OLD"); fi
  line=$(python3 -c "import sys;o,n,e=map(float,sys.argv[1:]);print(f'{1e4*o/e:.3f} {1e4*n/e:.3f} {n/o:.3f}')" "$o" "$n" "$expected")
  read -r uo un q <<<"$line"
  echo "round $r: old $uo us/line, new $un us/line, new/old $q"
  ratios+=("$q")
done
python3 -c "import statistics,sys;print(f'median new/old: {statistics.median(map(float,sys.argv[1:])):.3f}')" "${ratios[@]}"
