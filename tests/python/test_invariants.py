"""Invariants every output must satisfy, checked on fresh outputs of real scenarios (see
conftest.py): percentiles ordered, rates inside the corridor unless the scenario allows
otherwise (stigma lets the rate exceed the lending rate; non-bank lenders and the ON RRP let it
fall below the deposit rate, down to their outside option), volumes and facility use never
negative, and tables consistent with each other.
"""

import tomllib

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq

EPS = 1e-9


def scenario_of(path):
    return tomllib.loads(pq.read_schema(path).metadata[b"corridor.scenario"].decode())


def walk(doc, prefix=""):
    """(dotted key, value) of every leaf of a TOML document, timeline events included."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from walk(v, f"{prefix}{k}.")
    elif isinstance(doc, list):
        for v in doc:
            yield from walk(v, prefix)
    else:
        yield prefix.rstrip("."), doc


def rate_bounds(path):
    """(how far below the deposit rate, how far above the lending rate) the scenario allows
    the market rate to go, in bp."""
    leaves = list(walk(scenario_of(path)))
    stigma = max([v for k, v in leaves if k.endswith("stigma_bp")], default=0.0)
    below = 0.0
    if any(k.startswith("non_banks.") for k, _ in leaves):
        # Non-banks lend down to their outside option: the idle rate or the ON RRP rate.
        deposit = [v for k, v in leaves if k.endswith("deposit_rate_bp")]
        outside = [v for k, v in leaves
                   if k.endswith("idle_rate_bp") or (k.endswith("rate_bp") and "reverse_repo" in k)]
        below = max(0.0, max(deposit) - min(outside))
    return below, stigma


def runs_of(outputs):
    return [o for o in outputs.values() if o.kind == "run"]


def test_daily_percentiles_are_ordered_and_null_exactly_without_trades(outputs):
    for o in runs_of(outputs):
        d = pl.read_parquet(o.path / "daily.parquet")
        traded = d["trade_count"] > 0
        for c in ["overnight_rate_bp", "rate_p01_bp", "rate_p25_bp", "rate_p75_bp", "rate_p99_bp",
                  "top5_lender_share"]:
            assert (d[c].is_null() == ~traded).all(), f"{o.name}: {c}"
        assert ((d["volume"] > 0) == traded).all()
        t = d.filter(traded)
        for lo, hi in [("rate_p01_bp", "rate_p25_bp"), ("rate_p25_bp", "rate_p75_bp"),
                       ("rate_p75_bp", "rate_p99_bp")]:
            assert (t[lo] <= t[hi] + EPS).all(), f"{o.name}: {lo} <= {hi}"
        assert ((t["top5_lender_share"] > 0) & (t["top5_lender_share"] <= 1 + EPS)).all()


def test_rates_stay_in_the_corridor_unless_the_scenario_allows_otherwise(outputs):
    for o in runs_of(outputs):
        below, above = rate_bounds(o.path / "daily.parquet")
        d = pl.read_parquet(o.path / "daily.parquet")
        assert ((d["deposit_rate_bp"] <= d["policy_rate_bp"]) & (d["policy_rate_bp"] <= d["lending_rate_bp"])).all()
        t = d.drop_nulls("overnight_rate_bp")
        for c in ["overnight_rate_bp", "rate_p01_bp", "rate_p99_bp"]:
            assert (t[c] >= t["deposit_rate_bp"] - below - EPS).all(), f"{o.name}: {c} below the floor"
            assert (t[c] <= t["lending_rate_bp"] + above + EPS).all(), f"{o.name}: {c} above the ceiling"
        trades = pl.read_parquet(o.path / "trades.parquet").join(
            d.select("run", "day", "deposit_rate_bp", "lending_rate_bp"), on=["run", "day"])
        assert ((trades["rate_bp"] >= trades["deposit_rate_bp"] - below - EPS)
                & (trades["rate_bp"] <= trades["lending_rate_bp"] + above + EPS)).all(), o.name
    # The floor scenario does trade below its deposit rate (IOR): the allowance is used, so
    # the bound above is not vacuous there...
    floor = outputs["floor"].path / "daily.parquet"
    assert rate_bounds(floor)[0] > 0
    d = pl.read_parquet(floor).drop_nulls("overnight_rate_bp")
    assert (d["overnight_rate_bp"] < d["deposit_rate_bp"]).any()
    # ... while the plain corridor allows nothing outside it.
    assert rate_bounds(outputs["corridor"].path / "daily.parquet") == (0.0, 0.0)


def test_volumes_and_facility_use_are_never_negative(outputs):
    non_negative = ["volume", "lending_facility_use", "deposit_facility_use", "intraday_credit_peak",
                    "queued_payments", "reserves_required", "nonbank_lending", "reverse_repo_use"]
    for o in runs_of(outputs):
        d = pl.read_parquet(o.path / "daily.parquet")
        for c in non_negative:
            assert (d[c] >= 0).all(), f"{o.name}: {c}"
        assert (pl.read_parquet(o.path / "trades.parquet")["amount"] > 0).all()
        banks = o.path / "banks.parquet"
        if banks.exists():
            b = pl.read_parquet(banks)
            for c in ["securities", "loans", "interbank_lent", "cb_term_deposit", "deposits",
                      "interbank_borrowed", "lending_facility", "cb_repo", "deposit_facility",
                      "required_reserves"]:
                assert (b[c] >= 0).all(), f"{o.name}: banks.{c}"
        if not any(k.startswith("non_banks.") for k, _ in walk(scenario_of(o.path / "daily.parquet"))):
            assert (d["nonbank_lending"] == 0).all() and (d["reverse_repo_use"] == 0).all()


def test_trades_and_banks_add_up_to_the_daily_table(outputs):
    con = duckdb.connect()
    for o in runs_of(outputs):
        daily = f"{o.path}/daily.parquet"
        mismatched = con.execute(f"""
            select count(*) from '{daily}' d left join (
                select run, day, sum(amount) as amount, count(*) as n from '{o.path}/trades.parquet'
                group by run, day) t using (run, day)
            where coalesce(t.amount, 0) != d.volume or coalesce(t.n, 0) != d.trade_count
        """).fetchone()[0]
        assert mismatched == 0, o.name
        if (o.path / "banks.parquet").exists():
            # Every loan has a lender and a borrower (banks, or non-banks for
            # nonbank_lending); facility use is the banks' own.
            bad = con.execute(f"""
                select count(*) from '{daily}' d join (
                    select run, day, sum(interbank_lent) as lent, sum(interbank_borrowed) as borrowed,
                           sum(lending_facility) as lf, sum(deposit_facility) as df
                    from '{o.path}/banks.parquet' group by run, day) b using (run, day)
                where b.lent + d.nonbank_lending != b.borrowed or b.lf != d.lending_facility_use
                   or b.df != d.deposit_facility_use
            """).fetchone()[0]
            assert bad == 0, o.name
    # The OTC market trades in rounds, the call market in one auction (round 0).
    assert (pl.read_parquet(outputs["otc"].path / "trades.parquet")["round"] >= 1).all()
    assert (pl.read_parquet(outputs["corridor"].path / "trades.parquet")["round"] == 0).all()


STATS = ["p05", "p25", "p50", "p75", "p95"]


def assert_quantiles_ordered(frame, variables, where):
    for var in variables:
        for lo, hi in zip(STATS, STATS[1:]):
            a, b = frame[f"{var}_{lo}"], frame[f"{var}_{hi}"]
            ok = (a <= b + EPS) | a.is_null()
            assert ok.all(), f"{where}: {var}_{lo} <= {var}_{hi}"
        assert ((frame[f"{var}_std"] >= 0) | frame[f"{var}_std"].is_null()).all()


def test_run_summary_is_ordered_and_matches_the_daily_rows(outputs):
    con = duckdb.connect()
    for o in runs_of(outputs):
        s = pl.read_parquet(o.path / "summary.parquet")
        variables = ["overnight_rate_bp", "volume", "reserves_total", "lending_facility_use",
                     "deposit_facility_use"]
        assert_quantiles_ordered(s, variables, o.name)
        # The median across runs is DuckDB's quantile_cont (the same linear interpolation).
        want = con.execute(f"""
            select day, quantile_cont(overnight_rate_bp, 0.5), quantile_cont(reserves_total, 0.5),
                   count(overnight_rate_bp), count(*)
            from '{o.path}/daily.parquet' group by day order by day""").fetchall()
        assert s["day"].to_list() == [w[0] for w in want]
        assert s["overnight_rate_count"].to_list() == [w[3] for w in want]
        assert s["runs"].to_list() == [w[4] for w in want]
        np.testing.assert_allclose(s["overnight_rate_bp_p50"].to_numpy(),
                                   np.array([w[1] for w in want], dtype=float), rtol=1e-12)
        np.testing.assert_allclose(s["reserves_total_p50"].to_numpy(),
                                   np.array([w[2] for w in want], dtype=float), rtol=1e-12)


def test_sweep_tables_are_ordered_complete_and_inside_the_corridor(outputs):
    o = outputs["sweep"]
    points = pl.read_parquet(o.path / "points.parquet")
    s = pl.read_parquet(o.path / "summary.parquet")
    assert points["point"].to_list() == list(range(6)) == s["point"].to_list()
    assert set(zip(points[o.context["swept key"][0]], points[o.context["swept key"][1]])) == {
        (r, sd) for r in (-100.0, 0.0, 100.0) for sd in (80.0, 120.0)}
    assert_quantiles_ordered(s, ["overnight_rate_bp", "spread_to_deposit_bp", "spread_to_policy_bp",
                                 "spread_to_lending_bp", "volume", "reserves_total",
                                 "lending_facility_use", "deposit_facility_use"], "sweep")
    assert (s["days"] == s["runs"] * 8).all()
    assert (s["overnight_rate_count"] <= s["days"]).all()
    # poole_benchmark: no stigma, no non-banks: spreads to the corridor's bounds keep their signs.
    assert (s["spread_to_deposit_bp_p05"] >= -EPS).all()
    assert (s["spread_to_lending_bp_p95"] <= EPS).all()


def test_calibration_trace_is_in_order_within_bounds_and_non_negative(outputs):
    o = outputs["calibration"]
    t = pl.read_parquet(o.path / "trace.parquet")
    assert t["eval"].to_list() == list(range(t.height)) and t.height > 0
    assert set(t["phase"].unique()) <= {"search", "jacobian"}
    assert (t["objective"] >= 0).all()
    from conftest import PARAMS
    for p in tomllib.loads(PARAMS.read_text())["parameter"]:
        assert t[p["key"]].is_between(p["lower"], p["upper"]).all(), p["key"]


def test_central_bank_balance_sheet_balances_and_operations_move_reserves_by_their_sign(outputs):
    """Assets equal liabilities plus capital every day; each operation's recorded effect on
    reserves is +amount, -amount or 0 by its kind; the day's operations never exceed the
    change in the central bank's books they explain (QT's redemptions are the fall in
    securities less what purchases added)."""
    sign = {"fine_tuning_repo": 1, "main_repo": 1, "purchase": 1, "pomo_purchase": 1,
            "fine_tuning_deposit": -1, "main_deposit": -1, "sale": -1, "pomo_sale": -1,
            "redemption": -1, "reinvestment": 0}
    seen = set()
    for o in runs_of(outputs):
        d = pl.read_parquet(o.path / "daily.parquet")
        assets = d["cb_securities"] + d["cb_repo_lending"] + d["cb_lending_facility"]
        liabilities = (d["cb_reserves"] + d["cb_term_deposits"] + d["cb_currency"]
                       + d["cb_government"] + d["cb_other_liabilities"] + d["cb_capital"])
        assert (assets == liabilities).all(), o.name
        ops = duckdb.sql(f"select * from '{o.path / 'operations.parquet'}'").pl()
        for kind, amount, effect in zip(ops["operation"], ops["amount"], ops["reserve_effect"]):
            assert amount >= 0 and effect == sign[kind] * amount, (o.name, kind, amount, effect)
            seen.add(kind)
        # Outright operations are the only thing that moves the central bank's securities.
        outright = duckdb.sql(f"""
            select run, day, sum(case when operation in ('purchase', 'pomo_purchase') then amount
                                      when operation in ('sale', 'pomo_sale', 'redemption')
                                      then -amount else 0 end) as net
            from '{o.path / 'operations.parquet'}' group by run, day""").pl()
        moved = d.sort(["run", "day"]).with_columns(
            pl.col("cb_securities").diff().over("run").alias("change")).drop_nulls("change")
        joined = moved.join(outright, on=["run", "day"], how="left").with_columns(
            pl.col("net").fill_null(0))
        assert (joined["change"] == joined["net"]).all(), o.name
        # securities.parquet adds up to the balance sheet's securities.
        by_class = duckdb.sql(f"""select run, day, sum(central_bank) as cb
            from '{o.path / 'securities.parquet'}' group by run, day""").pl()
        j = d.join(by_class, on=["run", "day"])
        assert j.height == d.height and (j["cb"] == j["cb_securities"]).all(), o.name
    assert {"redemption", "main_repo", "reinvestment"} <= seen, seen
