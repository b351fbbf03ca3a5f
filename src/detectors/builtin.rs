//! The built-in detector files, embedded at build time with `include_str!`.
//!
//! A unit test fails when a file under `detectors/` is missing from [`FILES`], so the
//! table cannot silently fall behind the directory.

/// Relative path (inside `detectors/`) and content of every built-in file.
pub const FILES: &[(&str, &str)] = &[
    ("brands/amex.toml", include_str!("../../detectors/brands/amex.toml")),
    ("brands/dankort.toml", include_str!("../../detectors/brands/dankort.toml")),
    ("brands/diners.toml", include_str!("../../detectors/brands/diners.toml")),
    ("brands/discover.toml", include_str!("../../detectors/brands/discover.toml")),
    ("brands/elo.toml", include_str!("../../detectors/brands/elo.toml")),
    ("brands/hipercard.toml", include_str!("../../detectors/brands/hipercard.toml")),
    ("brands/jcb.toml", include_str!("../../detectors/brands/jcb.toml")),
    ("brands/maestro.toml", include_str!("../../detectors/brands/maestro.toml")),
    ("brands/mastercard.toml", include_str!("../../detectors/brands/mastercard.toml")),
    ("brands/mir.toml", include_str!("../../detectors/brands/mir.toml")),
    ("brands/rupay.toml", include_str!("../../detectors/brands/rupay.toml")),
    ("brands/troy.toml", include_str!("../../detectors/brands/troy.toml")),
    ("brands/uatp.toml", include_str!("../../detectors/brands/uatp.toml")),
    ("brands/unionpay.toml", include_str!("../../detectors/brands/unionpay.toml")),
    ("brands/verve.toml", include_str!("../../detectors/brands/verve.toml")),
    ("brands/visa.toml", include_str!("../../detectors/brands/visa.toml")),
    ("context/columns.toml", include_str!("../../detectors/context/columns.toml")),
    ("context/keywords.en.toml", include_str!("../../detectors/context/keywords.en.toml")),
    ("context/keywords.intl.toml", include_str!("../../detectors/context/keywords.intl.toml")),
    ("context/keywords.ja.toml", include_str!("../../detectors/context/keywords.ja.toml")),
    ("test-pans.toml", include_str!("../../detectors/test-pans.toml")),
];

#[cfg(test)]
mod tests {
    use super::FILES;

    #[test]
    fn table_lists_every_detector_file() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/detectors");
        let mut on_disk = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "toml") {
                    on_disk.push(p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(p, _)| (*p).to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "update src/detectors/builtin.rs");
    }
}
