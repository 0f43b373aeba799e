#!/usr/bin/env bash
# THE test command of ferrotel (README line 2, called by .ci/run).
# Installs what the tests need by itself (a Python venv in .venv with the OpenTelemetry SDK
# from PyPI, the JS SDK from npm into tests/e2e/node, Prometheus, node-exporter and
# VictoriaMetrics from Debian), then runs: rustfmt check, clippy,
# the Rust tests, builds the ferrotel binary and runs the end-to-end tests (pytest) against it.
# Every step runs even if an earlier one failed; the exit code is non-zero if any failed.
#
#   scripts/test.sh            everything
#   SKIP_E2E=1 scripts/test.sh   Rust only
#   PYTEST_ARGS="-k sigterm" scripts/test.sh
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$(date +%s)
VENV="${FERROTEL_VENV:-$ROOT/.venv}"
E2E="$ROOT/tests/e2e"
LOGDIR="${TMPDIR:-/tmp}/ferrotel-test.$$"
mkdir -p "$LOGDIR"

# resource_detection: every metadata request of every ferrotel started here (a config that
# merely names a cloud detector included) goes to a closed port on 127.0.0.1, never to a
# metadata address; platform addresses the machine itself may carry are dropped.
export FERROTEL_METADATA_ENDPOINT=http://127.0.0.1:9
unset AWS_EC2_METADATA_SERVICE_ENDPOINT GCE_METADATA_HOST ECS_CONTAINER_METADATA_URI \
    ECS_CONTAINER_METADATA_URI_V4 KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT DOCKER_HOST

declare -a STEPS=()
FAILED_STEPS=0
TESTS_PASSED=0
TESTS_FAILED=0

say() { printf '\n==> %s\n' "$*"; }
record() { # name status seconds
    STEPS+=("$(printf '%-10s %-6s %4ss' "$1" "$2" "$3")")
    [ "$2" = ok ] || FAILED_STEPS=$((FAILED_STEPS + 1))
}
run_step() { # name command...
    local name=$1; shift
    say "$name: $*"
    local t0=$(date +%s) rc=0
    "$@" || rc=$?
    if [ $rc -eq 0 ]; then record "$name" ok $(( $(date +%s) - t0 )); else record "$name" FAILED $(( $(date +%s) - t0 )); fi
    return $rc
}

need_apt=()
# ---- tools ------------------------------------------------------------------------------
install_python_env() {
    if ! command -v python3 >/dev/null; then need_apt+=(python3 python3-venv); fi
    if [ ${#need_apt[@]} -gt 0 ] || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        if command -v apt-get >/dev/null; then
            say "apt-get install python3-venv"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null || return 1
        fi
    fi
    local stamp="$VENV/.requirements.sha256" want
    want=$(sha256sum "$E2E/requirements.txt" | cut -d' ' -f1)
    if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || return 1
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$E2E/requirements.txt" || return 1
        echo "$want" > "$stamp"
    fi
    "$VENV/bin/python" -c 'import opentelemetry.sdk, grpc, pytest' || return 1
}

# Real backends the metrics tests talk to (Debian's packages), started by the tests on
# 127.0.0.1 with their own data directories: Prometheus (scrape and remote-write receiver),
# prometheus-node-exporter (a real scrape target), VictoriaMetrics (remote-write receiver);
# and the openssl CLI, with which test_tls.py makes its CA and certificates.
install_servers() {
    local pkgs=() b
    for b in prometheus:prometheus prometheus-node-exporter:prometheus-node-exporter victoria-metrics:victoria-metrics openssl:openssl chromium:chromium; do
        command -v "${b%%:*}" >/dev/null || pkgs+=("${b##*:}")
    done
    [ ${#pkgs[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { echo "missing ${pkgs[*]} and no apt-get to install them"; return 1; }
    say "apt-get install ${pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

install_node_env() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        if command -v apt-get >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null || return 1
        fi
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "$major" -lt 20 ]; then echo "node >= 20 is needed for the JS SDK tests, found $(node --version 2>&1)"; return 1; fi
    local dir="$E2E/node" stamp="$E2E/node/node_modules/.lock.sha256" want
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
        echo "$want" > "$stamp"
    fi
}

# ---- Rust ---------------------------------------------------------------------------------
cargo_tests() {
    local log="$LOGDIR/cargo-test.log" rc=0
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --workspace --no-fail-fast 2>&1 | tee "$log" || rc=$?
        # "Summary [ 1.2s] 13 tests run: 12 passed, 1 failed, 0 skipped"
        local line p f
        line=$(grep -E 'Summary \[.*tests? run:' "$log" | tail -1)
        p=$(grep -Eo '[0-9]+ passed' <<<"$line" | grep -Eo '[0-9]+' || echo 0)
        f=0
        for n in $(grep -Eo '[0-9]+ (failed|timed out)' <<<"$line" | grep -Eo '^[0-9]+'); do f=$((f + n)); done
        TESTS_PASSED=$((TESTS_PASSED + ${p:-0})); TESTS_FAILED=$((TESTS_FAILED + ${f:-0}))
        cargo test --workspace --doc 2>&1 | tee "$log" || rc=$?
    else
        cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || rc=$?
    fi
    # "test result: ok. 12 passed; 0 failed; ..." per test binary
    while read -r p f; do
        TESTS_PASSED=$((TESTS_PASSED + p)); TESTS_FAILED=$((TESTS_FAILED + f))
    done < <(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$log")
    return $rc
}

e2e_tests() {
    local log="$LOGDIR/pytest.log" rc=0
    # shellcheck disable=SC2086
    (cd "$E2E" && "$VENV/bin/python" -m pytest ${PYTEST_ARGS:-} 2>&1) | tee "$log" || rc=${PIPESTATUS[0]}
    if [ $rc -ne 0 ]; then
        # What the machine looked like when the suite failed: a full disk or memory shows
        # up as errors in every test after the first failure.
        echo "pytest exited with $rc; the machine now:"
        df -h "$ROOT" /tmp 2>&1 || true
        free -m 2>&1 || true
        dmesg 2>/dev/null | grep -iE 'out of memory|killed process' | tail -5 || true
    fi
    if [ $rc -eq 5 ]; then
        echo "pytest collected no tests: that is a failure of the e2e suite"
        return 1
    fi
    local line p f e
    line=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -1)
    p=$(grep -Eo '[0-9]+ passed' <<<"$line" | grep -Eo '[0-9]+' || echo 0)
    f=$(grep -Eo '[0-9]+ failed' <<<"$line" | grep -Eo '[0-9]+' || echo 0)
    e=$(grep -Eo '[0-9]+ errors?' <<<"$line" | grep -Eo '[0-9]+' || echo 0)
    TESTS_PASSED=$((TESTS_PASSED + p)); TESTS_FAILED=$((TESTS_FAILED + f + e))
    return $rc
}

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One build from scratch (CI): incremental state is only written, never reused, and doubles
# what the build leaves on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
run_step fmt cargo fmt --all -- --check
run_step clippy cargo clippy --workspace --all-targets -- -D warnings
# Before the cargo tests: the promql crate compares itself with a real Prometheus, and must
# fail rather than skip when it cannot.
if run_step servers install_servers; then export FERROTEL_REQUIRE_PROMETHEUS=1 FERROTEL_REQUIRE_BROWSER=1; fi
run_step test cargo_tests
if run_step build cargo build -p ferrotel; then BUILT=1; else BUILT=0; fi

if [ "${SKIP_E2E:-0}" != 1 ]; then
    PY_OK=0; NODE_OK=0
    run_step py-env install_python_env && PY_OK=1
    run_step node-env install_node_env && NODE_OK=1
    if [ $PY_OK = 1 ] && [ $BUILT = 1 ]; then
        if [ $NODE_OK = 0 ]; then PYTEST_ARGS="${PYTEST_ARGS:-} --deselect test_sdk_node.py"; fi
        FERROTEL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ferrotel" run_step e2e e2e_tests
    else
        record e2e FAILED 0
        echo "e2e tests not run: the python env or the ferrotel build failed"
    fi
fi

ELAPSED=$(( $(date +%s) - START ))
printf '\n==> steps (%ss in all)\n' "$ELAPSED"
printf '    %s\n' "${STEPS[@]}"
rm -rf "$LOGDIR"
if [ $FAILED_STEPS -gt 0 ]; then
    echo "test.sh: $FAILED_STEPS step(s) FAILED"
fi
echo "summary: $TESTS_PASSED passed, $TESTS_FAILED failed"
[ $FAILED_STEPS -eq 0 ]
