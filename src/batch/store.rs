//! The local record of each submitted batch: `batches/<id>.json` in the
//! data dir, one small JSON file per batch, replaced atomically. It keeps
//! what `status` and `results` need later: the provider and model, the
//! ids in input order, the submit time (the day its usage is priced at),
//! the dry-run estimate, the `--schema`, the state last seen, and whether
//! its usage was already recorded (so `results` run twice never counts
//! twice; a lock file makes two runs at once take turns).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::batch::estimate::Estimate;
use crate::batch::{valid_remote_id, Counts};
use crate::llm::provider::ProviderKind;
use crate::private_files::{self, FileLock};

/// The current record format version.
pub const RECORD_VERSION: u32 = 1;

/// The most bytes of a record read back.
const RECORD_LIMIT: u64 = 64 << 20;

/// One submitted batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// Format version ([`RECORD_VERSION`]).
    pub v: u32,
    /// The provider's id of the batch.
    pub id: String,
    /// The configured provider's name.
    pub provider: String,
    /// Its wire format.
    pub kind: ProviderKind,
    /// The model asked for.
    pub model: String,
    /// When it was submitted, RFC 3339 in UTC.
    pub created: String,
    /// The request ids, in input order.
    pub ids: Vec<String>,
    /// The uploaded input file (OpenAI).
    #[serde(default)]
    pub input_file_id: Option<String>,
    /// What it was estimated to cost at submit time.
    #[serde(default)]
    pub estimate: Option<Estimate>,
    /// The `--schema` every reply must follow, if any.
    #[serde(default)]
    pub schema: Option<serde_json::Value>,
    /// The provider's word for its state, as last seen.
    pub status: String,
    /// Its request counts, as last seen.
    #[serde(default)]
    pub counts: Counts,
    /// Whether its results were recorded in the usage log.
    #[serde(default)]
    pub recorded: bool,
    /// `--tag` values its usage records carry.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Errors of the batch store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No record of that batch here.
    #[error("there is no batch `{0}` in this data directory")]
    Unknown(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A record is not valid.
    #[error("{path} is not a batch record: {message}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The batch records of one data dir.
#[derive(Clone, Debug)]
pub struct BatchStore {
    dir: PathBuf,
}

impl BatchStore {
    /// The store in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> BatchStore {
        BatchStore {
            dir: data_dir.join("batches"),
        }
    }

    fn path(&self, id: &str) -> Result<PathBuf, StoreError> {
        if !valid_remote_id(id) {
            return Err(StoreError::Unknown(crate::safe_text::printable(
                &id.chars().take(80).collect::<String>(),
            )));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Writes `record`, replacing the one of the same id.
    pub fn save(&self, record: &BatchRecord) -> Result<(), StoreError> {
        let path = self.path(&record.id)?;
        private_files::ensure_dir(&self.dir).map_err(Self::io(&self.dir))?;
        let mut bytes = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        private_files::write_atomic(&path, &bytes).map_err(Self::io(&path))
    }

    /// The record of batch `id`.
    pub fn load(&self, id: &str) -> Result<BatchRecord, StoreError> {
        let path = self.path(id)?;
        if !path.exists() {
            return Err(StoreError::Unknown(id.to_string()));
        }
        read_record(&path)
    }

    /// Every record, newest first, and a warning for each unreadable file.
    pub fn list(&self) -> Result<(Vec<BatchRecord>, Vec<String>), StoreError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Vec::new(), Vec::new()))
            }
            Err(err) => return Err(Self::io(&self.dir)(err)),
        };
        let (mut records, mut warnings) = (Vec::new(), Vec::new());
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match read_record(&path) {
                Ok(record) => records.push(record),
                Err(err) => warnings.push(err.to_string()),
            }
        }
        records.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok((records, warnings))
    }

    /// Takes batch `id`'s lock, waiting for another confab holding it.
    pub fn lock(&self, id: &str) -> Result<FileLock, StoreError> {
        let path = self.path(id)?.with_extension("lock");
        private_files::ensure_dir(&self.dir).map_err(Self::io(&self.dir))?;
        FileLock::acquire(&path, || {}, || false)
            .map_err(Self::io(&path))?
            .ok_or_else(|| StoreError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other("could not take the lock"),
            })
    }
}

fn read_record(path: &Path) -> Result<BatchRecord, StoreError> {
    use std::io::Read as _;
    let file = private_files::open_read(path).map_err(BatchStore::io(path))?;
    let mut text = String::new();
    file.take(RECORD_LIMIT)
        .read_to_string(&mut text)
        .map_err(BatchStore::io(path))?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, created: &str) -> BatchRecord {
        BatchRecord {
            v: RECORD_VERSION,
            id: id.into(),
            provider: "openai".into(),
            kind: ProviderKind::Openai,
            model: "gpt-4o-mini".into(),
            created: created.into(),
            ids: vec!["a".into(), "b".into()],
            input_file_id: None,
            estimate: None,
            schema: None,
            status: "validating".into(),
            counts: Counts::default(),
            recorded: false,
            tags: Vec::new(),
        }
    }

    #[test]
    fn saves_loads_and_lists_newest_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = BatchStore::in_data_dir(dir.path());
        assert!(store.list().expect("empty").0.is_empty());
        store
            .save(&record("batch_1", "2026-01-01T00:00:00Z"))
            .expect("saved");
        store
            .save(&record("batch_2", "2026-02-01T00:00:00Z"))
            .expect("saved");
        std::fs::write(dir.path().join("batches/broken.json"), "{").expect("write");
        let (records, warnings) = store.list().expect("listed");
        let ids: Vec<_> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["batch_2", "batch_1"]);
        assert_eq!(warnings.len(), 1);
        assert_eq!(store.load("batch_1").expect("loaded").ids, ["a", "b"]);
        assert!(matches!(store.load("nope"), Err(StoreError::Unknown(_))));
        assert!(matches!(store.load("../etc"), Err(StoreError::Unknown(_))));
        // A minimal record, as an older writer may leave, still reads.
        std::fs::write(
            dir.path().join("batches/old.json"),
            r#"{"v":1,"id":"old","provider":"p","kind":"anthropic","model":"m","created":"c","ids":[],"status":"ended"}"#,
        )
        .expect("write");
        assert!(!store.load("old").expect("reads").recorded);
    }
}
