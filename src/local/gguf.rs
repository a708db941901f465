//! Opening a GGUF file safely: candle reads the header (it bounds every
//! string and array by the file's size); this module also checks every
//! tensor's size against the file before any tensor is read, so a
//! truncated or crafted file is an error, never a panic or a huge
//! allocation, and checks that the model is one confab can run.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;

use super::LocalError;

/// An opened, checked GGUF file: its header and a reader for its tensors.
pub struct Gguf {
    /// The header: metadata and tensor infos.
    pub content: Content,
    /// The file, for reading tensors.
    pub reader: BufReader<File>,
}

/// The largest tensor confab reads (1 GiB): far above any model it runs.
const MAX_TENSOR_BYTES: u64 = 1 << 30;

/// Opens `path` and checks its header, its tensors' bounds and its
/// architecture (llama-family with a GPT-2 style BPE tokenizer).
pub fn open(path: &Path) -> Result<Gguf, LocalError> {
    let corrupt = |reason: String| LocalError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => corrupt("the file is missing".into()),
        _ => LocalError::io(path)(err),
    })?;
    let file_size = file.metadata().map_err(LocalError::io(path))?.len();
    let mut reader = BufReader::new(file);
    // candle bounds what it reads, but divides by the file's alignment
    // field: a zero there must not bring the process down.
    let content =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Content::read(&mut reader)))
            .map_err(|_| corrupt("its header is malformed".into()))?
            .map_err(|err| corrupt(format!("not a readable GGUF file ({err})")))?;
    check_tensors(&content, file_size).map_err(corrupt)?;
    check_architecture(&content).map_err(LocalError::Unsupported)?;
    Ok(Gguf { content, reader })
}

/// Every tensor's byte size, computed with checked arithmetic, must fit
/// in the file after the data offset.
fn check_tensors(content: &Content, file_size: u64) -> Result<(), String> {
    if content.tensor_infos.is_empty() {
        return Err("it holds no tensors".into());
    }
    for (name, info) in &content.tensor_infos {
        let name = crate::safe_text::printable(&name.chars().take(80).collect::<String>());
        let elements = info
            .shape
            .dims()
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
            .ok_or_else(|| format!("tensor {name} has an impossible shape"))?;
        let bytes = tensor_bytes(info.ggml_dtype, elements)
            .ok_or_else(|| format!("tensor {name} has an impossible size"))?;
        if bytes > MAX_TENSOR_BYTES {
            return Err(format!(
                "tensor {name} is larger than confab reads ({bytes} bytes)"
            ));
        }
        let end = content
            .tensor_data_offset
            .checked_add(info.offset)
            .and_then(|start| start.checked_add(bytes));
        if end.is_none_or(|end| end > file_size) {
            return Err(format!(
                "tensor {name} runs past the end of the file (truncated? the file is {file_size} bytes)"
            ));
        }
    }
    Ok(())
}

/// The bytes `elements` values of `dtype` take, if whole blocks.
pub fn tensor_bytes(dtype: GgmlDType, elements: u64) -> Option<u64> {
    let block = dtype.block_size() as u64;
    elements
        .is_multiple_of(block)
        .then(|| elements / block * dtype.type_size() as u64)
}

fn check_architecture(content: &Content) -> Result<(), String> {
    let text = |key: &str| {
        content
            .metadata
            .get(key)
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default()
    };
    let arch = text("general.architecture");
    if arch != "llama" {
        return Err(format!(
            "the model's architecture is `{}`; confab runs llama-family models",
            crate::safe_text::printable(&arch)
        ));
    }
    let tokenizer = text("tokenizer.ggml.model");
    if tokenizer != "gpt2" {
        return Err(format!(
            "the model's tokenizer is `{}`; confab reads GPT-2 style BPE tokenizers",
            crate::safe_text::printable(&tokenizer)
        ));
    }
    Ok(())
}

/// A metadata number, if present and numeric.
pub fn metadata_u64(content: &Content, key: &str) -> Option<u64> {
    match content.metadata.get(key)? {
        Value::U8(v) => Some(u64::from(*v)),
        Value::U16(v) => Some(u64::from(*v)),
        Value::U32(v) => Some(u64::from(*v)),
        Value::U64(v) => Some(*v),
        Value::I32(v) => u64::try_from(*v).ok(),
        Value::I64(v) => u64::try_from(*v).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
        let path = dir.join("model.gguf");
        std::fs::write(&path, bytes).expect("write");
        path
    }

    #[test]
    fn garbage_and_truncated_headers_are_errors_not_panics() {
        let dir = tempfile::tempdir().expect("dir");
        let mut header = b"GGUF".to_vec();
        header.extend_from_slice(&3u32.to_le_bytes());
        header.extend_from_slice(&u64::MAX.to_le_bytes()); // tensors
        header.extend_from_slice(&u64::MAX.to_le_bytes()); // metadata
        for bytes in [&b""[..], b"not a gguf file at all", &header, &header[..10]] {
            let path = write(dir.path(), bytes);
            match open(&path) {
                Err(LocalError::Corrupt { .. }) => {}
                Err(other) => panic!("{other}"),
                Ok(_) => panic!("accepted {bytes:?}"),
            }
        }
    }

    #[test]
    fn a_missing_file_is_reported_as_missing() {
        let dir = tempfile::tempdir().expect("dir");
        match open(&dir.path().join("none.gguf")) {
            Err(LocalError::Corrupt { reason, .. }) => assert!(reason.contains("missing")),
            _ => panic!("expected an error"),
        }
    }

    #[test]
    fn sizes_are_whole_blocks() {
        assert_eq!(tensor_bytes(GgmlDType::Q8_0, 64), Some(68));
        assert_eq!(tensor_bytes(GgmlDType::Q8_0, 33), None);
        assert_eq!(tensor_bytes(GgmlDType::F32, 3), Some(12));
    }
}
