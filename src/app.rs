//! The context a command runs in, built once: confab's directories, the
//! loaded config, the process environment, and cancellation by Ctrl-C,
//! SIGTERM or SIGHUP, and the command's telemetry. Offline commands build
//! it without starting a runtime or a client; nothing here talks to the
//! network but the telemetry exporter, when one is configured.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::{Config, Paths, ProcessEnvironment};
use crate::exit::{ExitKind, Failure};
use crate::telemetry::{StartOptions, Telemetry, TelemetryPlan};
use crate::usage::prices::PriceTable;

/// What every command starts from.
#[derive(Clone)]
pub struct Ctx {
    /// confab's directories.
    pub paths: Paths,
    /// The loaded, validated config.
    pub config: Config,
    /// Where environment variables are read from.
    pub env: ProcessEnvironment,
    /// Stops a running call on Ctrl-C, SIGTERM or SIGHUP.
    pub cancel: Cancel,
    /// OpenTelemetry export of this command (off unless configured).
    pub telemetry: Telemetry,
}

impl Ctx {
    /// Resolves the directories and loads the config (a bad config is a
    /// usage error that says where to look), and starts telemetry with a
    /// root span for `command`.
    pub fn load(command: &str) -> anyhow::Result<Ctx> {
        let paths = Paths::resolve()?;
        let env = ProcessEnvironment;
        let config = Config::load(&paths, &env).map_err(|err| {
            Failure::new(ExitKind::Usage, err.to_string())
                .hint("fix config.toml; `confab config` shows what confab reads")
        })?;
        let telemetry = start_telemetry(&paths, &config, &env, command);
        Ok(Ctx {
            paths,
            config,
            env,
            cancel: Cancel::on_signals(),
            telemetry,
        })
    }
}

/// Telemetry as the environment and config say; a malformed setting is
/// one warning, and export is then off.
pub fn start_telemetry(
    paths: &Paths,
    config: &Config,
    env: &dyn crate::env::Environment,
    command: &str,
) -> Telemetry {
    let plan = match TelemetryPlan::resolve(env, &config.telemetry) {
        Ok(plan) => plan,
        Err(err) => {
            eprintln!("confab: warning: telemetry is off: {err}");
            None
        }
    };
    if plan.is_none() {
        return Telemetry::off();
    }
    let prices = PriceTable::load(&paths.config_dir)
        .or_else(|_| PriceTable::builtin())
        .unwrap_or_default();
    let free_providers = config.free_providers();
    Telemetry::start(
        plan,
        StartOptions {
            command,
            prices,
            free_providers,
        },
    )
}

/// The signal that asked the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C: stop the reply; an interactive session goes on.
    Interrupt,
    /// SIGTERM: stop the reply and exit (143).
    Terminate,
    /// SIGHUP, the terminal went away: stop the reply and exit (129).
    HangUp,
}

impl StopSignal {
    /// The exit code a process stopped by this signal reports (128 + N).
    pub fn exit_code(self) -> u8 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
            StopSignal::HangUp => 129,
        }
    }

    fn from_number(number: usize) -> Option<StopSignal> {
        match number as i32 {
            signal_hook::consts::SIGINT => Some(StopSignal::Interrupt),
            signal_hook::consts::SIGTERM => Some(StopSignal::Terminate),
            signal_hook::consts::SIGHUP => Some(StopSignal::HangUp),
            _ => None,
        }
    }
}

/// Cancellation: a flag that calls watch, set by Ctrl-C, SIGTERM or
/// SIGHUP while confab is busy (see [`Cancel::busy`]); when it is idle
/// the signal ends the process at once with 128 + its number, as the
/// default action would. The handlers only set flags, so a second Ctrl-C
/// while a stopped reply is being saved changes nothing: the bookkeeping
/// finishes.
#[derive(Clone)]
pub struct Cancel {
    requested: Arc<AtomicBool>,
    /// The number of the last signal received (0: none).
    signal: Arc<AtomicUsize>,
    /// Whether a signal may end the process at once.
    idle: Arc<AtomicBool>,
}

impl Cancel {
    /// A flag no signal sets (tests, library use).
    pub fn manual() -> Cancel {
        Cancel {
            requested: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicUsize::new(0)),
            idle: Arc::new(AtomicBool::new(true)),
        }
    }

    /// A flag set by SIGINT, SIGTERM and SIGHUP. (Registration failing
    /// leaves the default behaviour: the signal kills the process.)
    pub fn on_signals() -> Cancel {
        let cancel = Cancel::manual();
        for signal in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            // Actions run in the order registered: exit if idle, else
            // note the signal and ask the running work to stop.
            let _ = signal_hook::flag::register_conditional_shutdown(
                signal,
                128 + signal,
                Arc::clone(&cancel.idle),
            );
            let _ = signal_hook::flag::register_usize(
                signal,
                Arc::clone(&cancel.signal),
                signal as usize,
            );
            let _ = signal_hook::flag::register(signal, Arc::clone(&cancel.requested));
        }
        cancel
    }

    /// Marks confab busy until the guard is dropped: a signal meanwhile
    /// stops the work in progress instead of the process.
    pub fn busy(&self) -> BusyGuard {
        let was_idle = self.idle.swap(false, Ordering::SeqCst);
        BusyGuard {
            idle: Arc::clone(&self.idle),
            was_idle,
        }
    }

    /// The flag a running call watches.
    pub fn flag(&self) -> &AtomicBool {
        &self.requested
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// The signal that asked for the stop, if one did.
    pub fn signal(&self) -> Option<StopSignal> {
        StopSignal::from_number(self.signal.load(Ordering::SeqCst))
    }

    /// Clears a Ctrl-C before the next call (an interactive session goes
    /// on after one); SIGTERM and SIGHUP stay, so the session ends.
    pub fn clear_interrupt(&self) {
        if matches!(self.signal(), None | Some(StopSignal::Interrupt)) {
            self.requested.store(false, Ordering::SeqCst);
            self.signal.store(0, Ordering::SeqCst);
        }
    }

    /// Whether the process was told to end (SIGTERM, SIGHUP).
    pub fn must_exit(&self) -> bool {
        matches!(
            self.signal(),
            Some(StopSignal::Terminate | StopSignal::HangUp)
        )
    }
}

/// Keeps confab busy (see [`Cancel::busy`]) while it lives.
pub struct BusyGuard {
    idle: Arc<AtomicBool>,
    was_idle: bool,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.idle.store(self.was_idle, Ordering::SeqCst);
    }
}

/// Pushes the usage records this machine's log gained to the team store,
/// when one is configured; a failure is one warning, never the command's
/// result (the records wait in the log for the next push).
pub fn push_usage_to_store() {
    let Ok(paths) = Paths::resolve() else {
        return;
    };
    let Ok(config) = Config::load(&paths, &ProcessEnvironment) else {
        return;
    };
    let store = match crate::store::StoreSettings::resolve(&config.store, &ProcessEnvironment) {
        Ok(Some(store)) => store,
        Ok(None) => return,
        Err(err) => {
            eprintln!("warning: usage records were not pushed: {err}");
            return;
        }
    };
    let log = crate::usage::UsageLog::in_data_dir(&paths.data_dir);
    if let Some(warning) = crate::store::sync::push_new_records(&store, log.path()) {
        eprintln!("warning: {warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ctrl_c_is_cleared_but_a_termination_stays() {
        let cancel = Cancel::manual();
        cancel.requested.store(true, Ordering::SeqCst);
        cancel
            .signal
            .store(signal_hook::consts::SIGINT as usize, Ordering::SeqCst);
        assert_eq!(cancel.signal(), Some(StopSignal::Interrupt));
        cancel.clear_interrupt();
        assert!(!cancel.requested());
        cancel.requested.store(true, Ordering::SeqCst);
        cancel
            .signal
            .store(signal_hook::consts::SIGTERM as usize, Ordering::SeqCst);
        cancel.clear_interrupt();
        assert!(cancel.requested() && cancel.must_exit());
        assert_eq!(cancel.signal().map(StopSignal::exit_code), Some(143));
    }

    #[test]
    fn nested_busy_guards_leave_confab_busy_until_the_outer_one_ends() {
        let cancel = Cancel::manual();
        let outer = cancel.busy();
        drop(cancel.busy());
        assert!(!cancel.idle.load(Ordering::SeqCst));
        drop(outer);
        assert!(cancel.idle.load(Ordering::SeqCst));
    }
}
