//! Embedding text offline: the built-in static embedder, shared by
//! retrieval (`rag`) and the response cache.

pub mod static_embedder;
