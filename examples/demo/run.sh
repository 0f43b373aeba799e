#!/usr/bin/env bash
# Runs the demo (shopper -> grocery-store -> inventory) against a running ferrotel: makes a
# virtual environment with the OpenTelemetry Python SDK next to this script on first use,
# then runs demo.py with the arguments given (`--visits N`, `--interval S`, `--port-base P`).
#
#   ferrotel &                      # in another terminal: the no-config default
#   examples/demo/run.sh            # one visit a second until Ctrl-C; open http://localhost:16686/ui/
#
# OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318) says where the telemetry goes;
# DEMO_VENV moves the virtual environment.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DEMO_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http' 2>/dev/null; then
  command -v python3 >/dev/null || { echo "run.sh: needs python3 (3.9 or newer)" >&2; exit 1; }
  python3 -m venv "$venv" || { echo "run.sh: python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
exec "$venv/bin/python" "$here/demo.py" "$@"
