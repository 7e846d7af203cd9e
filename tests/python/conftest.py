"""Fresh outputs for the schema, invariant and notebook tests, made by the release binary
(CORRIDOR_BIN) once per test session from real scenarios, kept small so the suite stays fast.

Each output is an `Output`: where it is, which kind (run, sweep, calibration), and the
context its templated columns expand with (the swept keys, the estimated parameters).
"""

import os
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("CORRIDOR_BIN", str(REPO / "target/release/corridor"))


def corridor(*args):
    """Runs the corridor binary quietly (no progress bar), failing the test on an error."""
    result = subprocess.run(
        [BINARY, *map(str, args)],
        env={**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"corridor {' '.join(map(str, args))}:\n{result.stderr}"
    return result


@dataclass
class Output:
    name: str
    kind: str  # "run", "sweep" or "calibration": the prefix of its tables' tags
    path: Path
    context: dict = field(default_factory=dict)


SWEPT = ["central_bank.reserve_target_per_bank", "late_shock.sd"]
TARGETS = REPO / "docs/examples/reserve_demand_targets.toml"
PARAMS = REPO / "docs/examples/reserve_demand_params.toml"


@pytest.fixture(scope="session")
def outputs(tmp_path_factory):
    """Every kind of output, from scenarios whose rates behave differently: a symmetric
    corridor (call market, with every optional table), a floor with non-bank lenders and the
    ON RRP (rates below the deposit rate), an over-the-counter market (dispersed loan rates),
    a two-key sweep and a short calibration."""
    root = tmp_path_factory.mktemp("outputs")
    scenarios = REPO / "scenarios"
    out = {}

    def run(name, scenario, *args):
        path = root / name
        corridor("run", scenarios / scenario, "--out", path, *args)
        out[name] = Output(name, "run", path)

    run("corridor", "corridor_symmetric.toml", "--runs", 5, "--seed", 3, "--banks", "--trades",
        "--set", "calendar.business_days=12")
    run("floor", "us_ior_2008_2015.toml", "--runs", 3, "--seed", 4, "--trades",
        "--set", "calendar.business_days=15")
    run("otc", "us_fed_funds_2006.toml", "--runs", 2, "--seed", 5, "--trades", "--banks",
        "--set", "calendar.business_days=10")
    # Balance-sheet policy: QT runoff and a weekly full-allotment main operation.
    run("qt", "us_qt_2022.toml", "--runs", 2, "--seed", 6, "--trades", "--banks",
        "--set", "calendar.business_days=45")
    run("mro", "euro_area_2008_full_allotment.toml", "--runs", 2, "--seed", 7, "--trades", "--banks",
        "--set", "calendar.business_days=20")

    sweep = root / "sweep"
    corridor("sweep", scenarios / "poole_benchmark.toml",
             "--grid", f"{SWEPT[0]}=-100,0,100", "--grid", f"{SWEPT[1]}=80,120",
             "--runs", 2, "--set", "calendar.business_days=8",
             "--set", "central_bank.fine_tuning.forecast_error_sd=5000", "--out", sweep)
    out["sweep"] = Output("sweep", "sweep", sweep, {"swept key": SWEPT})

    calibration = root / "calibration"
    corridor("calibrate", scenarios / "poole_benchmark.toml", "--targets", TARGETS,
             "--params", PARAMS, "--set", "money.scale=1000",
             "--set", "calendar.business_days=8",
             "--set", "central_bank.fine_tuning.forecast_error_sd=5000",
             "--runs", 2, "--seed", 1, "--max-iters", 2, "--out", calibration)
    parameters = [p["key"] for p in tomllib.loads(PARAMS.read_text())["parameter"]]
    moments = [t["moment"] for t in tomllib.loads(TARGETS.read_text())["target"]]
    out["calibration"] = Output("calibration", "calibration", calibration,
                                {"parameter": parameters, "moment": moments})
    return out
