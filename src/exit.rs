//! confab's exit codes and the error that carries one out of a command.
//!
//! The table is documented in the README and tested through the binary.

use std::fmt;

/// Why confab exited; each kind has one documented exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// Any error without a more specific kind (I/O, corrupt files...).
    Other,
    /// Bad arguments, unknown model or encoding, a command not built yet.
    Usage,
    /// A token limit or a spending budget was exceeded.
    BudgetExceeded,
    /// The model provider refused, failed or could not be authenticated.
    Provider,
    /// A guard rejected the input.
    InputRejected,
    /// The local model is not installed, or its file is damaged (`confab
    /// models pull local` installs it).
    LocalModel,
    /// The work is not done yet; try again later (`batch results` of a
    /// batch still running).
    Pending,
    /// Interrupted by Ctrl-C.
    Interrupted,
    /// Stopped by SIGHUP (the terminal went away).
    HungUp,
    /// Stopped by SIGTERM.
    Terminated,
}

impl ExitKind {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitKind::Other => 1,
            ExitKind::Usage => 2,
            ExitKind::BudgetExceeded => 3,
            ExitKind::Provider => 4,
            ExitKind::InputRejected => 5,
            ExitKind::LocalModel => 6,
            ExitKind::Pending => 75,
            ExitKind::Interrupted => 130,
            ExitKind::HungUp => 129,
            ExitKind::Terminated => 143,
        }
    }
}

/// An error that decides confab's exit code and may carry a hint saying
/// what to do next.
#[derive(Debug)]
pub struct Failure {
    /// Which exit code to use.
    pub kind: ExitKind,
    /// What went wrong (lowercase, no trailing period).
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure of `kind` with a message and no hint.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the hint printed after the message.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}
