//! Data stores: findings grouped by where the card data is kept, in the shape PCI DSS
//! 12.5.2 asks for (an inventory of every location of account data: what is stored, how
//! it is protected, what to do about it). The HTML report's store table and the JSON
//! document's `locations` array are both built from [`Stores`].
//!
//! A store is a file on disk (an archive or mailbox with all its members counts as one:
//! that is what gets deleted) or a column of a database table (one column may be a card
//! store kept on purpose while another is a free-text field card numbers leak into: they
//! need different actions). Pure data: no I/O.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::{Counts, FindingRecord, KeyJson, Lang};
use crate::finding::{Class, Confidence, Element, Fingerprint, Signal};
use crate::source::Skip;

/// Most example locations kept per store.
pub const MAX_EXAMPLES: usize = 3;

/// What kind of place a store is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// A plain file.
    File,
    /// An archive, mailbox or document whose members held the findings.
    Container,
    /// A column of a database table.
    Column,
}

/// How the card numbers in a store are kept (the "protection" column of 12.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Full card numbers in the clear.
    Cleartext,
    /// Only public test card numbers.
    Test,
    /// Only masked or truncated numbers (at most first 6 and last 4 shown).
    Masked,
}

/// What to do about a store, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sensitive authentication data or a stray copy: delete it securely.
    DeleteSecurely,
    /// Card data arrives through a process that should never capture it (a log, a
    /// free-text field, mail): fix the process, then delete.
    FixProcess,
    /// A full card record kept on purpose (card on file): keep it only inside the
    /// cardholder data environment, encrypted, or replace it with a token.
    MoveIntoCde,
    /// A card-number column: truncate to first 6 / last 4 or tokenise.
    Truncate,
    /// Low confidence only: look at it by hand.
    Review,
    /// Test or masked numbers only: nothing to do.
    None,
}

impl Protection {
    /// Label in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Protection::Cleartext, Lang::En) => "cleartext",
            (Protection::Test, Lang::En) => "test numbers",
            (Protection::Masked, Lang::En) => "masked",
            (Protection::Cleartext, Lang::Ja) => "平文",
            (Protection::Test, Lang::Ja) => "テスト番号",
            (Protection::Masked, Lang::Ja) => "マスク済み",
        }
    }
}

impl Action {
    /// Every action, most urgent first.
    pub const ALL: [Action; 6] = [
        Action::DeleteSecurely,
        Action::FixProcess,
        Action::MoveIntoCde,
        Action::Truncate,
        Action::Review,
        Action::None,
    ];

    /// Short label in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Action::DeleteSecurely, Lang::En) => "delete securely",
            (Action::FixProcess, Lang::En) => "fix the process, then delete",
            (Action::MoveIntoCde, Lang::En) => "move into the CDE or tokenise",
            (Action::Truncate, Lang::En) => "truncate or tokenise",
            (Action::Review, Lang::En) => "review by hand",
            (Action::None, Lang::En) => "no action",
            (Action::DeleteSecurely, Lang::Ja) => "安全に削除",
            (Action::FixProcess, Lang::Ja) => "業務・処理を是正してから削除",
            (Action::MoveIntoCde, Lang::Ja) => "CDE 内へ移設またはトークン化",
            (Action::Truncate, Lang::Ja) => "切り詰め（マスク）またはトークン化",
            (Action::Review, Lang::Ja) => "目視で確認",
            (Action::None, Lang::Ja) => "対応不要",
        }
    }

    /// What the action means, in plain words.
    pub fn explain(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Action::DeleteSecurely, Lang::En) => {
                "Security codes and track data must never be kept after authorisation (PCI DSS 3.3.1), and a \
                 stray copy of card numbers (an export, a backup, a spreadsheet) has no business reason. Delete \
                 the file or rows, then the copies: backups, snapshots, replicas, the trash. Overwrite or \
                 crypto-erase where the medium allows it (PCI DSS 3.2.1, 9.4.7)."
            }
            (Action::FixProcess, Lang::En) => {
                "The numbers reached this place through a process that should never capture them: an \
                 application log, a free-text field, e-mail. Deleting them alone is not enough; they will come \
                 back. Find what writes them (log level, request logging, a form field, staff taking card \
                 numbers by mail), stop it, then delete what is there."
            }
            (Action::MoveIntoCde, Lang::En) => {
                "A full card record kept on purpose (card on file for repeat billing). Under non-retention \
                 (カード情報非保持化) the merchant should not keep it at all: replace it with the payment \
                 provider's token. If the business truly needs it, it may exist only inside the cardholder data \
                 environment, rendered unreadable (PCI DSS 3.5.1) with keys managed under 3.6-3.7."
            }
            (Action::Truncate, Lang::En) => {
                "A column that stores card numbers. If the application needs only a reference, keep the first 6 \
                 and last 4 digits (or the provider's token) and drop the rest, in the table and in its backups. \
                 If it needs the full number, see \"move into the CDE\"."
            }
            (Action::Review, Lang::En) => {
                "Only weak matches: numbers that pass the check digit but have nothing around them that says \
                 card. Most are order numbers or identifiers; look at a few and allowlist them if so."
            }
            (Action::None, Lang::En) => {
                "Public test card numbers or numbers already masked to at most the first 6 and last 4 digits. \
                 They are not cardholder data; listed so an assessor sees they were looked at."
            }
            (Action::DeleteSecurely, Lang::Ja) => {
                "セキュリティコードや磁気ストライプ（トラック）データは、オーソリ後に保存してはなりません（PCI DSS \
                 3.3.1）。エクスポート、バックアップ、表計算ファイルなどに残ったカード番号の複製にも業務上の理由はありません。\
                 ファイルや行を削除し、その複製（バックアップ、スナップショット、レプリカ、ごみ箱）も削除してください。\
                 媒体が許す場合は上書きまたは暗号消去を行います（PCI DSS 3.2.1、9.4.7）。"
            }
            (Action::FixProcess, Lang::Ja) => {
                "カード番号を取り込むべきでない処理（アプリケーションログ、自由記述欄、電子メールなど）を通じてここに\
                 入り込んでいます。削除するだけではまた入り込みます。書き込んでいる処理（ログレベル、リクエストの記録、\
                 入力欄、メールでの番号受付など）を特定して止めてから、残っているものを削除してください。"
            }
            (Action::MoveIntoCde, Lang::Ja) => {
                "意図して保存されたカード情報（継続課金のためのカード番号・有効期限・名義など）です。カード情報非保持化\
                 では加盟店は保持すべきではなく、決済代行会社のトークンに置き換えてください。どうしても必要な場合は、\
                 カード会員データ環境（CDE）の中だけで、読み取れない形（PCI DSS 3.5.1）にし、鍵を 3.6〜3.7 に従って\
                 管理します。"
            }
            (Action::Truncate, Lang::Ja) => {
                "カード番号を保存している列です。参照用にだけ必要なら、先頭 6 桁と末尾 4 桁（または決済代行会社の\
                 トークン）だけを残し、残りを表とそのバックアップから消してください。全桁が必要な場合は「CDE 内へ移設」\
                 を参照してください。"
            }
            (Action::Review, Lang::Ja) => {
                "弱い一致だけです。チェックディジットは正しいものの、周囲にカードを示すものがありません。多くは注文番号\
                 などの識別子です。いくつか確認し、そうであれば許可リストに登録してください。"
            }
            (Action::None, Lang::Ja) => {
                "公開されているテスト用カード番号、または先頭 6 桁・末尾 4 桁以下にマスク済みの番号です。カード会員\
                 データではありませんが、確認したことを審査員に示すために記載しています。"
            }
        }
    }
}

/// Label of an element in `lang`.
pub fn element_label(e: Element, lang: Lang) -> &'static str {
    match (e, lang) {
        (Element::Pan, Lang::En) => "PAN",
        (Element::Expiry, Lang::En) => "expiry",
        (Element::Cvv, Lang::En) => "security code",
        (Element::Track1, Lang::En) => "track 1",
        (Element::Track2, Lang::En) => "track 2",
        (Element::Name, Lang::En) => "name",
        (Element::Pan, Lang::Ja) => "カード番号",
        (Element::Expiry, Lang::Ja) => "有効期限",
        (Element::Cvv, Lang::Ja) => "セキュリティコード",
        (Element::Track1, Lang::Ja) => "トラック1",
        (Element::Track2, Lang::Ja) => "トラック2",
        (Element::Name, Lang::Ja) => "名義",
    }
}

/// Identifies a store: a top-level file, or a column of a database table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    /// The file (path up to the first `!` member separator), or the database URL.
    pub path: String,
    /// The schema-qualified table, for a database store.
    pub table: Option<String>,
    /// The column, for a database store (split columns: `card_no1+card_no2`).
    pub column: Option<String>,
}

impl StoreKey {
    /// The store a finding belongs to.
    pub fn of(rec: &FindingRecord) -> StoreKey {
        match (&rec.engine, &rec.table) {
            (Some(_), Some(t)) => {
                StoreKey { path: rec.path.clone(), table: Some(t.clone()), column: rec.column.clone() }
            }
            _ => StoreKey { path: member_of(rec).map_or(&*rec.path, |(o, _)| o).to_owned(), table: None, column: None },
        }
    }

    /// How the store is named in a report: the path, or `schema.table.column @ URL`.
    pub fn display(&self) -> String {
        match (&self.table, &self.column) {
            (Some(t), Some(c)) => format!("{t}.{c} @ {}", self.path),
            (Some(t), None) => format!("{t} @ {}", self.path),
            _ => self.path.clone(),
        }
    }
}

/// The file a member path lives in (`a.zip!b.csv` → `a.zip`).
fn outer(path: &str) -> &str {
    path.split('!').next().unwrap_or(path)
}

/// (outer file, member) of a finding inside an archive, mailbox, document or SQLite file.
/// Every `!` in such a path is put there by a decoding stage, so a finding with no
/// decoders is in a plain file, even if its name holds a `!`.
fn member_of(rec: &FindingRecord) -> Option<(&str, &str)> {
    if rec.engine.is_some() || (rec.decoders.is_empty() && rec.table.is_none()) {
        return None;
    }
    rec.path.split_once('!')
}

/// One store and what was found in it.
#[derive(Clone, Debug)]
pub struct Store {
    /// Which store.
    pub key: StoreKey,
    /// File, container or column.
    pub kind: StoreKind,
    /// The database engine of a column.
    pub engine: Option<String>,
    /// Findings per tier and class.
    pub findings: Counts,
    /// Elements seen with cardholder-data findings (test and masked numbers excluded).
    pub elements: BTreeSet<Element>,
    /// Strongest tier of a cardholder-data finding.
    pub highest: Option<Confidence>,
    /// Fingerprints of cardholder-data PANs.
    fingerprints: HashSet<Fingerprint>,
    /// Members (of an archive, mailbox or document) with findings.
    members: HashSet<String>,
    /// A card-number column (a `column:` signal) held a cardholder-data finding.
    card_column: bool,
    /// Skipped items inside this store (members that could not be read).
    pub skipped: u64,
    /// Up to [`MAX_EXAMPLES`] places inside the store: `line 12`, `row id=7, column pan`,
    /// `member.csv line 3`. Already masked.
    pub examples: Vec<Example>,
}

impl Store {
    fn new(key: StoreKey, rec: &FindingRecord) -> Store {
        Store {
            kind: if key.table.is_some() { StoreKind::Column } else { StoreKind::File },
            engine: rec.engine.as_deref().map(str::to_owned),
            key,
            findings: Counts::default(),
            elements: BTreeSet::new(),
            highest: None,
            fingerprints: HashSet::new(),
            members: HashSet::new(),
            card_column: false,
            skipped: 0,
            examples: Vec::new(),
        }
    }

    fn add(&mut self, rec: &FindingRecord) {
        let f = &rec.finding;
        self.findings.add(f.class, f.confidence);
        if let Some((_, member)) = member_of(rec) {
            self.kind = StoreKind::Container;
            if self.members.len() < 100_000 {
                self.members.insert(member.to_owned());
            }
        }
        if f.class.is_cardholder_data() {
            self.elements.extend(f.elements.iter().copied());
            match f.class {
                Class::Track1 => {
                    self.elements.insert(Element::Track1);
                }
                Class::Track2 => {
                    self.elements.insert(Element::Track2);
                }
                _ => {}
            }
            self.highest = self.highest.max(Some(f.confidence));
            if let Some(fp) = f.fingerprint {
                self.fingerprints.insert(fp);
            }
            if f.signals.iter().any(|s| matches!(s, Signal::Column(_))) {
                self.card_column = true;
            }
        }
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(Example::of(rec));
        }
    }

    /// Distinct cardholder-data cards, by fingerprint.
    pub fn distinct_cards(&self) -> u64 {
        self.fingerprints.len() as u64
    }

    /// Members with findings (0 for a plain file or a column).
    pub fn members_with_findings(&self) -> u64 {
        self.members.len() as u64
    }

    /// How the numbers are kept.
    pub fn protection(&self) -> Protection {
        if self.findings.cardholder() > 0 {
            Protection::Cleartext
        } else if self.findings.test_pan > 0 {
            Protection::Test
        } else {
            Protection::Masked
        }
    }

    /// The suggested action (see [`Action::explain`]).
    pub fn action(&self) -> Action {
        let Some(highest) = self.highest else { return Action::None };
        if self.elements.iter().any(|e| matches!(e, Element::Cvv | Element::Track1 | Element::Track2)) {
            return Action::DeleteSecurely;
        }
        if highest == Confidence::Low {
            return Action::Review;
        }
        match self.kind {
            StoreKind::Column if self.card_column => {
                if self.elements.contains(&Element::Expiry) || self.elements.contains(&Element::Name) {
                    Action::MoveIntoCde
                } else {
                    Action::Truncate
                }
            }
            // Card numbers in a free-text column: something lets people type them in.
            StoreKind::Column => Action::FixProcess,
            StoreKind::File | StoreKind::Container if looks_like_a_process(&self.key.path) => Action::FixProcess,
            StoreKind::File | StoreKind::Container => Action::DeleteSecurely,
        }
    }
}

/// Logs and mail: places a running process keeps writing to.
fn looks_like_a_process(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let name = name.trim_end_matches(".gz").trim_end_matches(".bz2").trim_end_matches(".xz").trim_end_matches(".zst");
    let ext = name.rsplit_once('.').map(|(_, e)| e);
    // Rotated logs: app.log.1, access.log-20241022.
    let rotated = name.contains(".log.") || name.contains(".log-");
    rotated
        || matches!(ext, Some("log" | "out" | "err" | "trace" | "eml" | "mbox" | "mbx" | "msg" | "pst" | "ost"))
        || p.contains("/log/")
        || p.contains("/logs/")
        || p.contains("/mail/")
        || p.contains("/maildir/")
}

/// One place inside a store, for the examples column: already masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// The member of an archive, mailbox or document.
    member: Option<String>,
    /// `id=7` of a database row, when it has a key.
    key: Option<String>,
    /// Line (file) or 1-based row (database row without a key).
    line: u64,
    /// Is a database row.
    row: bool,
    /// The masked number.
    masked: String,
}

impl Example {
    fn of(rec: &FindingRecord) -> Example {
        let key = rec.row_key.as_ref().filter(|k| !k.is_empty()).map(|k| KeyJson(k).to_string());
        Example {
            member: member_of(rec).map(|(_, m)| m.to_owned()),
            key,
            line: rec.line,
            row: rec.engine.is_some(),
            masked: rec.finding.view.masked(),
        }
    }

    /// `line 12 · 411111******1111`, `orders.csv line 3 · …`, `id=7 · …` in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let place = match (&self.key, self.row, lang) {
            (Some(k), _, _) => k.clone(),
            (None, true, Lang::En) => format!("row {}", self.line),
            (None, false, Lang::En) => format!("line {}", self.line),
            (None, _, Lang::Ja) => format!("{} 行目", self.line),
        };
        match &self.member {
            Some(m) => format!("{m} {place} · {}", self.masked),
            None => format!("{place} · {}", self.masked),
        }
    }
}

impl Serialize for Example {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text(Lang::En))
    }
}

/// Every store of a run, built finding by finding.
#[derive(Clone, Debug, Default)]
pub struct Stores {
    index: HashMap<StoreKey, usize>,
    list: Vec<Store>,
    skips: Vec<(String, u64)>,
}

impl Stores {
    /// No stores yet.
    pub fn new() -> Stores {
        Stores::default()
    }

    /// Adds one finding to its store.
    pub fn add(&mut self, rec: &FindingRecord) {
        let key = StoreKey::of(rec);
        let i = if let Some(&i) = self.index.get(&key) {
            i
        } else {
            self.list.push(Store::new(key.clone(), rec));
            self.index.insert(key, self.list.len() - 1);
            self.list.len() - 1
        };
        self.list[i].add(rec);
    }

    /// Notes a skipped item; it is counted against the store it lies in (an unreadable
    /// archive member) once all findings are in ([`Stores::sorted`]).
    pub fn skipped(&mut self, skip: &Skip) {
        let top = outer(&skip.path);
        if top.len() < skip.path.len() {
            match self.skips.last_mut() {
                Some((p, n)) if p == top => *n += 1,
                _ => self.skips.push((top.to_owned(), 1)),
            }
        }
    }

    /// Stores holding cardholder data (cleartext numbers).
    pub fn with_card_data(&self) -> usize {
        self.list.iter().filter(|s| s.findings.cardholder() > 0).count()
    }

    /// The stores, most urgent first ([`urgency_cmp`]).
    pub fn sorted(mut self) -> Vec<Store> {
        for (path, n) in std::mem::take(&mut self.skips) {
            let key = StoreKey { path, table: None, column: None };
            if let Some(&i) = self.index.get(&key) {
                self.list[i].skipped += n;
            }
        }
        self.list.sort_by(urgency_cmp);
        self.list
    }
}

/// Orders stores most urgent first: by action, then strongest tier, then protection
/// (cleartext, test, masked), then cardholder-data findings, then distinct cards, then name.
pub fn urgency_cmp(a: &Store, b: &Store) -> std::cmp::Ordering {
    a.action()
        .cmp(&b.action())
        .then(b.highest.cmp(&a.highest))
        .then(a.protection().cmp(&b.protection()))
        .then(b.findings.cardholder().cmp(&a.findings.cardholder()))
        .then(b.distinct_cards().cmp(&a.distinct_cards()))
        .then(b.findings.total().cmp(&a.findings.total()))
        .then_with(|| a.key.cmp(&b.key))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::report::test_record as rec;
    use crate::source::SkipKind;

    fn table_rec(column: &str, card_column: bool, elements: &[Element], fp: u8) -> FindingRecord {
        let mut r = rec("postgres://db1/shop", Class::Pan, Confidence::High, elements, fp);
        r.engine = Some("postgres".into());
        r.table = Some("public.orders".into());
        r.column = Some(column.into());
        r.row_key = Some(vec![(Arc::from("id"), "7".into())]);
        if card_column {
            r.finding.signals.push(Signal::Column(Arc::from("card_no")));
        }
        r
    }

    fn member(path: &str, class: Class, tier: Confidence, elements: &[Element], fp: u8) -> FindingRecord {
        let mut r = rec(path, class, tier, elements, fp);
        r.decoders = vec!["zip".into()];
        r
    }

    #[test]
    fn members_of_one_archive_are_one_store() {
        let mut s = Stores::new();
        s.add(&member("/srv/a.zip!x/orders.csv", Class::Pan, Confidence::High, &[Element::Pan], 1));
        s.add(&member("/srv/a.zip!y.csv", Class::Pan, Confidence::Medium, &[Element::Pan, Element::Expiry], 1));
        s.add(&member("/srv/a.zip!y.csv", Class::Pan, Confidence::High, &[Element::Pan], 2));
        s.add(&rec("/srv/b.txt", Class::TestPan, Confidence::High, &[Element::Pan], 3));
        // A `!` in a plain file's name is part of the name.
        s.add(&rec("/srv/a.zip!notes.txt", Class::TestPan, Confidence::High, &[Element::Pan], 4));
        s.skipped(&Skip { path: "/srv/a.zip!z.rar".into(), reason: "encrypted".into(), kind: SkipKind::Error });
        s.skipped(&Skip { path: "/srv/c.bin".into(), reason: "denied".into(), kind: SkipKind::Error });
        let stores = s.sorted();
        assert_eq!(stores.len(), 3);
        assert_eq!((stores[1].key.path.as_str(), stores[1].kind), ("/srv/a.zip!notes.txt", StoreKind::File));
        let a = &stores[0];
        assert_eq!((a.key.path.as_str(), a.kind), ("/srv/a.zip", StoreKind::Container));
        assert_eq!((a.findings.cardholder(), a.distinct_cards(), a.members_with_findings(), a.skipped), (3, 2, 2, 1));
        assert_eq!(a.elements.iter().copied().collect::<Vec<_>>(), [Element::Pan, Element::Expiry]);
        assert_eq!(
            (a.protection(), a.action(), a.highest),
            (Protection::Cleartext, Action::DeleteSecurely, Some(Confidence::High))
        );
        assert_eq!(
            a.examples.iter().map(|e| e.text(Lang::En)).collect::<Vec<_>>(),
            [
                "x/orders.csv line 3 · 411111******1111",
                "y.csv line 3 · 411111******1111",
                "y.csv line 3 · 411111******1111"
            ]
        );
        let b = &stores[2];
        assert_eq!(
            (b.kind, b.protection(), b.action(), b.distinct_cards()),
            (StoreKind::File, Protection::Test, Action::None, 0)
        );
        assert!(b.elements.is_empty(), "test numbers are not cardholder data");
    }

    #[test]
    fn actions_follow_what_was_found_and_where() {
        let one = |r: FindingRecord| {
            let mut s = Stores::new();
            s.add(&r);
            s.sorted().remove(0)
        };
        let pan = [Element::Pan];
        assert_eq!(
            one(rec("/x/dump.csv", Class::Pan, Confidence::Critical, &[Element::Pan, Element::Cvv], 1)).action(),
            Action::DeleteSecurely
        );
        assert_eq!(one(rec("/x/t.txt", Class::Track2, Confidence::Critical, &pan, 1)).action(), Action::DeleteSecurely);
        assert_eq!(
            one(rec("/var/log/app/app.log.1", Class::Pan, Confidence::High, &pan, 1)).action(),
            Action::FixProcess
        );
        assert_eq!(
            one(member("/x/archive.mbox!3", Class::Pan, Confidence::High, &pan, 1)).action(),
            Action::FixProcess
        );
        assert_eq!(one(rec("/x/export.csv", Class::Pan, Confidence::High, &pan, 1)).action(), Action::DeleteSecurely);
        assert_eq!(one(rec("/x/export.csv", Class::Pan, Confidence::Low, &pan, 1)).action(), Action::Review);
        assert_eq!(one(rec("/x/m.txt", Class::MaskedPan, Confidence::Low, &pan, 1)).protection(), Protection::Masked);
        assert_eq!(one(table_rec("card_no", true, &pan, 1)).action(), Action::Truncate);
        assert_eq!(one(table_rec("card_no", true, &[Element::Pan, Element::Expiry], 1)).action(), Action::MoveIntoCde);
        assert_eq!(one(table_rec("note", false, &pan, 1)).action(), Action::FixProcess);
        let t = one(table_rec("card_no", true, &pan, 1));
        assert_eq!(
            (t.kind, t.key.display(), t.examples[0].text(Lang::En).as_str()),
            (StoreKind::Column, "public.orders.card_no @ postgres://db1/shop".to_owned(), "id=7 · 411111******1111")
        );
        // Two columns of one table are two stores, with their own actions.
        let mut s = Stores::new();
        s.add(&table_rec("card_no", true, &[Element::Pan, Element::Expiry], 1));
        s.add(&table_rec("note", false, &pan, 2));
        let actions: Vec<Action> = s.sorted().iter().map(Store::action).collect();
        assert_eq!(actions, [Action::FixProcess, Action::MoveIntoCde]);
    }

    #[test]
    fn most_urgent_first() {
        let mut s = Stores::new();
        s.add(&rec("/a/test.txt", Class::TestPan, Confidence::High, &[Element::Pan], 1));
        s.add(&rec("/a/low.txt", Class::Pan, Confidence::Low, &[Element::Pan], 2));
        s.add(&rec("/a/one.csv", Class::Pan, Confidence::Medium, &[Element::Pan], 3));
        s.add(&rec("/a/two.csv", Class::Pan, Confidence::High, &[Element::Pan], 4));
        s.add(&rec("/a/cvv.csv", Class::Pan, Confidence::Critical, &[Element::Pan, Element::Cvv], 5));
        s.add(&rec("/a/log/x", Class::Pan, Confidence::High, &[Element::Pan], 6));
        assert_eq!(s.with_card_data(), 5);
        let order: Vec<String> = s.sorted().into_iter().map(|s| s.key.path).collect();
        assert_eq!(order, ["/a/cvv.csv", "/a/two.csv", "/a/one.csv", "/a/log/x", "/a/low.txt", "/a/test.txt"]);
    }
}
