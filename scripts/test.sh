#!/usr/bin/env bash
# The project's test command: install missing test tools, build the server, run
# the Rust tests, then the end-to-end suite (tests/e2e) against the fresh
# release binary. Extra arguments go to pytest (e.g. -k seed, -x).
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
python3 -m pytest "${pytest_args[@]}" tests/e2e "$@"
