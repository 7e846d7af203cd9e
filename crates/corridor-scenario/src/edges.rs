//! Edge-list files for the OTC market's credit network (`market.network.path`).
//!
//! A CSV file, one credit line per line: `lender,borrower` or `lender,borrower,limit`.
//! Banks are indices from 0 (the largest bank) to `banks.count - 1`; the optional limit is
//! an amount in scenario units (scaled by `money.scale`, like every amount). Blank lines and
//! lines starting with `#` are skipped, and a first line that does not start with a digit
//! is taken as a header. Errors name the edge-list file, its line, the field, the value and
//! what is allowed.

use std::path::Path;

use corridor_model::Money;
use corridor_model::params::CreditLine;

use crate::error::{ErrorKind, ScenarioError};

/// The key every edge-list error is about.
const KEY: &str = "market.network.path";

/// Reads and checks an edge list for `banks` banks; `scale` is `money.scale`.
pub(crate) fn load(path: &Path, banks: u32, scale: f64) -> Result<Vec<CreditLine>, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::new(
            ErrorKind::Io,
            &file,
            None,
            false,
            Some(KEY.to_owned()),
            format!("cannot read the edge list ({KEY}): {e}"),
        )
    })?;
    parse(&file, &text, banks, scale)
}

/// Same as [`load`], from text; `file` names the file in messages.
pub(crate) fn parse(
    file: &str,
    text: &str,
    banks: u32,
    scale: f64,
) -> Result<Vec<CreditLine>, ScenarioError> {
    let error = |line: usize, message: String| {
        ScenarioError::new(
            ErrorKind::InvalidValue,
            file,
            Some(line),
            false,
            Some(KEY.to_owned()),
            message,
        )
    };
    let mut edges = Vec::new();
    let mut seen_data = false;
    for (i, raw_line) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw_line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if !seen_data && !content.starts_with(|c: char| c.is_ascii_digit()) {
            // A header such as `lender,borrower,limit`.
            seen_data = true;
            continue;
        }
        seen_data = true;
        let fields: Vec<&str> = content.split(',').map(str::trim).collect();
        if fields.len() != 2 && fields.len() != 3 {
            return Err(error(
                line,
                format!(
                    "{content:?}: expected `lender,borrower` or `lender,borrower,limit`, \
                     found {} fields",
                    fields.len()
                ),
            ));
        }
        let bank = |name: &str, text: &str| -> Result<u32, ScenarioError> {
            match text.parse::<u32>() {
                Ok(b) if b < banks => Ok(b),
                _ => Err(error(
                    line,
                    format!(
                        "{name} = {text:?}: expected a bank index from 0 to {} \
                         (banks.count = {banks}; 0 is the largest bank)",
                        banks.saturating_sub(1)
                    ),
                )),
            }
        };
        let lender = bank("lender", fields[0])?;
        let borrower = bank("borrower", fields[1])?;
        if lender == borrower {
            return Err(error(
                line,
                format!("lender = borrower = {lender}: a bank cannot lend to itself"),
            ));
        }
        let limit = match fields.get(2) {
            None => None,
            Some(text) => {
                let minor = text
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .map(|x| (x * scale).round())
                    .filter(|m| *m < 9.2e18);
                match minor {
                    Some(m) => Some(Money(m as i64)),
                    None => {
                        return Err(error(
                            line,
                            format!(
                                "limit = {text:?}: expected an amount >= 0 in scenario units \
                                 (× money.scale must stay below about 9.2e18 minor units)"
                            ),
                        ));
                    }
                }
            }
        };
        edges.push(CreditLine {
            lender,
            borrower,
            limit,
        });
    }
    Ok(edges)
}
