//! The team store: one shared Postgres database (with pgvector) that
//! every confab of a team writes its usage records to and reports from.
//!
//! It is set by `CONFAB_DATABASE_URL` or `[store] url`. The password never
//! sits in config.toml: it comes from `[store] password_env` (default
//! `CONFAB_DATABASE_PASSWORD`) or `password_cmd`, or from the URL only when
//! that is given in the environment. TLS follows the URL's `sslmode`
//! (`disable`, `prefer`, the default, or `require`), verified against the
//! platform's roots.
//!
//! The local `usage.jsonl` stays the crash-safe source of truth:
//! [`ledger`] pushes what is not in the database yet, keyed by `call_id`,
//! so pushing twice (or from two machines) never doubles a record.

pub mod ledger;
pub mod migrate;
pub mod report;
pub mod sync;

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::env::Environment;

/// The `[store]` table of config.toml.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `postgres://user@host:port/db?sslmode=...`, without a password.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A command that prints the password (run without a shell).
    #[serde(default)]
    pub password_cmd: Option<Vec<String>>,
    /// Seconds to wait for a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
}

fn default_connect_timeout() -> u64 {
    5
}

/// The variable that sets the store's URL (over `[store] url`).
pub const URL_VARIABLE: &str = "CONFAB_DATABASE_URL";
/// The variable the password is read from without `password_env`.
pub const PASSWORD_VARIABLE: &str = "CONFAB_DATABASE_PASSWORD";

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL or the settings are wrong; nothing was tried.
    #[error("the store setting is wrong: {0}")]
    Setting(String),
    /// The database could not be reached or refused the login.
    #[error("cannot connect to the store at {target}: {message}")]
    Connect {
        /// Host, port and database, without credentials.
        target: String,
        /// What the server or the network said.
        message: String,
    },
    /// A query failed.
    #[error("the store failed: {0}")]
    Query(String),
}

impl From<postgres::Error> for StoreError {
    fn from(err: postgres::Error) -> StoreError {
        StoreError::Query(describe(&err))
    }
}

/// A Postgres error as people read it: the server's message when there is one.
fn describe(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                text.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            text
        }
    }
}

/// Where the store is and how to log in, resolved from config and the
/// environment.
#[derive(Clone)]
pub struct StoreSettings {
    config: postgres::Config,
    tls: TlsMode,
    /// `host:port/db`, for messages.
    target: String,
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreSettings({})", self.target)
    }
}

/// Where a store URL came from, which decides whether it may hold a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UrlSource {
    /// `CONFAB_DATABASE_URL`: private to the process, so it may.
    Environment,
    /// `[store] url`: a file that gets shared and committed, so it may not.
    ConfigFile,
    /// `--store URL`: visible in the process list, so it may not.
    CommandLine,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsMode {
    Disable,
    Prefer,
    Require,
}

impl StoreSettings {
    /// The store's settings, or `None` when no store is configured.
    pub fn resolve(
        config: &StoreConfig,
        env: &dyn Environment,
    ) -> Result<Option<StoreSettings>, StoreError> {
        let from_env = env.var(URL_VARIABLE).filter(|u| !u.trim().is_empty());
        match (from_env, &config.url) {
            (Some(url), _) => Self::build(&url, UrlSource::Environment, config, env).map(Some),
            (None, Some(url)) => Self::build(url, UrlSource::ConfigFile, config, env).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The settings for a URL given on the command line (`--store URL`);
    /// the password comes from where `[store]` says, never from the URL,
    /// which other users can read in the process list.
    pub fn for_url(
        url: &str,
        config: &StoreConfig,
        env: &dyn Environment,
    ) -> Result<StoreSettings, StoreError> {
        Self::build(url, UrlSource::CommandLine, config, env)
    }

    fn build(
        url: &str,
        source: UrlSource,
        config: &StoreConfig,
        env: &dyn Environment,
    ) -> Result<StoreSettings, StoreError> {
        let (url, tls) = split_sslmode(url.trim())?;
        let mut parsed = postgres::Config::from_str(&url).map_err(|err| {
            StoreError::Setting(format!(
                "`{}` is not a Postgres URL ({err}); write postgres://USER@HOST:PORT/DATABASE",
                crate::safe_text::redact_url(&url)
            ))
        })?;
        if parsed.get_password().is_some() {
            match source {
                UrlSource::Environment => {}
                UrlSource::ConfigFile => {
                    return Err(StoreError::Setting(
                        "[store] url holds a password; config.toml must not: put it in \
                         CONFAB_DATABASE_PASSWORD (or password_env / password_cmd)"
                            .into(),
                    ))
                }
                UrlSource::CommandLine => {
                    return Err(StoreError::Setting(
                        "the --store URL holds a password, which every user of this machine \
                         can read in the process list: put it in CONFAB_DATABASE_PASSWORD \
                         (or [store] password_env / password_cmd)"
                            .into(),
                    ))
                }
            }
        }
        if parsed.get_password().is_none() {
            if let Some(password) = password(config, env)? {
                parsed.password(password);
            }
        }
        if parsed.get_user().is_none() {
            return Err(StoreError::Setting(
                "the store URL names no user: write postgres://USER@HOST:PORT/DATABASE".into(),
            ));
        }
        parsed.connect_timeout(Duration::from_secs(config.connect_timeout_secs.max(1)));
        parsed.application_name("confab");
        let target = target_of(&parsed);
        Ok(StoreSettings {
            config: parsed,
            tls,
            target,
        })
    }

    /// Host, port and database, for messages (never the credentials).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Connects and brings the usage ledger's schema up to date (see
    /// [`migrate`]).
    pub fn connect(&self) -> Result<postgres::Client, StoreError> {
        self.connect_for(&migrate::LEDGER)
    }

    /// Connects and brings `track`'s schema up to date.
    pub fn connect_for(&self, track: &migrate::Track) -> Result<postgres::Client, StoreError> {
        let mut client = self.open()?;
        migrate::apply(&mut client, track)?;
        Ok(client)
    }

    fn open(&self) -> Result<postgres::Client, StoreError> {
        let failed = |err: postgres::Error| StoreError::Connect {
            target: self.target.clone(),
            message: describe(&err),
        };
        match self.tls {
            TlsMode::Disable => self.config.connect(postgres::NoTls).map_err(failed),
            mode => {
                let tls = crate::llm::client::tls_config("https://")
                    .map_err(|err| StoreError::Setting(format!("TLS: {err}")))?;
                let mut config = self.config.clone();
                config.ssl_mode(if mode == TlsMode::Require {
                    postgres::config::SslMode::Require
                } else {
                    postgres::config::SslMode::Prefer
                });
                let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
                config.connect(connector).map_err(failed)
            }
        }
    }
}

/// A store that cannot be used, as the failure people see: a wrong
/// setting is a usage error (exit 2), an unreachable or refusing database
/// a provider-side one (exit 4).
pub fn failure(err: StoreError) -> crate::exit::Failure {
    use crate::exit::{ExitKind, Failure};
    match err {
        StoreError::Setting(_) => Failure::new(ExitKind::Usage, err.to_string())
            .hint("fix CONFAB_DATABASE_URL, --store or [store] in config.toml"),
        _ => Failure::new(ExitKind::Provider, err.to_string()).hint(
            "check that the database is up and the password (CONFAB_DATABASE_PASSWORD, \
             [store] password_env or password_cmd) is right; --local uses this machine's files",
        ),
    }
}

/// The URL without its `sslmode` parameter, and the mode it asked for.
fn split_sslmode(url: &str) -> Result<(String, TlsMode), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), TlsMode::Prefer));
    };
    let mut mode = TlsMode::Prefer;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => {
                mode = match value {
                    "disable" => TlsMode::Disable,
                    "allow" | "prefer" => TlsMode::Prefer,
                    "require" | "verify-ca" | "verify-full" => TlsMode::Require,
                    other => {
                        return Err(StoreError::Setting(format!(
                            "sslmode={other} is not one of disable, prefer, require"
                        )))
                    }
                }
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, mode))
}

/// The password from `password_cmd`, `password_env` or the default variable.
fn password(config: &StoreConfig, env: &dyn Environment) -> Result<Option<String>, StoreError> {
    if let Some(command) = config.password_cmd.as_ref().filter(|c| !c.is_empty()) {
        return crate::llm::keys::secret_from_command(command)
            .map(Some)
            .map_err(|err| StoreError::Setting(format!("[store] password_cmd failed: {err}")));
    }
    match config.password_env.as_deref().filter(|v| !v.is_empty()) {
        Some(variable) => match env.var(variable) {
            Some(password) => Ok(Some(password)),
            None => Err(StoreError::Setting(format!(
                "{variable} ([store] password_env) is not set"
            ))),
        },
        None => Ok(env.var(PASSWORD_VARIABLE)),
    }
}

fn target_of(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    format!("{host}:{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Env(HashMap<&'static str, &'static str>);

    impl Environment for Env {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn settings(
        url: Option<&str>,
        env: &[(&'static str, &'static str)],
    ) -> Result<Option<StoreSettings>, StoreError> {
        let config = StoreConfig {
            url: url.map(str::to_string),
            ..StoreConfig::default()
        };
        StoreSettings::resolve(&config, &Env(env.iter().copied().collect()))
    }

    #[test]
    fn no_url_means_no_store_and_the_env_wins() {
        assert!(settings(None, &[]).expect("fine").is_none());
        let s = settings(
            Some("postgres://a@h1:5432/x"),
            &[(URL_VARIABLE, "postgres://b@h2:6000/y?sslmode=disable")],
        )
        .expect("fine")
        .expect("a store");
        assert_eq!(s.target(), "h2:6000/y");
        assert_eq!(s.tls, TlsMode::Disable);
    }

    #[test]
    fn passwords_never_come_from_the_file() {
        let err = settings(Some("postgres://a:secret@h/x"), &[]).unwrap_err();
        assert!(err.to_string().contains("must not"), "{err}");
        assert!(!err.to_string().contains("secret"));
        let s = settings(Some("postgres://a@h/x"), &[(PASSWORD_VARIABLE, "pw")])
            .expect("fine")
            .expect("a store");
        assert_eq!(s.config.get_password(), Some(&b"pw"[..]));
    }

    #[test]
    fn bad_urls_and_modes_are_setting_errors() {
        for url in [
            "mysql://a@h/x",
            "postgres://h/x?sslmode=sometimes",
            "postgres:///x",
        ] {
            let err = settings(Some(url), &[]).unwrap_err();
            assert!(matches!(err, StoreError::Setting(_)), "{url}: {err}");
        }
    }
}
