//! The input file of `confab batch submit`: JSON lines, one request each,
//! `{"id"?, "prompt"}` or `{"id"?, "messages": [{"role", "content"}],
//! "system"?, "max_tokens"?}`. Everything is checked before anything is
//! sent: the file's size and line count against the provider's limits,
//! each line's JSON and fields (with its line number), the roles, and the
//! ids (`^[a-zA-Z0-9_-]{1,64}$`, unique; a line without one is `line-N`).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;

use crate::llm::provider::ProviderKind;
use crate::llm::{Message, Role};

/// How much one batch may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most requests.
    pub max_requests: usize,
    /// The most bytes of the input file.
    pub max_bytes: u64,
}

impl Limits {
    /// The provider's own limits: OpenAI 50,000 requests and 200 MB,
    /// Anthropic 100,000 requests and 256 MB.
    pub fn of(kind: ProviderKind) -> Limits {
        match kind {
            ProviderKind::Openai | ProviderKind::OpenaiResponses | ProviderKind::Local => Limits {
                max_requests: 50_000,
                max_bytes: 200 * 1_000_000,
            },
            ProviderKind::Anthropic => Limits {
                max_requests: 100_000,
                max_bytes: 256 * 1_000_000,
            },
        }
    }
}

/// One request of the input, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Its id (`custom_id` on the wire).
    pub id: String,
    /// Its line in the file (1-based).
    pub line: usize,
    /// Its own system prompt, if any.
    pub system: Option<String>,
    /// The conversation to answer, oldest first (`prompt` is one user message).
    pub messages: Vec<Message>,
    /// Its own output cap, if any.
    pub max_tokens: Option<u32>,
}

/// What is wrong with an input file.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than a batch may be.
    #[error("the file is over {max} bytes, the most one batch of this provider takes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// More lines than a batch may hold.
    #[error("{count} requests, more than the {max} one batch of this provider takes")]
    TooMany {
        /// Requests in the file.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// No requests at all.
    #[error("the file holds no requests")]
    Empty,
    /// The file is not UTF-8.
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    /// One line is wrong.
    #[error("line {line}: {message}")]
    Line {
        /// The line (1-based).
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    messages: Option<Vec<LineMessage>>,
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    max_tokens: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineMessage {
    role: String,
    content: String,
}

/// Reads and checks the input file at `path`.
pub fn read(path: &Path, limits: Limits) -> Result<Vec<Item>, InputError> {
    let failed = |source| InputError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let mut bytes = Vec::new();
    file.take(limits.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(InputError::TooLarge {
            max: limits.max_bytes,
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| InputError::NotUtf8)?;
    parse(&text, limits)
}

/// Checks the text of an input file.
pub fn parse(text: &str, limits: Limits) -> Result<Vec<Item>, InputError> {
    if text.len() as u64 > limits.max_bytes {
        return Err(InputError::TooLarge {
            max: limits.max_bytes,
        });
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    if lines.len() > limits.max_requests {
        return Err(InputError::TooMany {
            count: lines.len(),
            max: limits.max_requests,
        });
    }
    if lines.is_empty() {
        return Err(InputError::Empty);
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut items = Vec::with_capacity(lines.len());
    for (line, text) in lines {
        let item = parse_line(line, text)?;
        if let Some(first) = seen.insert(item.id.clone(), line) {
            return Err(InputError::Line {
                line,
                message: format!(
                    "the id `{}` is also that of line {first}; ids must be unique",
                    item.id
                ),
            });
        }
        items.push(item);
    }
    Ok(items)
}

/// Whether `id` may name a request: `^[a-zA-Z0-9_-]{1,64}$`.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_line(line: usize, text: &str) -> Result<Item, InputError> {
    let bad = |message: String| InputError::Line { line, message };
    let parsed: Line = serde_json::from_str(text).map_err(|err| {
        bad(format!(
            "{err}; a line is {{\"id\"?, \"prompt\"}} or {{\"id\"?, \"messages\": [{{\"role\", \"content\"}}], \"system\"?, \"max_tokens\"?}}"
        ))
    })?;
    let id = parsed.id.unwrap_or_else(|| format!("line-{line}"));
    if !valid_id(&id) {
        return Err(bad(format!(
            "the id `{}` is not 1 to 64 letters, digits, `_` or `-`",
            crate::safe_text::printable(&id.chars().take(80).collect::<String>())
        )));
    }
    let messages = match (parsed.prompt, parsed.messages) {
        (Some(prompt), None) => vec![Message::new(Role::User, prompt)],
        (None, Some(messages)) => messages
            .into_iter()
            .map(|m| Ok(Message::new(role(&m.role).map_err(&bad)?, m.content)))
            .collect::<Result<Vec<_>, InputError>>()?,
        (Some(_), Some(_)) => return Err(bad("give `prompt` or `messages`, not both".into())),
        (None, None) => return Err(bad("give `prompt` or `messages`".into())),
    };
    check_messages(&messages).map_err(bad)?;
    if parsed.max_tokens == Some(0) {
        return Err(bad("`max_tokens` must be at least 1".into()));
    }
    Ok(Item {
        id,
        line,
        system: parsed.system,
        messages,
        max_tokens: parsed.max_tokens,
    })
}

fn role(name: &str) -> Result<Role, String> {
    match name {
        "user" => Ok(Role::User),
        "assistant" => Ok(Role::Assistant),
        "system" => Err(
            "a message's role is `user` or `assistant`; put the system prompt in \"system\"".into(),
        ),
        other => Err(format!(
            "`{}` is not a role: use `user` or `assistant`",
            crate::safe_text::printable(&other.chars().take(40).collect::<String>())
        )),
    }
}

fn check_messages(messages: &[Message]) -> Result<(), String> {
    match messages.first() {
        None => return Err("`messages` is empty".into()),
        Some(first) if first.role != Role::User => {
            return Err("the first message must be the user's".into())
        }
        Some(_) => {}
    }
    match messages.iter().position(|m| m.content.trim().is_empty()) {
        Some(i) => Err(format!("message {} is empty", i + 1)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_requests: 3,
        max_bytes: 10_000,
    };

    fn error(text: &str) -> String {
        parse(text, LIMITS).expect_err(text).to_string()
    }

    #[test]
    fn reads_prompts_and_message_lists_with_ids_or_line_numbers() {
        let text = "{\"prompt\": \"hi\"}\n\n{\"id\": \"b_2\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"q2\"}], \"system\": \"s\", \"max_tokens\": 5}\n";
        let items = parse(text, LIMITS).expect("valid");
        assert_eq!(items[0].id, "line-1");
        assert_eq!(items[0].messages, [Message::new(Role::User, "hi")]);
        assert_eq!(items[1].id, "b_2");
        assert_eq!(items[1].line, 3);
        assert_eq!(items[1].messages.len(), 3);
        assert_eq!(items[1].system.as_deref(), Some("s"));
        assert_eq!(items[1].max_tokens, Some(5));
    }

    #[test]
    fn says_which_line_is_wrong_and_how() {
        assert!(error("{\"prompt\": \"a\"}\n{\"prompt\": 3}").starts_with("line 2: "));
        assert!(error("{\"prompt\": \"a\"}\nnot json").starts_with("line 2: "));
        assert!(error("{\"prompt\": \"a\", \"temprature\": 1}").contains("unknown field"));
        assert!(
            error("{\"id\": \"a\", \"prompt\": \"x\"}\n{\"id\": \"a\", \"prompt\": \"y\"}")
                .contains("also that of line 1")
        );
        assert!(error("{\"id\": \"a/b\", \"prompt\": \"x\"}").contains("not 1 to 64"));
        assert!(error(&format!(
            "{{\"id\": \"{}\", \"prompt\": \"x\"}}",
            "a".repeat(65)
        ))
        .contains("not 1 to 64"));
        assert!(
            error("{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}")
                .contains("put the system prompt")
        );
        assert!(
            error("{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}")
                .contains("first message")
        );
        assert!(error("{\"messages\": []}").contains("empty"));
        assert!(error("{\"prompt\": \"  \"}").contains("empty"));
        assert!(error("{\"prompt\": \"x\", \"max_tokens\": 0}").contains("at least 1"));
        assert!(error("{\"prompt\": \"x\", \"messages\": []}").contains("not both"));
        assert!(error("{\"id\": \"x\"}").contains("give `prompt`"));
    }

    #[test]
    fn bounds_the_count_and_size() {
        assert!(matches!(parse("", LIMITS), Err(InputError::Empty)));
        let four = "{\"prompt\": \"x\"}\n".repeat(4);
        assert!(matches!(
            parse(&four, LIMITS),
            Err(InputError::TooMany { count: 4, max: 3 })
        ));
        let big = format!("{{\"prompt\": \"{}\"}}", "x".repeat(10_001));
        assert!(matches!(
            parse(&big, LIMITS),
            Err(InputError::TooLarge { .. })
        ));
        assert_eq!(Limits::of(ProviderKind::Openai).max_requests, 50_000);
        assert_eq!(Limits::of(ProviderKind::Anthropic).max_bytes, 256_000_000);
    }
}
