//! Runs the examples and counter-examples of every detector file through the real
//! scanner (`cargo test` and `pansweep detectors check`).
//!
//! Example texts may hold placeholders so that the repository never stores a card
//! number: `{luhn:PREFIX:LEN}` becomes a Luhn-valid number of LEN digits starting with
//! PREFIX, `{noluhn:PREFIX:LEN}` the same with a wrong check digit. The middle digits
//! come from a fixed pseudo-random sequence, so runs are reproducible. Failure messages
//! quote the text with its placeholders, never the expanded number.

use std::sync::Arc;

use crate::detectors::check::Problem;
use crate::detectors::{DetectorSet, SourcedExample};
use crate::finding::{Class, Finding};

use super::{ScanInput, ScannerBuilder, luhn};

/// Expiry years in examples are judged as if it were this year, so checks are stable.
pub const EXAMPLES_YEAR: u16 = 2026;

/// Expands placeholders; `state` seeds the digit sequence.
pub fn expand(text: &str, state: &mut u64) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed placeholder in {text:?}"))? + open;
        let inner = &rest[open + 1..close];
        let parts: Vec<&str> = inner.split(':').collect();
        let [kind @ ("luhn" | "noluhn"), prefix, len] = parts[..] else {
            return Err(format!(
                "unknown placeholder {{{inner}}} (expected {{luhn:PREFIX:LEN}} or {{noluhn:PREFIX:LEN}})"
            ));
        };
        let len: usize = len.parse().map_err(|_| format!("bad length in {{{inner}}}"))?;
        if !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() >= len || !(2..=30).contains(&len) {
            return Err(format!("bad prefix or length in {{{inner}}}"));
        }
        let mut digits: Vec<u8> = prefix.bytes().collect();
        while digits.len() < len - 1 {
            *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            digits.push(b'0' + ((*state >> 33) % 10) as u8);
        }
        let check = luhn::check_digit_for(&digits);
        digits.push(if kind == "luhn" { check } else { b'0' + (check - b'0' + 1) % 10 });
        out.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn matches(f: &Finding, ex: &SourcedExample) -> bool {
    let e = &ex.example;
    e.class.is_none_or(|c| f.class == c)
        && e.confidence.is_none_or(|c| f.confidence == c)
        && e.signal.as_ref().is_none_or(|s| f.signals.iter().any(|g| g.to_string() == *s))
        && e.brand.as_ref().or(ex.implied_brand.as_ref()).is_none_or(|b| f.brands.iter().any(|x| **x == **b))
}

fn describe(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".into();
    }
    findings
        .iter()
        .map(|f| {
            let signals: Vec<String> = f.signals.iter().map(ToString::to_string).collect();
            format!("{} {} {} [{}]", f.class.as_str(), f.confidence.as_str(), f.view.masked(), signals.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs every example of `set`; an empty list means all pass.
pub fn run(set: &Arc<DetectorSet>) -> Vec<Problem> {
    let scanner = ScannerBuilder::new(set.clone()).current_year(EXAMPLES_YEAR).build();
    let mut problems = Vec::new();
    let mut state = 0x5eed_u64;
    for ex in &set.examples {
        let text = match expand(&ex.example.text, &mut state) {
            Ok(t) => t,
            Err(message) => {
                problems.push(Problem { file: ex.file.clone(), message });
                continue;
            }
        };
        let mut findings: Vec<Finding> = Vec::new();
        scanner.scan(&ScanInput::whole(text.as_bytes()), &mut findings);
        let hit = findings.iter().any(|f| matches(f, ex));
        let ok = if ex.negative { !hit } else { hit };
        if !ok {
            let kind = if ex.negative { "negative example" } else { "example" };
            let want = if ex.negative { "must not match" } else { "must match" };
            problems.push(Problem {
                file: ex.file.clone(),
                message: format!(
                    "{kind} {:?} {want} {}; got {}",
                    ex.example.text,
                    expectation(ex),
                    describe(&findings)
                ),
            });
        }
    }
    problems
}

fn expectation(ex: &SourcedExample) -> String {
    let e = &ex.example;
    let mut parts = Vec::new();
    if let Some(c) = e.class {
        parts.push(format!("class {}", Class::as_str(c)));
    }
    if let Some(c) = e.confidence {
        parts.push(format!("confidence {}", c.as_str()));
    }
    if let Some(s) = &e.signal {
        parts.push(format!("signal {s}"));
    }
    if let Some(b) = e.brand.as_ref().or(ex.implied_brand.as_ref()) {
        parts.push(format!("brand {b}"));
    }
    if parts.is_empty() { "any finding".into() } else { parts.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_to_valid_numbers() {
        let mut st = 1;
        let s = expand("card {luhn:4:16} and {noluhn:2221:16}", &mut st).unwrap();
        let nums: Vec<&str> = s.split(' ').filter(|w| w.len() == 16).collect();
        assert_eq!(nums.len(), 2);
        assert!(nums[0].starts_with('4') && luhn::is_valid(nums[0].as_bytes()));
        assert!(nums[1].starts_with("2221") && !luhn::is_valid(nums[1].as_bytes()));
        assert!(expand("{luhn:4}", &mut st).is_err());
        assert!(expand("{pan:4:16}", &mut st).is_err());
        assert!(expand("{luhn:4:16", &mut st).is_err());
    }

    #[test]
    fn builtin_examples_pass() {
        let set = Arc::new(DetectorSet::builtin().unwrap());
        let problems = run(&set);
        assert!(problems.is_empty(), "{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        assert!(set.examples.len() > 50, "{} examples", set.examples.len());
    }
}
