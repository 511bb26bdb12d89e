#!/usr/bin/env bash
# dutyflow's two set-up commands:
#   bash scripts/dev.sh serve   — install everything, start the server with the demo catalog (SQLite)
#   bash scripts/dev.sh test    — install everything, start PostgreSQL if it is down, run all tests
#                                 while checking the import layers and engine/'s types (a failed
#                                 check stops the tests and fails the command)
set -euo pipefail
cd "$(dirname "$0")/.."

install_system_packages() {
  local missing=()
  command -v dot >/dev/null 2>&1 || missing+=(graphviz)
  if [ "${1:-}" = test ]; then
    [ -x /usr/lib/chromium/chromium-headless-shell ] || missing+=(chromium-headless-shell)
    # (no `grep -q`: it stops reading at the first match, fc-list dies of SIGPIPE, and under
    # `pipefail` the fonts looked missing on every run, apt-get included)
    [ -n "$(fc-list : family 2>/dev/null | grep -i "noto sans cjk")" ] || missing+=(fonts-noto-cjk)
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo ">> apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_python_packages() {
  # pip takes ~6 s even with nothing to do; scripts/installed.py says when that is so (this
  # checkout installed editable, its requirements unchanged and all present).
  if python3 -I scripts/installed.py 2>/dev/null; then
    echo ">> pip install -e .[test]: already installed from this checkout, requirements unchanged"
    return
  fi
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
  # The layers of docs/architecture.md, then the types of engine/ (alongside the tests: below).
  echo ">> lint-imports (which package may import which: docs/architecture.md)"
  if ! nice -n 5 lint-imports; then
    echo "!! lint-imports: an import breaks a contract of pyproject.toml [tool.importlinter] (above); tests stopped" >&2
    return 1
  fi
  echo ">> mypy engine"
  if ! nice -n 5 mypy engine; then
    echo "!! mypy: type errors in engine/ (above); tests stopped" >&2
    return 1
  fi
}

test_with_structure_checks() {
  # The structure checks run alongside pytest instead of before it: the tests leave part of the
  # two cores idle (database and browser waits) and a clean clone's mypy costs ~11 s of CPU, which
  # run first only added to the command's time. `nice`: the tests come first. A failed check stops
  # pytest at once (SIGINT, as Ctrl-C) and fails the command with its own message; the checks'
  # output is kept apart (it would cut through pytest's) and printed after the tests.
  local dir status_checks=0 status_tests=0 checks
  dir=$(mktemp -d)
  # A process group of its own, so Ctrl-C (which pytest gets, in the foreground) is not sent to the
  # checks, and stopping them stops mypy too.
  set -m
  {
    if ! check_structure; then
      # (pytest may not have started yet: a check can fail within a second)
      until [ -f "$dir/pytest.pid" ] || [ -f "$dir/pytest.done" ]; do sleep 0.1; done
      [ -f "$dir/pytest.pid" ] && kill -INT "$(cat "$dir/pytest.pid")" 2>/dev/null
      exit 1
    fi
  } >"$dir/checks.log" 2>&1 &
  checks=$!
  set +m
  interrupted=0
  trap 'interrupted=1' INT
  # pytest in the foreground (Ctrl-C and --pdb work as ever), its pid where a failed check finds it.
  ( echo "$BASHPID" >"$dir/pytest.pid"; exec python3 -m pytest "$@" ) || status_tests=$?
  rm -f "$dir/pytest.pid"
  touch "$dir/pytest.done"
  if [ "$interrupted" = 1 ]; then
    kill -TERM -- -"$checks" 2>/dev/null || true
    rm -rf "$dir"
    exit 130
  fi
  wait "$checks" || status_checks=$?
  if [ "$status_checks" = 0 ]; then cat "$dir/checks.log"; else cat "$dir/checks.log" >&2; fi
  rm -rf "$dir"
  [ "$status_checks" = 0 ] || exit 1
  exit "$status_tests"
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
    start_postgresql
    shift
    # Bytecode is written (git-ignored __pycache__/): with PYTHONDONTWRITEBYTECODE set, as on the
    # project's machines, every test process and every `dutyflow` child a test starts compiled all
    # ~400 modules again (10.6 against 4.0 s of CPU to collect, in each of the three processes).
    unset PYTHONDONTWRITEBYTECODE
    test_with_structure_checks "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh serve|test" >&2
    exit 2
    ;;
esac
