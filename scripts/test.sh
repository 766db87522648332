#!/usr/bin/env bash
# The project's test command: install missing test tools, build the server, run
# the Rust tests, then the end-to-end suite (tests/e2e) against the fresh
# release binary, once per metadata backend: redb (embedded) and PostgreSQL
# (a real server started by the suite), both at once, and beside them the
# console's Playwright tests (console/tests, Debian's Chromium). Extra arguments go to
# pytest (e.g. -k seed, -x).
#
# RUSTFS_TEST_CONSOLE    0 skips the console's tests (default 1)
# RUSTFS_TEST_BACKENDS   which backends' e2e runs (default "redb postgres")
# RUSTFS_TEST_LOGS       where each run's output goes (default target/e2e-logs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-test-deps.sh
hash -r

# One target dir for the build and the tests, so the release build is shared.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

cargo build --release -p rustfs
cargo test --workspace --release

export RUSTFS_BIN="${RUSTFS_BIN:-$CARGO_TARGET_DIR/release/rustfs}"
pytest_args=(-q -ra)
if python3 -c 'import pytest_timeout' 2>/dev/null; then
    pytest_args+=(--timeout=300)
fi

backends=(${RUSTFS_TEST_BACKENDS:-redb postgres})
have_postgres() {
    command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
if [[ " ${backends[*]} " == *" postgres "* ]] && ! have_postgres && [[ "${CI:-}" != true ]]; then
    echo "test: PostgreSQL is not installed: the e2e run on PostgreSQL is skipped" >&2
    backends=("${backends[@]/postgres/}")
fi

logs="${RUSTFS_TEST_LOGS:-$CARGO_TARGET_DIR/e2e-logs}"
mkdir -p "$logs"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/rustfs-e2e.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# One pytest process per backend (the machine may have 2 cores: two runs, each serial),
# each with its own temporary directory and log file.
running=()
pids=()
for meta in "${backends[@]}"; do
    [[ -n "$meta" ]] || continue
    echo "test: e2e on $meta: output in $logs/e2e-$meta.log"
    RUSTFS_TEST_META="$meta" python3 -m pytest "${pytest_args[@]}" \
        --basetemp "$scratch/$meta" tests/e2e "$@" >"$logs/e2e-$meta.log" 2>&1 &
    running+=("$meta")
    pids+=("$!")
done

# The console's browser tests, bounded, on the same binary; screenshots in
# $logs/console-screens.
console_pid=
console_log="$logs/console.log"
if [[ "${RUSTFS_TEST_CONSOLE:-1}" != 0 ]]; then
    chromium="${RUSTFS_CHROMIUM:-/usr/bin/chromium}"
    if [[ -x "$chromium" && -d console/node_modules ]]; then
        echo "test: console (Playwright): output in $console_log"
        (cd console && RUSTFS_TEST_LOGS="$logs" RUSTFS_CHROMIUM="$chromium" \
            RUSTFS_CONSOLE_RESULTS="$scratch/console-results" \
            timeout 1200 npx playwright test) >"$console_log" 2>&1 &
        console_pid=$!
    elif [[ "${CI:-}" == true ]]; then
        echo "test: console: chromium or console/node_modules missing" >"$console_log"
        console_pid=fail
    else
        echo "test: chromium or console/node_modules missing: the console's tests are skipped" >&2
    fi
fi

status=0
results=()
for i in "${!running[@]}"; do
    if wait "${pids[$i]}"; then
        results+=("${running[$i]}: passed")
    else
        status=1
        results+=("${running[$i]}: FAILED")
    fi
done
for meta in "${running[@]}"; do
    log="$logs/e2e-$meta.log"
    echo
    echo "==== e2e on $meta ($log) ===="
    # pytest's summary: the -ra section (failures, errors, skips with reasons) and the totals.
    if grep -q 'short test summary info' "$log"; then
        sed -n '/short test summary info/,$p' "$log" | tail -n 80
    else
        tail -n 20 "$log"
    fi
done
if [[ -n "$console_pid" ]]; then
    if [[ "$console_pid" != fail ]] && wait "$console_pid"; then
        console_result="console: passed"
    else
        status=1
        console_result="console: FAILED"
    fi
    echo
    echo "==== console ($console_log; screenshots in $logs/console-screens) ===="
    tail -n 40 "$console_log"
fi
echo
printf 'test: e2e on %s\n' "${results[@]}"
[[ -z "$console_pid" ]] || echo "test: $console_result"
exit "$status"
