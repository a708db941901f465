//! Converting a GGUF once, at install, to a quantisation candle has fast
//! CPU kernels for: tensors in Q4_1, Q5_0, Q5_1 or Q8_1 (scalar code
//! only, about 3x slower) are dequantised and quantised again as Q8_0;
//! every other tensor and all metadata are written as they were.

use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;

use super::{gguf, LocalError};

/// GGUF's `general.file_type` for "mostly Q8_0".
const FILE_TYPE_Q8_0: u32 = 7;

fn is_slow(dtype: GgmlDType) -> bool {
    matches!(
        dtype,
        GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 | GgmlDType::Q8_1
    )
}

/// Writes `source` converted to `target` if it has slow tensors (else
/// writes nothing) and returns the quantisation of the file to use.
pub fn to_fast_quantization(source: &Path, target: &Path) -> Result<String, LocalError> {
    let mut file = gguf::open(source)?;
    let slow = file
        .content
        .tensor_infos
        .values()
        .any(|info| is_slow(info.ggml_dtype));
    if !slow {
        return Ok(main_dtype(&file.content));
    }
    let failed = |err: candle_core::Error| LocalError::Corrupt {
        path: source.to_path_buf(),
        reason: format!("converting it to Q8_0 failed: {err}"),
    };
    let mut names: Vec<(String, u64)> = file
        .content
        .tensor_infos
        .iter()
        .map(|(name, info)| (name.clone(), info.offset))
        .collect();
    names.sort_by_key(|(_, offset)| *offset);
    let mut tensors = Vec::with_capacity(names.len());
    for (name, _) in &names {
        let tensor = file
            .content
            .tensor(&mut file.reader, name, &Device::Cpu)
            .map_err(failed)?;
        let tensor = if is_slow(tensor.dtype()) {
            let values = tensor.dequantize(&Device::Cpu).map_err(failed)?;
            QTensor::quantize(&values, GgmlDType::Q8_0).map_err(failed)?
        } else {
            tensor
        };
        tensors.push((name.as_str(), tensor));
    }
    let mut metadata: Vec<(&str, Value)> = file
        .content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    metadata.sort_by(|a, b| a.0.cmp(b.0));
    for (key, value) in &mut metadata {
        if *key == "general.file_type" {
            *value = Value::U32(FILE_TYPE_Q8_0);
        }
    }
    write(target, &metadata, &tensors).map_err(|err| match err {
        WriteError::Io(err) => LocalError::io(target)(err),
        WriteError::Candle(err) => failed(err),
    })?;
    Ok("Q8_0".into())
}

enum WriteError {
    Io(std::io::Error),
    Candle(candle_core::Error),
}

fn write(
    target: &Path,
    metadata: &[(&str, Value)],
    tensors: &[(&str, QTensor)],
) -> Result<(), WriteError> {
    let _ = std::fs::remove_file(target);
    let file = crate::private_files::create_new(target).map_err(WriteError::Io)?;
    let mut out = std::io::BufWriter::new(file);
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (*k, t)).collect();
    let written = gguf_file::write(&mut out, &metadata, &tensors).map_err(WriteError::Candle);
    let flushed = written.and_then(|()| {
        let file = out
            .into_inner()
            .map_err(|e| WriteError::Io(e.into_error()))?;
        file.sync_all().map_err(WriteError::Io)
    });
    if flushed.is_err() {
        let _ = std::fs::remove_file(target);
    }
    flushed
}

/// The dtype most of the weights' bytes are in, by name (`Q8_0`).
fn main_dtype(content: &gguf_file::Content) -> String {
    let mut bytes: std::collections::BTreeMap<String, u64> = Default::default();
    for info in content.tensor_infos.values() {
        let size = gguf::tensor_bytes(info.ggml_dtype, info.shape.elem_count() as u64);
        *bytes.entry(format!("{:?}", info.ggml_dtype)).or_default() += size.unwrap_or(0);
    }
    bytes
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(name, _)| name)
        .unwrap_or_default()
}
