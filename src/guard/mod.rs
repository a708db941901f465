//! The trust boundary: checks on what goes into a prompt and what comes out
//! of a model. Secret detection in anything about to be sent, and
//! prompt-injection screening of user input and retrieved text, with the
//! policy for each (the `[guard]` table of config.toml), applied in one
//! place: [`verdict::judge`].

pub mod encoded;
pub mod injection;
pub mod normalize;
pub mod output;
pub mod phrases;
pub mod secrets;
pub mod verdict;
pub mod words;

pub use injection::{fence, screen, Finding, Hidden, Rule};
pub use verdict::{judge, Action, Origin, TextPolicy, Verdict};

/// What to do when injection screening flags a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Refuse to send it (exit 5).
    Block,
    /// Send it, after printing the findings on stderr.
    Warn,
    /// Send it inside an unforgeable fence that labels it as data.
    Fence,
}

/// What to do when a secret is found in text about to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretPolicy {
    /// Refuse to send it (exit 5).
    Block,
    /// Replace each secret with `[REDACTED:<kind>]` and send the rest.
    Redact,
}

/// The `[guard]` settings: a policy per kind of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// What the user types or passes (default: warn).
    pub user_input: Policy,
    /// Retrieved chunks and other documents put into a prompt (default: fence).
    pub retrieved: Policy,
    /// Secrets in anything about to be sent (default: block).
    pub secrets: SecretPolicy,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            user_input: Policy::Warn,
            retrieved: Policy::Fence,
            secrets: SecretPolicy::Block,
        }
    }
}

/// Compiles the screening patterns on two background threads, so that a
/// command that will screen text (chat) does not wait for them later:
/// they are most of its start-up, and the second core is idle then.
pub fn warm_up() {
    let _ = std::thread::Builder::new()
        .name("warm-injection".into())
        .spawn(|| screen(""));
    let _ = std::thread::Builder::new()
        .name("warm-secrets".into())
        .spawn(|| secrets::find_secrets(""));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_overrides() {
        let empty: GuardConfig = toml::from_str("").expect("empty table");
        assert_eq!(empty, GuardConfig::default());
        assert_eq!(empty.user_input, Policy::Warn);
        assert_eq!(empty.retrieved, Policy::Fence);
        assert_eq!(empty.secrets, SecretPolicy::Block);
        let set: GuardConfig =
            toml::from_str("user_input = \"block\"\nsecrets = \"redact\"").expect("a table");
        assert_eq!(set.user_input, Policy::Block);
        assert_eq!(set.retrieved, Policy::Fence);
        assert_eq!(set.secrets, SecretPolicy::Redact);
        assert!(toml::from_str::<GuardConfig>("usr_input = \"block\"").is_err());
    }
}
