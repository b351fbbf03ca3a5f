//! `--format html`: one self-contained page for an assessor or for management (SPEC §7).
//!
//! Top to bottom: the verdict with coverage (what was read, what was skipped and why),
//! charts of findings by tier, brand and data store (inline SVG drawn here), the data
//! stores in the shape PCI DSS 12.5.2 asks for ([`super::stores`]), a sortable and
//! filterable findings table (at most [`MAX_ROWS`] rows, the most severe kept), a
//! remediation section in plain words, and the run's metadata. English or Japanese.
//!
//! Self-contained and inert: no network, fonts, images or external scripts. A
//! Content-Security-Policy meta tag allows only the page's own style sheet and script, by
//! their SHA-256 hashes, so nothing injected through a hostile file name could run; every
//! string from the data is HTML-escaped as well.
//!
//! Built from [`FindingRecord`]s, which hold only masked views: no full PAN, expiry or
//! security code can reach the page. Everything is held until [`ReportWriter::finish`]
//! (the verdict comes first but depends on the whole run): the findings table is capped
//! and skipped items are counted, so memory does not grow with the number of findings;
//! it grows with the number of data stores (about 1.3 KiB each, measured: 1.3 GiB for a
//! million files each holding card data), as it does for `--format json`'s `locations`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

use sha2::{Digest, Sha256};

use super::json::{Coverage, SkippedByKind};
use super::stores::{Action, Store, StoreKind, Stores, element_label};
use super::{FindingRecord, KeyJson, Lang, ReportWriter, RunInfo, SkipList, Summary, TableSummary};
use crate::finding::{Class, Confidence};
use crate::source::{Skip, SkipKind};

/// Most findings listed in the table; the rest are counted (the most severe are kept).
pub const MAX_ROWS: usize = 5_000;
/// Most data stores listed in the store table (most urgent first; JSON has them all).
pub const MAX_STORES: usize = 1_000;
/// Most skipped items listed one by one.
const MAX_SKIPS: usize = 200;
/// Most stores drawn in the store chart.
const CHART_STORES: usize = 10;
/// Most brands drawn in the brand chart.
const CHART_BRANDS: usize = 10;

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// One row of the findings table, already rendered, with its sort rank.
struct Row {
    /// Cardholder data, then tier, then earliest first (larger is kept).
    rank: (bool, Confidence, u64),
    html: String,
}

/// The HTML writer.
pub struct Html<W: Write> {
    out: BufWriter<W>,
    lang: Lang,
    run: Option<RunInfo>,
    stores: Stores,
    rows: Vec<Row>,
    seq: u64,
    brands: BTreeMap<String, u64>,
    skipped: SkipList,
    skipped_kinds: SkippedByKind,
    reasons: BTreeMap<(SkipKind, String), u64>,
    min_confidence: Confidence,
}

impl<W: Write> Html<W> {
    /// Writes to `out` in `lang`.
    pub fn new(out: W, lang: Lang) -> Html<W> {
        Html {
            out: BufWriter::with_capacity(64 * 1024, out),
            lang,
            run: None,
            stores: Stores::new(),
            rows: Vec::new(),
            seq: 0,
            brands: BTreeMap::new(),
            skipped: SkipList::new(MAX_SKIPS),
            skipped_kinds: SkippedByKind::default(),
            reasons: BTreeMap::new(),
            min_confidence: Confidence::Low,
        }
    }

    /// Findings below `tier` were left out of the report (`--min-confidence`): the page
    /// then never calls a run without findings clean.
    #[must_use]
    pub fn with_min_confidence(mut self, tier: Confidence) -> Html<W> {
        self.min_confidence = tier;
        self
    }

    fn t<'a>(&self, en: &'a str, ja: &'a str) -> &'a str {
        match self.lang {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }
}

/// Escapes text for HTML content and attribute values; control characters become `?`
/// so a hostile name cannot break the layout.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls, and the bidirectional overrides that could make a name read as
            // another (`evil\u{202E}txt.exe`).
            c if c.is_control() => out.push('?'),
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (for the CSP hashes).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `'sha256-…'` of an inline style sheet or script, for the CSP.
fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(text.as_bytes())))
}

/// `1.5 GiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// `12,345`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn tier_label(c: Confidence, lang: Lang) -> &'static str {
    match (c, lang) {
        (_, Lang::En) => c.as_str(),
        (Confidence::Critical, Lang::Ja) => "重大",
        (Confidence::High, Lang::Ja) => "高",
        (Confidence::Medium, Lang::Ja) => "中",
        (Confidence::Low, Lang::Ja) => "低",
    }
}

fn class_label(c: Class, lang: Lang) -> &'static str {
    match (c, lang) {
        (Class::Pan, Lang::En) => "card number",
        (Class::TestPan, Lang::En) => "test card number",
        (Class::MaskedPan, Lang::En) => "masked card number",
        (Class::Track1, Lang::En) => "track 1 data",
        (Class::Track2, Lang::En) => "track 2 data",
        (Class::Pan, Lang::Ja) => "カード番号",
        (Class::TestPan, Lang::Ja) => "テスト用カード番号",
        (Class::MaskedPan, Lang::Ja) => "マスク済みカード番号",
        (Class::Track1, Lang::Ja) => "トラック1データ",
        (Class::Track2, Lang::Ja) => "トラック2データ",
    }
}

/// Sort rank of a tier or class in the table (`data-v`): critical first.
fn severity(class: Class, c: Confidence) -> u8 {
    match class {
        Class::TestPan => 1,
        Class::MaskedPan => 0,
        _ => 2 + c as u8,
    }
}

/// The CSS class of a tier or class (colours in the table and charts).
fn tone(class: Class, c: Confidence) -> &'static str {
    match class {
        Class::TestPan => "test",
        Class::MaskedPan => "masked",
        _ => c.as_str(),
    }
}

fn bar_color(tone: &str) -> &'static str {
    match tone {
        "critical" => "#a50f15",
        "high" => "#de2d26",
        "medium" => "#fb6a4a",
        "low" => "#fcae91",
        "test" => "#6baed6",
        "masked" => "#bdbdbd",
        _ => "#525252",
    }
}

/// A horizontal bar chart: one bar per `(label, full label, value, tone)`, a grey track
/// behind each bar, the value at its end.
fn bar_chart(id: &str, title: &str, bars: &[(String, String, u64, &str)], empty: &str) -> String {
    const W: u32 = 420;
    const LABEL: u32 = 150;
    const ROW: u32 = 24;
    let max = bars.iter().map(|b| b.2).max().unwrap_or(0).max(1);
    let rows = bars.len().max(1) as u32;
    let h = rows * ROW + 8;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg id=\"{id}\" class=\"chart\" width=\"{W}\" height=\"{h}\" \
         viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(title),
        esc(title)
    );
    if bars.is_empty() {
        let _ = write!(
            s,
            "<rect x=\"{LABEL}\" y=\"6\" width=\"{}\" height=\"16\" fill=\"#f0f0f0\"/>\
             <text x=\"{}\" y=\"19\" class=\"empty\">{}</text>",
            W - LABEL - 50,
            LABEL + 6,
            esc(empty)
        );
    }
    let span = f64::from(W - LABEL - 60);
    for (i, (label, full, value, tone)) in bars.iter().enumerate() {
        let y = 4 + i as u32 * ROW;
        let w = if *value == 0 { 0.0 } else { (span * *value as f64 / max as f64).max(2.0) };
        let _ = write!(
            s,
            "<g><title>{}: {}</title>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{span:.0}\" height=\"18\" fill=\"#f0f0f0\"/>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text></g>",
            esc(full),
            thousands(*value),
            LABEL - 6,
            y + 14,
            esc(label),
            bar_color(tone),
            f64::from(LABEL) + w + 4.0,
            y + 14,
            thousands(*value)
        );
    }
    s.push_str("</svg>");
    s
}

/// The last path component (or `table`), shortened, for a chart label.
fn short_name(store: &Store) -> String {
    let column;
    let name = match (&store.key.table, &store.key.column) {
        (Some(t), Some(c)) => {
            column = format!("{}.{c}", t.rsplit('.').next().unwrap_or(t));
            column.as_str()
        }
        (Some(t), None) => t.as_str(),
        _ => store.key.path.rsplit('/').next().unwrap_or(&store.key.path),
    };
    if name.chars().count() > 22 {
        let tail: String = name.chars().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    } else {
        name.to_owned()
    }
}

impl<W: Write> Html<W> {
    fn row(&mut self, rec: &FindingRecord) {
        let f = &rec.finding;
        let lang = self.lang;
        let tone = tone(f.class, f.confidence);
        let tier = match f.class {
            Class::TestPan | Class::MaskedPan => self.t("info", "参考").to_owned(),
            _ => tier_label(f.confidence, lang).to_owned(),
        };
        let (place, at, at_v) = match (&rec.engine, &rec.table) {
            (Some(_), Some(t)) => {
                let key = rec.row_key.as_ref().map_or_else(|| format!("row {}", rec.line), |k| KeyJson(k).to_string());
                (format!("{t} @ {}", rec.path), format!("{key} · {}", rec.column.as_deref().unwrap_or("?")), rec.line)
            }
            _ => (rec.path.clone(), format!("{}:{}", rec.line, rec.byte_offset), rec.line),
        };
        let brands = if f.brands.is_empty() { "-".to_owned() } else { f.brands.join(", ") };
        let elements: Vec<&str> = f.elements.iter().map(|&e| element_label(e, lang)).collect();
        let signals: Vec<String> = f.signals.iter().map(ToString::to_string).collect();
        let mut decoding = rec.decoders.join(" › ");
        if rec.encoding != "utf-8" && rec.encoding != "binary" {
            if !decoding.is_empty() {
                decoding.push_str(" · ");
            }
            decoding.push_str(&rec.encoding);
        }
        let mut html = String::with_capacity(512);
        let _ = writeln!(
            html,
            "<tr class=\"t-{tone}\"><td data-v=\"{}\"><span class=\"tier t-{tone}\">{}</span></td><td>{}</td>\
             <td class=\"path\">{}</td><td data-v=\"{at_v}\">{}</td><td class=\"mono\">{}</td><td>{}</td>\
             <td>{}</td><td class=\"signals\">{}</td><td>{}</td></tr>",
            severity(f.class, f.confidence),
            esc(&tier),
            esc(class_label(f.class, lang)),
            esc(&place),
            esc(&at),
            esc(&f.view.masked()),
            esc(&brands),
            esc(&elements.join(", ")),
            esc(&signals.join(" ")),
            esc(&decoding),
        );
        self.seq += 1;
        // Keep the most severe rows: cardholder data before test and masked numbers, then
        // tier, then order of discovery.
        let rank = (f.class.is_cardholder_data(), f.confidence, u64::MAX - self.seq);
        self.rows.push(Row { rank, html });
        if self.rows.len() >= 2 * MAX_ROWS {
            self.trim_rows();
        }
    }

    fn trim_rows(&mut self) {
        self.rows.sort_by_key(|r| std::cmp::Reverse(r.rank));
        self.rows.truncate(MAX_ROWS);
    }

    fn render(&mut self, summary: &Summary) -> String {
        let lang = self.lang;
        let run = self.run.take();
        let with_data = self.stores.with_card_data();
        let stores = std::mem::take(&mut self.stores).sorted();
        let coverage = Coverage::from_counts(self.skipped_kinds, summary);
        let mut h = String::with_capacity(64 * 1024 + self.rows.len() * 400);
        let lang_attr = match lang {
            Lang::En => "en",
            Lang::Ja => "ja",
        };
        let title = self.t("pansweep report", "pansweep 検査レポート");
        let host = run.as_ref().map_or("", |r| r.host.as_str());
        let _ = writeln!(
            h,
            "<!DOCTYPE html>\n<html lang=\"{lang_attr}\" data-ready=\"0\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; script-src {}; \
             base-uri 'none'; form-action 'none'\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
             <meta name=\"generator\" content=\"pansweep {}\">\n<title>{} — {}</title>\n<style>{CSS}</style>\n</head>\n<body>",
            csp_hash(CSS),
            csp_hash(JS),
            esc(env!("CARGO_PKG_VERSION")),
            esc(title),
            esc(host),
        );
        let started = run.as_ref().map_or("", |r| r.started.as_str());
        let _ = writeln!(
            h,
            "<header><h1>{}</h1><p class=\"sub\">{} · {} · pansweep {}</p></header>\n<main>",
            esc(title),
            esc(host),
            esc(started),
            esc(run.as_ref().map_or(env!("CARGO_PKG_VERSION"), |r| r.version.as_str())),
        );
        self.verdict(&mut h, run.as_ref(), summary, &coverage, with_data);
        self.charts(&mut h, summary, &stores);
        self.store_table(&mut h, &stores, summary);
        self.findings_table(&mut h, summary);
        self.remediation(&mut h, &stores);
        self.run_section(&mut h, run.as_ref(), summary);
        h.push_str("</main>\n<footer>");
        h.push_str(&esc(self.t(
            "Generated by pansweep. This report shows at most the first 6 and last 4 digits of a card number; \
             keep it as confidential as the systems it describes.",
            "pansweep により生成。カード番号は先頭 6 桁と末尾 4 桁までしか表示しませんが、対象システムと同等に機密として扱ってください。",
        )));
        let _ = writeln!(h, "</footer>\n<script>{JS}</script>\n</body>\n</html>");
        h
    }

    fn verdict(&self, h: &mut String, run: Option<&RunInfo>, summary: &Summary, cov: &Coverage, locations: usize) {
        let lang = self.lang;
        let found = locations > 0 || summary.findings.cardholder() > 0;
        let (class, head) = if found {
            let head = match lang {
                _ if locations == 0 => self.t("Card data found", "カード情報が見つかりました").to_owned(),
                Lang::En if locations == 1 => "Card data found in 1 location".to_owned(),
                Lang::En => format!("Card data found in {} locations", thousands(locations as u64)),
                Lang::Ja => format!("{} か所でカード情報が見つかりました", thousands(locations as u64)),
            };
            ("verdict-found", head)
        } else if let Some(head) = unreported(summary, lang) {
            // Known (baseline) or allowlisted findings were left out: absence is not shown.
            ("verdict-partial", head)
        } else if self.min_confidence > Confidence::Low {
            // Findings below the threshold were not reported: absence is not shown.
            let head = match lang {
                Lang::En => format!(
                    "No card data found at or above {} confidence (weaker findings were not reported: --min-confidence)",
                    self.min_confidence.as_str()
                ),
                Lang::Ja => format!(
                    "信頼度「{}」以上のカード情報は見つかりませんでした（それ未満の検出は --min-confidence により報告していません）",
                    tier_label(self.min_confidence, lang)
                ),
            };
            ("verdict-partial", head)
        } else if cov.full {
            (
                "verdict-clean",
                self.t("No card data found in the scanned scope", "スキャン範囲でカード情報は見つかりませんでした")
                    .to_owned(),
            )
        } else {
            (
                "verdict-partial",
                self.t(
                    "No card data found in what was read, but not everything in scope was read",
                    "読み取った範囲でカード情報は見つかりませんでしたが、スキャン範囲のすべては読み取れていません",
                )
                .to_owned(),
            )
        };
        let _ = writeln!(h, "<section id=\"verdict\" class=\"{class}\">\n<h2>{}</h2>", esc(&head));
        let f = &summary.findings;
        if found {
            let distinct = match summary.distinct_pans {
                Some(n) => thousands(n),
                None => self.t("not comparable (different fingerprint keys)", "比較不可（指紋鍵が異なる）").to_owned(),
            };
            let _ = writeln!(
                h,
                "<p class=\"counts\">{}: <b>{}</b> · {}: <b>{}</b> · {}: <b>{}</b> · {}: <b>{}</b> · {}: <b>{}</b> · {}: <b>{}</b></p>",
                esc(self.t("critical", "重大")),
                thousands(f.critical),
                esc(self.t("high", "高")),
                thousands(f.high),
                esc(self.t("medium", "中")),
                thousands(f.medium),
                esc(self.t("low", "低")),
                thousands(f.low),
                esc(self.t("distinct cards", "カード枚数（重複除去）")),
                esc(&distinct),
                esc(self.t("data stores", "保存場所")),
                thousands(locations as u64),
            );
        }
        if f.test_pan + f.masked_pan > 0 {
            let _ = writeln!(
                h,
                "<p>{}</p>",
                esc(&match lang {
                    Lang::En => format!(
                        "Also seen, not counted as card data: public test card numbers: {}, masked numbers: {}.",
                        thousands(f.test_pan),
                        thousands(f.masked_pan)
                    ),
                    Lang::Ja => format!(
                        "カード情報には数えないもの: 公開テスト用カード番号 {} 件、マスク済み番号 {} 件。",
                        thousands(f.test_pan),
                        thousands(f.masked_pan)
                    ),
                })
            );
        }
        // Coverage: what this verdict rests on.
        let _ = write!(
            h,
            "<dl class=\"coverage\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>",
            esc(self.t("files", "ファイル")),
            thousands(cov.files),
            esc(self.t("bytes", "バイト数")),
            esc(&human_bytes(cov.bytes)),
        );
        if cov.tables > 0 {
            let _ = write!(
                h,
                "<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>",
                esc(self.t("tables", "テーブル")),
                thousands(cov.tables),
                esc(self.t("rows", "行")),
                thousands(cov.rows),
            );
        }
        let _ = writeln!(
            h,
            "<dt>{}</dt><dd>{}</dd></dl>",
            esc(self.t("skipped", "スキップ")),
            thousands(self.skipped.total())
        );
        let mut notes = Vec::new();
        if !cov.complete {
            notes.push(self.t(
                "The run was interrupted (or a merged run was cut short): what was not reached is not covered.",
                "実行が中断されました（または統合した実行の記録が途中で切れています）。到達しなかった部分は対象外です。",
            ));
        }
        if cov.sampled {
            notes.push(self.t(
                "Database tables were only sampled (--sample): this is not evidence of absence.",
                "データベースのテーブルは標本抽出（--sample）のみです。非保持の証明にはなりません。",
            ));
        }
        if cov.skipped.error + cov.skipped.limit > 0 {
            notes.push(self.t(
                "Some items could not be read or hit a limit; they are listed below and are not covered.",
                "読み取れなかった項目、または上限に達した項目があります。下に一覧を示します。これらは対象外です。",
            ));
        }
        for n in notes {
            let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(n));
        }
        // A merged report says what it was made from, and which runs did not finish.
        if let Some(r) = run.filter(|r| r.sources.len() > 1) {
            let cut: Vec<&str> = r.sources.iter().filter(|s| !s.complete).map(|s| s.file.as_str()).collect();
            let line = match (lang, cut.is_empty()) {
                (Lang::En, true) => {
                    format!("Merged from {} runs (hosts: {}); every run completed.", r.sources.len(), r.host)
                }
                (Lang::En, false) => format!(
                    "Merged from {} runs (hosts: {}); did not complete: {}.",
                    r.sources.len(),
                    r.host,
                    cut.join(", ")
                ),
                (Lang::Ja, true) => {
                    format!("{} 件の実行を統合（ホスト: {}）。すべて完了しています。", r.sources.len(), r.host)
                }
                (Lang::Ja, false) => {
                    format!("{} 件の実行を統合（ホスト: {}）。未完了: {}。", r.sources.len(), r.host, cut.join(", "))
                }
            };
            let _ = writeln!(h, "<p class=\"{}\">{}</p>", if cut.is_empty() { "merged" } else { "note" }, esc(&line));
        }
        if self.skipped.total() > 0 {
            // Why, counted over every skipped item: the reasons that leave data unread first.
            let mut reasons: Vec<(&(SkipKind, String), &u64)> = self.reasons.iter().collect();
            reasons.sort_by(|a, b| a.0.0.cmp(&b.0.0).then(b.1.cmp(a.1)));
            let _ = writeln!(
                h,
                "<table id=\"skip-reasons\" class=\"small\"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
                esc(self.t("kind", "種別")),
                esc(self.t("reason", "理由")),
                esc(self.t("items", "件数")),
            );
            for ((kind, reason), n) in reasons.iter().take(20) {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(kind_label(*kind, lang)),
                    esc(reason),
                    thousands(**n)
                );
            }
            h.push_str("</tbody></table>\n");
            let _ = writeln!(
                h,
                "<details id=\"skipped\"><summary>{} ({})</summary>\n<table class=\"small\"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
                esc(self.t("Skipped items and why", "スキップした項目と理由")),
                thousands(self.skipped.total()),
                esc(self.t("item", "項目")),
                esc(self.t("kind", "種別")),
                esc(self.t("reason", "理由")),
            );
            let mut listed: Vec<&Skip> = self.skipped.items().iter().collect();
            listed.sort_by_key(|s| s.kind);
            for s in listed {
                let _ = writeln!(
                    h,
                    "<tr><td class=\"path\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&s.path),
                    esc(kind_label(s.kind, lang)),
                    esc(&s.reason)
                );
            }
            h.push_str("</tbody></table>\n");
            if self.skipped.unlisted() > 0 {
                let _ = writeln!(
                    h,
                    "<p>{}</p>",
                    esc(&match lang {
                        Lang::En => format!(
                            "… and {} more (every item is in the JSONL report).",
                            thousands(self.skipped.unlisted())
                        ),
                        Lang::Ja => format!(
                            "…ほか {} 件（すべての項目は JSONL レポートにあります）。",
                            thousands(self.skipped.unlisted())
                        ),
                    })
                );
            }
            h.push_str("</details>\n");
        }
        h.push_str("</section>\n");
    }

    fn charts(&self, h: &mut String, summary: &Summary, stores: &[Store]) {
        let lang = self.lang;
        let f = &summary.findings;
        let tiers: Vec<_> = [
            (tier_label(Confidence::Critical, lang), f.critical, "critical"),
            (tier_label(Confidence::High, lang), f.high, "high"),
            (tier_label(Confidence::Medium, lang), f.medium, "medium"),
            (tier_label(Confidence::Low, lang), f.low, "low"),
            (self.t("test", "テスト"), f.test_pan, "test"),
            (self.t("masked", "マスク済み"), f.masked_pan, "masked"),
        ]
        .into_iter()
        .map(|(label, n, tone)| (label.to_owned(), label.to_owned(), n, tone))
        .collect();
        let mut brands: Vec<(&String, &u64)> = self.brands.iter().collect();
        brands.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let brand_bars: Vec<_> =
            brands.iter().take(CHART_BRANDS).map(|(b, n)| ((*b).clone(), (*b).clone(), **n, "brand")).collect();
        let store_bars: Vec<_> = stores
            .iter()
            .filter(|s| s.findings.cardholder() > 0)
            .take(CHART_STORES)
            .map(|s| {
                let tone = s.highest.map_or("masked", Confidence::as_str);
                (short_name(s), s.key.display(), s.findings.cardholder(), tone)
            })
            .collect();
        let none = self.t("none", "なし");
        let _ = writeln!(
            h,
            "<section id=\"charts\">\n<h2>{}</h2>\n<div class=\"charts\">\n\
             <figure><figcaption>{}</figcaption>{}</figure>\n\
             <figure><figcaption>{}</figcaption>{}</figure>\n\
             <figure><figcaption>{}</figcaption>{}</figure>\n</div>\n</section>",
            esc(self.t("Overview", "概要")),
            esc(self.t("Findings by tier", "信頼度別の検出数")),
            bar_chart("chart-tier", self.t("Findings by tier", "信頼度別の検出数"), &tiers, none),
            esc(self.t("Card data by brand", "ブランド別のカード情報")),
            bar_chart("chart-brand", self.t("Card data by brand", "ブランド別のカード情報"), &brand_bars, none),
            esc(self.t("Card data by data store (top 10)", "保存場所別のカード情報（上位 10）")),
            bar_chart("chart-store", self.t("Card data by data store", "保存場所別のカード情報"), &store_bars, none),
        );
    }

    fn store_table(&self, h: &mut String, stores: &[Store], summary: &Summary) {
        let lang = self.lang;
        let _ = writeln!(
            h,
            "<section id=\"stores-section\">\n<h2>{}</h2>\n<p>{}</p>",
            esc(self.t("Where card data is stored (PCI DSS 12.5.2)", "カード情報の保存場所（PCI DSS 12.5.2）")),
            esc(self.t(
                "Every file or table with findings, most urgent first: what it holds, how the numbers are kept, and what to do.",
                "検出のあったファイル・テーブルを緊急度の高い順に示します。保存されている要素、保護の状態、推奨する対応です。",
            )),
        );
        let heads = [
            self.t("data store", "保存場所"),
            self.t("kind", "種類"),
            self.t("elements found", "検出した要素"),
            self.t("protection", "保護状態"),
            self.t("distinct cards", "カード枚数"),
            self.t("findings", "検出数"),
            self.t("examples", "例"),
            self.t("suggested action", "推奨する対応"),
        ];
        h.push_str("<table id=\"stores\" class=\"sortable\"><thead><tr>");
        for head in heads {
            let _ = write!(h, "<th tabindex=\"0\">{}</th>", esc(head));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for s in stores.iter().take(MAX_STORES) {
            let kind = match (s.kind, lang) {
                (StoreKind::File, Lang::En) => "file".to_owned(),
                (StoreKind::Container, Lang::En) if s.members_with_findings() == 1 => "archive (1 member)".to_owned(),
                (StoreKind::Container, Lang::En) => format!("archive ({} members)", s.members_with_findings()),
                (StoreKind::Column, Lang::En) => format!("column ({})", s.engine.as_deref().unwrap_or("db")),
                (StoreKind::File, Lang::Ja) => "ファイル".to_owned(),
                (StoreKind::Container, Lang::Ja) => format!("アーカイブ（{} メンバー）", s.members_with_findings()),
                (StoreKind::Column, Lang::Ja) => format!("列（{}）", s.engine.as_deref().unwrap_or("db")),
            };
            let elements: Vec<&str> = s.elements.iter().map(|&e| element_label(e, lang)).collect();
            let elements = if elements.is_empty() { "-".to_owned() } else { elements.join(", ") };
            let distinct = match (summary.distinct_pans, s.findings.cardholder()) {
                (_, 0) => "-".to_owned(),
                (None, _) => self.t("n/a", "比較不可").to_owned(),
                (Some(_), _) => thousands(s.distinct_cards()),
            };
            let c = &s.findings;
            let mut counts = Vec::new();
            for (n, label) in [
                (c.critical, tier_label(Confidence::Critical, lang)),
                (c.high, tier_label(Confidence::High, lang)),
                (c.medium, tier_label(Confidence::Medium, lang)),
                (c.low, tier_label(Confidence::Low, lang)),
                (c.test_pan, self.t("test", "テスト")),
                (c.masked_pan, self.t("masked", "マスク済み")),
            ] {
                if n > 0 {
                    counts.push(format!("{} {label}", thousands(n)));
                }
            }
            let mut place = esc(&s.key.display());
            if s.skipped > 0 {
                let _ = write!(
                    place,
                    "<br><span class=\"note\">{}</span>",
                    esc(&match lang {
                        Lang::En => format!("{} members not read", s.skipped),
                        Lang::Ja => format!("{} 個のメンバーを読み取れず", s.skipped),
                    })
                );
            }
            let action = s.action();
            let tone = match s.highest {
                Some(c) => c.as_str(),
                None if s.findings.test_pan > 0 => "test",
                None => "masked",
            };
            let _ = writeln!(
                h,
                "<tr class=\"t-{tone}\"><td class=\"path\">{place}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td class=\"mono small\">{}</td>\
                 <td data-v=\"{}\"><a href=\"#action-{}\">{}</a></td></tr>",
                esc(&kind),
                esc(&elements),
                esc(s.protection().label(lang)),
                s.distinct_cards(),
                esc(&distinct),
                c.total(),
                esc(&counts.join(", ")),
                s.examples.iter().map(|e| esc(&e.text(lang))).collect::<Vec<_>>().join("<br>"),
                action as u8,
                action_anchor(action),
                esc(action.label(lang)),
            );
        }
        h.push_str("</tbody></table>\n");
        if stores.len() > MAX_STORES {
            let more = thousands((stores.len() - MAX_STORES) as u64);
            let _ = writeln!(
                h,
                "<p class=\"note\">{}</p>",
                esc(&match lang {
                    Lang::En => format!(
                        "… and {more} more data stores, less urgent (every one is in the JSON report's locations)."
                    ),
                    Lang::Ja => format!(
                        "…ほか緊急度の低い保存場所 {more} か所（すべて JSON レポートの locations にあります）。"
                    ),
                })
            );
        }
        if stores.is_empty() {
            let _ = writeln!(h, "<p class=\"empty\">{}</p>", esc(self.t("No findings.", "検出はありません。")));
        }
        h.push_str("</section>\n");
    }

    fn findings_table(&mut self, h: &mut String, summary: &Summary) {
        let total = summary.findings.total().max(self.seq);
        self.trim_rows();
        let shown = self.rows.len() as u64;
        let _ = writeln!(
            h,
            "<section id=\"findings-section\">\n<h2>{}</h2>\n<div class=\"controls\">\
             <label>{} <input id=\"filter\" type=\"search\" autocomplete=\"off\"></label> \
             <label>{} <select id=\"tier-filter\"><option value=\"\">{}</option>\
             <option value=\"5\">{}</option><option value=\"4\">{}</option><option value=\"3\">{}</option>\
             <option value=\"2\">{}</option><option value=\"1\">{}</option><option value=\"0\">{}</option></select></label> \
             <span id=\"shown\" data-fmt=\"{}\">{}</span></div>",
            esc(self.t("Findings", "検出一覧")),
            esc(self.t("Filter", "絞り込み")),
            esc(self.t("Tier", "信頼度")),
            esc(self.t("all", "すべて")),
            esc(tier_label(Confidence::Critical, self.lang)),
            esc(tier_label(Confidence::High, self.lang)),
            esc(tier_label(Confidence::Medium, self.lang)),
            esc(tier_label(Confidence::Low, self.lang)),
            esc(self.t("test", "テスト")),
            esc(self.t("masked", "マスク済み")),
            esc(self.t("{shown} of {total} shown", "{total} 件中 {shown} 件を表示")),
            esc(&match self.lang {
                Lang::En => format!("{} of {} shown", thousands(shown), thousands(shown)),
                Lang::Ja => format!("{} 件中 {} 件を表示", thousands(shown), thousands(shown)),
            }),
        );
        if total > shown {
            let _ = writeln!(
                h,
                "<p class=\"note\">{}</p>",
                esc(&match self.lang {
                    Lang::En => format!(
                        "The table lists the {} most severe of {} findings; every finding is in the JSONL, JSON or CSV report.",
                        thousands(shown),
                        thousands(total)
                    ),
                    Lang::Ja => format!(
                        "表には {} 件のうち重要度の高い {} 件を示します。すべての検出は JSONL・JSON・CSV レポートにあります。",
                        thousands(total),
                        thousands(shown)
                    ),
                })
            );
        }
        let heads = [
            self.t("tier", "信頼度"),
            self.t("class", "分類"),
            self.t("location", "場所"),
            self.t("line / row", "行"),
            self.t("card (masked)", "カード番号（マスク）"),
            self.t("brand", "ブランド"),
            self.t("elements", "要素"),
            self.t("signals", "根拠"),
            self.t("decoding", "デコード"),
        ];
        h.push_str("<table id=\"findings\" class=\"sortable\"><thead><tr>");
        for head in heads {
            let _ = write!(h, "<th tabindex=\"0\">{}</th>", esc(head));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for r in &self.rows {
            h.push_str(&r.html);
        }
        h.push_str("</tbody></table>\n</section>\n");
    }

    fn remediation(&self, h: &mut String, stores: &[Store]) {
        let lang = self.lang;
        let _ = writeln!(
            h,
            "<section id=\"remediation\">\n<h2>{}</h2>\n<h3>{}</h3>\n<dl>",
            esc(self.t("What to do", "対応方法")),
            esc(self.t("What was looked for", "検出の分類")),
        );
        for (term, text) in classes_explained(lang) {
            let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(term), esc(text));
        }
        let _ = writeln!(h, "</dl>\n<h3>{}</h3>\n<dl>", esc(self.t("Suggested actions", "推奨する対応")));
        for a in Action::ALL {
            let n = stores.iter().filter(|s| s.action() == a).count();
            let count = match lang {
                Lang::En => format!(" ({n} stores)"),
                Lang::Ja => format!("（{n} か所）"),
            };
            let _ = writeln!(
                h,
                "<dt id=\"action-{}\">{}{}</dt><dd>{}</dd>",
                action_anchor(a),
                esc(a.label(lang)),
                esc(&count),
                esc(a.explain(lang))
            );
        }
        h.push_str("</dl>\n</section>\n");
    }

    fn run_section(&self, h: &mut String, run: Option<&RunInfo>, summary: &Summary) {
        let _ = writeln!(
            h,
            "<section id=\"run\">\n<h2>{}</h2>\n<dl class=\"meta\">",
            esc(self.t("About this run", "実行情報"))
        );
        let mut item = |k: &str, v: &str| {
            let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        };
        if let Some(r) = run {
            item(self.t("tool", "ツール"), &format!("{} {}", r.tool, r.version));
            item(self.t("ruleset", "ルールセット"), &r.ruleset);
            item(self.t("host", "ホスト"), &r.host);
            item(self.t("started", "開始"), &r.started);
            if let Some(end) = super::merge::end_of(&r.started, summary.elapsed_s).filter(|_| summary.complete) {
                item(self.t("ended", "終了"), &end);
            }
            item(self.t("elapsed", "所要時間"), &format!("{:.1} s", summary.elapsed_s.max(0.0)));
            item(self.t("fingerprint key", "指紋鍵"), &r.fingerprint_key_id);
            item(self.t("command line", "コマンドライン"), &r.argv.join(" "));
        }
        item(
            self.t("complete", "完了"),
            if summary.complete {
                self.t("yes", "はい")
            } else {
                self.t("no (interrupted)", "いいえ（中断）")
            },
        );
        h.push_str("</dl>\n");
        if let Some(r) = run.filter(|r| !r.sources.is_empty()) {
            let _ = writeln!(
                h,
                "<h3>{}</h3>\n<table id=\"sources\" class=\"small\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
                esc(self.t("Runs merged into this report", "このレポートに統合した実行")),
                esc(self.t("report file", "レポートファイル")),
                esc(self.t("host", "ホスト")),
                esc(self.t("version", "バージョン")),
                esc(self.t("started", "開始")),
                esc(self.t("ended", "終了")),
                esc(self.t("state", "状態")),
                esc(self.t("findings", "検出数")),
            );
            for s in &r.sources {
                let state = if s.complete { self.t("complete", "完了") } else { self.t("INCOMPLETE", "未完了") };
                let _ = writeln!(
                    h,
                    "<tr class=\"{}\"><td class=\"path\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    if s.complete { "" } else { "incomplete" },
                    esc(&s.file),
                    esc(&s.host),
                    esc(&s.version),
                    esc(&s.started),
                    esc(s.ended.as_deref().unwrap_or("?")),
                    esc(state),
                    thousands(s.findings.total()),
                );
            }
            h.push_str("</tbody></table>\n");
        }
        h.push_str("</section>\n");
    }
}

fn action_anchor(a: Action) -> &'static str {
    match a {
        Action::DeleteSecurely => "delete",
        Action::FixProcess => "fix-process",
        Action::MoveIntoCde => "move-into-cde",
        Action::Truncate => "truncate",
        Action::Review => "review",
        Action::None => "none",
    }
}

fn kind_label(k: SkipKind, lang: Lang) -> &'static str {
    match (k, lang) {
        (SkipKind::Error, Lang::En) => "not readable",
        (SkipKind::Limit, Lang::En) => "limit reached",
        (SkipKind::Vanished, Lang::En) => "vanished",
        (SkipKind::Link, Lang::En) => "link not followed",
        (SkipKind::Error, Lang::Ja) => "読み取り不可",
        (SkipKind::Limit, Lang::Ja) => "上限に到達",
        (SkipKind::Vanished, Lang::Ja) => "消失",
        (SkipKind::Link, Lang::Ja) => "リンク（未追跡）",
    }
}

/// Each kind of finding and element, in plain words.
fn classes_explained(lang: Lang) -> [(&'static str, &'static str); 8] {
    match lang {
        Lang::En => [
            (
                "Card number (PAN)",
                "The long number on the front of a card. Stored in the clear it is cardholder data: PCI DSS 3.4-3.5 \
                 require it to be masked when shown and unreadable wherever it is stored; under Japan's \
                 non-retention rule a merchant should not store it at all.",
            ),
            (
                "Security code (CVV2/CVC2/CID)",
                "The 3 or 4 digits printed on the card. Sensitive authentication data: never to be kept after \
                 authorisation, not even encrypted (PCI DSS 3.3.1.2). Finding one next to a card number makes that \
                 finding critical.",
            ),
            (
                "Track data",
                "The contents of the magnetic stripe or chip (track 1, track 2, EMV tag 57). Sensitive \
                 authentication data: never to be kept after authorisation (PCI DSS 3.3.1.1). A copy is all a \
                 criminal needs to clone a card.",
            ),
            (
                "Expiry date and cardholder name",
                "Cardholder data when kept with the card number: they make a stolen number usable online. They \
                 raise a finding's confidence.",
            ),
            (
                "Tiers",
                "critical: card number with a security code or track data; high: card number with corroboration (a \
                 keyword, an expiry date, a card column, a name); medium: a valid number with nothing around it; \
                 low: weak, most likely an identifier.",
            ),
            (
                "Test card number",
                "A number from the card brands' public test lists (such as 4111 11** **** 1111, masked like \
                 every number here). Not a real card; listed, never counted as card data.",
            ),
            (
                "Masked card number",
                "A number already truncated to at most the first 6 and last 4 digits, which PCI DSS allows to be \
                 kept. Listed for completeness.",
            ),
            (
                "Distinct cards",
                "Card numbers are counted by a keyed fingerprint (HMAC-SHA-256), never by keeping the number. Runs \
                 merged from several hosts are compared only when they used the same fingerprint key.",
            ),
        ],
        Lang::Ja => [
            (
                "カード番号（PAN）",
                "カード表面の長い番号です。平文で保存されていればカード会員データです。PCI DSS 3.4〜3.5 は表示時のマスクと、\
                 保存時に読み取れない形にすることを求めます。カード情報非保持化では加盟店は保存すべきではありません。",
            ),
            (
                "セキュリティコード（CVV2/CVC2/CID）",
                "カードに印字された 3 桁または 4 桁の番号です。機密認証データであり、オーソリ後は暗号化しても保存してはなりません\
                 （PCI DSS 3.3.1.2）。カード番号の近くで見つかると、その検出は「重大」になります。",
            ),
            (
                "トラックデータ",
                "磁気ストライプや IC チップの内容（トラック1、トラック2、EMV タグ 57）です。機密認証データであり、オーソリ後は保存\
                 してはなりません（PCI DSS 3.3.1.1）。これがあればカードを偽造できます。",
            ),
            (
                "有効期限・カード名義",
                "カード番号と一緒に保存されていればカード会員データです。盗まれた番号をネットで使えるようにする情報で、\
                 検出の信頼度を上げます。",
            ),
            (
                "信頼度",
                "重大: セキュリティコードまたはトラックデータを伴うカード番号。高: 裏付け（キーワード、有効期限、カード番号の列、\
                 名義）のあるカード番号。中: 周囲に手掛かりのない有効な番号。低: 弱い一致で、多くは識別子です。",
            ),
            (
                "テスト用カード番号",
                "カードブランドが公開しているテスト用番号（4111 11** **** 1111 など。ほかの番号と同じく伏せて\
                 表示）です。実在のカードではなく、一覧には載せますがカード情報には数えません。",
            ),
            (
                "マスク済みカード番号",
                "先頭 6 桁と末尾 4 桁以下に切り詰め済みの番号で、PCI DSS でも保存が認められています。参考として記載します。",
            ),
            (
                "カード枚数",
                "カード番号は番号そのものを残さず、鍵付きの指紋（HMAC-SHA-256）で数えます。複数ホストの実行を統合する場合は、\
                 同じ指紋鍵を使った実行同士だけを比較します。",
            ),
        ],
    }
}

impl<W: Write + Send> ReportWriter for Html<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.run = Some(run.clone());
        Ok(())
    }

    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()> {
        self.stores.add(rec);
        if rec.finding.class.is_cardholder_data() {
            let f = &rec.finding;
            let brand = if f.brands.is_empty() { "unknown".to_owned() } else { f.brands.join("/") };
            if self.brands.len() < 1_000 || self.brands.contains_key(&brand) {
                *self.brands.entry(brand).or_default() += 1;
            }
        }
        self.row(rec);
        Ok(())
    }

    fn skipped(&mut self, skip: &Skip) -> io::Result<()> {
        self.stores.skipped(skip);
        self.skipped_kinds.add(skip.kind);
        let key = (skip.kind, skip.reason.clone());
        if self.reasons.len() < MAX_SKIPS || self.reasons.contains_key(&key) {
            *self.reasons.entry(key).or_default() += 1;
        }
        self.skipped.push(skip);
        Ok(())
    }

    fn table(&mut self, _table: &TableSummary) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let page = self.render(summary);
        self.out.write_all(page.as_bytes())?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        // Nothing is written before the end: the verdict at the top needs the whole run.
        Ok(())
    }
}

/// The verdict of a run that found nothing new but left findings out on purpose (known
/// from `--baseline`, matched by `--allowlist`): it is not evidence of absence.
fn unreported(summary: &Summary, lang: Lang) -> Option<String> {
    let known = summary.baseline.map_or(0, |b| b.known);
    let accepted = summary.allowlisted;
    if known == 0 && accepted == 0 {
        return None;
    }
    Some(match lang {
        Lang::En => format!(
            "No new card data found ({} known from the baseline and {} allowlisted findings not reported)",
            thousands(known),
            thousands(accepted)
        ),
        Lang::Ja => format!(
            "新たなカード情報は見つかりませんでした（ベースラインで既知の {} 件と許可リストに一致した {} 件は報告していません）",
            thousands(known),
            thousands(accepted)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Element;
    use crate::report::test_record;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn escaping_defuses_markup_and_controls() {
        assert_eq!(esc("<script>\"a\"&'b'\u{1b}[31m"), "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;?[31m");
        assert_eq!(esc("invoice\u{202E}fdp.exe"), "invoice?fdp.exe", "no right-to-left override");
    }

    #[test]
    fn numbers_read_easily() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    fn page(w: Html<Vec<u8>>) -> String {
        String::from_utf8(w.out.into_inner().map_err(io::IntoInnerError::into_error).unwrap()).unwrap()
    }

    #[test]
    fn the_table_keeps_the_most_severe_rows() {
        let mut w = Html::new(Vec::new(), Lang::En);
        let mut sum = Summary { complete: true, ..Summary::default() };
        for i in 0..2 * MAX_ROWS + 10 {
            let r = test_record(&format!("/srv/low{i}.txt"), Class::Pan, Confidence::Low, &[Element::Pan], 1);
            sum.findings.add(r.finding.class, r.finding.confidence);
            w.finding(&r).unwrap();
        }
        for name in ["/srv/crit.csv", "/srv/test.txt"] {
            let (class, tier) = if name.ends_with("csv") {
                (Class::Pan, Confidence::Critical)
            } else {
                (Class::TestPan, Confidence::High)
            };
            let r = test_record(name, class, tier, &[Element::Pan, Element::Cvv], 2);
            sum.findings.add(class, tier);
            w.finding(&r).unwrap();
        }
        w.finish(&sum).unwrap();
        let html = page(w);
        let body = html.split("<table id=\"findings\"").nth(1).unwrap().split("</table>").next().unwrap();
        assert_eq!(body.matches("<tr class=").count(), MAX_ROWS);
        assert!(body.contains("/srv/crit.csv"), "the critical finding is kept");
        assert!(!body.contains("/srv/test.txt"), "test numbers give way to card data");
        assert!(
            body.contains("/srv/low0.txt") && !body.contains(&format!("/srv/low{}.txt", 2 * MAX_ROWS)),
            "earliest first"
        );
        assert!(html.contains("The table lists the 5,000 most severe of 10,012 findings"));
        assert!(html.contains("Card data found in 10,011 locations"));
    }

    #[test]
    fn hostile_names_stay_text() {
        let mut w = Html::new(Vec::new(), Lang::En);
        let path = "/srv/<img src=x onerror=alert(1)>\"'.txt";
        w.finding(&test_record(path, Class::Pan, Confidence::High, &[Element::Pan], 1)).unwrap();
        w.skipped(&Skip {
            path: "/srv/</table><script>x()</script>".into(),
            reason: "a & b".into(),
            kind: SkipKind::Error,
        })
        .unwrap();
        w.finish(&Summary { complete: true, skipped: 1, ..Summary::default() }).unwrap();
        let html = page(w);
        assert!(!html.contains("<img") && !html.contains("<script>x()"), "markup from data is escaped");
        assert!(html.contains("/srv/&lt;img src=x onerror=alert(1)&gt;&quot;&#39;.txt"));
        assert_eq!(html.matches("<script>").count(), 1, "only the page's own script");
        assert!(html.contains("class=\"verdict-found\""));
    }

    #[test]
    fn an_incomplete_or_partial_run_is_not_called_clean() {
        let mut w = Html::new(Vec::new(), Lang::Ja);
        w.skipped(&Skip { path: "/srv/x".into(), reason: "permission denied".into(), kind: SkipKind::Error }).unwrap();
        w.finish(&Summary { complete: true, skipped: 1, ..Summary::default() }).unwrap();
        let html = page(w);
        assert!(html.contains("class=\"verdict-partial\"") && html.contains("<html lang=\"ja\""));
        let mut w = Html::new(Vec::new(), Lang::En);
        w.finish(&Summary { complete: false, ..Summary::default() }).unwrap();
        assert!(page(w).contains("class=\"verdict-partial\""));
    }

    #[test]
    fn the_page_allows_only_its_own_style_and_script() {
        let mut w = Html::new(Vec::new(), Lang::En);
        w.finish(&Summary { complete: true, ..Summary::default() }).unwrap();
        let page = page(w);
        assert!(page.contains(&format!("script-src {}", csp_hash(JS))));
        assert!(page.contains(&format!("style-src {}", csp_hash(CSS))));
        assert!(page.contains("class=\"verdict-clean\""));
        for forbidden in ["<link", "http:", "https:", "@import", "url("] {
            assert!(!page.contains(forbidden), "{forbidden} in a self-contained page");
        }
    }
}
