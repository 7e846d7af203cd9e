//! The unit of every column, stored with the column so a reader never has to guess whether a
//! number is basis points or millions of kronor.
//!
//! Each Arrow field carries a `unit` metadata key (pyarrow: `schema.field(name).metadata`),
//! and each file repeats all of them as one JSON object under the `corridor.units` key of the
//! Parquet footer, which readers without Arrow field metadata (DuckDB's
//! `parquet_kv_metadata`, polars' `read_parquet_metadata`) can see.
//!
//! The units are derived from the column's type and name, in this order, so a new table
//! mostly gets its units without edits here: every `Int64` column is money (the documented
//! rule: money is an exact integer and nothing else is `Int64`); dates are dates; names
//! ending in `_bp` are basis points; statistics `<var>_<stat>` and calibration targets
//! `<moment>@<j>` take the unit of their variable; swept scenario keys (dotted names) are in
//! the key's own unit. A column this cannot place gets no unit, which the reader tests
//! (`tests/python/`) report against `docs/output.md`.

use arrow_schema::{DataType, Field};

/// Metadata key of a field's unit.
pub const UNIT_KEY: &str = "unit";

/// Footer key holding every column's unit as a JSON object.
pub const UNITS_KEY: &str = "corridor.units";

/// Annual basis points.
pub const BP: &str = "bp";
/// Identifiers: runs, banks, points, evaluations, seeds.
pub const ID: &str = "id";
/// Positions in a sequence: business day, trading round, day of a maintenance period.
pub const INDEX: &str = "index";
/// Numbers of things: trades, banks, runs, run-days.
pub const COUNT: &str = "count";
/// Calendar dates.
pub const DATE: &str = "date";
/// Fractions between 0 and 1.
pub const SHARE: &str = "share";
/// Dimensionless numbers (the calibration objective).
pub const DIMENSIONLESS: &str = "1";
/// Labels.
pub const TEXT: &str = "text";
/// A swept scenario key that is not a rate: its unit is the key's, in `docs/scenarios.md`.
pub const SCENARIO: &str = "scenario";

const IDS: [&str; 7] = ["run", "bank", "lender", "borrower", "point", "eval", "seed"];
const INDICES: [&str; 3] = ["day", "round", "maintenance_day"];
const COUNTS: [&str; 7] = [
    "trade_count",
    "counterparties",
    "active_lenders",
    "active_borrowers",
    "runs",
    "days",
    "overnight_rate_count",
];
const SHARES: [&str; 1] = ["top5_lender_share"];
/// Statistic suffixes of summary columns (`volume_p05`).
const STAT_SUFFIXES: [&str; 7] = ["_mean", "_std", "_p05", "_p25", "_p50", "_p75", "_p95"];
/// Money variables that appear as `Float64` statistics.
const MONEY_VARS: [&str; 4] = [
    "volume",
    "reserves_total",
    "lending_facility_use",
    "deposit_facility_use",
];

/// The unit of column `name` of type `data_type`, money being counted in `money_unit`; `None`
/// for a column the rules above cannot place.
pub fn column_unit(name: &str, data_type: &DataType, money_unit: &str) -> Option<String> {
    if let Some((moment, _)) = name.rsplit_once('@') {
        return column_unit(moment, data_type, money_unit);
    }
    let unit = match data_type {
        DataType::Int64 => money_unit,
        DataType::Date32 => DATE,
        _ if IDS.contains(&name) => ID,
        _ if INDICES.contains(&name) => INDEX,
        _ if COUNTS.contains(&name) => COUNT,
        _ if SHARES.contains(&name) => SHARE,
        _ if name == "objective" => DIMENSIONLESS,
        _ if ["phase", "operation", "class"].contains(&name) => TEXT,
        _ if name.ends_with("_bp") => BP,
        _ if name.contains('.') => SCENARIO,
        _ => {
            let var = STAT_SUFFIXES
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|v| !v.is_empty())?;
            if var.ends_with("_bp") {
                BP
            } else if MONEY_VARS.contains(&var) {
                money_unit
            } else {
                return None;
            }
        }
    };
    Some(unit.to_string())
}

/// `field` with its unit attached (unchanged when it has none).
pub(crate) fn with_unit(field: Field, money_unit: &str) -> Field {
    match column_unit(field.name(), field.data_type(), money_unit) {
        Some(unit) => {
            let mut metadata = field.metadata().clone();
            metadata.insert(UNIT_KEY.to_string(), unit);
            field.with_metadata(metadata)
        }
        None => field,
    }
}

/// The `corridor.units` value: `{"column": "unit", ...}` (keys sorted, so the bytes are
/// fixed), for the fields that have a unit.
pub(crate) fn units_json(fields: &[Field]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter_map(|f| {
            f.metadata()
                .get(UNIT_KEY)
                .map(|u| (f.name().clone(), serde_json::Value::String(u.clone())))
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}
