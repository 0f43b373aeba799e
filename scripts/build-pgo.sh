#!/usr/bin/env bash
# Builds ferrotel with profile-guided optimisation (PGO): an instrumented build runs the
# workloads the benchmarks measure, and the release build is then laid out and inlined for
# what those runs did most.
#
#   scripts/build-pgo.sh            -> target/pgo/release/ferrotel
#
# Training, all on 127.0.0.1 (a few minutes): the node agent's logs path
# (shared/configs/seed-agent-filelog.yaml, filelog -> resource -> loki, over 100-byte and
# 1 KiB containerd lines) and the OTLP gateway path (bench/configs/ferrotel.yaml: traces,
# logs and metrics over gRPC and HTTP, with and without gzip, through batch to OTLP/gRPC).
# A path the training does not run is laid out as cold code, so it is not slower than
# plain `-O3` code in practice, but it gains nothing.
#
# Needs the `llvm-tools` rustup component (installed here when missing) for llvm-profdata.
# Environment: PGO_WORK=dir (default /tmp/ferrotel-pgo) for the profiles and the trees;
# PGO_PROFILES, PGO_GEN_DIR, PGO_USE_DIR to put the raw profiles and the two target
# directories elsewhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${PGO_WORK:-/tmp/ferrotel-pgo}"
SEED="${PGO_SEED_CONFIG:-$ROOT/../shared/configs/seed-agent-filelog.yaml}"
PROFILES="${PGO_PROFILES:-$WORK/profiles}"
GEN_DIR="${PGO_GEN_DIR:-$ROOT/target/pgo-gen}"
USE_DIR="${PGO_USE_DIR:-$ROOT/target/pgo}"
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9

say() { echo "build-pgo: $*" >&2; }

sysroot="$(rustc --print sysroot)"
host="$(rustc -vV | awk '/^host:/ {print $2}')"
PROFDATA="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$PROFDATA" ]; then
  say "installing the llvm-tools rustup component (llvm-profdata)"
  rustup component add llvm-tools
fi
[ -f "$SEED" ] || { say "no seed config at $SEED (set PGO_SEED_CONFIG)"; exit 1; }

rm -rf "$PROFILES"
mkdir -p "$PROFILES" "$WORK"

# The load generator and sinks are the plain release build: instrumented, they would add
# their own use of the shared crates (pdata, compression) to the profile.
say "load generator (target/release)"
cargo build --release -p ferrotel-loadgen
LOADGEN="$ROOT/target/release/ferrotel-loadgen"
say "instrumented build ($GEN_DIR)"
RUSTFLAGS="-Cprofile-generate=$PROFILES" \
  cargo build --release -p ferrotel --target-dir "$GEN_DIR"
BIN="$GEN_DIR/release/ferrotel"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  say "nothing listens on 127.0.0.1:$1"; return 1
}

sink_items() {
  curl -sf "http://127.0.0.1:$1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"])'
}

# --- the node agent: filelog -> loki ---------------------------------------------------
for msg in 100 1024; do
  tree="$WORK/pods-$msg"
  if [ ! -f "$tree/manifest.json" ]; then
    "$LOADGEN" gen-pod-logs --root "$tree" --size 48M --message-size "$msg" >/dev/null
  fi
  expected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lines"])' "$tree/manifest.json")
  # The seed pointed at the tree and at loopback, as bench/filelog.sh makes it (each string
  # replaced checked to occur once); its Loki endpoint is 127.0.0.1:13100.
  python3 - "$ROOT/bench" "$SEED" "$tree/pods" "$WORK/agent.yaml" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import filelog
open(sys.argv[4], "w").write(filelog.ferrotel_config(open(sys.argv[2]).read(), sys.argv[3]))
EOF
  "$LOADGEN" loki-sink --listen 127.0.0.1:13100 >/dev/null 2>&1 & PIDS+=($!)
  wait_port 13100
  MY_POD_IP=127.0.0.1 "$BIN" --config "$WORK/agent.yaml" >"$WORK/agent-$msg.log" 2>&1 & A=$!
  PIDS+=($A)
  say "filelog -> loki over $expected lines of $msg bytes"
  until [ "$(sink_items 13100 || echo 0)" -ge "$expected" ]; do
    kill -0 "$A" 2>/dev/null || { say "ferrotel stopped; see $WORK/agent-$msg.log"; exit 1; }
    sleep 0.2
  done
  kill -TERM "$A"; wait "$A" || true
  cleanup; PIDS=()
done

# --- the gateway: OTLP in, batch, OTLP/gRPC out ---------------------------------------
"$LOADGEN" sink --grpc 127.0.0.1:14317 --http 127.0.0.1:14318 >/dev/null 2>&1 & PIDS+=($!)
wait_port 14317
"$BIN" --config "$ROOT/bench/configs/ferrotel.yaml" >"$WORK/gateway.log" 2>&1 & G=$!
PIDS+=($G)
wait_port 4317
wait_port 4318
for signal in traces logs metrics; do
  for proto in grpc http; do
    for comp in none gzip; do
      port=4317; [ "$proto" = http ] && port=4318
      say "otlp $signal over $proto, compression $comp"
      "$LOADGEN" gen "$signal" --protocol "$proto" --endpoint "127.0.0.1:$port" \
        --compression "$comp" --duration 4s >/dev/null
    done
  done
done
kill -TERM "$G"; wait "$G" || true
cleanup; PIDS=()

"$PROFDATA" merge -o "$WORK/merged.profdata" "$PROFILES"
say "optimised build ($USE_DIR) from $(find "$PROFILES" -name '*.profraw' | wc -l) profiles"
RUSTFLAGS="-Cprofile-use=$WORK/merged.profdata" \
  cargo build --release -p ferrotel --target-dir "$USE_DIR"
say "built $USE_DIR/release/ferrotel"
