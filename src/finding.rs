//! Findings: the data model shared by the scanner, the pipeline and the report writers.
//!
//! The scanner (`scan`) turns bytes into [`Finding`]s. A finding never holds a full PAN:
//! the digits live only in [`Pan`] inside `scan`, and what leaves it is a [`MaskedView`]
//! (first 6 and last 4 digits, as PCI DSS 3.4.1 allows) plus a keyed [`Fingerprint`].
//! Sources attach a [`Location`], and report writers turn the result into records.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroize;

/// The longest PAN ISO/IEC 7812 allows.
pub const MAX_PAN_LEN: usize = 19;
/// The shortest PAN any brand we know issues (Maestro).
pub const MIN_PAN_LEN: usize = 12;

/// A primary account number as found. Holds the digits but can never print them:
/// `Debug` and `Display` show only the first 6 and last 4 digits, it has no `Serialize`,
/// and the digits are wiped when it is dropped.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pan {
    digits: [u8; MAX_PAN_LEN],
    len: u8,
}

impl Pan {
    /// Builds a PAN from ASCII digits; `None` unless 12–19 ASCII digits.
    pub fn from_digits(digits: &[u8]) -> Option<Pan> {
        if !(MIN_PAN_LEN..=MAX_PAN_LEN).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        #[cfg(debug_assertions)]
        fault::panic_if_asked(digits);
        let mut buf = [0u8; MAX_PAN_LEN];
        buf[..digits.len()].copy_from_slice(digits);
        Some(Pan { digits: buf, len: digits.len() as u8 })
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: a PAN has at least 12 digits. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The masked view that may leave the scanner.
    pub fn view(&self) -> MaskedView {
        let d = &self.digits[..self.len()];
        MaskedView { first6: ascii(&d[..6]), last4: ascii(&d[d.len() - 4..]), len: self.len() }
    }

    /// The full digits. Crate-private so that only the engine (check digit, brand
    /// lookup, fingerprint) can see them.
    pub(crate) fn digits(&self) -> &[u8] {
        &self.digits[..self.len()]
    }
}

/// Test-only fault injection, compiled into debug builds only (never into a release
/// binary): with `PANSWEEP_FAULT_PANIC_ON_PAN=PREFIX` in the environment, building a
/// [`Pan`] whose digits start with `PREFIX` (at least 6 digits) panics, on the worker
/// thread that is scanning the number, with a message that quotes the full number on
/// purpose. `tests/it/noleak.rs` uses it to show that the panic hook masks what a panic
/// says, that the item becomes an `internal error` skip and that the run goes on.
#[cfg(debug_assertions)]
mod fault {
    use std::sync::OnceLock;

    /// The variable that arms the fault.
    const VAR: &str = "PANSWEEP_FAULT_PANIC_ON_PAN";

    pub(super) fn panic_if_asked(digits: &[u8]) {
        static PREFIX: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        let prefix = PREFIX.get_or_init(|| {
            std::env::var(VAR).ok().map(String::into_bytes).filter(|p| p.len() >= 6 && p.iter().all(u8::is_ascii_digit))
        });
        if let Some(p) = prefix
            && digits.starts_with(p)
        {
            panic!("fault injection ({VAR}): panicking while holding {}", String::from_utf8_lossy(digits));
        }
    }
}

impl Drop for Pan {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.view().masked())
    }
}

impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.view().masked())
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn ascii(d: &[u8]) -> String {
    d.iter().map(|&b| char::from(b)).collect()
}

/// What a report may show of a PAN: at most the first 6 and last 4 digits and the length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedView {
    /// Leading digits (6, or fewer for a masked PAN that shows fewer).
    pub first6: String,
    /// Trailing 4 digits.
    pub last4: String,
    /// Number of digit positions, masked ones included.
    pub len: usize,
}

impl MaskedView {
    /// `411111******1111`.
    pub fn masked(&self) -> String {
        let hidden = self.len.saturating_sub(self.first6.len() + self.last4.len());
        let mut s = String::with_capacity(self.len);
        s.push_str(&self.first6);
        s.extend(std::iter::repeat_n('*', hidden));
        s.push_str(&self.last4);
        s
    }
}

/// HMAC-SHA-256 of a PAN under the run's key: lets runs be compared, allowlisted and
/// de-duplicated without storing the PAN.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hmac-sha256:{}", hex(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;
    /// Reads `hmac-sha256:` and 64 hex digits, as written in reports.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The value is not echoed: whatever is in a damaged report stays out of messages.
        let bad = || "not a fingerprint (expected hmac-sha256: and 64 hex digits)".to_owned();
        let hexdigits = s.strip_prefix("hmac-sha256:").ok_or_else(bad)?.as_bytes();
        if hexdigits.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(hexdigits.chunks_exact(2)) {
            let s = std::str::from_utf8(pair).map_err(|_| bad())?;
            *o = u8::from_str_radix(s, 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(out))
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The class of a finding (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// A full PAN.
    Pan,
    /// A PAN on the public test-card list: reported, never dropped.
    TestPan,
    /// A masked or truncated PAN such as `411111******1111`: informational.
    MaskedPan,
    /// Magnetic-stripe track 1 data (sensitive authentication data).
    Track1,
    /// Magnetic-stripe track 2 data or EMV tag 57 (sensitive authentication data).
    Track2,
}

impl Class {
    /// The snake-case name used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Pan => "pan",
            Class::TestPan => "test_pan",
            Class::MaskedPan => "masked_pan",
            Class::Track1 => "track1",
            Class::Track2 => "track2",
        }
    }

    /// Whether findings of this class count towards `--fail-on` and the tier counts.
    /// Test PANs and masked PANs are reported but counted on their own.
    pub fn is_cardholder_data(self) -> bool {
        matches!(self, Class::Pan | Class::Track1 | Class::Track2)
    }
}

/// Confidence tier (SPEC §3), ordered from weakest to strongest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Weak: needs a human to look.
    Low,
    /// A brand-valid, check-digit-valid PAN with no context.
    Medium,
    /// A PAN with corroboration (keyword, expiry, card-ish column or key, name).
    High,
    /// A PAN with sensitive authentication data (security code or track data).
    Critical,
}

impl Confidence {
    /// All tiers, weakest first.
    pub const ALL: [Confidence; 4] = [Confidence::Low, Confidence::Medium, Confidence::High, Confidence::Critical];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
            Confidence::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Confidence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Confidence::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown confidence {s:?} (expected low, medium, high or critical)"))
    }
}

/// A card-data element (PCI DSS: account data = cardholder data + sensitive
/// authentication data). A closed set: each has its own algorithm in `scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    /// Primary account number.
    Pan,
    /// Expiry date.
    Expiry,
    /// Card security code (CVV2/CVC2/CID/CAV2…).
    Cvv,
    /// Track 1 data.
    Track1,
    /// Track 2 data (or EMV tag 57).
    Track2,
    /// Cardholder name.
    Name,
}

impl Element {
    /// Every element.
    pub const ALL: [Element; 6] =
        [Element::Pan, Element::Expiry, Element::Cvv, Element::Track1, Element::Track2, Element::Name];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Element::Pan => "pan",
            Element::Expiry => "expiry",
            Element::Cvv => "cvv",
            Element::Track1 => "track1",
            Element::Track2 => "track2",
            Element::Name => "name",
        }
    }
}

/// One reason behind a finding's class and tier, so an assessor sees why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// The Luhn check digit is valid.
    Luhn,
    /// The brand's check digit is optional and this number fails it.
    LuhnFailed,
    /// Matches this brand's IIN range and length.
    Brand(Arc<str>),
    /// Luhn-valid, but no brand in the table matches.
    UnknownBrand,
    /// On the public test-PAN list.
    TestPan,
    /// A keyword for this element within the context window.
    Keyword(Arc<str>),
    /// An expiry date within the context window.
    Expiry,
    /// A keyword-anchored security code within the context window.
    Cvv,
    /// A cardholder name within the context window.
    Name,
    /// The value sits in a column (CSV header, database column) named like this.
    Column(Arc<str>),
    /// Another field of the same record/row holds this element.
    Row(Element),
    /// The PAN is part of track data.
    Track(Element),
    /// Digits were grouped by separators in this layout, e.g. `4-4-4-4`.
    Grouped(String),
    /// This length or brand is only reported with context (e.g. `13-digit`, `imei-like`).
    NeedsContext(&'static str),
    /// Looks like a GS1 JAN/EAN-13 barcode.
    JanCode,
    /// A low-entropy pattern (repeated digit, arithmetic run, …).
    Suspicious(&'static str),
    /// A masked PAN: only the digits shown are known.
    Masked,
    /// A spreadsheet number that kept only 15 significant digits (Excel's precision): the
    /// digits after them were replaced by zeros, so the check digit cannot be verified.
    PrecisionLost,
    /// A signal read back from a stored report that this version has no variant for
    /// (or whose text is not a fixed string): kept as written.
    Other(String),
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::Luhn => f.write_str("luhn"),
            Signal::LuhnFailed => f.write_str("luhn-failed"),
            Signal::Brand(b) => write!(f, "brand:{b}"),
            Signal::UnknownBrand => f.write_str("unknown-brand"),
            Signal::TestPan => f.write_str("test-pan"),
            Signal::Keyword(k) => write!(f, "keyword:{k}"),
            Signal::Expiry => f.write_str("expiry"),
            Signal::Cvv => f.write_str("cvv"),
            Signal::Name => f.write_str("name"),
            Signal::Column(c) => write!(f, "column:{c}"),
            Signal::Row(e) => write!(f, "row:{}", e.as_str()),
            Signal::Track(e) => f.write_str(e.as_str()),
            Signal::Grouped(g) => write!(f, "grouped:{g}"),
            Signal::NeedsContext(why) => write!(f, "needs-context:{why}"),
            Signal::JanCode => f.write_str("jan-code"),
            Signal::Suspicious(why) => write!(f, "suspicious:{why}"),
            Signal::Masked => f.write_str("masked"),
            Signal::PrecisionLost => f.write_str("spreadsheet-precision-lost"),
            Signal::Other(s) => f.write_str(s),
        }
    }
}

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Signal {
    /// Reads a signal back from its report text (the inverse of `Display`). Signals
    /// whose detail is a fixed string in this version (`needs-context:…`,
    /// `suspicious:…`) and signals this version does not know become [`Signal::Other`],
    /// which writes the same text.
    pub fn parse(s: &str) -> Signal {
        let element = |e: &str| Element::ALL.into_iter().find(|x| x.as_str() == e);
        match s {
            "luhn" => return Signal::Luhn,
            "luhn-failed" => return Signal::LuhnFailed,
            "unknown-brand" => return Signal::UnknownBrand,
            "test-pan" => return Signal::TestPan,
            "expiry" => return Signal::Expiry,
            "cvv" => return Signal::Cvv,
            "name" => return Signal::Name,
            "jan-code" => return Signal::JanCode,
            "masked" => return Signal::Masked,
            "spreadsheet-precision-lost" => return Signal::PrecisionLost,
            "track1" => return Signal::Track(Element::Track1),
            "track2" => return Signal::Track(Element::Track2),
            _ => {}
        }
        match s.split_once(':') {
            Some(("brand", b)) => Signal::Brand(b.into()),
            Some(("keyword", k)) => Signal::Keyword(k.into()),
            Some(("column", c)) => Signal::Column(c.into()),
            Some(("grouped", g)) => Signal::Grouped(g.to_owned()),
            Some(("row", e)) if element(e).is_some() => Signal::Row(element(e).unwrap_or(Element::Pan)),
            _ => Signal::Other(s.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Signal::parse(&s))
    }
}

/// A finding as the scanner reports it: what was found and where in the scanned buffer.
/// Sources add the [`Location`].
#[derive(Clone, Debug)]
pub struct Finding {
    /// What kind of finding.
    pub class: Class,
    /// Confidence tier.
    pub confidence: Confidence,
    /// The masked PAN.
    pub view: MaskedView,
    /// Keyed fingerprint of the full PAN (absent for masked PANs).
    pub fingerprint: Option<Fingerprint>,
    /// Every brand whose range, length and check mode fit (empty: unknown).
    pub brands: Vec<Arc<str>>,
    /// Why this class and tier.
    pub signals: Vec<Signal>,
    /// Elements present together (always includes `pan` for full PANs).
    pub elements: Vec<Element>,
    /// Byte offset of the match in the scanned buffer.
    pub offset: usize,
    /// Length in bytes of the match in the scanned buffer.
    pub len: usize,
    /// Masked surrounding text, when asked for (`--context`).
    pub context: Option<String>,
}

/// Where a finding or a skipped item is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Path as walked (`!member` appended for members, in later stages).
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset from the start of the file.
    pub byte_offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_never_formats_its_digits() {
        let pan = Pan::from_digits(b"4111111111111111").unwrap();
        assert_eq!(format!("{pan}"), "411111******1111");
        assert_eq!(format!("{pan:?}"), "Pan(411111******1111)");
        assert_eq!(format!("{pan:#?}"), "Pan(411111******1111)");
        let v = pan.view();
        assert_eq!((v.first6.as_str(), v.last4.as_str(), v.len), ("411111", "1111", 16));
    }

    #[test]
    fn pan_rejects_bad_input() {
        assert!(Pan::from_digits(b"41111111111").is_none());
        assert!(Pan::from_digits(b"41111111111111111111").is_none());
        assert!(Pan::from_digits(b"4111x11111111111").is_none());
    }

    #[test]
    fn masked_view_of_short_and_long_pans() {
        let pan = Pan::from_digits(b"501800000009").unwrap();
        assert_eq!(pan.view().masked(), "501800**0009");
        let pan = Pan::from_digits(b"6205500000000000004").unwrap();
        assert_eq!(pan.view().masked(), "620550*********0004");
    }

    #[test]
    fn confidence_orders_and_parses() {
        assert!(Confidence::Critical > Confidence::High);
        assert!(Confidence::Medium > Confidence::Low);
        assert_eq!("high".parse::<Confidence>().unwrap(), Confidence::High);
        assert!("urgent".parse::<Confidence>().is_err());
    }
}
