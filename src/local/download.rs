//! Downloading a pinned model file over HTTP(S): into a `.download` file
//! that a later run resumes with an HTTP `Range` request, never past the
//! pinned size, following at most a few redirects (Hugging Face answers
//! from a CDN; no credentials are sent). The caller checks the sha256.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::LocalError;

/// Redirects followed (Hugging Face's `resolve` URL points at its CDN).
const MAX_REDIRECTS: usize = 5;
/// How long a read may stay silent.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads `url` into `dest` (resuming what a previous run left there)
/// until it holds `expected` bytes; `progress` hears of the bytes held.
pub fn fetch(
    url: &str,
    dest: &Path,
    expected: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), LocalError> {
    let failed = |what: String| LocalError::Download(format!("{url}: {what}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| failed(err.to_string()))?;
    let tls = crate::llm::client::tls_config(url).map_err(failed)?;
    let client = {
        let _inside = runtime.enter();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(READ_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| failed(err.to_string()))?
    };
    runtime.block_on(fetch_with(&client, url, dest, expected, progress))
}

async fn fetch_with(
    client: &reqwest::Client,
    url: &str,
    dest: &Path,
    expected: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), LocalError> {
    let failed = |what: String| LocalError::Download(format!("{url}: {what}"));
    let held = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    if held > expected {
        std::fs::remove_file(dest).map_err(LocalError::io(dest))?;
    } else if held == expected {
        return Ok(());
    }
    let held = held.min(expected);
    let mut request = client.get(url);
    if held > 0 {
        request = request.header("Range", format!("bytes={held}-"));
    }
    let mut response = request.send().await.map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    let mut done = match status {
        206 if held > 0 => held,
        200 => 0,
        _ => return Err(failed(format!("the server answered HTTP {status}"))),
    };
    let mut file = open_for(dest, done)?;
    progress(done, expected);
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        done += chunk.len() as u64;
        if done > expected {
            return Err(failed(format!(
                "the file is larger than the pinned {expected} bytes"
            )));
        }
        file.write_all(&chunk).map_err(LocalError::io(dest))?;
        progress(done, expected);
    }
    file.sync_all().map_err(LocalError::io(dest))?;
    if done != expected {
        return Err(failed(format!(
            "the download stopped at {done} of {expected} bytes; run the command again to resume"
        )));
    }
    Ok(())
}

/// `dest` opened to write from `offset` (0: truncated).
fn open_for(dest: &Path, offset: u64) -> Result<std::fs::File, LocalError> {
    if offset == 0 {
        let _ = std::fs::remove_file(dest);
        return crate::private_files::create_new(dest).map_err(LocalError::io(dest));
    }
    crate::private_files::open_append(dest).map_err(LocalError::io(dest))
}
