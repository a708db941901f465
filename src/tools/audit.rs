//! The tool audit log, `audit.jsonl` in the data directory: one record per
//! tool call the model asked for, whatever became of it (run, approved,
//! denied, refused), with the arguments (secrets redacted), the decision and
//! a hash of the result. Append-only, mode 0600 (see [`crate::jsonl`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::guard::secrets::redact;
use crate::jsonl::{self, JsonlError, ReadOutcome};
use crate::tools::{Decision, RefusalKind, ToolOutput};

/// The current record format version.
pub const AUDIT_VERSION: u32 = 1;

/// What became of a tool call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditDecision {
    /// A low-risk tool: run without asking.
    Allowed,
    /// A person said yes at the prompt.
    ApprovedByPerson,
    /// Approved in advance with a command-line flag.
    ApprovedByFlag,
    /// A person said no (or nothing) at the prompt.
    DeniedByPerson,
    /// High risk, not approved by flag, and no terminal to ask on.
    RefusedNoTerminal,
    /// No tool of that name is configured.
    RefusedUnknownTool,
    /// The arguments were not JSON, not an object, or broke the schema.
    RefusedInvalidArguments,
    /// The arguments broke a constraint (a path outside its prefixes...).
    RefusedConstraint,
    /// The model asked for more rounds of tool calls than allowed.
    RefusedChainLimit,
}

impl AuditDecision {
    /// The decision's name as the log spells it (`approved_by_flag`...).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditDecision::Allowed => "allowed",
            AuditDecision::ApprovedByPerson => "approved_by_person",
            AuditDecision::ApprovedByFlag => "approved_by_flag",
            AuditDecision::DeniedByPerson => "denied_by_person",
            AuditDecision::RefusedNoTerminal => "refused_no_terminal",
            AuditDecision::RefusedUnknownTool => "refused_unknown_tool",
            AuditDecision::RefusedInvalidArguments => "refused_invalid_arguments",
            AuditDecision::RefusedConstraint => "refused_constraint",
            AuditDecision::RefusedChainLimit => "refused_chain_limit",
        }
    }
}

impl From<Decision> for AuditDecision {
    fn from(decision: Decision) -> AuditDecision {
        match decision {
            Decision::Allowed => AuditDecision::Allowed,
            Decision::ApprovedByFlag => AuditDecision::ApprovedByFlag,
            Decision::ApprovedByPerson => AuditDecision::ApprovedByPerson,
            Decision::DeniedByPerson => AuditDecision::DeniedByPerson,
            Decision::RefusedNoTerminal => AuditDecision::RefusedNoTerminal,
        }
    }
}

impl From<RefusalKind> for AuditDecision {
    fn from(kind: RefusalKind) -> AuditDecision {
        match kind {
            RefusalKind::UnknownTool => AuditDecision::RefusedUnknownTool,
            RefusalKind::InvalidArguments => AuditDecision::RefusedInvalidArguments,
            RefusalKind::Constraint => AuditDecision::RefusedConstraint,
            RefusalKind::ChainLimit => AuditDecision::RefusedChainLimit,
        }
    }
}

/// One line of `audit.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Format version.
    pub v: u32,
    /// When the decision was made, RFC 3339.
    pub ts: String,
    /// The operating-system user confab ran as.
    pub os_user: String,
    /// The conversation the call belongs to.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// The model's id for the tool call.
    pub call_id: String,
    /// The tool the model asked for.
    pub tool: String,
    /// The MCP server it belongs to, for a server's tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The arguments as the model wrote them, secrets redacted.
    pub arguments: String,
    /// What became of the call.
    pub decision: AuditDecision,
    /// Why it was refused or denied (secrets redacted).
    #[serde(default)]
    pub reason: Option<String>,
    /// The tool's exit code, if it ran and exited.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Whether it ran out of time.
    #[serde(default)]
    pub timed_out: bool,
    /// How long it ran.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// SHA-256 (hex) of the result sent back to the model.
    #[serde(default)]
    pub result_sha256: Option<String>,
    /// Length in bytes of the result sent back to the model.
    #[serde(default)]
    pub result_bytes: Option<u64>,
}

impl AuditRecord {
    /// A record of a call and its decision, stamped now with the OS user;
    /// `arguments` (the raw string from the model) are redacted here.
    pub fn new(
        conversation_id: Option<&str>,
        call_id: &str,
        tool: &str,
        arguments: &str,
        decision: AuditDecision,
    ) -> AuditRecord {
        AuditRecord {
            v: AUDIT_VERSION,
            ts: crate::usage::now_rfc3339(),
            os_user: os_user(),
            conversation_id: conversation_id.map(str::to_string),
            call_id: call_id.to_string(),
            tool: tool.to_string(),
            server: None,
            arguments: redact(arguments).0,
            decision,
            reason: None,
            exit_code: None,
            timed_out: false,
            duration_ms: None,
            result_sha256: None,
            result_bytes: None,
        }
    }

    /// Adds why the call was refused or denied (redacted: schema messages
    /// quote argument values).
    pub fn with_reason(mut self, reason: &str) -> AuditRecord {
        self.reason = Some(redact(reason).0);
        self
    }

    /// Adds how the run went and the hash and size of `result`, the
    /// content sent back to the model.
    pub fn with_output(mut self, output: &ToolOutput, result: &str) -> AuditRecord {
        self.exit_code = output.exit_code;
        self.timed_out = output.timed_out;
        self.duration_ms = Some(u64::try_from(output.duration.as_millis()).unwrap_or(u64::MAX));
        self.result_sha256 = Some(sha256_hex(result.as_bytes()));
        self.result_bytes = Some(result.len() as u64);
        if let (None, Some(err)) = (&self.reason, &output.failure) {
            self.reason = Some(redact(err).0);
        }
        self
    }

    /// Adds the MCP server the tool belongs to.
    pub fn with_server(mut self, server: Option<&str>) -> AuditRecord {
        self.server = server.map(str::to_string);
        self
    }
}

/// The hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The user confab runs as: `USER`, `LOGNAME` or `USERNAME`, else the uid
/// (from `/proc/self/status` on Linux), else `unknown`.
pub fn os_user() -> String {
    for name in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(value) = std::env::var(name) {
            if !value.trim().is_empty() {
                return value;
            }
        }
    }
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("Uid:")
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(|uid| format!("uid {uid}"))
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The audit log file.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The log at `data_dir/audit.jsonl`.
    pub fn in_data_dir(data_dir: &Path) -> AuditLog {
        AuditLog {
            path: data_dir.join("audit.jsonl"),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record.
    pub fn append(&self, record: &AuditRecord) -> Result<(), JsonlError> {
        jsonl::append(&self.path, record)
    }

    /// Reads every record (an absent file has none).
    pub fn read(&self) -> Result<ReadOutcome<AuditRecord>, JsonlError> {
        if !self.path.exists() {
            return Ok(ReadOutcome {
                records: Vec::new(),
                warnings: Vec::new(),
            });
        }
        jsonl::read(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::run::ToolRun;
    use std::time::Duration;

    #[test]
    fn writes_records_with_secrets_redacted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = AuditLog::in_data_dir(dir.path());
        let secret = "sk-proj-AbCdEf0123456789GhIjKlMnOp";
        let arguments = format!(r#"{{"query":"use key {secret}"}}"#);
        let run = ToolRun {
            exit_code: Some(0),
            stdout: "result".into(),
            truncated: false,
            stderr_tail: String::new(),
            duration: Duration::from_millis(42),
            timed_out: false,
            spawn_error: None,
        };
        let record = AuditRecord::new(
            Some("conv-1"),
            "call_1",
            "search",
            &arguments,
            Decision::ApprovedByPerson.into(),
        )
        .with_output(&run.output(), "result");
        log.append(&record).expect("append");
        let refused = AuditRecord::new(
            None,
            "call_2",
            "search",
            "{}",
            RefusalKind::ChainLimit.into(),
        )
        .with_reason(&format!("too many rounds; token={secret}"));
        log.append(&refused).expect("append");

        let text = std::fs::read_to_string(log.path()).expect("read");
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("[REDACTED:openai_key]"), "{text}");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines[0]["v"], 1);
        assert_eq!(lines[0]["decision"], "approved_by_person");
        assert_eq!(lines[0]["conversation_id"], "conv-1");
        assert_eq!(lines[0]["exit_code"], 0);
        assert_eq!(lines[0]["duration_ms"], 42);
        assert_eq!(lines[0]["result_bytes"], 6);
        assert_eq!(
            lines[0]["result_sha256"],
            "f6a214f7a5fcda0c2cee9660b7fc29f5649e3c68aad48e20e950137c98913a68"
        );
        assert!(!lines[0]["os_user"].as_str().unwrap_or_default().is_empty());
        assert_eq!(lines[1]["decision"], "refused_chain_limit");
        assert!(lines[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("REDACTED") && !r.contains(secret)));

        let read = log.read().expect("read");
        assert_eq!(read.records.len(), 2);
        assert_eq!(read.records[0].1, record);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(log.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn every_decision_has_its_snake_case_name() {
        let names: Vec<String> = [
            AuditDecision::Allowed,
            AuditDecision::ApprovedByPerson,
            AuditDecision::ApprovedByFlag,
            AuditDecision::DeniedByPerson,
            AuditDecision::RefusedNoTerminal,
            AuditDecision::RefusedUnknownTool,
            AuditDecision::RefusedInvalidArguments,
            AuditDecision::RefusedConstraint,
            AuditDecision::RefusedChainLimit,
        ]
        .iter()
        .map(|d| {
            serde_json::to_value(d)
                .expect("json")
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
        assert_eq!(
            names,
            [
                "allowed",
                "approved_by_person",
                "approved_by_flag",
                "denied_by_person",
                "refused_no_terminal",
                "refused_unknown_tool",
                "refused_invalid_arguments",
                "refused_constraint",
                "refused_chain_limit"
            ]
        );
    }
}
