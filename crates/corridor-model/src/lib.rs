//! The `corridor` model: banks, a central bank and an interbank market, one business day at a
//! time.
//!
//! Architecture invariant: this crate is pure. It does no I/O, reads no clock, spawns no
//! thread, has no global state and draws every random number from the `&mut R` it is given,
//! so a run is a deterministic function of its parameters and its random stream.

pub mod calendar;
pub mod money;
pub mod params;
pub mod records;

pub use calendar::{Calendar, Date, DayCount};
pub use money::Money;
pub use params::Params;
pub use records::{
    BankDayRecord, DayRecord, OperationRecord, RecordOptions, RunRecords, SecuritiesRecord,
    TradeRecord,
};

pub mod autonomous;
pub mod bank;
pub mod central_bank;
pub mod market;
pub mod nonbank;
pub mod normal;
pub mod operations;
pub mod remuneration;
pub mod requirement;
pub mod securities;
pub mod sim;

pub use sim::{InvariantViolation, Population, Simulation};
pub mod fixtures;
pub mod framework;
