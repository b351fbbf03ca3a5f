//! The file format of `detectors/*.toml`, as serde structs.
//!
//! Every struct denies unknown fields, so a typo such as `lenghts` is an error rather
//! than a silent default. `docs/detectors.md` documents each field.

use serde::Deserialize;

use crate::finding::{Class, Confidence};

/// How a brand's check digit is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckMode {
    /// Must pass Luhn.
    Luhn,
    /// Usually passes Luhn; failing numbers need context (`UnionPay`).
    LuhnOptional,
    /// No check digit: every number needs context.
    None,
}

/// `detectors/brands/<id>.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BrandSpec {
    /// Stable kebab-case id, never reused.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Check-digit mode.
    pub check: CheckMode,
    /// Allowed PAN lengths (12..=19).
    pub lengths: Vec<u8>,
    /// Lengths reported only with card context.
    #[serde(default)]
    pub context_lengths: Vec<u8>,
    /// Every length needs context.
    #[serde(default)]
    pub needs_context: bool,
    /// The brand's name for its security code.
    #[serde(default)]
    pub security_code: Option<SecurityCodeSpec>,
    /// Inclusive IIN prefix ranges.
    pub ranges: Vec<RangeSpec>,
    /// Brands whose ranges intersect this one's (declared on both sides).
    #[serde(default)]
    pub overlaps: Vec<String>,
    /// Where the ranges come from.
    #[serde(default)]
    pub references: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// Texts in which this brand must be found.
    #[serde(default)]
    pub examples: Vec<ExampleSpec>,
    /// Texts in which this brand must not be found.
    #[serde(default)]
    pub negative_examples: Vec<ExampleSpec>,
}

/// A brand's security code name and size.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecurityCodeSpec {
    /// e.g. `CVV2`, `CID`.
    pub name: String,
    /// 3 or 4.
    pub digits: u8,
}

/// An inclusive prefix range; `from` and `to` are digit strings of equal length.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RangeSpec {
    /// Low end, e.g. `"2221"`.
    pub from: String,
    /// High end, e.g. `"2720"`.
    pub to: String,
}

/// An example or counter-example run through the real scanner.
///
/// An example passes when some finding matches every key given; a negative example
/// passes when no finding matches every key given. Texts may hold `{luhn:PREFIX:LEN}`
/// and `{noluhn:PREFIX:LEN}` placeholders, expanded at check time.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExampleSpec {
    /// The text to scan.
    pub text: String,
    /// Expected class.
    #[serde(default)]
    pub class: Option<Class>,
    /// Expected confidence.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// A signal that must be present, as printed (`keyword:card number`).
    #[serde(default)]
    pub signal: Option<String>,
    /// A brand id that must be listed.
    #[serde(default)]
    pub brand: Option<String>,
}

/// `detectors/test-pans.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestPansSpec {
    /// Lists grouped by who publishes them.
    pub sources: Vec<TestPanSource>,
    /// Examples.
    #[serde(default)]
    pub examples: Vec<ExampleSpec>,
    /// Counter-examples.
    #[serde(default)]
    pub negative_examples: Vec<ExampleSpec>,
}

/// One publisher's test PANs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestPanSource {
    /// Publisher, e.g. `Stripe`.
    pub name: String,
    /// Where the list comes from.
    #[serde(default)]
    pub references: Vec<String>,
    /// The PANs (12–19 digits).
    pub pans: Vec<String>,
}

/// Which element a keyword group or column hint speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HintElement {
    /// Card number words and brand names.
    Pan,
    /// Expiry date.
    Expiry,
    /// Expiry month (columns only).
    ExpiryMonth,
    /// Expiry year (columns only).
    ExpiryYear,
    /// Security code.
    Cvv,
    /// Cardholder name.
    Name,
    /// Track data.
    Track,
}

impl HintElement {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HintElement::Pan => "pan",
            HintElement::Expiry => "expiry",
            HintElement::ExpiryMonth => "expiry-month",
            HintElement::ExpiryYear => "expiry-year",
            HintElement::Cvv => "cvv",
            HintElement::Name => "name",
            HintElement::Track => "track",
        }
    }
}

/// `detectors/context/keywords.<lang>.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeywordsSpec {
    /// Language tag (`en`, `ja`, …).
    pub lang: String,
    /// Term groups.
    pub groups: Vec<KeywordGroup>,
    /// Examples.
    #[serde(default)]
    pub examples: Vec<ExampleSpec>,
    /// Counter-examples.
    #[serde(default)]
    pub negative_examples: Vec<ExampleSpec>,
}

/// Terms for one element.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeywordGroup {
    /// The element these terms announce.
    pub element: HintElement,
    /// The terms.
    pub terms: Vec<String>,
}

/// `detectors/context/columns.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ColumnsSpec {
    /// Column-name hints.
    pub columns: Vec<ColumnSpec>,
}

/// Column-name patterns for one element.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ColumnSpec {
    /// The element such a column holds.
    pub element: HintElement,
    /// Regexes matched against the whole column name.
    pub patterns: Vec<String>,
    /// Names that must match.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Names that must not match.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}
