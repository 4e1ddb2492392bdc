#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions are run indirectly (run_stage, traps)
# Test everything: the Rust workspace (cargo nextest) and the Python
# compatibility suite (official mlflow client against `smelt server`).
#
#   scripts/test.sh                 # all stages
#   scripts/test.sh -k registry -x  # extra arguments go to pytest
#
# Environment knobs:
#   SMELT_VENV          venv for the Python side   (default ~/.cache/smelt/venv)
#   CARGO_TARGET_DIR    cargo target dir           (default ./target)
#   SMELT_MOTO_PORT     first port tried for moto  (default 5077)
#   SMELT_SKIP_NEXTEST  1 = build the binaries but skip the Rust tests
#   SMELT_GPU           0 = build without the `gpu` feature (Burn's wgpu backend, Vulkan here);
#                       by default it is built and its test runs on Mesa's software
#                       Vulkan driver (lavapipe), installed here when missing
#   SMELT_TEST_LOGS     where peer logs go         (default: a fresh temp dir)
#   SMELT_LINT          0 = skip the format, clippy and unused-dependency checks
#   SMELT_SCHEMATHESIS_EXAMPLES  cases per operation in the API fuzzing stage (default 40)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${SMELT_VENV:-$HOME/.cache/smelt/venv}"
REQS="$ROOT/tests/python/requirements.txt"
# Exact versions of everything the venv holds (scipy and scikit-learn are test
# references): the same numbers on every machine.
CONSTRAINTS="$ROOT/tests/python/constraints.txt"
MLFLOW_VERSION="3.17.2"
LOGS="${SMELT_TEST_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/smelt-test.XXXXXX")}"
mkdir -p "$LOGS"

export MLFLOW_DISABLE_TELEMETRY=true
export DO_NOT_TRACK=true
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

log() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- stages ----
STAGE_NAMES=()
STAGE_RESULTS=()
STAGE_SECS=()
FAILED=0

# run_stage NAME CMD...: run CMD in a subshell with `set -e` in force, record
# pass/fail and duration, and leave CMD's status in STAGE_RC. It always returns
# 0 and must be called as a plain statement, never from `if`, `&&` or `||`:
# bash ignores `set -e` inside anything called from there, subshells included,
# so a failed `pip install` would leave such a stage green.
STAGE_RC=0
run_stage() {
    local name="$1"; shift
    local start=$SECONDS rc=0
    log "$name"
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    STAGE_NAMES+=("$name")
    STAGE_SECS+=("$((SECONDS - start))")
    if [ "$rc" -eq 0 ]; then
        STAGE_RESULTS+=("ok")
    else
        STAGE_RESULTS+=("FAILED (exit $rc)")
        FAILED=1
    fi
    STAGE_RC=$rc
}

skip_stage() {
    STAGE_NAMES+=("$1"); STAGE_RESULTS+=("skipped: $2"); STAGE_SECS+=("0")
}

summary() {
    printf '\n==> summary\n'
    local i
    for i in "${!STAGE_NAMES[@]}"; do
        printf '  %-28s %-22s %5ss\n' "${STAGE_NAMES[$i]}" "${STAGE_RESULTS[$i]}" "${STAGE_SECS[$i]}"
    done
    printf '  logs: %s\n' "$LOGS"
}

# ----------------------------------------------------------------- peers ----
MOTO_PID=""
cleanup() {
    if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
}

# The venv is fresh while both files are unchanged.
requirements_digest() { cat "$REQS" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1; }

venv_current() {
    [ -x "$VENV/bin/python" ] || return 1
    [ -f "$VENV/.smelt-requirements.sha256" ] || return 1
    [ "$(cat "$VENV/.smelt-requirements.sha256")" = "$(requirements_digest)" ] || return 1
    "$VENV/bin/python" - "$MLFLOW_VERSION" <<'EOF' >/dev/null 2>&1
import importlib.metadata as md, sys
assert md.version("mlflow") == sys.argv[1]
import boto3, moto, pytest, requests  # noqa: F401
EOF
}

setup_venv() {
    if venv_current; then
        echo "reusing $VENV (mlflow $MLFLOW_VERSION)"
        return 0
    fi
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        echo "creating venv $VENV"
        rm -rf "$VENV"
        mkdir -p "$(dirname "$VENV")"
        python3 -m venv "$VENV"
    fi
    echo "installing $(grep -cv '^\s*\(#\|$\)' "$REQS") pinned packages (mlflow takes ~1.5 min)"
    "$VENV/bin/python" -m pip install -q -r "$REQS" -c "$CONSTRAINTS"
    "$VENV/bin/python" -c "import importlib.metadata as md; v = md.version('mlflow'); assert v == '$MLFLOW_VERSION', v; print('mlflow', v)"
    requirements_digest >"$VENV/.smelt-requirements.sha256"
}

port_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

start_moto() {
    local port="${SMELT_MOTO_PORT:-5077}" last
    last=$((port + 100))
    until port_free "$port"; do
        port=$((port + 1))
        if [ "$port" -gt "$last" ]; then echo "no free port for moto_server" >&2; return 1; fi
    done
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOGS/moto.log" 2>&1 &
    MOTO_PID=$!
    export SMELT_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    export SMELT_TEST_S3_BUCKET=smelt-test
    export AWS_ACCESS_KEY_ID=testing
    export AWS_SECRET_ACCESS_KEY=testing
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_ENDPOINT_URL="$SMELT_TEST_S3_ENDPOINT"
    export AWS_ALLOW_HTTP=true
    # Wait until moto answers, then create the bucket.
    if ! "$VENV/bin/python" - "$SMELT_TEST_S3_ENDPOINT" "$SMELT_TEST_S3_BUCKET" "$MOTO_PID" <<'EOF'
import os, sys, time
import boto3
from botocore.config import Config

endpoint, bucket, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=endpoint,
                  config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5))
deadline = time.monotonic() + 30
while True:
    try:
        s3.list_buckets()
        break
    except Exception as e:  # not up yet
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit(f"moto_server (pid {pid}) exited")
        if time.monotonic() > deadline:
            sys.exit(f"moto_server did not answer within 30 s: {e}")
        time.sleep(0.25)
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
print(f"moto_server up at {endpoint}, bucket {bucket!r} ready")
EOF
    then
        echo "--- moto.log ---" >&2; tail -n 30 "$LOGS/moto.log" >&2 || true
        return 1
    fi
}

check_postgres() {
    export SMELT_TEST_POSTGRES="${SMELT_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/test}"
    if pg_isready -q -d "$SMELT_TEST_POSTGRES" 2>/dev/null; then
        echo "postgres ready: $SMELT_TEST_POSTGRES"
        return 0
    fi
    # The machine normally starts PostgreSQL before we run; start it if it stopped.
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "postgres not answering; trying to start the local cluster"
        local v
        for v in /etc/postgresql/*; do
            pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start 2>&1 || true
        done
        local i
        for i in $(seq 1 30); do
            pg_isready -q -d "$SMELT_TEST_POSTGRES" 2>/dev/null && { echo "postgres ready"; return 0; }
            sleep 1
        done
    fi
    echo "postgres is not reachable at $SMELT_TEST_POSTGRES" >&2
    return 1
}

# Runs in the main shell (it exports variables and records MOTO_PID), so every
# step checks its own status instead of relying on `set -e`.
peers() {
    local start=$SECONDS ok=1
    log "peers (moto, postgres)"
    start_moto || ok=0
    check_postgres || ok=0
    STAGE_NAMES+=("peers (moto, postgres)")
    STAGE_SECS+=("$((SECONDS - start))")
    if [ "$ok" = 1 ]; then STAGE_RESULTS+=("ok"); else STAGE_RESULTS+=("FAILED"); FAILED=1; fi
}

# --------------------------------------------------------------- vulkan -----
# The GPU code path (Burn's wgpu backend, which picks Vulkan first on Linux) is proven on Mesa's lavapipe, a CPU
# implementation of Vulkan: the same code a GPU runs, without a GPU.
vulkan_driver() {
    if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && ldconfig -p | grep -q libvulkan.so.1; then
        echo "lavapipe present"
    elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Mesa's Vulkan drivers (lavapipe) and the Vulkan loader"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q mesa-vulkan-drivers libvulkan1 >"$LOGS/apt.log" 2>&1 \
            || { apt-get update -q >>"$LOGS/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mesa-vulkan-drivers libvulkan1 >>"$LOGS/apt.log" 2>&1; } \
            || { tail -n 20 "$LOGS/apt.log" >&2; return 1; }
    else
        echo "no Vulkan driver and no root to install mesa-vulkan-drivers" >&2
        return 1
    fi
    export SMELT_REQUIRE_GPU_PATH=1
}

# -------------------------------------------------------------- browser -----
# The web UI's tests drive Debian's headless Chromium through chromedriver.
browser() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        /usr/bin/chromium --version 2>/dev/null || echo "chromium present"
    elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian's chromium and chromium-driver"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >"$LOGS/apt-chromium.log" 2>&1 \
            || { apt-get update -q >>"$LOGS/apt-chromium.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >>"$LOGS/apt-chromium.log" 2>&1; } \
            || { tail -n 20 "$LOGS/apt-chromium.log" >&2; return 1; }
    else
        echo "no chromium and no root to install it (apt-get install chromium chromium-driver)" >&2
        return 1
    fi
}

# -------------------------------------------------------------- notebooks ----
# The notebook test feeds examples/notebooks/ through the evcxr REPL. Installed
# once per machine (~/.cargo/bin/evcxr); its build folder sits beside the others.
EVCXR_VERSION="0.22.0"
notebook_repl() {
    local bin="${CARGO_HOME:-$HOME/.cargo}/bin/evcxr"
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$EVCXR_VERSION"; then
        "$bin" --version
    else
        echo "installing evcxr_repl $EVCXR_VERSION (cargo install; ~280 crates, once per machine)"
        cargo install evcxr_repl --locked --version "$EVCXR_VERSION" --target-dir "$TARGET_DIR/evcxr-install"
    fi
}

# ---------------------------------------------------------------- cargo -----
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
SMELT_BIN_PATH="$TARGET_DIR/debug/smelt"

FEATURES=()
if [ "${SMELT_GPU:-1}" != 0 ]; then FEATURES=(--features smelt/gpu); fi

cargo_build() { cargo build --workspace --bins "${FEATURES[@]}"; }

cargo_tests() {
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --workspace "${FEATURES[@]}" --no-fail-fast --no-tests=warn
    else
        echo "cargo-nextest not found; using cargo test"
        cargo test --workspace "${FEATURES[@]}" --no-fail-fast
    fi
}

python_tests() {
    if [ ! -x "$SMELT_BIN_PATH" ]; then
        echo "smelt binary not found at $SMELT_BIN_PATH" >&2
        return 1
    fi
    SMELT_BIN="$SMELT_BIN_PATH" "$VENV/bin/python" -m pytest tests/python -q "$@"
}

# ---------------------------------------------------------------- lints -----
# Checks run with the same features as the build, so clippy's dependency
# metadata is made once and kept in the target folder.
fmt_check() { cargo fmt --all --check; }

clippy_check() {
    cargo clippy --workspace --all-targets "${FEATURES[@]}" -- -D warnings
}

# Dependencies a crate declares but never uses: cargo-machete reads the
# sources (no build), installed once per machine like evcxr.
MACHETE_VERSION="0.9.2"
unused_dependencies() {
    local bin="${CARGO_HOME:-$HOME/.cargo}/bin/cargo-machete"
    if ! { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$MACHETE_VERSION"; }; then
        echo "installing cargo-machete $MACHETE_VERSION (once per machine)"
        cargo install cargo-machete --locked --version "$MACHETE_VERSION" --target-dir "$TARGET_DIR/machete-install"
    fi
    cargo machete
}

# The configuration the README's first command builds (default features, no
# GPU): it must compile and start. Built before the GPU build, which then
# relinks target/debug/smelt with the `gpu` feature for the tests.
default_build_smoke() {
    cargo build -p smelt --bin smelt
    "$SMELT_BIN_PATH" --version
    local home port pid ok=1
    home="$(mktemp -d "${TMPDIR:-/tmp}/smelt-smoke.XXXXXX")"
    port=5300
    until port_free "$port"; do port=$((port + 1)); done
    SMELT_HOME="$home" "$SMELT_BIN_PATH" server --port "$port" >"$LOGS/smoke-server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do
        if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then ok=0; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$home"
    if [ "$ok" != 0 ]; then
        echo "the default build's server did not become ready:" >&2
        tail -n 30 "$LOGS/smoke-server.log" >&2
        return 1
    fi
    echo "default build: smelt server answered /ready on port $port"
}

# ------------------------------------------------------------ API fuzzing ---
# schemathesis generates requests from the OpenAPI document `smelt server`
# serves (jobs, endpoints, monitors; under --auth the identity routes too)
# and fails on any 5xx, any answer the document does not describe, and bad
# input the server accepts. It lives in
# its own venv: its pytest plugin would otherwise load into the compat tests,
# and the mlflow venv's pins stay untouched.
SCHEMATHESIS_VENV="${SMELT_SCHEMATHESIS_VENV:-$HOME/.cache/smelt/schemathesis-venv}"
SCHEMATHESIS_REQ="schemathesis==4.32.5"
# Cases per operation and phase: under a minute on 2 cores against the debug build.
SCHEMATHESIS_EXAMPLES="${SMELT_SCHEMATHESIS_EXAMPLES:-40}"
# The --auth server's admin: a name no generated request will pick.
FUZZ_ADMIN="fuzz-admin-$$"
FUZZ_ADMIN_PASSWORD="fuzz admin password $$"
api_fuzz() {
    python3 - "$SCHEMATHESIS_VENV" "$SCHEMATHESIS_REQ" <<'EOF'
import sys
sys.path.insert(0, "scripts")
import bench_venv
bench_venv.ensure(sys.argv[1], [sys.argv[2]], "schemathesis.txt")
EOF
    # Left out: positive_data_acceptance wants 2xx for every schema-valid body,
    # but a job spec, endpoint or monitor is valid only if what it names exists
    # (a model version, an endpoint, data files), which no schema can say: such
    # bodies get a precise 400 or 404, as they should. object_level_authorization
    # needs two users' resources, which test_auth*.py cover.
    #
    # 1. Jobs, endpoints and monitors on the laptop default (no --auth).
    fuzz_server "plain" || return 1
    "$SCHEMATHESIS_VENV/bin/st" run "$FUZZ_URL/api/2.0/smelt/openapi.json" \
        --url "$FUZZ_URL" \
        --checks all \
        --exclude-checks positive_data_acceptance,ignored_auth,object_level_authorization \
        --max-examples "$SCHEMATHESIS_EXAMPLES" --seed 1 --workers 2 \
        --request-timeout 30 --suppress-health-check too_slow,filter_too_much \
        --report junit --report-dir "$LOGS/schemathesis" || return 1
    stop_fuzz_server
    # 2. Under --auth, as an admin: MLflow's auth API, tokens and the audit
    # log, in the document that server serves. Left out: the three calls
    # that would demote, delete or re-password the fuzzing admin itself
    # (schemathesis learns its name from users/current; test_auth.py checks
    # them against MLflow's server), and ignored_auth, which wants 401/403
    # to every bad login where the server, rightly, throttles a flood of
    # them with 429 (test_auth*.py and tests/identity.rs check the 401s).
    fuzz_server "auth" --auth || return 1
    "$SCHEMATHESIS_VENV/bin/st" run "$FUZZ_URL/api/2.0/smelt/openapi.json" \
        --url "$FUZZ_URL" \
        --auth "$FUZZ_ADMIN:$FUZZ_ADMIN_PASSWORD" \
        --include-tag "MLflow auth" --include-tag "Smelt tokens and audit" \
        --exclude-path /api/2.0/mlflow/users/update-admin \
        --exclude-path /api/2.0/mlflow/users/delete \
        --exclude-path /api/2.0/mlflow/users/update-password \
        --checks all \
        --exclude-checks positive_data_acceptance,ignored_auth,object_level_authorization \
        --max-examples "$SCHEMATHESIS_EXAMPLES" --seed 1 --workers 2 \
        --request-timeout 30 --suppress-health-check too_slow,filter_too_much \
        --report junit --report-dir "$LOGS/schemathesis-auth" || return 1
    stop_fuzz_server
}

# Starts `smelt server` (extra flags after the log name) on a free port in
# a scratch home; FUZZ_URL is where it answers. Not `local`: the EXIT trap
# runs after the function returns (the stage runs in its own subshell, so
# neither the names nor the trap leak out).
fuzz_server() {
    local name="$1"
    shift
    FUZZ_HOME="$(mktemp -d "${TMPDIR:-/tmp}/smelt-fuzz.XXXXXX")"
    local port=5400
    until port_free "$port"; do port=$((port + 1)); done
    SMELT_HOME="$FUZZ_HOME" SMELT_ADMIN_USERNAME="$FUZZ_ADMIN" SMELT_ADMIN_PASSWORD="$FUZZ_ADMIN_PASSWORD" \
        "$SMELT_BIN_PATH" server --port "$port" --job-workers 1 "$@" >"$LOGS/fuzz-server-$name.log" 2>&1 &
    FUZZ_PID=$!
    trap stop_fuzz_server EXIT
    FUZZ_URL="http://127.0.0.1:$port"
    local i
    for i in $(seq 1 120); do
        curl -fsS "$FUZZ_URL/ready" >/dev/null 2>&1 && return 0
        kill -0 "$FUZZ_PID" 2>/dev/null || break
        sleep 0.5
    done
    tail -n 30 "$LOGS/fuzz-server-$name.log" >&2
    return 1
}

stop_fuzz_server() {
    if [ -n "${FUZZ_PID:-}" ]; then
        kill "$FUZZ_PID" 2>/dev/null
        wait "$FUZZ_PID" 2>/dev/null
        FUZZ_PID=""
    fi
    [ -n "${FUZZ_HOME:-}" ] && rm -rf "$FUZZ_HOME"
    FUZZ_HOME=""
    return 0
}

# ------------------------------------------------------------------ main ----
export SMELT_TEST_VENV="$VENV"
export SMELT_TEST_MLFLOW="$VENV/bin/mlflow"
export SMELT_REQUIRE_PEERS="${SMELT_REQUIRE_PEERS:-1}"
export MLFLOW_HTTP_REQUEST_MAX_RETRIES="${MLFLOW_HTTP_REQUEST_MAX_RETRIES:-0}"

trap 'cleanup; summary' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_stage "python venv" setup_venv
if [ "$STAGE_RC" = 0 ]; then
    peers
else
    skip_stage "peers (moto, postgres)" "no venv"
fi

if [ "${SMELT_GPU:-1}" != 0 ]; then
    # Exports SMELT_REQUIRE_GPU_PATH, so it runs in this shell.
    start=$SECONDS
    log "vulkan (lavapipe)"
    STAGE_NAMES+=("vulkan (lavapipe)")
    if vulkan_driver; then STAGE_RESULTS+=("ok"); else STAGE_RESULTS+=("FAILED"); FAILED=1; fi
    STAGE_SECS+=("$((SECONDS - start))")
else
    skip_stage "vulkan (lavapipe)" "SMELT_GPU=0"
fi

run_stage "browser (chromium)" browser
run_stage "notebook REPL (evcxr)" notebook_repl

if [ "${SMELT_LINT:-1}" != 0 ]; then
    run_stage "format (cargo fmt)" fmt_check
    run_stage "unused dependencies" unused_dependencies
else
    skip_stage "format (cargo fmt)" "SMELT_LINT=0"
    skip_stage "unused dependencies" "SMELT_LINT=0"
fi

run_stage "default build starts" default_build_smoke

run_stage "cargo build" cargo_build
if [ "$STAGE_RC" = 0 ]; then
    if [ "${SMELT_LINT:-1}" != 0 ]; then
        run_stage "clippy (-D warnings)" clippy_check
    else
        skip_stage "clippy (-D warnings)" "SMELT_LINT=0"
    fi
    if [ "${SMELT_SKIP_NEXTEST:-0}" = 1 ]; then
        skip_stage "cargo tests" "SMELT_SKIP_NEXTEST=1"
    else
        run_stage "cargo tests" cargo_tests
        echo "web UI screenshots from the browser tests: $TARGET_DIR/ui-screenshots/"
    fi
    run_stage "API fuzzing (schemathesis)" api_fuzz
    if [ -x "$VENV/bin/python" ]; then
        run_stage "python compat tests" python_tests "$@"
    else
        skip_stage "python compat tests" "no venv"
    fi
else
    skip_stage "clippy (-D warnings)" "build failed"
    skip_stage "cargo tests" "build failed"
    skip_stage "API fuzzing (schemathesis)" "build failed"
    skip_stage "python compat tests" "build failed"
fi

exit "$FAILED"
