//! confab: a careful command-line client for LLM APIs.
//!
//! The library is the core every subcommand shares; `src/main.rs` only
//! parses arguments, runs a command and maps its error to an exit code.

pub mod app;
pub mod attach;
pub mod batch;
pub mod cache;
pub mod chat;
pub mod cli;
pub mod commands;
pub mod config;
pub mod conversation;
pub mod embed;
pub mod env;
pub mod exit;
pub mod guard;
pub mod jsonl;
pub mod llm;
pub mod local;
pub mod presets;
pub mod private_files;
pub mod rag;
pub mod safe_text;
pub mod schema;
pub mod store;
pub mod telemetry;
pub mod term;
pub mod tokens;
pub mod tools;
pub mod usage;
pub mod walk;
