//! Pushing what a command recorded: after each command, the records this
//! machine's usage log gained since its push mark go to the store. The
//! command's own result never depends on it: a store that cannot be
//! reached costs one warning, and the records wait in `usage.jsonl` for
//! the next command or `confab usage push`.

use crate::store::{ledger, StoreSettings};

/// Pushes the usage log's new records to `store`, if it has any; the
/// warning to show when that failed.
pub fn push_new_records(store: &StoreSettings, log_path: &std::path::Path) -> Option<String> {
    let from = ledger::read_mark(log_path, store.target());
    let length = std::fs::metadata(log_path).map_or(0, |m| m.len());
    if length <= from {
        return None;
    }
    let result = store
        .connect()
        .and_then(|mut client| ledger::push_log_from(&mut client, log_path, from));
    match result {
        Ok((_, covered)) => ledger::write_mark(log_path, store.target(), covered)
            .err()
            .map(|err| format!("could not write the push mark next to the usage log: {err}")),
        Err(err) => Some(format!(
            "{err}; the usage records stay in {} and go to the store with the next command or \
             `confab usage push`",
            log_path.display()
        )),
    }
}
