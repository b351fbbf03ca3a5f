//! `--format sarif`: every log is validated against the OASIS SARIF 2.1.0 schema vendored
//! at `testdata/sarif/` (offline), for scans with findings, skipped items, nothing at
//! all, a fingerprint key, and a database.

use serde_json::Value;

use crate::util::{TestDir, insta_settings, mask_digits, masked, pan, pansweep, run, scan_in};

include!("../common/sarif_schema.rs");

/// Parses stdout as one SARIF log and validates it; panics (output masked) otherwise.
fn sarif(r: &crate::util::Run) -> Value {
    let doc: Value = serde_json::from_slice(&r.stdout_bytes)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", r.show()));
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "not valid SARIF 2.1.0:\n{}\n{}", mask_digits(&errors.join("\n")), r.show());
    doc
}

fn results(doc: &Value) -> Vec<Value> {
    doc["runs"][0]["results"].as_array().expect("results").clone()
}

/// The result whose masked PAN is `m`.
fn by_masked<'a>(rs: &'a [Value], m: &str) -> &'a Value {
    rs.iter().find(|r| r["properties"]["masked"] == m).unwrap_or_else(|| panic!("no result for {m}"))
}

#[test]
fn a_scan_is_valid_sarif_with_levels_and_locations() {
    let t = TestDir::new();
    let (a, b) = (pan("453201", 16, 901), pan("545454", 16, 902));
    t.write("orders/export.csv", format!("id,card_no,expire,security_code\n1,{a},12/27,123\n"));
    t.write("logs/app 1.log", format!("ref {b}\n"));
    t.write("notes.txt", "test 4111111111111111\nmasked xxxx-xxxx-xxxx-1234\n");
    let r = scan_in(t.path(), &["--format", "sarif", "."]);
    assert_eq!(r.code, 1, "{r:?}");
    for p in [&a, &b] {
        assert!(!r.stdout().contains(p.as_str()), "full number in output: {r:?}");
    }
    let doc = sarif(&r);
    let rs = results(&doc);
    assert_eq!(rs.len(), 4, "{}", mask_digits(&format!("{rs:#?}")));
    let driver = &doc["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "pansweep");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    let rule_ids: Vec<&str> = driver["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rule_ids, ["pan", "track1", "track2", "test_pan", "masked_pan"]);
    for res in &rs {
        let idx = usize::try_from(res["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(res["ruleId"], rule_ids[idx]);
    }
    let crit = by_masked(&rs, &masked(&a));
    assert_eq!((crit["ruleId"].as_str(), crit["level"].as_str()), (Some("pan"), Some("error")));
    assert_eq!(crit["properties"]["confidence"], "critical");
    let loc = &crit["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "orders/export.csv");
    assert_eq!(loc["region"]["startLine"], 2);
    assert!(crit["message"]["text"].as_str().unwrap().contains(&masked(&a)));
    let med = by_masked(&rs, &masked(&b));
    assert_eq!((med["level"].as_str(), med["properties"]["confidence"].as_str()), (Some("warning"), Some("medium")));
    assert_eq!(med["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "logs/app%201.log");
    assert_eq!(med["locations"][0]["physicalLocation"]["region"]["byteOffset"], 4);
    let test = by_masked(&rs, "411111******1111");
    assert_eq!((test["ruleId"].as_str(), test["level"].as_str()), (Some("test_pan"), Some("note")));
    let m = by_masked(&rs, "************1234");
    assert_eq!((m["ruleId"].as_str(), m["level"].as_str()), (Some("masked_pan"), Some("note")));
    let inv = &doc["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    assert_eq!(inv["toolExecutionNotifications"], serde_json::json!([]));
    assert_eq!(doc["runs"][0]["properties"]["findings"]["critical"], 1);
    assert_eq!(doc["runs"][0]["properties"]["distinct_pans"], 2);
}

#[test]
fn an_absolute_path_becomes_a_file_uri() {
    let t = TestDir::new();
    let p = t.write("カード/a.txt", "card 4111111111111111\n");
    let r = run(pansweep().args(["scan", "--format", "sarif"]).arg(&p));
    let doc = sarif(&r);
    let uri =
        results(&doc)[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("file:///") && uri.ends_with("/%E3%82%AB%E3%83%BC%E3%83%89/a.txt"), "{uri}");
}

#[test]
fn skipped_items_are_notifications() {
    let t = TestDir::new();
    t.write("small.txt", "fine\n");
    t.write("large.bin", vec![b'a'; 4096]);
    let r = scan_in(t.path(), &["--format", "sarif", "--max-filesize", "1K", "."]);
    assert_eq!(r.code, 3, "{r:?}");
    let doc = sarif(&r);
    let inv = &doc["runs"][0]["invocations"][0];
    // The run itself completed; the notification says what it could not read.
    assert_eq!(inv["executionSuccessful"], true);
    let n = inv["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["level"], "warning");
    assert!(n[0]["message"]["text"].as_str().unwrap().contains("max-filesize"), "{n:?}");
    assert_eq!(n[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "large.bin");
    assert_eq!(n[0]["properties"]["kind"], "limit");
    assert_eq!(doc["runs"][0]["properties"]["coverage"]["skipped"], 1);
}

#[test]
fn an_empty_scan_is_valid_with_no_results() {
    let t = TestDir::new();
    let r = scan_in(t.path(), &["--format", "sarif", "."]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = sarif(&r);
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(doc["runs"][0]["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn partial_fingerprints_only_with_a_fingerprint_key() {
    let t = TestDir::new();
    t.write("a.txt", format!("card number {}\nmasked 411111******1111\n", pan("453201", 16, 903)));
    let key = TestDir::new();
    let key_file = key.write("key", [7u8; 32]);
    let fps = |args: &[&str]| -> Vec<Option<String>> {
        let mut all = vec!["--format", "sarif"];
        all.extend_from_slice(args);
        all.push(".");
        let doc = sarif(&scan_in(t.path(), &all));
        let mut v: Vec<Option<String>> = results(&doc)
            .iter()
            .map(|r| r["partialFingerprints"]["pansweep/pan/v1"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    // A random key per run: nothing a dashboard could match across runs.
    assert_eq!(fps(&[]), [None, None]);
    let k = key_file.to_str().unwrap();
    let with_key = fps(&["--fingerprint-key", k]);
    assert_eq!(with_key[0], None, "a masked PAN has no fingerprint");
    assert!(with_key[1].as_deref().is_some_and(|f| f.starts_with("hmac-sha256:")), "{with_key:?}");
    assert_eq!(fps(&["--fingerprint-key", k]), with_key, "stable across runs");
}

#[test]
fn sarif_output_snapshot() {
    let t = TestDir::new();
    crate::util::write_order_export_and_log(&t);
    t.write("big.bin", vec![b'a'; 4096]);
    let r = scan_in(t.path(), &["--format", "sarif", "--max-filesize", "1K", "."]);
    assert_eq!(r.code, 3, "{r:?}");
    let mut doc = sarif(&r);
    // Walk order is not part of the contract; times, host, argv, key and ruleset vary.
    let mut rs = results(&doc);
    rs.sort_by_key(|r| (r["properties"]["path"].to_string(), r["properties"]["byte_offset"].as_u64()));
    let run0 = &mut doc["runs"][0];
    run0["results"] = Value::Array(rs);
    run0["tool"]["driver"]["version"] = "[VERSION]".into();
    run0["tool"]["driver"]["semanticVersion"] = "[VERSION]".into();
    let inv = &mut run0["invocations"][0];
    for k in ["startTimeUtc", "endTimeUtc", "machine", "commandLine", "arguments"] {
        assert!(inv.get(k).is_some(), "invocation lacks {k}");
        inv[k] = format!("[{k}]").into();
    }
    run0["properties"]["elapsed_s"] = "[ELAPSED]".into();
    run0["properties"]["fingerprint_key_id"] = "[KEYID]".into();
    let pretty = serde_json::to_string_pretty(&doc).unwrap();
    let settings = insta_settings(Some(t.path()));
    settings.bind(|| insta::assert_snapshot!("sarif_output", pretty));
}

#[test]
fn a_database_finding() {
    let t = TestDir::new();
    let number = pan("453201", 16, 904);
    let db = pansweep::source::sqlite::build(&format!(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, card_no TEXT, cvv TEXT);
         INSERT INTO orders VALUES (7, '{number}', '123');"
    ))
    .unwrap();
    std::fs::write(t.join("shop db.sqlite"), db).unwrap();
    let url = format!("sqlite://{}", t.join("shop db.sqlite").display());
    let r = run(pansweep().args(["db", "--format", "sarif", &url]));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(!r.stdout().contains(&number), "full number in output");
    let doc = sarif(&r);
    let rs = results(&doc);
    assert_eq!(rs.len(), 1, "{}", mask_digits(&format!("{rs:#?}")));
    let res = &rs[0];
    assert_eq!((res["ruleId"].as_str(), res["level"].as_str()), (Some("pan"), Some("error")));
    let loc = &res["locations"][0];
    let uri = loc["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert!(uri.starts_with("sqlite:///") && uri.ends_with("/shop%20db.sqlite"), "{uri}");
    assert!(loc["physicalLocation"].get("region").is_none(), "a row is placed by its key");
    assert_eq!(
        loc["logicalLocations"][0],
        serde_json::json!({"name": "card_no", "fullyQualifiedName": "main.orders.card_no", "kind": "column"})
    );
    assert_eq!(res["properties"]["row_key"], serde_json::json!({"id": "7"}));
    assert_eq!(res["properties"]["engine"], "sqlite");
    let tables = &doc["runs"][0]["properties"]["tables"];
    assert_eq!(tables[0]["table"], "main.orders", "{tables}");
    assert_eq!(doc["runs"][0]["properties"]["coverage"]["rows"], 1);
}

/// `pansweep report --format sarif`: a stored JSONL run re-rendered, and two runs merged,
/// are valid SARIF with the same results as a live run.
#[test]
fn a_stored_run_re_renders_as_sarif() {
    let t = TestDir::new();
    let a = pan("453201", 16, 905);
    t.write("data/a.txt", format!("card number {a} cvv 123\nmasked 411111******1111\n"));
    let out = TestDir::new();
    let key = out.write("key", [9u8; 32]);
    let k = key.to_str().unwrap();
    let stored = out.join("run.jsonl");
    let r = run(pansweep()
        .current_dir(t.path())
        .args(["scan", "-j", "1", "--format", "jsonl", "--fingerprint-key", k, "-o"])
        .arg(&stored)
        .arg("."));
    assert_eq!(r.code, 1, "{}", r.show());
    let live = sarif(&scan_in(t.path(), &["--format", "sarif", "--fingerprint-key", k, "."]));
    let again = sarif(&run(pansweep().args(["report", "--format", "sarif"]).arg(&stored)));
    assert!(!serde_json::to_string(&again).unwrap().contains(&a), "full number in output");
    let strip = |doc: &Value| -> Vec<Value> {
        let mut v = results(doc);
        v.sort_by_key(|r| r["properties"]["byte_offset"].as_u64());
        v
    };
    assert_eq!(strip(&again), strip(&live), "the same results, partialFingerprints included");
    assert_eq!(again["runs"][0]["properties"]["sources"].as_array().map(Vec::len), Some(1));
    // Two copies of the run merged: de-duplicated by location, still valid.
    let copy = out.join("copy.jsonl");
    std::fs::copy(&stored, &copy).unwrap();
    let merged = sarif(&run(pansweep().args(["report", "--format", "sarif"]).arg(&stored).arg(&copy)));
    assert_eq!(results(&merged).len(), results(&live).len());
    assert_eq!(merged["runs"][0]["properties"]["sources"].as_array().map(Vec::len), Some(2));
}
