//! Append-only JSON-lines files, the mechanics shared by the conversation
//! files and the usage log (each of which owns its record format).
//!
//! - Each record is one line, written with one `write` call on a file
//!   opened for appending, under an exclusive lock, so two confab processes
//!   never interleave and a crash leaves at most one truncated last line.
//! - A new file is created with mode 0600: records may hold prompts.
//! - A reader skips a truncated or corrupt line with a warning and keeps
//!   every other record; if the file does not end with a newline when a
//!   record is appended, the newline is written first so the new record is
//!   not glued to the broken one.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Errors of reading or appending a JSON-lines file.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    /// The file could not be opened, locked, read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("appending to", "reading").
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A record could not be serialized (a bug, not bad input).
    #[error("encoding a record for {path}: {source}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// The serde error.
        source: serde_json::Error,
    },
}

/// Records read from a file, and warnings about lines that were skipped.
#[derive(Debug)]
pub struct ReadOutcome<T> {
    /// The records that parsed, in file order, with their 1-based line numbers.
    pub records: Vec<(usize, T)>,
    /// One message per skipped line, for stderr.
    pub warnings: Vec<String>,
}

/// Maps an I/O error while `action`-ing `path` to a [`JsonlError`].
fn io_error<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl FnOnce(std::io::Error) -> JsonlError + 'a {
    move |source| JsonlError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// `record` as one JSON line, with the directory of `path` made ready.
fn prepare_line<T: Serialize>(path: &Path, record: &T) -> Result<Vec<u8>, JsonlError> {
    let mut line = serde_json::to_vec(record).map_err(|source| JsonlError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    line.push(b'\n');
    if let Some(dir) = path.parent() {
        crate::private_files::ensure_dir(dir)
            .map_err(io_error(path, "creating the directory of"))?;
    }
    Ok(line)
}

/// Appends `record` as one line to `path`, creating the file (mode 0600)
/// and its directory if needed.
pub fn append<T: Serialize>(path: &Path, record: &T) -> Result<(), JsonlError> {
    let line = prepare_line(path, record)?;
    let mut file = open_for_append(path).map_err(io_error(path, "opening"))?;
    file.lock_exclusive().map_err(io_error(path, "locking"))?;
    let result = (|| {
        let len = file.seek(SeekFrom::End(0))?;
        let mut buffer = Vec::with_capacity(line.len() + 1);
        if len > 0 {
            file.seek(SeekFrom::End(-1))?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                buffer.push(b'\n');
            }
        }
        buffer.extend_from_slice(&line);
        file.write_all(&buffer)
    })();
    let unlocked = FileExt::unlock(&file);
    result.map_err(io_error(path, "appending to"))?;
    unlocked.map_err(io_error(path, "unlocking"))
}

/// Creates `path` (which must not exist yet) holding `record` as its one
/// line. A file that can't be written whole is removed, so a failed start
/// (a full disk) leaves no empty or half-written file behind. Fails with
/// `AlreadyExists` when the path is taken.
pub fn create<T: Serialize>(path: &Path, record: &T) -> Result<(), JsonlError> {
    let line = prepare_line(path, record)?;
    let mut file = crate::private_files::create_new(path).map_err(io_error(path, "creating"))?;
    if let Err(source) = file.write_all(&line).and_then(|()| file.sync_data()) {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io_error(path, "writing")(source));
    }
    Ok(())
}

fn open_for_append(path: &Path) -> std::io::Result<File> {
    crate::private_files::open_append(path)
}

/// Reads every record of `path`. A missing file has no records.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<ReadOutcome<T>, JsonlError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ReadOutcome {
                records: Vec::new(),
                warnings: Vec::new(),
            })
        }
        Err(source) => {
            return Err(JsonlError::Io {
                action: "opening",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut reader = BufReader::new(file);
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| JsonlError::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        number += 1;
        let complete = line.last() == Some(&b'\n');
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<T>(text) {
            Ok(record) => records.push((number, record)),
            Err(err) if !complete => warnings.push(format!(
                "{}:{number}: skipped a truncated last line (an interrupted write): {err}",
                path.display()
            )),
            Err(err) => warnings.push(format!(
                "{}:{number}: skipped a line that is not a valid record: {err}",
                path.display()
            )),
        }
    }
    Ok(ReadOutcome { records, warnings })
}

/// A whole file in memory: mapped, or empty when there is no file.
pub enum FileBytes {
    /// The file, memory-mapped.
    Mapped(memmap2::Mmap),
    /// No file, or an empty one.
    Empty,
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Empty => &[],
        }
    }
}

/// The whole file, memory-mapped, for [`parse_all`] and [`fold_parallel`];
/// a missing file is empty.
pub fn read_bytes(path: &Path) -> Result<FileBytes, JsonlError> {
    let io = |source| JsonlError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(FileBytes::Empty),
        Err(source) => return Err(io(source)),
    };
    if file.metadata().map_err(io)?.len() == 0 {
        return Ok(FileBytes::Empty);
    }
    // SAFETY: confab's JSON-lines files are only ever appended to, and an
    // append past the mapped length does not change the mapped bytes. A
    // file truncated by someone else while it is read could fault, as with
    // any mapped file (ripgrep makes the same trade for speed).
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    Ok(FileBytes::Mapped(map))
}

/// Parses every line of a file already in memory, in parallel, with the
/// same rules as [`read`]; records may borrow from `bytes`.
pub fn parse_all<'a, T>(path: &Path, bytes: &'a [u8]) -> ReadOutcome<T>
where
    T: serde::Deserialize<'a> + Send,
{
    let (records, warnings) = fold_parallel(
        path,
        bytes,
        |line| serde_json::from_slice::<T>(line).map_err(|e| e.to_string()),
        Vec::new,
        |records: &mut Vec<(usize, T)>, line, record| records.push((line, record)),
        |mut a, b| {
            a.extend(b);
            a
        },
    );
    ReadOutcome { records, warnings }
}

/// Folds every record of a file already in memory into an accumulator,
/// on all cores, without keeping the records: each part of the file is
/// parsed (`parse`, one line at a time) into its own accumulator (`make`,
/// then `add` with each record and its 1-based line number) and the parts'
/// accumulators are combined in file order with `merge`. Broken lines are
/// skipped with warnings as in [`read`]. This is how `cost-report` reads a
/// million records quickly.
pub fn fold_parallel<'a, T, A>(
    path: &Path,
    bytes: &'a [u8],
    parse: impl Fn(&'a [u8]) -> Result<T, String> + Sync,
    make: impl Fn() -> A + Sync,
    add: impl Fn(&mut A, usize, T) + Sync,
    merge: impl Fn(A, A) -> A,
) -> (A, Vec<String>)
where
    A: Send,
{
    use rayon::prelude::*;
    // Cut into parts at line starts.
    const PART: usize = 4 << 20;
    let mut parts: Vec<&'a [u8]> = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + PART).min(bytes.len());
        match memchr::memchr(b'\n', &bytes[end..]) {
            Some(newline) => end += newline + 1,
            None => end = bytes.len(),
        }
        parts.push(&bytes[start..end]);
        start = end;
    }
    /// A skipped line: its index in the part, whether it ended with a newline, the error.
    type Skip = (usize, bool, String);
    let line_counts: Vec<usize> = parts
        .iter()
        .map(|part| {
            part.iter().filter(|&&b| b == b'\n').count() + usize::from(part.last() != Some(&b'\n'))
        })
        .collect();
    let mut first_lines = Vec::with_capacity(parts.len());
    let mut next = 1;
    for count in &line_counts {
        first_lines.push(next);
        next += count;
    }
    let folded: Vec<(A, Vec<Skip>, usize)> = parts
        .par_iter()
        .zip(first_lines.par_iter())
        .map(|(part, &first_line)| {
            let mut acc = make();
            let mut skipped = Vec::new();
            let mut line_start = 0;
            let mut next_index = 0;
            while line_start < part.len() {
                let (text, complete, next) = match memchr::memchr(b'\n', &part[line_start..]) {
                    Some(at) => (
                        &part[line_start..line_start + at],
                        true,
                        line_start + at + 1,
                    ),
                    None => (&part[line_start..], false, part.len()),
                };
                let index = next_index;
                next_index += 1;
                line_start = next;
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match parse(text) {
                    Ok(record) => add(&mut acc, first_line + index, record),
                    Err(err) => skipped.push((index, complete, err)),
                }
            }
            (acc, skipped, first_line)
        })
        .collect();
    let mut warnings = Vec::new();
    let mut result: Option<A> = None;
    for (acc, skipped, first_line) in folded {
        for (index, complete, err) in skipped {
            let what = if complete {
                "skipped a line that is not a valid record"
            } else {
                "skipped a truncated last line (an interrupted write)"
            };
            warnings.push(format!(
                "{}:{}: {what}: {err}",
                path.display(),
                first_line + index
            ));
        }
        result = Some(match result {
            Some(so_far) => merge(so_far, acc),
            None => acc,
        });
    }
    (result.unwrap_or_else(make), warnings)
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;

    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Record {
        n: u32,
    }

    #[test]
    fn appends_reads_and_survives_a_truncated_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/log.jsonl");
        append(&path, &Record { n: 1 }).expect("append");
        append(&path, &Record { n: 2 }).expect("append");
        // A crash in the middle of a write:
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(br#"{"n": 3"#).expect("write");
        drop(file);
        let outcome = read::<Record>(&path).expect("read");
        assert_eq!(outcome.records.len(), 2);
        assert!(outcome.warnings[0].contains("truncated last line"));
        // The next append is not glued to the broken line.
        append(&path, &Record { n: 4 }).expect("append");
        let outcome = read::<Record>(&path).expect("read");
        let ns: Vec<u32> = outcome.records.iter().map(|(_, r)| r.n).collect();
        assert_eq!(ns, [1, 2, 4]);
        assert_eq!(outcome.warnings.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.jsonl");
        let big = "x".repeat(100_000);
        std::thread::scope(|scope| {
            for t in 0..4 {
                let path = &path;
                let big = &big;
                scope.spawn(move || {
                    for i in 0..25 {
                        let record = serde_json::json!({"t": t, "i": i, "pad": big});
                        append(path, &record).expect("append");
                    }
                });
            }
        });
        let outcome = read::<serde_json::Value>(&path).expect("read");
        assert_eq!(outcome.records.len(), 100);
        assert!(outcome.warnings.is_empty());
    }

    #[test]
    fn parallel_parsing_matches_the_line_reader() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.jsonl");
        for n in 0..50_000 {
            append(&path, &Record { n }).expect("append");
        }
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(b"not json\n{\"n\": 9").expect("write");
        drop(file);
        let bytes = read_bytes(&path).expect("read");
        let fast = parse_all::<Record>(&path, &bytes);
        let slow = read::<Record>(&path).expect("read");
        assert_eq!(fast.records, slow.records);
        assert_eq!(fast.warnings.len(), 2);
        assert!(
            fast.warnings[0].contains(":50001: skipped a line"),
            "{:?}",
            fast.warnings
        );
        assert!(
            fast.warnings[1].contains(":50002: skipped a truncated"),
            "{:?}",
            fast.warnings
        );
    }

    #[test]
    fn a_missing_file_has_no_records() {
        let outcome = read::<Record>(Path::new("/nonexistent/confab.jsonl")).expect("read");
        assert!(outcome.records.is_empty());
    }
}
