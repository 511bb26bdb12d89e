#!/usr/bin/env bash
# dutyflow's two set-up commands:
#   bash scripts/dev.sh serve   — install everything, start the server with the demo catalog (SQLite)
#   bash scripts/dev.sh test    — install everything, check the import layers and engine/'s types,
#                                 start PostgreSQL if it is down, run all tests
set -euo pipefail
cd "$(dirname "$0")/.."

install_system_packages() {
  local missing=()
  command -v dot >/dev/null 2>&1 || missing+=(graphviz)
  if [ "${1:-}" = test ]; then
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo ">> apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_python_packages() {
  echo ">> pip install -e .[test]"
  python3 -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v -E "^WARNING: (Running pip|Location)" || true
}

install_bpmnio() {
  # bpmn-js (bpmn.io), which tests/test_process_modeler.py opens the process files in; git-ignored.
  if [ ! -d var/bpmnio/node_modules/bpmn-js ]; then
    echo ">> npm install --prefix var/bpmnio bpmn-js@18"
    npm install --prefix var/bpmnio --no-audit --no-fund --loglevel=error bpmn-js@18
  fi
}

check_structure() {
  # Before any test, and fail fast: the layers of docs/architecture.md, then the types of engine/.
  echo ">> lint-imports (which package may import which: docs/architecture.md)"
  if ! lint-imports; then
    echo "!! lint-imports: an import breaks a contract of pyproject.toml [tool.importlinter] (above); tests not run" >&2
    exit 1
  fi
  echo ">> mypy engine"
  if ! mypy engine; then
    echo "!! mypy: type errors in engine/ (above); tests not run" >&2
    exit 1
  fi
}

start_postgresql() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo ">> starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
}

case "${1:-}" in
  serve)
    install_system_packages serve
    install_python_packages
    shift
    exec dutyflow serve --demo "$@"
    ;;
  test)
    install_system_packages test
    install_python_packages
    install_bpmnio
    check_structure
    start_postgresql
    shift
    # Bytecode is written (git-ignored __pycache__/): with PYTHONDONTWRITEBYTECODE set, as on the
    # project's machines, every test process and every `dutyflow` child a test starts compiled all
    # ~400 modules again (10.6 against 4.0 s of CPU to collect, in each of the three processes).
    unset PYTHONDONTWRITEBYTECODE
    exec python3 -m pytest "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh serve|test" >&2
    exit 2
    ;;
esac
