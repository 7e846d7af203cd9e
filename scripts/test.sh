#!/usr/bin/env bash
# The one command that runs every test: formatting and lints, the Rust suites (unit,
# property and end-to-end, in release mode because the Monte Carlo tests simulate thousands
# of days), and the Python reader tests in a virtual environment this script creates from
# pinned requirements. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "Rust tests (release)"
cargo test --workspace --release

step "Python readers (pyarrow, pandas, polars, DuckDB) and the notebooks in docs/notebooks"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
cargo build --release --quiet --bin corridor
CORRIDOR_BIN="$PWD/target/release/corridor" .venv/bin/python -m pytest -q tests/python

step "Slurm on localhost: a 4-task job array of a sharded sweep, merged (tests/slurm/run.sh)"
cargo build --release --quiet --bin corridor
tests/slurm/run.sh "$PWD/target/release/corridor"
