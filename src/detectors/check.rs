//! Structural validation of a [`DetectorSet`](super::DetectorSet): the rules the data must
//! obey beyond parsing. Running the examples through the engine is `scan::examples`.
//!
//! Rules: brand ids unique and kebab-case; every brand has an example; security codes are
//! 3 or 4 digits; every range overlap with another brand is declared on both sides and
//! every declared overlap is real; column-hint examples match and negatives don't.

use std::fmt;

use super::DetectorSet;

/// One rule the data breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Relative path of the file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Checks the structural rules; an empty list means the set is sound.
pub fn validate(set: &DetectorSet) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |file: &str, message: String| problems.push(Problem { file: file.to_string(), message });

    for (i, (file, spec)) in set.brand_specs.iter().enumerate() {
        if !is_kebab(&spec.id) {
            push(file, format!("id {:?} is not kebab-case ([a-z0-9]+(-[a-z0-9]+)*)", spec.id));
        }
        if set.brand_specs[..i].iter().any(|(_, s)| s.id == spec.id) {
            push(file, format!("id {:?} is used by another brand file", spec.id));
        }
        if spec.examples.is_empty() {
            push(file, format!("brand {} has no example", spec.id));
        }
        if spec.ranges.is_empty() || spec.lengths.is_empty() {
            push(file, format!("brand {} needs at least one range and one length", spec.id));
        }
        if let Some(sc) = &spec.security_code
            && !(3..=4).contains(&sc.digits)
        {
            push(file, format!("brand {}: security code of {} digits (expected 3 or 4)", spec.id, sc.digits));
        }
        for other in &spec.overlaps {
            if !set.brand_specs.iter().any(|(_, s)| &s.id == other) {
                push(file, format!("brand {} declares an overlap with unknown brand {other:?}", spec.id));
            }
        }
    }

    for (a_idx, a) in set.brands.iter().enumerate() {
        for b in &set.brands[a_idx + 1..] {
            let real = a.ranges.iter().any(|ra| b.ranges.iter().any(|rb| ra.intersects(rb)));
            let a_says = a.overlaps.iter().any(|o| *o == *b.id);
            let b_says = b.overlaps.iter().any(|o| *o == *a.id);
            let file_of = |id: &str| {
                set.brand_specs.iter().find(|(_, s)| s.id == id).map_or_else(String::new, |(f, _)| f.clone())
            };
            if real && !a_says {
                push(
                    &file_of(&a.id),
                    format!("ranges of {} and {} intersect but {} does not declare it", a.id, b.id, a.id),
                );
            }
            if real && !b_says {
                push(
                    &file_of(&b.id),
                    format!("ranges of {} and {} intersect but {} does not declare it", a.id, b.id, b.id),
                );
            }
            if !real && a_says {
                push(&file_of(&a.id), format!("{} declares an overlap with {} but no ranges intersect", a.id, b.id));
            }
            if !real && b_says {
                push(&file_of(&b.id), format!("{} declares an overlap with {} but no ranges intersect", b.id, a.id));
            }
        }
    }

    for spec in &set.column_specs {
        let regexes: Vec<regex::Regex> =
            spec.patterns.iter().filter_map(|p| regex::Regex::new(&format!("^(?:{p})$")).ok()).collect();
        for name in &spec.examples {
            if !regexes.iter().any(|r| r.is_match(name)) {
                push("context/columns.toml", format!("{} example {name:?} matches no pattern", spec.element.as_str()));
            } else if set.column_element(name) != Some(spec.element) {
                push(
                    "context/columns.toml",
                    format!("{} example {name:?} is claimed first by another element's pattern", spec.element.as_str()),
                );
            }
        }
        for name in &spec.negative_examples {
            if regexes.iter().any(|r| r.is_match(name)) {
                push("context/columns.toml", format!("{} negative example {name:?} matches", spec.element.as_str()));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_set_is_structurally_sound() {
        let set = DetectorSet::builtin().unwrap();
        let problems = validate(&set);
        assert!(problems.is_empty(), "{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
    }

    #[test]
    fn kebab_ids() {
        assert!(is_kebab("visa"));
        assert!(is_kebab("diners-club"));
        assert!(!is_kebab("Visa"));
        assert!(!is_kebab("diners--club"));
        assert!(!is_kebab("-x"));
    }

    #[test]
    fn undeclared_overlap_is_reported() {
        let mut files: std::collections::BTreeMap<_, _> = super::super::builtin::FILES
            .iter()
            .map(|(r, c)| ((*r).to_string(), (super::super::Origin::Builtin, (*c).to_string())))
            .collect();
        files.insert(
            "brands/zz.toml".into(),
            (
                super::super::Origin::Builtin,
                "id = \"zz\"\nname = \"Z\"\ncheck = \"luhn\"\nlengths = [16]\nranges = [{ from = \"51\", to = \"51\" }]\n\n[[examples]]\ntext = \"{luhn:51:16}\"\n".into(),
            ),
        );
        let set = DetectorSet::from_files(files).unwrap();
        let problems = validate(&set);
        assert!(
            problems.iter().any(|p| p.file == "brands/zz.toml" && p.message.contains("mastercard")),
            "{problems:?}"
        );
    }
}
