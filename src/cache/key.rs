//! Cache keys: the context digest (everything but the last user message)
//! and the normalised last user message.

use sha2::{Digest, Sha256};

use crate::conversation::Role;
use crate::llm::{ChatRequest, Message};

/// Domain tag hashed first, so a change of the key layout changes every
/// digest instead of silently colliding with old ones.
const KEY_VERSION: &str = "confab-cache-key-v1";

/// What a cache key is built from.
#[derive(Clone, Copy, Debug)]
pub struct KeyInput<'a> {
    /// The provider's name as configured (e.g. `openai`).
    pub provider: &'a str,
    /// The model id as sent to the API.
    pub model: &'a str,
    /// The system prompt, if any.
    pub system: Option<&'a str>,
    /// The sampling temperature, if set.
    pub temperature: Option<f32>,
    /// The output cap of the request.
    pub max_output_tokens: u32,
    /// The requested response format or JSON schema, serialised, if any.
    pub response_format: Option<&'a str>,
    /// The conversation before the last user message, oldest first.
    pub history: &'a [Message],
    /// The last user message.
    pub prompt: &'a str,
}

/// The key of one request: a digest of its context plus its normalised
/// prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    context: String,
    prompt: String,
}

impl CacheKey {
    /// Builds the key of `input`.
    pub fn new(input: &KeyInput<'_>) -> CacheKey {
        let mut h = Sha256::new();
        field(&mut h, KEY_VERSION.as_bytes());
        field(&mut h, input.provider.as_bytes());
        field(&mut h, input.model.as_bytes());
        optional(&mut h, input.system.map(|s| s.trim().as_bytes()));
        // -0.0 and 0.0 are the same temperature.
        let temperature = input.temperature.map(|t| if t == 0.0 { 0.0f32 } else { t });
        optional(
            &mut h,
            temperature
                .map(|t| t.to_bits().to_le_bytes())
                .as_ref()
                .map(|b| &b[..]),
        );
        field(&mut h, &input.max_output_tokens.to_le_bytes());
        optional(&mut h, input.response_format.map(str::as_bytes));
        field(&mut h, &(input.history.len() as u64).to_le_bytes());
        for message in input.history {
            field(&mut h, message.role.as_str().as_bytes());
            field(&mut h, message.content.as_bytes());
            // An image or PDF sent earlier is part of the context too.
            for attachment in &message.attachments {
                field(&mut h, attachment.sha256.as_bytes());
            }
        }
        let context = hex(&h.finalize());
        CacheKey {
            context,
            prompt: normalize_prompt(input.prompt),
        }
    }

    /// The key of a chat request about to be sent: its last message must
    /// be the user's (otherwise there is no question to cache: `None`).
    /// `response_format` is the serialised response format or schema, if
    /// the request has one.
    pub fn for_request(
        provider: &str,
        request: &ChatRequest,
        response_format: Option<&str>,
    ) -> Option<CacheKey> {
        let (last, history) = request.messages.split_last()?;
        // A question about an attached image is not the same question
        // about another: such prompts are not cached.
        if last.role != Role::User || !last.attachments.is_empty() {
            return None;
        }
        Some(CacheKey::new(&KeyInput {
            provider,
            model: &request.model,
            system: request.system.as_deref(),
            temperature: request.temperature,
            max_output_tokens: request.max_output_tokens,
            response_format,
            history,
            prompt: &last.content,
        }))
    }

    /// The hex SHA-256 digest of everything but the prompt.
    pub fn context_digest(&self) -> &str {
        &self.context
    }

    /// The normalised prompt.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// The hex SHA-256 of the normalised prompt (the exact-match key within
    /// a context).
    pub(crate) fn prompt_digest(&self) -> String {
        hex(&Sha256::digest(self.prompt.as_bytes()))
    }
}

/// Normalises a prompt for exact matching, conservatively: line endings
/// become `\n`, trailing whitespace is removed from every line, and
/// leading and trailing blank space from the whole. Case and the
/// whitespace inside lines are kept: in code, `Foo` is not `foo`, and
/// Python or YAML indentation is meaning. Cosmetic differences beyond
/// these are left to the semantic match, which ignores case and spacing
/// but is guarded by [`guard::compatible`](super::guard::compatible).
pub fn normalize_prompt(prompt: &str) -> String {
    let text = prompt.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

/// Hashes one length-prefixed field, so that field boundaries are part of
/// the digest (`"ab" + "c"` differs from `"a" + "bc"`).
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// Hashes an optional field; `None` differs from every `Some`, even empty.
fn optional(h: &mut Sha256, bytes: Option<&[u8]>) {
    match bytes {
        None => h.update([0u8]),
        Some(bytes) => {
            h.update([1u8]);
            field(h, bytes);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
