//! Integration tests: run the real `pansweep` binary on trees built at test time.
//!
//! Only public test PANs appear in this directory; every other card number is generated
//! at test time (`util::pan`) and never printed (failure messages mask 12+ digit runs).
//! Snapshots live in `snapshots/`; update them with `INSTA_UPDATE=always cargo test --test it`
//! and review the diff.

mod bad_input;
mod cli;
mod config;
mod containers;
mod db;
mod detectors;
mod encodings;
mod faults;
mod forensic;
mod html;
mod noleak;
mod office;
mod pdf;
mod polite;
mod report;
mod sarif;
mod scan;
mod signals;
mod sqlite;
mod state;
mod triage;
mod util;
