"""The documented schema of every output table, parsed from docs/output.md.

docs/output.md is the one place a table's columns are described for users; the reader tests
hold the files to it, so the two cannot drift apart. A table is tagged by an HTML comment
right above it:

    <!-- schema: run/daily.parquet -->            a table: column | type | unit | meaning
    <!-- schema-vars: run/summary.parquet -->     the <var> of its templated rows: var | unit
    <!-- schema: sweep/daily/point=<p>/part-0.parquet = run/daily.parquet -->   same columns

A column cell names one or more columns in backticks; templates in angle brackets are
expanded: `<var>` from the table's vars, anything else (`<swept key>`, `<parameter>`,
`<moment>@<j>`) from the context the test gives (what it swept or calibrated). Adding a table
or a column to docs/output.md is all the reader tests need to check it.
"""

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "output.md"

TYPES = {"UInt32", "UInt64", "Int64", "Float64", "Date32", "Utf8"}
# Units stored as they are named in the doc; "money" is stored as corridor.money_unit.
UNITS = {"bp", "money", "date", "id", "index", "count", "share", "1", "text", "scenario"}


@dataclass(frozen=True)
class Column:
    name: str
    types: frozenset  # allowed Arrow types, e.g. {"Float64"} or {"Float64", "Utf8"}
    nullable: bool
    unit: str  # from UNITS; "scenario" is stored as "bp" for keys ending in _bp


@dataclass
class TableDoc:
    tag: str
    rows: list  # (column cell names, types, nullable, unit cell)
    variables: dict  # var -> unit, for <var> templates


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table_after(lines, i):
    """Rows of the markdown table starting at or after line i (header and rule skipped)."""
    while i < len(lines) and not lines[i].startswith("|"):
        i += 1
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def parse(doc=DOC):
    """{tag: TableDoc}, aliases resolved."""
    lines = doc.read_text().splitlines()
    tables, variables, aliases = {}, {}, {}
    for i, line in enumerate(lines):
        m = re.match(r"<!-- schema(-vars)?: (\S+)(?: = (\S+))? -->", line.strip())
        if not m:
            continue
        is_vars, tag, alias = m.groups()
        if alias:
            aliases[tag] = alias
        elif is_vars:
            variables[tag] = {
                re.findall(r"`([^`]+)`", r[0])[0]: r[1] for r in _table_after(lines, i + 1)
            }
        else:
            rows = []
            for r in _table_after(lines, i + 1):
                names = re.findall(r"`([^`]+)`", r[0])
                types = frozenset(t for t in re.findall(r"\w+", r[1]) if t in TYPES)
                unit = r[2].strip("`")
                assert names and types, f"{doc}: {tag}: cannot read row {r}"
                assert unit in UNITS or unit.startswith("<"), f"{doc}: {tag}: unit {unit!r}"
                rows.append((names, types, "nullable" in r[1], unit))
            tables[tag] = TableDoc(tag, rows, {})
    for tag, doc_vars in variables.items():
        tables[tag].variables = doc_vars
    for tag, target in aliases.items():
        tables[tag] = tables[target]
    return tables


def expand(table, context):
    """The table's columns, in order, with templates expanded.

    context maps a template name (without brackets, e.g. "swept key") to the list of values it
    takes; `<moment>@<j>` takes (moment, j) pairs and the unit of the moment's own column,
    given as context["moment unit"].
    """
    columns = []
    rows = list(table.rows)
    while rows:
        names, types, nullable, unit = rows.pop(0)
        if any("<var>" in n for n in names):
            # Consecutive <var> rows expand variable-major: every statistic of the first
            # variable, then of the next.
            block = [(names, types, nullable)]
            while rows and any("<var>" in n for n in rows[0][0]):
                block.append(rows.pop(0)[:3])
            for var, var_unit in table.variables.items():
                for b_names, b_types, b_nullable in block:
                    for n in b_names:
                        columns.append(Column(n.replace("<var>", var), b_types, b_nullable, var_unit))
            continue
        for n in names:
            m = re.fullmatch(r"<([^>]+)>(@<j>)?", n)
            if m is None:
                columns.append(Column(n, types, nullable, unit))
            elif m.group(2):
                for j, moment in enumerate(context[m.group(1)]):
                    columns.append(
                        Column(f"{moment}@{j}", types, nullable, context["moment unit"][moment])
                    )
            else:
                for key in context[m.group(1)]:
                    key_unit = "bp" if unit == "scenario" and key.endswith("_bp") else unit
                    columns.append(Column(key, types, nullable, key_unit))
    return columns


def stored_unit(unit, money_unit):
    return money_unit if unit == "money" else unit
