// Shared by the SARIF unit tests (src/report/sarif.rs) and integration tests
// (tests/it/sarif.rs) through `include!`: one validator for both. Needs `serde_json::Value`
// in scope.

/// Schema errors of `doc` against the vendored OASIS SARIF 2.1.0 schema
/// (`testdata/sarif/`, offline): as declared (draft 4), and as draft 7, which also checks
/// the `uri-reference` format of artifact URIs.
fn schema_errors(doc: &Value) -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sarif/sarif-schema-2.1.0.json"))
        .expect("vendored schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let mut errors = Vec::new();
    for draft in [jsonschema::Draft::Draft4, jsonschema::Draft::Draft7] {
        let v = jsonschema::options()
            .with_draft(draft)
            .should_validate_formats(true)
            .offline()
            .build(&schema)
            .expect("schema compiles");
        errors.extend(v.iter_errors(doc).map(|e| format!("{draft:?}: {e} at {}", e.instance_path())));
    }
    errors
}
