"""The notebooks in docs/notebooks run, every cell, against batches the release binary makes
now, so they cannot rot: a renamed column, a changed file layout or a regime that no longer
behaves as the notebook says (each ends with a check) fails here.

They are executed in a fresh kernel, whose matplotlib backend (inline, drawing with Agg)
needs no display, and are stored without outputs.
"""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO, corridor

NOTEBOOKS = REPO / "docs" / "notebooks"


@pytest.fixture(scope="session")
def notebook_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebooks")
    scenarios = REPO / "scenarios"
    corridor("run", scenarios / "corridor_symmetric.toml", "--runs", 20, "--seed", 1,
             "--set", "calendar.business_days=60", "--out", root / "corridor_symmetric")
    corridor("run", scenarios / "us_ior_2008_2015.toml", "--runs", 4, "--seed", 1,
             "--set", "calendar.business_days=60", "--out", root / "us_ior_2008_2015")
    corridor("sweep", scenarios / "poole_benchmark.toml",
             "--grid", "central_bank.reserve_target_per_bank=-250:250:11", "--runs", 4,
             "--set", "calendar.business_days=20", "--out", root / "poole_benchmark-sweep")
    return root


def execute(path, env):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        f"{path.name} is stored with outputs; clear them before committing")
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    return nb


@pytest.mark.parametrize("name", ["corridor_vs_floor.ipynb", "reserve_demand_curve.ipynb"])
def test_notebook_runs_every_cell(name, notebook_data, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("CORRIDOR_OUTPUT", str(notebook_data))
    monkeypatch.setenv("CORRIDOR_SWEEP", str(notebook_data / "poole_benchmark-sweep"))
    nb = execute(NOTEBOOKS / name, dict(os.environ))
    # Each notebook draws a figure with matplotlib.
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", [])), f"{name} drew no figure"


def test_every_notebook_is_tested():
    tested = {"corridor_vs_floor.ipynb", "reserve_demand_curve.ipynb"}
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == tested
