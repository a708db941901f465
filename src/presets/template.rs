//! A preset's prompt template: text with `{input}` and named `{vars}`.
//!
//! `{name}` is a variable when `name` is a letter or `_` followed by
//! letters, digits, `_` or `-`; `{{` and `}}` are literal braces; any other
//! brace is kept as written, so JSON or code in a template needs no
//! escaping.

use std::collections::BTreeMap;

/// The variable that holds the message or piped stdin.
pub const INPUT: &str = "input";

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Text sent as written.
    Literal(String),
    /// A `{name}` to fill in.
    Var(String),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// Why a template could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    /// Variables the template uses were not given.
    #[error("missing {}: {}; the template's variables are {}", plural(missing.len()), quoted(missing), quoted(variables))]
    Missing {
        /// The ones not given.
        missing: Vec<String>,
        /// Every variable the template uses.
        variables: Vec<String>,
    },
    /// `--var` named a variable the template does not use.
    #[error(
        "the template has no variable `{unknown}`; its variables are {}",
        quoted(variables)
    )]
    Unknown {
        /// The name given.
        unknown: String,
        /// Every variable the template uses.
        variables: Vec<String>,
    },
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "variable"
    } else {
        "variables"
    }
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `name` can be a template variable (and a `--var` key).
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 64
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Template {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(['{', '}']) {
            literal.push_str(&rest[..at]);
            let tail = &rest[at..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                literal.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            let name = tail[1..].split_once('}').map(|(name, _)| name);
            match name.filter(|name| tail.starts_with('{') && is_variable_name(name)) {
                Some(name) => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Var(name.to_string()));
                    rest = &tail[name.len() + 2..];
                }
                None => {
                    literal.push_str(&tail[..1]);
                    rest = &tail[1..];
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Template { pieces }
    }

    /// The variables it uses, sorted, each once.
    pub fn variables(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Var(name) => Some(name.clone()),
                Piece::Literal(_) => None,
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether it uses `{input}`.
    pub fn uses_input(&self) -> bool {
        self.pieces
            .iter()
            .any(|piece| matches!(piece, Piece::Var(name) if name == INPUT))
    }

    /// The text with every variable filled in from `values`; every
    /// variable must be given and every value used.
    pub fn fill(&self, values: &BTreeMap<String, String>) -> Result<String, FillError> {
        let variables = self.variables();
        if let Some(unknown) = values.keys().find(|name| !variables.contains(name)) {
            return Err(FillError::Unknown {
                unknown: unknown.clone(),
                variables,
            });
        }
        let missing: Vec<String> = variables
            .iter()
            .filter(|name| !values.contains_key(*name))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(FillError::Missing { missing, variables });
        }
        let mut text = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(literal) => text.push_str(literal),
                Piece::Var(name) => text.push_str(&values[name]),
            }
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn variables_are_filled_and_other_braces_kept() {
        let template =
            Template::parse(r#"Review {input} in {lang}: {"json": 1} {{input}} {} {9x}"#);
        assert_eq!(template.variables(), ["input", "lang"]);
        assert!(template.uses_input());
        let text = template
            .fill(&values(&[("input", "x{lang}y"), ("lang", "Rust")]))
            .expect("filled");
        // A value is never itself expanded.
        assert_eq!(
            text,
            r#"Review x{lang}y in Rust: {"json": 1} {input} {} {9x}"#
        );
    }

    #[test]
    fn missing_and_unknown_variables_are_errors_naming_the_variables() {
        let template = Template::parse("{input} for {audience}");
        let missing = template.fill(&values(&[("input", "x")])).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "missing variable: `audience`; the template's variables are `audience`, `input`"
        );
        let unknown = template
            .fill(&values(&[("input", "x"), ("audience", "a"), ("tone", "t")]))
            .unwrap_err();
        assert!(matches!(unknown, FillError::Unknown { ref unknown, .. } if unknown == "tone"));
    }

    #[test]
    fn odd_text_parses_without_panicking() {
        for text in [
            "{",
            "}",
            "{input",
            "input}",
            "{{{input}}}",
            "{é}",
            "{a}{b}",
            "é{input}é",
        ] {
            let template = Template::parse(text);
            let filled: BTreeMap<String, String> = template
                .variables()
                .into_iter()
                .map(|name| (name, "V".to_string()))
                .collect();
            assert!(template.fill(&filled).is_ok(), "{text}");
        }
        assert_eq!(
            Template::parse("{{{input}}}").fill(&values(&[("input", "V")])),
            Ok("{V}".to_string())
        );
    }

    #[test]
    fn names_are_letters_digits_underscores_and_dashes() {
        assert!(is_variable_name("input"));
        assert!(is_variable_name("_x-2"));
        assert!(!is_variable_name("2x"));
        assert!(!is_variable_name(""));
        assert!(!is_variable_name("a b"));
        assert!(!is_variable_name(&"a".repeat(65)));
    }
}
