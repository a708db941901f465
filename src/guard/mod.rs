//! The trust boundary: checks on what goes into a prompt and what comes out
//! of a model. So far: secret detection in anything about to be sent.

pub mod injection;
pub mod output;
pub mod secrets;
