"""Every table of every kind of output (run, sweep, calibration) read with pyarrow, polars and
DuckDB has the schema docs/output.md documents: the column names in order, their types and
nullability, and each column's unit in the metadata (Arrow field metadata and the
`corridor.units` footer key). The three readers also agree on every table's contents.
"""

import json
import re

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import schema

TABLES = schema.parse()

ARROW_TYPES = {
    pa.uint32(): "UInt32", pa.uint64(): "UInt64", pa.int64(): "Int64",
    pa.float64(): "Float64", pa.date32(): "Date32", pa.string(): "Utf8",
}
POLARS_TYPES = {
    pl.UInt32: "UInt32", pl.UInt64: "UInt64", pl.Int64: "Int64",
    pl.Float64: "Float64", pl.Date: "Date32", pl.String: "Utf8",
}
DUCKDB_TYPES = {
    "UINTEGER": "UInt32", "UBIGINT": "UInt64", "BIGINT": "Int64",
    "DOUBLE": "Float64", "DATE": "Date32", "VARCHAR": "Utf8",
}


def tag_of(output, path):
    rel = re.sub(r"point=\d+", "point=<p>", path.relative_to(output.path).as_posix())
    return f"{output.kind}/{rel}"


def tables(outputs):
    """(output, path, tag) of every Parquet file of every output."""
    return [
        (o, p, tag_of(o, p))
        for o in outputs.values()
        for p in sorted(o.path.rglob("*.parquet"))
    ]


def expected_columns(output, tag):
    context = dict(output.context)
    # A calibration target's unit is its moment's: the sweep summary column of that name.
    stats = schema.expand(TABLES["sweep/summary.parquet"], {"swept key": []})
    context["moment unit"] = {c.name: c.unit for c in stats}
    return schema.expand(TABLES[tag], context)


def money_unit(path):
    return pq.read_schema(path).metadata[b"corridor.money_unit"].decode()


def test_every_documented_table_is_written_and_every_written_table_documented(outputs):
    written = {tag for _, _, tag in tables(outputs)}
    assert written == set(TABLES), (
        f"written but not documented: {written - set(TABLES)}; "
        f"documented but not written by any test output: {set(TABLES) - written}"
    )


def test_pyarrow_schema_types_nullability_and_field_units(outputs):
    for output, path, tag in tables(outputs):
        got = pq.read_schema(path)
        want = expected_columns(output, tag)
        assert got.names == [c.name for c in want], path
        money = money_unit(path)
        for f, c in zip(got, want):
            where = f"{path}: {f.name}"
            assert ARROW_TYPES.get(f.type) in c.types, f"{where}: {f.type}, documented {c.types}"
            assert f.nullable == c.nullable, f"{where}: nullable {f.nullable}"
            assert f.metadata is not None and b"unit" in f.metadata, f"{where}: no unit"
            assert f.metadata[b"unit"].decode() == schema.stored_unit(c.unit, money), where


def test_polars_schema_footer_units_and_no_nulls_where_none_allowed(outputs):
    for output, path, tag in tables(outputs):
        want = expected_columns(output, tag)
        frame = pl.read_parquet(path, hive_partitioning=False)
        assert frame.columns == [c.name for c in want], path
        money = money_unit(path)
        units = json.loads(pl.read_parquet_metadata(path)["corridor.units"])
        for c in want:
            where = f"{path}: {c.name}"
            assert POLARS_TYPES.get(frame.schema[c.name]) in c.types, where
            assert units[c.name] == schema.stored_unit(c.unit, money), where
            if not c.nullable:
                assert frame[c.name].null_count() == 0, where
        assert set(units) == set(frame.columns), path


def test_duckdb_schema_and_footer_units(outputs):
    con = duckdb.connect()
    for output, path, tag in tables(outputs):
        want = expected_columns(output, tag)
        described = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)", [str(path)]
        ).fetchall()
        assert [d[0] for d in described] == [c.name for c in want], path
        for (name, duck_type, *_), c in zip(described, want):
            assert DUCKDB_TYPES.get(duck_type) in c.types, f"{path}: {name}: {duck_type}"
        (units,) = con.execute(
            "SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = 'corridor.units'",
            [str(path)],
        ).fetchone()
        money = money_unit(path)
        assert json.loads(units) == {c.name: schema.stored_unit(c.unit, money) for c in want}


def test_the_three_readers_agree_on_every_tables_contents(outputs):
    """Row counts, null counts and column sums are the same in pyarrow, polars and DuckDB
    (money sums exactly)."""
    con = duckdb.connect()
    for output, path, tag in tables(outputs):
        table = pq.read_table(path, partitioning=None)
        frame = pl.read_parquet(path, hive_partitioning=False)
        numeric = [n for n in table.column_names
                   if ARROW_TYPES[table.schema.field(n).type] in {"UInt32", "UInt64", "Int64", "Float64"}]
        sums = ", ".join(f'sum("{n}"), count("{n}")' for n in numeric)
        row = con.execute(
            f"SELECT count(*), {sums} FROM read_parquet(?, hive_partitioning = false)", [str(path)]
        ).fetchone()
        assert row[0] == table.num_rows == frame.height, path
        for k, n in enumerate(numeric):
            duck_sum, duck_count = row[1 + 2 * k], row[2 + 2 * k]
            arrow_sum = pc.sum(table[n]).as_py()
            polars_sum = frame[n].sum()
            assert duck_count == table.num_rows - table[n].null_count == frame.height - frame[n].null_count()
            if ARROW_TYPES[table.schema.field(n).type] == "Float64":
                np.testing.assert_allclose([arrow_sum or 0.0, polars_sum], [duck_sum or 0.0, duck_sum or 0.0],
                                           rtol=1e-9, atol=1e-9, err_msg=f"{path}: {n}")
            else:
                assert int(arrow_sum or 0) == int(polars_sum) == int(duck_sum or 0), f"{path}: {n}"


@pytest.mark.parametrize("doc_row", ["`volume`", "`run`", "`<var>_mean`"])
def test_the_documented_schema_is_read_from_the_doc(doc_row):
    # The parser reads what the doc says (a guard against a parser that silently reads
    # nothing, which would make the schema tests vacuous).
    assert doc_row in schema.DOC.read_text()
    daily = schema.expand(TABLES["run/daily.parquet"], {})
    assert [c.name for c in daily][:4] == ["run", "day", "date", "overnight_rate_bp"]
    assert len(daily) >= 28
    summary = schema.expand(TABLES["run/summary.parquet"], {})
    assert len(summary) == 4 + 5 * 7
