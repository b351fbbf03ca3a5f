//! `pansweep detectors list|check` and `scan --detectors DIR`: the data-driven detector
//! set, validated and laid over the built-in files.

use crate::util::{TestDir, findings, insta_settings, masked, pan, pansweep, run, s, scan_jsonl, strs};

/// A brand that overlaps no built-in range (nothing starts with 9).
/// A brand of our own, for detector overlays (also used by `state`).
pub(crate) const HOUSE_CARD: &str = r#"
id = "house-card"
name = "House Card"
check = "luhn"
lengths = [16]
ranges = [{ from = "9999", to = "9999" }]
overlaps = []

[[examples]]
text = "card number: {luhn:999912:16}"

[[negative-examples]]
text = "card number: {noluhn:999912:16}"
"#;

#[test]
fn list_snapshot() {
    let r = run(pansweep().args(["detectors", "list"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout().contains("\nvisa "), "{r:?}");
    insta_settings(None).bind(|| insta::assert_snapshot!("detectors_list", r.stdout()));
}

#[test]
fn check_builtin_is_ok() {
    let r = run(pansweep().args(["detectors", "check"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout().starts_with("ok: "), "{r:?}");
    assert!(r.stdout().contains("; 0 problems"), "{r:?}");
    assert!(!r.stdout().contains("error:"), "{r:?}");
}

#[test]
fn invalid_brand_file_is_a_usage_error_naming_the_file() {
    let d = TestDir::new();
    d.write("brands/typo.toml", HOUSE_CARD.replace("lengths", "lenghts"));
    let r = run(pansweep().args(["detectors", "check"]).arg(d.path()));
    assert_eq!(r.code, 2, "{r:?}");
    let err = r.stderr();
    assert!(err.contains("brands/typo.toml"), "{err}");
    assert!(err.contains("lenghts"), "{err}");
    // The same directory given to scan stops the run before it starts.
    let t = TestDir::new();
    t.write("a.txt", "nothing\n");
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--detectors"]).arg(d.path()).arg("."));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("brands/typo.toml"), "{r:?}");
    assert!(r.stdout().is_empty(), "{r:?}");
}

#[test]
fn unknown_detector_file_kind_is_rejected() {
    let d = TestDir::new();
    d.write("misc/other.toml", "x = 1\n");
    let r = run(pansweep().args(["detectors", "check"]).arg(d.path()));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("other.toml"), "{r:?}");
}

#[test]
fn failing_example_fails_check_and_names_the_example() {
    let d = TestDir::new();
    let bad =
        HOUSE_CARD.replace("text = \"card number: {luhn:999912:16}\"", "text = \"house card {noluhn:999934:16}\"");
    d.write("brands/house-card.toml", bad);
    let r = run(pansweep().args(["detectors", "check"]).arg(d.path()));
    assert_eq!(r.code, 1, "{r:?}");
    let out = r.stdout();
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert!(
        errors[0].starts_with("error: brands/house-card.toml: example \"house card {noluhn:999934:16}\" must match"),
        "{out}"
    );
    assert!(out.lines().last().is_some_and(|l| l.starts_with("failed: ") && l.ends_with("; 1 problem")), "{out}");
}

#[test]
fn undeclared_overlap_fails_check() {
    let d = TestDir::new();
    d.write(
        "brands/house-card.toml",
        HOUSE_CARD
            .replace(r#"from = "9999", to = "9999""#, r#"from = "4999", to = "4999""#)
            .replace("999912", "499912"),
    );
    let r = run(pansweep().args(["detectors", "check"]).arg(d.path()));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout().contains("ranges of house-card and visa intersect but house-card does not declare it"), "{r:?}");
}

#[test]
fn extra_brand_is_checked_listed_and_used_by_scan() {
    let d = TestDir::new();
    d.write("brands/house-card.toml", HOUSE_CARD);
    let r = run(pansweep().args(["detectors", "check"]).arg(d.path()));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout().starts_with("ok: "), "{r:?}");
    assert!(r.stdout().contains("(1 from "), "{r:?}");
    assert!(r.stdout().contains("17 brands"), "{r:?}");

    let r = run(pansweep().args(["detectors", "list", "--detectors"]).arg(d.path()));
    assert_eq!(r.code, 0, "{r:?}");
    let line = r.stdout().lines().find(|l| l.starts_with("house-card ")).map(str::to_string);
    let line = line.unwrap_or_else(|| panic!("house-card not listed: {r:?}"));
    assert!(line.contains("House Card") && line.contains("luhn") && line.ends_with(" 9999"), "{line}");

    let t = TestDir::new();
    let p = pan("9999", 16, 7);
    t.write("member.txt", format!("card number: {p}\n"));
    // Built-in set: unknown brand, reported only as low.
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    let f = findings(&recs);
    assert_eq!(f.len(), 1);
    assert_eq!(s(f[0], "confidence"), "low");
    assert!(strs(f[0], "signals").contains(&"unknown-brand".to_string()));
    // With the overlay: the house brand, high.
    let dir = d.path().to_str().unwrap();
    let (r, recs) = scan_jsonl(t.path(), &["--detectors", dir, "."]);
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{r:?}");
    assert_eq!(s(f[0], "masked"), masked(&p));
    assert_eq!(strs(f[0], "brands"), ["house-card"]);
    assert_eq!(s(f[0], "confidence"), "high");
    assert!(strs(f[0], "signals").contains(&"brand:house-card".to_string()));
    assert_eq!(r.code, 1);
    // The run record names a different ruleset.
    let ruleset = |recs: &[serde_json::Value]| s(crate::util::of_type(recs, "run")[0], "ruleset").to_string();
    assert_ne!(ruleset(&recs), ruleset(&scan_jsonl(t.path(), &["."]).1));
    // The environment variable works like the flag.
    let r =
        run(pansweep().current_dir(t.path()).env("PANSWEEP_DETECTORS", dir).args(["scan", "--format", "jsonl", "."]));
    assert_eq!(strs(findings(&r.jsonl())[0], "brands"), ["house-card"]);
}
