//! Retrieval over local documents: load -> chunk -> embed -> store ->
//! search -> eval. Works offline with the built-in embedder; any
//! OpenAI-compatible embeddings endpoint can be used instead.

pub mod chunk;
pub mod embed;
pub mod eval;
pub mod html;
pub mod retrieve;
pub mod search;
pub mod store;
