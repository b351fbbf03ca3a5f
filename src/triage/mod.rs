//! Triage for scheduled runs: which findings a run reports, given an allowlist of
//! accepted findings (`--allowlist`, [`allowlist`]) and an earlier report to compare with
//! (`--baseline`, [`baseline`]). Pure logic: the pipeline's writer asks [`Triage::judge`]
//! about each finding before counting it; the CLI prints [`Triage::warnings`].

pub mod allowlist;
pub mod baseline;

use std::collections::HashSet;

pub use allowlist::{Allowlist, AllowlistError, Entry};
pub use baseline::{Baseline, BaselineError};

use crate::report::{BaselineCounts, FindingRecord};
use crate::source::Skip;

/// What to do with a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write it and count it (new, or no baseline).
    Report,
    /// An allowlist entry matches: count it as allowlisted only.
    Allowlisted,
    /// It is in the baseline: count it as known only.
    Known,
}

/// The allowlist and the baseline of one run, and what they decided so far.
#[derive(Debug)]
pub struct Triage {
    /// Entries in force (not expired; fingerprint entries only when they can match).
    entries: Vec<Entry>,
    baseline: Option<baseline::Index>,
    warnings: Vec<String>,
    allowlisted: u64,
    counts: BaselineCounts,
    /// Paths this run could not read (fully): their baseline findings are not resolved.
    unread: HashSet<String>,
    /// A baseline was given (the index is taken by [`Triage::resolved`]).
    has_baseline: bool,
}

impl Triage {
    /// Puts together what a run with fingerprint key `key_id` uses on day `today` (days
    /// since 1970-01-01, UTC). Entries expired before `today`, fingerprint entries that
    /// cannot match under this key, and a baseline that cannot be compared by fingerprint
    /// each leave a warning.
    pub fn new(allowlist: Option<Allowlist>, baseline: Option<Baseline>, key_id: &str, today: i64) -> Triage {
        let mut warnings = Vec::new();
        let mut entries = Vec::new();
        let random_key = key_id.starts_with("random:");
        if let Some(list) = allowlist {
            let mut unusable = 0;
            let mut other_key = 0;
            for e in list.entries {
                if let Some(end) = e.expires
                    && end < today
                {
                    warnings.push(format!(
                        "allowlist {}:{}: entry expired on {} (reason: {}); what it matched is reported again",
                        list.path,
                        e.line,
                        e.expires_text().unwrap_or_default(),
                        e.reason
                    ));
                    continue;
                }
                if e.fingerprint.is_some() {
                    if random_key {
                        unusable += 1;
                        continue;
                    }
                    if e.key_id.as_deref().is_some_and(|k| k != key_id) {
                        other_key += 1;
                        continue;
                    }
                }
                entries.push(e);
            }
            if unusable > 0 {
                warnings.push(format!(
                    "allowlist {}: {unusable} fingerprint entr{} cannot match: this run uses a random fingerprint key; \
                     give --fingerprint-key FILE (the key the entries were made with)",
                    list.path,
                    if unusable == 1 { "y" } else { "ies" }
                ));
            }
            if other_key > 0 {
                warnings.push(format!(
                    "allowlist {}: {other_key} fingerprint entr{} made with another fingerprint key than this run's ({key_id}) cannot match",
                    list.path,
                    if other_key == 1 { "y" } else { "ies" }
                ));
            }
        }
        let baseline = baseline.map(|b| {
            let by_fingerprint = !random_key && b.key_id == key_id;
            if !by_fingerprint {
                warnings.push(format!(
                    "baseline {}: made with fingerprint key {}, this run uses {key_id}: findings are compared by place \
                     and masked number (a card that moved within its file counts as new)",
                    b.path, b.key_id
                ));
            }
            if !b.complete {
                warnings.push(format!(
                    "baseline {}: its run did not finish: findings missing from it are reported as new",
                    b.path
                ));
            }
            if b.made_with_baseline {
                warnings.push(format!(
                    "baseline {}: it was itself written with --baseline and holds only what was new then; \
                     findings known before it are reported as new (use a report written without --baseline)",
                    b.path
                ));
            }
            baseline::Index::new(b, by_fingerprint)
        });
        Triage {
            entries,
            has_baseline: baseline.is_some(),
            baseline,
            warnings,
            allowlisted: 0,
            counts: BaselineCounts::default(),
            unread: HashSet::new(),
        }
    }

    /// Problems to show the user (expired entries, keys that differ).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Decides about one finding, and counts it.
    ///
    /// An allowlisted finding also takes its match out of the baseline: it is still there,
    /// so it must not be listed as resolved.
    pub fn judge(&mut self, rec: &FindingRecord) -> Verdict {
        let known = self.baseline.as_mut().is_some_and(|b| b.take(rec));
        if self.entries.iter().any(|e| e.matches(rec)) {
            self.allowlisted += 1;
            return Verdict::Allowlisted;
        }
        if known {
            self.counts.known += 1;
            Verdict::Known
        } else {
            self.counts.new += 1;
            Verdict::Report
        }
    }

    /// Notes an item the run skipped: when it leaves data unread, baseline findings in it
    /// cannot be said to be gone.
    pub fn skipped(&mut self, skip: &Skip) {
        if self.baseline.is_some() && skip.kind.incomplete() {
            // A piece of a large file: `path (bytes a..b)`.
            let path = skip.path.split(" (bytes ").next().unwrap_or(&skip.path);
            self.unread.insert(path.to_owned());
        }
    }

    /// The baseline findings not found again, once the run is over; none when it did not
    /// finish (`complete` false), as what was not scanned cannot be said to be gone. Also
    /// left out: findings in files or tables this run could not read.
    pub fn resolved(&mut self, complete: bool) -> Vec<FindingRecord> {
        let Some(index) = self.baseline.take() else { return Vec::new() };
        if !complete {
            return Vec::new();
        }
        let unread = &self.unread;
        let gone: Vec<FindingRecord> = index
            .rest()
            .into_iter()
            .filter(|f| {
                let db = f.table.as_ref().map(|t| format!("{}!{t}", f.path));
                let mut outer = f.path.match_indices(['!', '/']).map(|(i, _)| &f.path[..i]);
                !(unread.contains(&f.path)
                    || db.is_some_and(|d| unread.contains(&d))
                    || outer.any(|p| unread.contains(p)))
            })
            .collect();
        self.counts.resolved = gone.len() as u64;
        gone
    }

    /// Findings an allowlist entry matched.
    pub fn allowlisted(&self) -> u64 {
        self.allowlisted
    }

    /// New, known and resolved findings; `None` without a baseline.
    pub fn baseline_counts(&self) -> Option<BaselineCounts> {
        self.has_baseline.then_some(self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Class, Confidence, Fingerprint};
    use crate::report::test_record;
    use crate::source::SkipKind;

    const DAY: i64 = 20_000;

    fn list(text: &str) -> Allowlist {
        Allowlist::parse(text, "a.toml").unwrap()
    }

    fn rec(path: &str, fp: u8) -> FindingRecord {
        test_record(path, Class::Pan, Confidence::High, &[], fp)
    }

    fn fp(b: u8) -> String {
        Fingerprint([b; 32]).to_string()
    }

    #[test]
    fn expired_entries_warn_once_and_match_nothing() {
        let (y, m, d) = crate::time::civil_from_days(DAY);
        let today = format!("{y:04}-{m:02}-{d:02}");
        let (y, m, d) = crate::time::civil_from_days(DAY - 1);
        let yesterday = format!("{y:04}-{m:02}-{d:02}");
        let text = format!(
            "[[allow]]\nfingerprint = \"{}\"\nreason = \"until today\"\nexpires = \"{today}\"\n\n\
             [[allow]]\nfingerprint = \"{}\"\nreason = \"until yesterday\"\nexpires = \"{yesterday}\"\n",
            fp(1),
            fp(2)
        );
        let mut t = Triage::new(Some(list(&text)), None, "sha256:00", DAY);
        assert_eq!(t.warnings().len(), 1, "{:?}", t.warnings());
        assert!(t.warnings()[0].contains("a.toml:6: entry expired on") && t.warnings()[0].contains("until yesterday"));
        assert_eq!(t.judge(&rec("/x", 1)), Verdict::Allowlisted, "an entry holds through its last day");
        assert_eq!(t.judge(&rec("/x", 2)), Verdict::Report);
        assert_eq!(t.judge(&rec("/x", 3)), Verdict::Report);
        assert_eq!(t.allowlisted(), 1);
        assert_eq!(t.baseline_counts(), None);
    }

    #[test]
    fn fingerprint_entries_need_the_same_key() {
        let text = format!(
            "[[allow]]\nfingerprint = \"{}\"\nkey_id = \"sha256:00000000000000aa\"\nreason = \"r\"\n\n\
             [[allow]]\nfingerprint = \"{}\"\nreason = \"r\"\n\n[[allow]]\npath = \"/p/**\"\nreason = \"r\"\n",
            fp(1),
            fp(2)
        );
        let mut t = Triage::new(Some(list(&text)), None, "sha256:00000000000000aa", DAY);
        assert!(t.warnings().is_empty());
        assert_eq!(t.judge(&rec("/x", 1)), Verdict::Allowlisted);
        assert_eq!(t.judge(&rec("/x", 2)), Verdict::Allowlisted);
        let mut t = Triage::new(Some(list(&text)), None, "sha256:00000000000000bb", DAY);
        assert_eq!(t.judge(&rec("/x", 1)), Verdict::Report, "made with another key");
        assert_eq!(t.judge(&rec("/x", 2)), Verdict::Allowlisted, "no key id given: taken as is");
        let mut t = Triage::new(Some(list(&text)), None, "random:00000000000000cc", DAY);
        assert_eq!(t.warnings().len(), 1, "one warning for all fingerprint entries");
        assert!(t.warnings()[0].contains("2 fingerprint entries") && t.warnings()[0].contains("--fingerprint-key"));
        assert_eq!(t.judge(&rec("/x", 1)), Verdict::Report);
        assert_eq!(t.judge(&rec("/x", 2)), Verdict::Report);
        assert_eq!(t.judge(&rec("/p/q", 2)), Verdict::Allowlisted, "path entries still match");
    }

    fn base(key: &str, findings: Vec<FindingRecord>) -> Baseline {
        Baseline { path: "b.jsonl".into(), key_id: key.into(), complete: true, made_with_baseline: false, findings }
    }

    #[test]
    fn baseline_known_new_and_resolved() {
        let key = "sha256:00000000000000aa";
        let b = base(key, vec![rec("/a", 1), rec("/a", 1), rec("/gone", 2), rec("/allowed", 3), rec("/unread/f", 4)]);
        let allow = list("[[allow]]\npath = \"/allowed\"\nreason = \"r\"\n");
        let mut t = Triage::new(Some(allow), Some(b), key, DAY);
        assert!(t.warnings().is_empty(), "{:?}", t.warnings());
        assert_eq!(t.judge(&rec("/a", 1)), Verdict::Known);
        let mut moved = rec("/a", 1);
        moved.line = 99;
        assert_eq!(t.judge(&moved), Verdict::Known, "same key: the card is known wherever it is in the file");
        assert_eq!(t.judge(&rec("/a", 1)), Verdict::Report, "a third copy is new");
        assert_eq!(t.judge(&rec("/new", 5)), Verdict::Report);
        assert_eq!(t.judge(&rec("/allowed", 3)), Verdict::Allowlisted);
        t.skipped(&Skip { path: "/unread".into(), reason: "cannot read".into(), kind: SkipKind::Error });
        let gone = t.resolved(true);
        assert_eq!(gone.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["/gone"]);
        assert_eq!(t.baseline_counts(), Some(BaselineCounts { new: 2, known: 2, resolved: 1 }));
        assert_eq!(t.allowlisted(), 1);
    }

    #[test]
    fn another_key_compares_by_place_and_an_interrupted_run_resolves_nothing() {
        let b = base("random:00000000000000aa", vec![rec("/a", 1), rec("/b", 1)]);
        let mut t = Triage::new(None, Some(b), "random:00000000000000bb", DAY);
        assert_eq!(t.warnings().len(), 1);
        assert!(t.warnings()[0].contains("compared by place"));
        // Another key: another fingerprint, but the same place and masked number.
        assert_eq!(t.judge(&rec("/a", 9)), Verdict::Known);
        let mut moved = rec("/a", 9);
        moved.line = 4;
        assert_eq!(t.judge(&moved), Verdict::Report);
        assert!(t.resolved(false).is_empty());
        assert_eq!(t.baseline_counts(), Some(BaselineCounts { new: 1, known: 1, resolved: 0 }));
    }
}
