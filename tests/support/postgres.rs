//! A real PostgreSQL 16 with pgvector, run on 127.0.0.1 in a temp dir for
//! the length of one test, and stopped and removed when dropped.
//!
//! The binaries are the ones the pgserver wheel bundles
//! (`$CONFAB_PG_BIN`, installed and set by scripts/install-test-servers.sh
//! through scripts/test.sh). Each server gets its own temp dir (data dir,
//! Unix sockets, log), a free port, a superuser `confab` with a random
//! password (scram-sha-256, also over TCP from 127.0.0.1), and a database
//! `confab` with the `vector` extension created.
//!
//! Postgres refuses to run as root. When the tests run as root, `initdb`,
//! `postgres` and `pg_ctl` run as `nobody` through util-linux's `setpriv`.
//! The install usually sits under root's home (mode 0700, which `nobody`
//! can't traverse); then the parts of it the server reads are hard-linked
//! (copied across file systems) into the temp dir first.

#![allow(dead_code)]

use super::real_server::{free_port, required_path};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The superuser and the database every server has.
pub const USER: &str = "confab";

/// How long a start may take before the test fails.
const STARTUP: Duration = Duration::from_secs(60);

/// A running (or, after [`PgServer::stop`], stopped) Postgres.
pub struct PgServer {
    child: Option<Child>,
    port: u16,
    password: String,
    /// The bin dir the server runs from: `$CONFAB_PG_BIN`, or its private
    /// copy in `dir` when running as root.
    bin: PathBuf,
    /// Who the server runs as when the tests run as root (uid, gid).
    user: Option<(u32, u32)>,
    /// Holds `run/` (data dir, sockets; owned by the server's user),
    /// `server.log` and, as root, `install/`.
    dir: tempfile::TempDir,
}

impl PgServer {
    /// Creates a fresh cluster in a temp dir and starts it: superuser
    /// `confab` with a random password, database `confab` with
    /// `CREATE EXTENSION vector` done. Panics (with the server's log) if it
    /// does not come up in a minute.
    pub fn start() -> PgServer {
        let installed = required_path("CONFAB_PG_BIN", "scripts/test.sh");
        let dir = tempfile::tempdir().expect("temp dir");
        let user = server_user();
        let bin = match user {
            Some(_) => {
                // `nobody` must traverse the temp dir and read the install.
                assert!(
                    traversable_by_others(dir.path().parent().expect("temp dir has a parent")),
                    "the server runs as nobody, who can't reach {}: set TMPDIR to a directory every user can traverse, such as /tmp",
                    dir.path().display()
                );
                chmod(dir.path(), 0o755);
                if traversable_by_others(&installed) {
                    installed
                } else {
                    link_install(&installed, &dir.path().join("install"))
                }
            }
            None => installed,
        };
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("creating the server's run dir");
        chmod(&run, 0o700);
        let password: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(24)
            .collect();
        let pwfile = run.join("pwfile");
        std::fs::write(&pwfile, &password).expect("writing the password file");
        if let Some((uid, gid)) = user {
            for path in [&run, &pwfile] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
            }
        }
        let mut server = PgServer {
            child: None,
            port: 0,
            password,
            bin,
            user,
            dir,
        };
        let initdb = server
            .server_command("initdb")
            .arg("-D")
            .arg(server.data_dir())
            .args(["-U", USER, "--auth=scram-sha-256", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("running initdb");
        assert!(
            initdb.status.success(),
            "initdb failed ({}): {}{}",
            initdb.status,
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        );
        std::fs::remove_file(&pwfile).expect("removing the password file");
        // The port was free a moment ago; another test's server may take it
        // first, so a failed bind is retried on a new one.
        for attempt in 1.. {
            server.port = free_port();
            server.spawn();
            match server.wait_until_ready() {
                Ok(()) => break,
                Err(log) if attempt < 5 && log.contains("could not bind") => continue,
                Err(log) => panic!("Postgres did not start: {log}"),
            }
        }
        server.psql_in("postgres", "CREATE DATABASE confab");
        server.psql("CREATE EXTENSION vector");
        server
    }

    /// The port it listens on, on 127.0.0.1 only.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://confab@127.0.0.1:PORT/confab`, without the password.
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{USER}", self.port)
    }

    /// The environment that points confab at this server as its team
    /// store: the URL (TLS off) and the password, as a user sets them.
    pub fn store_env(&self) -> [(&'static str, String); 2] {
        [
            (
                "CONFAB_DATABASE_URL",
                format!("{}?sslmode=disable", self.url()),
            ),
            ("CONFAB_DATABASE_PASSWORD", self.password.clone()),
        ]
    }

    /// `postgres://confab:PASSWORD@127.0.0.1:PORT/confab` (the password is
    /// alphanumeric, so it needs no escaping).
    pub fn url_with_password(&self) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{USER}",
            self.password, self.port
        )
    }

    /// Stops the server cleanly (`pg_ctl stop -m fast`) and waits until it
    /// has exited: connections fail until [`PgServer::start_again`].
    pub fn stop(&mut self) {
        self.shut_down("fast");
    }

    /// Starts the stopped server again on the same data dir and port.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "start_again on a running server");
        self.spawn();
        if let Err(log) = self.wait_until_ready() {
            panic!("Postgres did not start again on port {}: {log}", self.port);
        }
    }

    /// Runs `sql` in database `confab` with the bundled psql and returns
    /// the rows, tuples only and unaligned (`|` between columns, a line
    /// per row), trimmed. Panics with psql's stderr if it fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in(USER, sql)
    }

    /// [`PgServer::psql`] in another database.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        let output = self
            .psql_command()
            .args(["-d", database, "-c", sql])
            .output()
            .expect("running psql");
        assert!(
            output.status.success(),
            "psql failed ({}) on {sql:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// The bundled psql, connecting over TCP as `confab` with the password
    /// (`PGPASSWORD`; override it to try another) to database `confab`
    /// (a later `-d` wins), tuples only, unaligned, stopping at the first
    /// error, in a clean environment. Add `-c SQL` and run it.
    pub fn psql_command(&self) -> Command {
        let mut command = Command::new(self.bin.join("psql"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("PGPASSWORD", &self.password)
            .env("PGCONNECT_TIMEOUT", "5")
            .env("PGCLIENTENCODING", "UTF8")
            .args(["-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", USER, "-d", USER])
            .stdin(Stdio::null());
        command
    }

    /// What the server printed so far (every start, appended).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("run/data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// One of the server's programs, run as the server's user, in a clean
    /// environment.
    fn server_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = match self.user {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--clear-groups", "--"])
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("run"))
            .env("LC_ALL", "C")
            .current_dir(self.dir.path().join("run"))
            .stdin(Stdio::null());
        command
    }

    /// Starts the postmaster (setpriv execs it, so the child is it).
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let run = self.dir.path().join("run");
        let child = self
            .server_command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(&run)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_permissions=0700"])
            // Speed over durability: the data lives for one test.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "wal_level=minimal"])
            .args(["-c", "max_wal_senders=0", "-c", "shared_buffers=32MB"])
            // Nothing in /dev/shm: dynamic shared memory is a file in the
            // data dir.
            .args(["-c", "dynamic_shared_memory_type=mmap"])
            .args(["-c", "huge_pages=off"])
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting postgres from {}: {e}", self.bin.display()));
        self.child = Some(child);
    }

    /// Waits until the server accepts connections on 127.0.0.1, or returns
    /// its log when it exits or takes too long (having stopped it).
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            let child = self.child.as_mut().expect("a started server");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("postgres exited ({status}): {}", self.log()));
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .env_clear()
                .args([
                    "-q",
                    "-t",
                    "2",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    USER,
                    "-d",
                    "postgres",
                ])
                .args(["-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.shut_down("immediate");
                return Err(format!("not ready in {STARTUP:?}: {}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `pg_ctl stop -m MODE`, then reaps the postmaster (killing it if
    /// pg_ctl could not stop it).
    fn shut_down(&mut self, mode: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            let stopped = self
                .server_command("pg_ctl")
                .args(["stop", "-s", "-w", "-t", "30", "-m", mode, "-D"])
                .arg(self.data_dir())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !stopped {
                let _ = child.kill();
            }
        }
        let _ = child.wait();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // A failing test shows whether the server died under it, and why.
        if std::thread::panicking() {
            let state = match self.child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(None)) => "was still running",
                Some(_) => "had exited",
                None => "was stopped",
            };
            let log = self.log();
            let mut start = log.len().saturating_sub(4096);
            while !log.is_char_boundary(start) {
                start += 1;
            }
            let tail = &log[start..];
            eprintln!(
                "Postgres on port {} {state}; the end of its log:\n{tail}",
                self.port
            );
        }
        self.shut_down("immediate");
        // The TempDir removes everything the server wrote.
    }
}

/// Who the server runs as when the tests run as root (Postgres refuses
/// root): `nobody`'s uid and gid. `None` when not root.
fn server_user() -> Option<(u32, u32)> {
    static USER: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *USER.get_or_init(|| {
        if id(&["-u"]) != 0 {
            return None;
        }
        let setpriv = Command::new("setpriv").arg("--version").output();
        assert!(
            setpriv.is_ok_and(|o| o.status.success()),
            "running as root, Postgres needs util-linux's setpriv to run as nobody; install util-linux"
        );
        Some((id(&["-u", "nobody"]), id(&["-g", "nobody"])))
    })
}

/// A number `id ARGS` prints.
fn id(args: &[&str]) -> u32 {
    let output = Command::new("id").args(args).output().expect("running id");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("id {args:?} printed no number"))
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Whether every directory from `/` down to `dir` lets other users
/// through (the `x` bit for others), as `nobody` needs.
fn traversable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// Mirrors what the server reads of the wheel's install into `to`, keeping
/// the layout the binaries find their files by (share and lib relative to
/// bin; libpq in `../../../pgserver.libs` from bin, their RPATH), and
/// returns the copy's bin dir.
fn link_install(bin: &Path, to: &Path) -> PathBuf {
    let prefix = bin.parent().expect("CONFAB_PG_BIN has a parent");
    let copy = to.join("pgserver/pginstall");
    for part in ["bin", "lib/postgresql", "share"] {
        link_tree(&prefix.join(part), &copy.join(part));
    }
    let libs = prefix.join("../../pgserver.libs");
    if libs.is_dir() {
        link_tree(&libs, &to.join("pgserver.libs"));
    }
    copy.join("bin")
}

/// Hard-links every file under `from` into `to` (copying when a link is
/// refused), recreating directories and symlinks.
fn link_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    chmod(to, 0o755);
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.expect("a directory entry");
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            link_tree(&source, &target);
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&source).expect("reading a symlink");
            std::os::unix::fs::symlink(link, &target).expect("creating a symlink");
        } else if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target)
                .unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));
        }
    }
}
