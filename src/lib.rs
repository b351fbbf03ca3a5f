//! pansweep finds stored payment-card data — PANs, expiry dates, security codes and
//! magnetic-stripe track data — in files and (later) databases, and writes reports an
//! assessor can act on, without ever writing a full card number anywhere.
//!
//! # Brief overview
//!
//! Sources ([`source`]) produce bytes; the pure engine ([`scan`]) turns them into
//! [`finding::Finding`]s using the detector data ([`detectors`]); the [`pipeline`] runs
//! sources and scanners on worker threads and hands results to one writer thread, which
//! feeds a report writer ([`report`]). The command line lives in `cli` (binary only).
//!
//! ```
//! use std::sync::Arc;
//! use pansweep::detectors::DetectorSet;
//! use pansweep::scan::{ScanInput, ScannerBuilder};
//!
//! let detectors = Arc::new(DetectorSet::builtin().unwrap());
//! let scanner = ScannerBuilder::new(detectors).build();
//! let mut findings = Vec::new();
//! // A public test PAN with a security code next to it.
//! scanner.scan(&ScanInput::whole(b"card 4111 1111 1111 1111 cvv 123"), &mut findings);
//! assert_eq!(findings[0].class.as_str(), "test_pan");
//! assert_eq!(findings[0].view.masked(), "411111******1111");
//! ```

pub mod canary;
pub mod config;
pub mod detectors;
pub mod finding;
pub mod lock;
pub mod os;
pub mod pipeline;
pub mod report;
pub mod scan;
pub mod source;
pub mod state;
pub mod syslog;
pub mod time;
pub mod triage;
