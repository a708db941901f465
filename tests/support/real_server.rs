//! A real server someone else wrote (LiteLLM's proxy, llama.cpp's server),
//! run as a child process on 127.0.0.1 in a temporary home for the length of
//! one test, and stopped when dropped.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct RealServer {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    home: tempfile::TempDir,
    name: String,
}

impl Drop for RealServer {
    fn drop(&mut self) {
        // A failing test shows whether the server died under it, and why.
        if std::thread::panicking() {
            let state = match self.child.try_wait() {
                Ok(Some(status)) => format!("had exited ({status})"),
                _ => "was still running".to_string(),
            };
            let log = self.log();
            let mut start = log.len().saturating_sub(4096);
            while !log.is_char_boundary(start) {
                start += 1;
            }
            let tail = &log[start..];
            eprintln!("{} {state}; the end of its log:\n{tail}", self.name);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealServer {
    /// Starts `program` in a temporary home holding `files` (name,
    /// contents), with `args` (where `{port}` becomes a free port and
    /// `{home}` the home) and a clean environment (PATH, HOME and `env`,
    /// where `{port}` is replaced too),
    /// and waits up to `startup` for `GET ready_path` to answer 200.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[&str],
        files: &[(&str, &str)],
        env: &[(&str, &str)],
        ready_path: &str,
        startup: Duration,
    ) -> RealServer {
        let ready = |port: u16| http_get(port, ready_path).is_some_and(|s| s.contains(" 200"));
        RealServer::start_until(name, program, args, files, env, &ready, startup)
    }

    /// [`RealServer::start`], ready when `ready(port)` says so (for a
    /// server with no route that answers 200 to a plain GET).
    pub fn start_until(
        name: &str,
        program: &Path,
        args: &[&str],
        files: &[(&str, &str)],
        env: &[(&str, &str)],
        ready: &dyn Fn(u16) -> bool,
        startup: Duration,
    ) -> RealServer {
        let home = tempfile::tempdir().expect("temp dir");
        for (file, contents) in files {
            std::fs::write(home.path().join(file), contents).expect("writing a server file");
        }
        let port = free_port();
        let log = std::fs::File::create(home.path().join("server.log")).expect("log file");
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("{port}", &port.to_string())
                    .replace("{home}", &home.path().display().to_string())
            })
            .collect();
        let mut command = Command::new(program);
        command
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .current_dir(home.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        for (key, value) in env {
            command.env(OsStr::new(key), value.replace("{port}", &port.to_string()));
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({}): {e}", program.display()));
        let mut server = RealServer {
            child,
            port,
            home,
            name: name.to_string(),
        };
        server.wait_until_ready(ready, startup);
        server
    }

    /// The temporary home the server runs in (for its config files).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    fn wait_until_ready(&mut self, ready: &dyn Fn(u16) -> bool, startup: Duration) {
        let deadline = Instant::now() + startup;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}): {}", self.name, self.log());
            }
            if ready(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("{} did not start in {startup:?}: {}", self.name, self.log());
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("server.log")).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn root(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The whole answer to a plain GET, if the server answers.
fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Some(String::from_utf8_lossy(&answer).into_owned())
}

/// The status line of a plain GET, if the server answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    get(port, path)?.lines().next().map(str::to_string)
}

/// The body of a plain GET (de-chunked), if the server answers 200.
pub fn http_get_body(port: u16, path: &str) -> Option<String> {
    let answer = get(port, path)?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    if !head.lines().next()?.contains(" 200 ") {
        return None;
    }
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Some(body.to_string());
    }
    let mut rest = body;
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            break;
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
    Some(out)
}

/// The path in an environment variable the test scripts set, or a panic
/// that says which script sets it.
pub fn required_path(variable: &str, script: &str) -> std::path::PathBuf {
    std::env::var_os(variable)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            panic!("{variable} is not set: run the tests with {script}, which installs the server and sets it")
        })
}
