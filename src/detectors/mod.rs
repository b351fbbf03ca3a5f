//! Loads the detector data (`detectors/*.toml`) into the compiled tables the scanner uses.
//!
//! Knowledge lives in data: brands (IIN ranges, lengths, check mode), public test PANs,
//! context keywords per language and column-name hints. The built-in files are embedded
//! at build time ([`builtin`]); `--detectors DIR` overlays a directory on them (a file
//! with the same relative path replaces the built-in one, new files are added).
//! [`check`] validates a set; running the examples through the engine lives in
//! `scan::examples`, because it needs the scanner.

pub mod builtin;
pub mod check;
pub mod spec;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use sha2::{Digest, Sha256};

use self::spec::{
    BrandSpec, CheckMode, ColumnsSpec, ExampleSpec, HintElement, KeywordsSpec, SecurityCodeSpec, TestPansSpec,
};

/// A problem loading detector data. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read detector file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid for its kind (syntax, unknown field, bad value).
    #[error("invalid detector file {path}: {message}")]
    Invalid {
        /// The file (relative path inside the set).
        path: String,
        /// What is wrong, with line and column where known.
        message: String,
    },
    /// The file's name does not say what kind of detector file it is.
    #[error(
        "unknown detector file {path}: expected brands/*.toml, test-pans.toml, context/keywords.*.toml or context/columns.toml"
    )]
    UnknownKind {
        /// The file.
        path: String,
    },
}

/// One inclusive IIN range on the first `prefix_len` digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IinRange {
    /// Number of leading digits compared.
    pub prefix_len: u8,
    /// Low end.
    pub lo: u64,
    /// High end.
    pub hi: u64,
}

impl IinRange {
    /// Whether `digits` starts inside this range.
    pub fn contains(&self, digits: &[u8]) -> bool {
        let p = usize::from(self.prefix_len);
        if digits.len() < p {
            return false;
        }
        let v = digits_value(&digits[..p]);
        self.lo <= v && v <= self.hi
    }

    /// Whether two ranges share any number (compared on the longer prefix).
    pub fn intersects(&self, other: &IinRange) -> bool {
        let p = self.prefix_len.max(other.prefix_len);
        let (alo, ahi) = self.widen(p);
        let (blo, bhi) = other.widen(p);
        alo <= bhi && blo <= ahi
    }

    fn widen(&self, p: u8) -> (u64, u64) {
        let k = 10u64.pow(u32::from(p - self.prefix_len));
        (self.lo * k, self.hi * k + (k - 1))
    }
}

/// For each two-digit prefix, the bit set of brands with a range that can start with it.
fn prefix2_index(brands: &[Brand]) -> Vec<u64> {
    let mut index = vec![0u64; 100];
    for (i, b) in brands.iter().enumerate() {
        for r in &b.ranges {
            let (lo, hi) = match r.prefix_len {
                0 => (0, 99),
                1 => (r.lo * 10, r.hi * 10 + 9),
                p => {
                    let k = 10u64.pow(u32::from(p - 2));
                    (r.lo / k, r.hi / k)
                }
            };
            for slot in &mut index[lo.min(99) as usize..=hi.min(99) as usize] {
                *slot |= 1 << i;
            }
        }
    }
    index
}

/// Value of an ASCII digit string (at most 19 digits).
pub(crate) fn digits_value(d: &[u8]) -> u64 {
    d.iter().fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0'))
}

/// A compiled brand.
#[derive(Clone, Debug)]
pub struct Brand {
    /// Stable id (`visa`).
    pub id: Arc<str>,
    /// Display name.
    pub name: String,
    /// Check-digit mode.
    pub check: CheckMode,
    /// Allowed lengths.
    pub lengths: Vec<u8>,
    /// Lengths that need context.
    pub context_lengths: Vec<u8>,
    /// Every length needs context.
    pub needs_context: bool,
    /// Security-code name and size.
    pub security_code: Option<SecurityCodeSpec>,
    /// IIN ranges.
    pub ranges: Vec<IinRange>,
    /// Declared overlaps.
    pub overlaps: Vec<String>,
    /// Sources.
    pub references: Vec<String>,
}

impl Brand {
    /// Whether a number of these digits falls in one of the ranges with an allowed length.
    pub fn matches(&self, digits: &[u8]) -> bool {
        self.lengths.contains(&(digits.len() as u8)) && self.ranges.iter().any(|r| r.contains(digits))
    }

    /// Whether a number of this length from this brand needs context to be reported.
    pub fn needs_context_at(&self, len: usize) -> bool {
        self.needs_context || self.check == CheckMode::None || self.context_lengths.contains(&(len as u8))
    }
}

/// A keyword as matched: which element it announces and the term to show in signals.
#[derive(Clone, Debug)]
pub struct Keyword {
    /// Element announced.
    pub element: HintElement,
    /// The term as written in the data file.
    pub term: Arc<str>,
    /// Whether the pattern is pure ASCII (word-boundary rules apply).
    pub ascii: bool,
}

/// All keywords of all languages in one automaton.
#[derive(Clone, Debug)]
pub struct KeywordTable {
    /// The automaton (ASCII case-insensitive, overlapping matches).
    pub automaton: AhoCorasick,
    /// Pattern index → keyword.
    pub patterns: Vec<Keyword>,
}

/// A compiled column-name hint.
#[derive(Clone, Debug)]
pub struct ColumnHint {
    /// Element such a column holds.
    pub element: HintElement,
    /// Whole-name matcher.
    pub regex: Regex,
}

/// Which kind of detector file a relative path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `brands/*.toml`
    Brand,
    /// `test-pans.toml`
    TestPans,
    /// `context/keywords.*.toml`
    Keywords,
    /// `context/columns.toml`
    Columns,
}

impl FileKind {
    fn of(rel: &str) -> Option<FileKind> {
        let rel = rel.replace('\\', "/");
        if rel == "test-pans.toml" {
            Some(FileKind::TestPans)
        } else if rel == "context/columns.toml" {
            Some(FileKind::Columns)
        } else if rel.starts_with("context/keywords.") && has_toml_ext(&rel) {
            Some(FileKind::Keywords)
        } else if rel.starts_with("brands/") && has_toml_ext(&rel) && rel.matches('/').count() == 1 {
            Some(FileKind::Brand)
        } else {
            None
        }
    }
}

fn has_toml_ext(rel: &str) -> bool {
    Path::new(rel).extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// An example with the file it came from.
#[derive(Clone, Debug)]
pub struct SourcedExample {
    /// Relative path of the detector file.
    pub file: String,
    /// The example.
    pub example: ExampleSpec,
    /// True for a negative example.
    pub negative: bool,
    /// Brand id implied by a brand file.
    pub implied_brand: Option<String>,
}

/// The complete, compiled detector data used by one run.
#[derive(Clone, Debug)]
pub struct DetectorSet {
    /// Brands, in file order.
    pub brands: Vec<Brand>,
    /// Public test PANs, as (length, value).
    pub test_pans: HashSet<(u8, u64)>,
    /// Number of entries in the test-PAN lists (with duplicates).
    pub test_pan_entries: usize,
    /// Context keywords.
    pub keywords: KeywordTable,
    /// Column-name hints.
    pub columns: Vec<ColumnHint>,
    /// Column-name hint specs with their examples (for `check`).
    pub column_specs: Vec<spec::ColumnSpec>,
    /// Keyword languages loaded.
    pub languages: Vec<String>,
    /// Examples of every file.
    pub examples: Vec<SourcedExample>,
    /// Brand specs as read (for `check`).
    pub brand_specs: Vec<(String, BrandSpec)>,
    /// The files this set was built from: relative path → (origin, content).
    pub files: BTreeMap<String, (Origin, String)>,
    /// `sha256:` of every file's path and content: identifies the ruleset in reports.
    pub ruleset: String,
    /// Two-digit prefix (00–99) → bit set of the brands (by index) with a range that can
    /// start with it: the scanner tests only those brands' ranges for each candidate.
    by_prefix2: Vec<u64>,
}

/// Where a detector file came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary.
    Builtin,
    /// Read from this path.
    Path(PathBuf),
}

impl DetectorSet {
    /// The embedded default set.
    pub fn builtin() -> Result<DetectorSet, LoadError> {
        Self::from_files(builtin_files())
    }

    /// The built-in set with the `*.toml` files of `dir` laid over it.
    pub fn with_overlay(dir: &Path) -> Result<DetectorSet, LoadError> {
        let mut files = builtin_files();
        let mut found = Vec::new();
        collect_toml(dir, dir, &mut found)?;
        for (rel, path) in found {
            let content =
                std::fs::read_to_string(&path).map_err(|source| LoadError::Io { path: path.clone(), source })?;
            if FileKind::of(&rel).is_none() {
                return Err(LoadError::UnknownKind { path: path.display().to_string() });
            }
            files.insert(rel, (Origin::Path(path), content));
        }
        Self::from_files(files)
    }

    /// Builds a set from relative paths and contents.
    pub fn from_files(files: BTreeMap<String, (Origin, String)>) -> Result<DetectorSet, LoadError> {
        let mut brands = Vec::new();
        let mut brand_specs = Vec::new();
        let mut test_pans = HashSet::new();
        let mut test_pan_entries = 0;
        let mut keyword_specs = Vec::new();
        let mut column_specs = Vec::new();
        let mut examples = Vec::new();
        let mut hasher = Sha256::new();

        for (rel, (_, content)) in &files {
            hasher.update(rel.as_bytes());
            hasher.update([0]);
            hasher.update(content.as_bytes());
            hasher.update([0]);
            let kind = FileKind::of(rel).ok_or_else(|| LoadError::UnknownKind { path: rel.clone() })?;
            let invalid = |message: String| LoadError::Invalid { path: rel.clone(), message };
            match kind {
                FileKind::Brand => {
                    let spec: BrandSpec = toml::from_str(content).map_err(|e| invalid(e.to_string()))?;
                    brands.push(compile_brand(&spec).map_err(invalid)?);
                    push_examples(&mut examples, rel, &spec.examples, &spec.negative_examples, Some(&spec.id));
                    brand_specs.push((rel.clone(), spec));
                }
                FileKind::TestPans => {
                    let spec: TestPansSpec = toml::from_str(content).map_err(|e| invalid(e.to_string()))?;
                    for source in &spec.sources {
                        for pan in &source.pans {
                            let d = pan.as_bytes();
                            if !(12..=19).contains(&d.len()) || !d.iter().all(u8::is_ascii_digit) {
                                return Err(invalid(format!(
                                    "test PAN in source {:?} is not 12-19 digits (entry {} of the list)",
                                    source.name,
                                    test_pan_entries + 1
                                )));
                            }
                            test_pan_entries += 1;
                            test_pans.insert((d.len() as u8, digits_value(d)));
                        }
                    }
                    push_examples(&mut examples, rel, &spec.examples, &spec.negative_examples, None);
                }
                FileKind::Keywords => {
                    let spec: KeywordsSpec = toml::from_str(content).map_err(|e| invalid(e.to_string()))?;
                    push_examples(&mut examples, rel, &spec.examples, &spec.negative_examples, None);
                    keyword_specs.push(spec);
                }
                FileKind::Columns => {
                    let spec: ColumnsSpec = toml::from_str(content).map_err(|e| invalid(e.to_string()))?;
                    column_specs.extend(spec.columns);
                }
            }
        }

        let keywords = compile_keywords(&keyword_specs)
            .map_err(|message| LoadError::Invalid { path: "context/keywords.*.toml".into(), message })?;
        let mut columns = Vec::new();
        for c in &column_specs {
            for p in &c.patterns {
                let regex = Regex::new(&format!("^(?:{p})$")).map_err(|e| LoadError::Invalid {
                    path: "context/columns.toml".into(),
                    message: format!("pattern {p:?} does not compile: {e}"),
                })?;
                columns.push(ColumnHint { element: c.element, regex });
            }
        }
        let ruleset = format!("sha256:{}", crate::finding::hex(&hasher.finalize()));
        if brands.len() > 64 {
            return Err(LoadError::Invalid {
                path: "brands/".into(),
                message: format!("{} brands: at most 64 are supported", brands.len()),
            });
        }
        let by_prefix2 = prefix2_index(&brands);
        Ok(DetectorSet {
            by_prefix2,
            brands,
            test_pans,
            test_pan_entries,
            keywords,
            columns,
            column_specs,
            languages: keyword_specs.iter().map(|k| k.lang.clone()).collect(),
            examples,
            brand_specs,
            files,
            ruleset,
        })
    }

    /// The brands whose ranges and lengths admit these digits, in file order.
    pub fn brands_matching<'a>(&'a self, digits: &'a [u8]) -> impl Iterator<Item = &'a Brand> + 'a {
        let mut bits = match digits {
            [a @ b'0'..=b'9', b @ b'0'..=b'9', ..] => {
                self.by_prefix2[usize::from(a - b'0') * 10 + usize::from(b - b'0')]
            }
            _ => 0,
        };
        std::iter::from_fn(move || {
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let b = &self.brands[i];
                if b.matches(digits) {
                    return Some(b);
                }
            }
            None
        })
    }

    /// Whether these digits are on the public test-PAN list.
    pub fn is_test_pan(&self, digits: &[u8]) -> bool {
        digits.len() <= 19 && self.test_pans.contains(&(digits.len() as u8, digits_value(digits)))
    }

    /// The element a column of this name holds, if its name says so.
    pub fn column_element(&self, name: &str) -> Option<HintElement> {
        let name = name.trim().trim_matches(|c| c == '"' || c == '\'' || c == '`');
        self.columns.iter().find(|c| c.regex.is_match(name)).map(|c| c.element)
    }
}

fn builtin_files() -> BTreeMap<String, (Origin, String)> {
    builtin::FILES
        .iter()
        .map(|(rel, content)| ((*rel).to_string(), (Origin::Builtin, (*content).to_string())))
        .collect()
}

fn collect_toml(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|source| LoadError::Io { path: path.clone(), source })?;
        if ft.is_dir() {
            collect_toml(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((rel, path));
        }
    }
    Ok(())
}

fn push_examples(
    out: &mut Vec<SourcedExample>,
    file: &str,
    examples: &[ExampleSpec],
    negatives: &[ExampleSpec],
    brand: Option<&str>,
) {
    let mk = |e: &ExampleSpec, negative| SourcedExample {
        file: file.to_string(),
        example: e.clone(),
        negative,
        implied_brand: brand.map(str::to_string),
    };
    out.extend(examples.iter().map(|e| mk(e, false)));
    out.extend(negatives.iter().map(|e| mk(e, true)));
}

fn compile_brand(spec: &BrandSpec) -> Result<Brand, String> {
    let mut ranges = Vec::new();
    for r in &spec.ranges {
        let ok = |s: &str| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit());
        if !ok(&r.from) || !ok(&r.to) || r.from.len() != r.to.len() {
            return Err(format!(
                "brand {}: range {:?}..{:?} must be 1-8 digits with from and to of equal length",
                spec.id, r.from, r.to
            ));
        }
        let (lo, hi) = (digits_value(r.from.as_bytes()), digits_value(r.to.as_bytes()));
        if lo > hi {
            return Err(format!("brand {}: range {:?}..{:?} has from > to", spec.id, r.from, r.to));
        }
        ranges.push(IinRange { prefix_len: r.from.len() as u8, lo, hi });
    }
    for &l in spec.lengths.iter().chain(&spec.context_lengths) {
        if !(12..=19).contains(&l) {
            return Err(format!("brand {}: length {l} is outside 12..=19", spec.id));
        }
    }
    Ok(Brand {
        id: Arc::from(spec.id.as_str()),
        name: spec.name.clone(),
        check: spec.check,
        lengths: spec.lengths.clone(),
        context_lengths: spec.context_lengths.clone(),
        needs_context: spec.needs_context,
        security_code: spec.security_code.clone(),
        ranges,
        overlaps: spec.overlaps.clone(),
        references: spec.references.clone(),
    })
}

/// ASCII terms: lower-cased; a space also matches nothing, `_` or `-`.
fn keyword_variants(term: &str) -> Vec<String> {
    let t = term.trim();
    if !t.is_ascii() || !t.contains(' ') {
        return vec![t.to_ascii_lowercase()];
    }
    let lower = t.to_ascii_lowercase();
    let mut v: Vec<String> = ["", " ", "_", "-"].iter().map(|sep| lower.replace(' ', sep)).collect();
    v.dedup();
    v
}

fn compile_keywords(specs: &[KeywordsSpec]) -> Result<KeywordTable, String> {
    let mut seen = HashSet::new();
    let mut patterns = Vec::new();
    let mut needles = Vec::new();
    for spec in specs {
        for g in &spec.groups {
            for term in &g.terms {
                if term.trim().is_empty() {
                    return Err(format!("empty term in language {}", spec.lang));
                }
                let shown: Arc<str> = Arc::from(term.trim());
                for v in keyword_variants(term) {
                    if seen.insert((g.element, v.clone())) {
                        patterns.push(Keyword { element: g.element, term: shown.clone(), ascii: v.is_ascii() });
                        needles.push(v);
                    }
                }
            }
        }
    }
    let automaton = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&needles)
        .map_err(|e| format!("keywords do not compile: {e}"))?;
    Ok(KeywordTable { automaton, patterns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The prefix index is only a shortcut: same brands, same order, as testing every
        /// brand. Leading digits are drawn from each brand's own range ends so every
        /// range is exercised, not just the common prefixes.
        #[test]
        fn brands_matching_equals_testing_every_brand(
            pick in 0usize..1000, tail in proptest::collection::vec(0u8..10, 0..19), len in 12usize..=19
        ) {
            let set = DetectorSet::builtin().unwrap();
            let ends: Vec<u64> = set.brands.iter().flat_map(|b| b.ranges.iter().flat_map(|r| [r.lo, r.hi])).collect();
            let lead = ends[pick % ends.len()].to_string();
            let mut digits: Vec<u8> = lead.bytes().chain(tail.iter().map(|d| b'0' + d)).collect();
            digits.resize(len, b'5');
            let fast: Vec<&str> = set.brands_matching(&digits).map(|b| &*b.id).collect();
            let slow: Vec<&str> = set.brands.iter().filter(|b| b.matches(&digits)).map(|b| &*b.id).collect();
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn builtin_set_loads() {
        let set = DetectorSet::builtin().unwrap();
        assert!(set.brands.len() >= 15, "{} brands", set.brands.len());
        assert!(set.test_pans.len() >= 150, "{} test PANs", set.test_pans.len());
        assert!(set.ruleset.starts_with("sha256:"));
        assert!(set.is_test_pan(b"4111111111111111"));
        assert!(!set.is_test_pan(b"4111111111111112"));
    }

    #[test]
    fn ranges_intersect_on_the_longer_prefix() {
        let four = IinRange { prefix_len: 1, lo: 4, hi: 4 };
        let elo = IinRange { prefix_len: 6, lo: 401_178, hi: 401_179 };
        let mc = IinRange { prefix_len: 2, lo: 51, hi: 55 };
        assert!(four.intersects(&elo));
        assert!(elo.intersects(&four));
        assert!(!mc.intersects(&four));
        assert!(four.contains(b"4111111111111111"));
        assert!(!mc.contains(b"4"));
    }

    #[test]
    fn keyword_variants_cover_separators() {
        let v = keyword_variants("Card Number");
        assert!(v.contains(&"cardnumber".to_string()));
        assert!(v.contains(&"card_number".to_string()));
        assert!(v.contains(&"card-number".to_string()));
        assert_eq!(keyword_variants("カード番号"), vec!["カード番号".to_string()]);
    }

    #[test]
    fn unknown_file_kind_is_rejected() {
        let mut files = builtin_files();
        files.insert("misc/other.toml".into(), (Origin::Builtin, String::new()));
        assert!(matches!(DetectorSet::from_files(files), Err(LoadError::UnknownKind { .. })));
    }

    #[test]
    fn typo_in_field_is_an_error_with_position() {
        let mut files = builtin_files();
        files.insert(
            "brands/zz.toml".into(),
            (Origin::Builtin, "id = \"zz\"\nname = \"Z\"\ncheck = \"luhn\"\nlenghts = [16]\nranges = []\n".into()),
        );
        let err = DetectorSet::from_files(files).unwrap_err().to_string();
        assert!(err.contains("brands/zz.toml"), "{err}");
        assert!(err.contains("lenghts"), "{err}");
    }
}
