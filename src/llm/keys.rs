//! API keys: from the provider's key command, its environment variable or
//! the config file, in that order, resolved once when a client is built.

use crate::env::Environment;
use crate::llm::provider::ProviderConfig;

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The API key variable is not set.
    #[error("{variable} is not set")]
    MissingKey {
        /// The variable.
        variable: String,
        /// The provider's name in config, for the hint.
        provider: String,
    },
    /// The key command failed.
    #[error("the api_key_cmd of provider `{provider}` failed: {message}")]
    KeyCommand {
        /// The provider's name.
        provider: String,
        /// What went wrong.
        message: String,
    },
}

/// The key of provider `name`, or `None` when it needs none (local servers).
pub fn resolve(
    name: &str,
    provider: &ProviderConfig,
    env: &dyn Environment,
) -> Result<Option<String>, KeyError> {
    if let Some(command) = provider.api_key_cmd.as_ref().filter(|c| !c.is_empty()) {
        return run_key_command(name, command);
    }
    if let Some(variable) = provider.api_key_env.as_ref().filter(|v| !v.is_empty()) {
        return match env.var(variable) {
            Some(key) => Ok(Some(key)),
            None => Err(KeyError::MissingKey {
                variable: variable.clone(),
                provider: name.to_string(),
            }),
        };
    }
    Ok(provider.api_key.clone())
}

/// What `command` prints, trimmed; it gets no stdin.
fn run_key_command(name: &str, command: &[String]) -> Result<Option<String>, KeyError> {
    let key = secret_from_command(command).map_err(|message| KeyError::KeyCommand {
        provider: name.to_string(),
        message,
    })?;
    Ok(Some(key).filter(|k| !k.is_empty()))
}

/// What a secret command (`api_key_cmd`, `[store] password_cmd`) prints,
/// trimmed; it runs without a shell and gets no stdin.
pub fn secret_from_command(command: &[String]) -> Result<String, String> {
    let Some((program, args)) = command.split_first() else {
        return Err("the command is empty".into());
    };
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| err.to_string())?;
    if !output.status.success() {
        return Err(format!("it exited with {}", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
