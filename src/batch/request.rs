//! From checked input lines to the requests a batch sends: each line
//! screened by the guard as `chat` screens what a person types
//! (credentials refused or redacted, prompt injections blocked, warned
//! about or fenced, as `[guard]` says), then built into the same
//! [`ChatRequest`] chat would send, with an explicit output cap and the
//! `--schema` format (or its instruction, where the API has none).

use std::sync::Arc;

use crate::batch::input::Item;
use crate::batch::BatchError;
use crate::guard::{fence, judge, Action, GuardConfig, Origin};
use crate::llm::provider::ProviderKind;
use crate::llm::{ChatRequest, JsonSchemaFormat, Message, Role};
use crate::schema::CompiledSchema;

/// A `--schema` every reply must follow.
#[derive(Clone, Debug)]
pub struct ReplySchema {
    /// Its name on the wire (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// The compiled schema.
    pub compiled: Arc<CompiledSchema>,
}

impl ReplySchema {
    /// Reads the schema in the JSON file at `path`, named after the file.
    pub fn load(path: &std::path::Path) -> Result<ReplySchema, BatchError> {
        let text = std::fs::read_to_string(path).map_err(|e| BatchError::Usage(e.to_string()))?;
        let value =
            serde_json::from_str(&text).map_err(|e| BatchError::Usage(format!("not JSON: {e}")))?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        ReplySchema::new(stem.as_deref().unwrap_or("reply"), &value)
    }

    /// Compiles `schema`, named `name` (anything outside
    /// `[a-zA-Z0-9_-]` becomes `_`, at most 64 characters).
    pub fn new(name: &str, schema: &serde_json::Value) -> Result<ReplySchema, BatchError> {
        let compiled =
            CompiledSchema::compile(schema).map_err(|err| BatchError::Usage(err.to_string()))?;
        let name: String = name
            .chars()
            .map(|c| match c.is_ascii_alphanumeric() || c == '-' {
                true => c,
                false => '_',
            })
            .take(64)
            .collect();
        Ok(ReplySchema {
            name: if name.is_empty() {
                "reply".into()
            } else {
                name
            },
            compiled: Arc::new(compiled),
        })
    }
}

/// What applies to every request of a batch.
#[derive(Clone, Debug)]
pub struct Options {
    /// The model id.
    pub model: String,
    /// The provider's wire format.
    pub kind: ProviderKind,
    /// `--system`, for lines without their own.
    pub system: Option<String>,
    /// The output cap of lines without their own.
    pub max_tokens: u32,
    /// The largest output cap the model takes.
    pub model_max_tokens: u64,
    /// `--schema`.
    pub schema: Option<ReplySchema>,
    /// The `[guard]` policies.
    pub guard: GuardConfig,
    /// `--redact`: send credentials as `[REDACTED:kind]` instead of refusing.
    pub redact: bool,
}

/// One request ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// Its id (`custom_id`).
    pub id: String,
    /// The request, non-streaming.
    pub request: ChatRequest,
}

/// What screening found that the person should hear about.
#[derive(Debug, Default)]
pub struct Notices {
    /// Warnings (injection findings sent on under `warn`, fenced texts,
    /// redactions).
    pub lines: Vec<String>,
}

/// Screens and builds every request; the first problems (credentials,
/// blocked injections, caps over the model's) fail the whole batch
/// before anything is sent.
pub fn prepare(
    items: Vec<Item>,
    options: &Options,
) -> Result<(Vec<Prepared>, Notices), BatchError> {
    let mut screening = Screening::default();
    let system = options
        .system
        .as_deref()
        .map(|s| screening.screen(s, "--system", Origin::SystemPrompt, options));
    let mut prepared = Vec::with_capacity(items.len());
    for item in items {
        prepared.push(prepare_item(
            item,
            system.as_deref(),
            options,
            &mut screening,
        )?);
    }
    screening.finish()?;
    Ok((
        prepared,
        Notices {
            lines: screening.notices,
        },
    ))
}

fn prepare_item(
    item: Item,
    default_system: Option<&str>,
    options: &Options,
    screening: &mut Screening,
) -> Result<Prepared, BatchError> {
    let place = format!("line {}", item.line);
    let cap = item.max_tokens.unwrap_or(options.max_tokens);
    if u64::from(cap) > options.model_max_tokens {
        return Err(BatchError::Usage(format!(
            "{place}: max_tokens {cap} is over {}'s limit of {}",
            options.model, options.model_max_tokens
        )));
    }
    let system = match item.system.as_deref() {
        Some(own) => Some(screening.screen(own, &place, Origin::SystemPrompt, options)),
        None => default_system.map(str::to_string),
    };
    let messages = item
        .messages
        .into_iter()
        .map(|m| {
            let content = match m.role {
                Role::User => screening.screen(&m.content, &place, Origin::UserInput, options),
                _ => m.content,
            };
            Message::new(m.role, content)
        })
        .collect();
    let mut request = ChatRequest {
        model: options.model.clone(),
        system,
        messages,
        max_output_tokens: cap,
        stream: false,
        ..ChatRequest::default()
    };
    apply_schema(&mut request, options);
    Ok(Prepared {
        id: item.id,
        request,
    })
}

/// The `--schema` as the API takes it: a response format, or an
/// instruction after the system prompt where the API has none.
fn apply_schema(request: &mut ChatRequest, options: &Options) {
    let Some(schema) = &options.schema else {
        return;
    };
    if crate::llm::wire::for_kind(options.kind).takes_response_format() {
        request.response_format = Some(JsonSchemaFormat {
            name: schema.name.clone(),
            schema: schema.compiled.source().clone(),
        });
        return;
    }
    let instruction = crate::guard::output::instruction(schema.compiled.source());
    request.system = Some(match request.system.take() {
        Some(system) => format!("{system}\n\n{instruction}"),
        None => instruction,
    });
}

/// The verdicts on every text of a batch, gathered so that all of them
/// are reported at once.
#[derive(Default)]
struct Screening {
    secrets: Vec<String>,
    injections: Vec<String>,
    notices: Vec<String>,
}

impl Screening {
    /// Judges `text` (at `place`) under its origin's policy; returns what
    /// is to be sent.
    fn screen(&mut self, text: &str, place: &str, origin: Origin, options: &Options) -> String {
        let verdict = judge(text, options.guard.policy_for(origin, options.redact));
        let found = verdict
            .secrets
            .iter()
            .map(|m| format!("{} in {place}", m.kind));
        if verdict.redacted() {
            self.notices.extend(found.map(|f| format!("redacted {f}")));
        } else {
            self.secrets.extend(found);
        }
        let findings = verdict
            .findings
            .iter()
            .map(|f| format!("{place}: {}: {} ({})", f.rule, f.why, f.excerpt));
        match verdict.action {
            Action::Send | Action::BlockSecret => verdict.text,
            Action::BlockInjection => {
                self.injections.extend(findings);
                verdict.text
            }
            Action::Warn => {
                self.notices
                    .extend(findings.map(|f| format!("possible prompt injection: {f}")));
                verdict.text
            }
            Action::Fence => {
                self.notices.extend(
                    findings
                        .map(|f| format!("possible prompt injection, sent fenced as data: {f}")),
                );
                fence(&verdict.text, "user input")
            }
        }
    }

    /// Fails when anything was blocked: credentials first.
    fn finish(&self) -> Result<(), BatchError> {
        if !self.secrets.is_empty() {
            return Err(BatchError::Rejected(format!(
                "refusing to send what looks like a credential: {}",
                self.secrets.join("; ")
            )));
        }
        if !self.injections.is_empty() {
            return Err(BatchError::Rejected(format!(
                "refusing to send text that looks like a prompt injection:\n  {}",
                self.injections.join("\n  ")
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::input::{parse, Limits};

    fn options(kind: ProviderKind) -> Options {
        Options {
            model: "m".into(),
            kind,
            system: Some("be brief".into()),
            max_tokens: 100,
            model_max_tokens: 1000,
            schema: None,
            guard: GuardConfig::default(),
            redact: false,
        }
    }

    fn items(text: &str) -> Vec<Item> {
        parse(text, Limits::of(ProviderKind::Openai)).expect("valid input")
    }

    #[test]
    fn every_request_has_a_cap_and_the_system_prompt() {
        let input = items(
            "{\"prompt\": \"a\"}\n{\"prompt\": \"b\", \"max_tokens\": 7, \"system\": \"own\"}",
        );
        let (prepared, _) = prepare(input, &options(ProviderKind::Openai)).expect("fine");
        assert_eq!(prepared[0].request.max_output_tokens, 100);
        assert_eq!(prepared[0].request.system.as_deref(), Some("be brief"));
        assert!(!prepared[0].request.stream);
        assert_eq!(prepared[1].request.max_output_tokens, 7);
        assert_eq!(prepared[1].request.system.as_deref(), Some("own"));
        let over = items("{\"prompt\": \"a\", \"max_tokens\": 1001}");
        let err = prepare(over, &options(ProviderKind::Openai)).expect_err("over");
        assert!(err.to_string().contains("line 1: max_tokens 1001"), "{err}");
    }

    #[test]
    fn credentials_are_refused_with_their_line_unless_redacted() {
        let key = format!("sk-proj-{}", "a1B2c3D4e5F6g7H8i9J0".repeat(3));
        let text = format!("{{\"prompt\": \"fine\"}}\n{{\"prompt\": \"my key is {key}\"}}");
        let err = prepare(items(&text), &options(ProviderKind::Openai)).expect_err("blocked");
        assert!(matches!(err, BatchError::Rejected(_)));
        assert!(err.to_string().contains("line 2"), "{err}");
        let mut redacting = options(ProviderKind::Openai);
        redacting.redact = true;
        let (prepared, notices) = prepare(items(&text), &redacting).expect("redacted");
        assert!(!prepared[1].request.messages[0].content.contains(&key));
        assert!(!notices.lines.is_empty());
    }

    #[test]
    fn the_schema_goes_as_a_format_or_an_instruction() {
        let schema = serde_json::json!({"type": "object"});
        let mut openai = options(ProviderKind::Openai);
        openai.schema = Some(ReplySchema::new("my schema", &schema).expect("valid"));
        let (prepared, _) = prepare(items("{\"prompt\": \"a\"}"), &openai).expect("fine");
        let format = prepared[0]
            .request
            .response_format
            .as_ref()
            .expect("format");
        assert_eq!(format.name, "my_schema");
        let mut anthropic = openai.clone();
        anthropic.kind = ProviderKind::Anthropic;
        let (prepared, _) = prepare(items("{\"prompt\": \"a\"}"), &anthropic).expect("fine");
        assert!(prepared[0].request.response_format.is_none());
        let system = prepared[0].request.system.as_deref().unwrap_or_default();
        assert!(system.starts_with("be brief\n\n") && system.contains("JSON Schema"));
    }
}
