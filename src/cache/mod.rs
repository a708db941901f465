//! The semantic response cache (issue #6): replies to earlier requests,
//! served again when the same or a paraphrased question arrives with the
//! same provider, model, system prompt, sampling settings and conversation.
