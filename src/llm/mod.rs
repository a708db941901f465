//! Talking to model APIs: the wire-level pieces shared by the OpenAI and
//! Anthropic adapters.

pub mod retry;
pub mod sse;
