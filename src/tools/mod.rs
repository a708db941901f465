//! Tool calls (issue #7): tools declared in config, arguments validated
//! before anything runs, approval of high-risk calls, and the audit log.
//!
//! The flow for each call the model asks for: [`ToolRegistry::check`]
//! (known tool, arguments a JSON object that fits the schema and the
//! constraints) → [`ToolRegistry::decide`] (risk, `--approve` flags, a
//! person at the terminal) → [`ToolRegistry::run`] → an [`AuditRecord`]
//! whatever happened. Refusals and denials go back to the model as error
//! tool results; nothing the model says can widen what a tool may do.

pub mod approval;
pub mod audit;
pub mod broker;
pub mod constraint;
pub mod mcp;
pub mod run;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::llm::{ToolCallRequest, ToolDeclaration, ToolImage, ToolResult};
pub use crate::schema::{CompiledSchema, SchemaError};
pub use approval::{ApprovalPrompt, TerminalPrompt};
pub use audit::{AuditDecision, AuditLog, AuditRecord};
pub use constraint::Constraint;
pub use run::ToolRun;

/// How much harm a tool can do, which decides whether it needs approval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Read-only or harmless: runs without asking.
    Low,
    /// Needs approval, by flag or by a person (the default).
    #[default]
    High,
}

fn default_timeout_secs() -> u64 {
    30
}

/// One tool (`[tools.NAME]` in `config.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolConfig {
    /// What the tool does, for the model.
    pub description: String,
    /// The JSON Schema of its arguments (an object schema), written as a
    /// TOML table.
    pub parameters: Value,
    /// The argv to run, without a shell; the arguments JSON comes on stdin.
    pub command: Vec<String>,
    /// Seconds it may run before it is killed.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// `low` runs without asking; `high` (the default) needs approval.
    #[serde(default)]
    pub risk: Risk,
    /// Checks on argument values beyond the schema.
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// Environment variables passed on to the tool beyond the base set
    /// (PATH, HOME, locale, TZ, TMPDIR); nothing else of confab's
    /// environment reaches it.
    #[serde(default)]
    pub env: Vec<String>,
}

fn default_max_rounds() -> u32 {
    8
}

fn default_output_limit() -> usize {
    64 * 1024
}

/// Limits on tool use as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSettings {
    /// The most rounds of tool calls in one turn before the chain is cut.
    #[serde(default = "default_max_rounds")]
    pub max_rounds: u32,
    /// The most bytes of a tool's stdout sent back to the model.
    #[serde(default = "default_output_limit")]
    pub output_limit_bytes: usize,
}

impl Default for ToolSettings {
    fn default() -> ToolSettings {
        ToolSettings {
            max_rounds: default_max_rounds(),
            output_limit_bytes: default_output_limit(),
        }
    }
}

/// A tool configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The name is not `^[a-zA-Z0-9_-]{1,64}$`.
    #[error("tool name `{0}` is not allowed: use 1 to 64 letters, digits, `_` or `-`")]
    BadName(String),
    /// The command is empty (or its program is).
    #[error("tool `{0}` has an empty command")]
    EmptyCommand(String),
    /// The parameters are not a valid object schema.
    #[error("tool `{tool}`: {message}")]
    BadSchema {
        /// The tool.
        tool: String,
        /// What is wrong.
        message: String,
    },
    /// A constraint makes no sense.
    #[error("tool `{tool}`: {message}")]
    BadConstraint {
        /// The tool.
        tool: String,
        /// What is wrong.
        message: String,
    },
    /// A zero timeout, or one of more than a day.
    #[error("tool `{0}` has timeout_secs out of range: use 1 to 86400")]
    ZeroTimeout(String),
    /// An `env` entry that is not a variable name.
    #[error("tool `{tool}` lists `{name}` in env, which is not a variable name: use letters, digits and `_`, not starting with a digit")]
    BadEnvName {
        /// The tool.
        tool: String,
        /// The entry.
        name: String,
    },
}

/// Why a call was refused before any decision about running it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// No tool of that name.
    UnknownTool,
    /// Not JSON, not an object, or against the schema.
    InvalidArguments,
    /// Against a constraint.
    Constraint,
    /// Too many rounds of tool calls.
    ChainLimit,
}

/// A refused call; `reason` is meant for the model (as an error tool
/// result) and the audit log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    /// Which kind of refusal.
    pub kind: RefusalKind,
    /// Why, in words.
    pub reason: String,
}

impl Refusal {
    /// The refusal of a call beyond the chain limit.
    pub fn chain_limit(max_rounds: u32) -> Refusal {
        Refusal {
            kind: RefusalKind::ChainLimit,
            reason: format!(
                "tool call refused: the limit of {max_rounds} rounds of tool calls in one turn was reached; answer with what you have"
            ),
        }
    }

    /// The error tool result answering `call_id`.
    pub fn tool_result(&self, call_id: &str) -> ToolResult {
        ToolResult::text(call_id, self.reason.clone(), true)
    }
}

/// A call that passed [`ToolRegistry::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedCall {
    /// The model's id for the call.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's description (shown when asking for approval).
    pub description: String,
    /// The parsed arguments, a JSON object.
    pub arguments: Value,
    /// The arguments as sent on the tool's stdin (compact JSON).
    pub arguments_json: String,
    /// The tool's risk.
    pub risk: Risk,
}

/// Whether a checked call may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Low risk.
    Allowed,
    /// Approved in advance by flag.
    ApprovedByFlag,
    /// A person said yes.
    ApprovedByPerson,
    /// A person said no.
    DeniedByPerson,
    /// High risk and nobody to ask.
    RefusedNoTerminal,
}

impl Decision {
    /// Whether the call may run.
    pub fn may_run(self) -> bool {
        matches!(
            self,
            Decision::Allowed | Decision::ApprovedByFlag | Decision::ApprovedByPerson
        )
    }

    /// The error tool result for a call that may not run; `None` if it may.
    pub fn refusal_result(self, call: &CheckedCall) -> Option<ToolResult> {
        let content = match self {
            Decision::DeniedByPerson => format!(
                "the user declined to run tool `{}`; do not retry it unless asked",
                call.name
            ),
            Decision::RefusedNoTerminal => format!(
                "tool `{}` needs approval and there is no terminal to ask on; it was not run",
                call.name
            ),
            _ => return None,
        };
        Some(ToolResult::text(&call.call_id, content, true))
    }
}

/// What running a tool gave, whatever kind of tool it is: the result for
/// the model and the facts for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolOutput {
    /// The text for the model (capped at the output limit).
    pub content: String,
    /// Images, for wire formats that carry them.
    pub images: Vec<ToolImage>,
    /// Whether the tool failed or could not run.
    pub is_error: bool,
    /// A command tool's exit code.
    pub exit_code: Option<i32>,
    /// Whether it ran out of time.
    pub timed_out: bool,
    /// How long it ran.
    pub duration: Duration,
    /// Why it could not run at all (not started, server gone), if so.
    pub failure: Option<String>,
}

impl ToolOutput {
    /// The output of a call that could not be made, `why` in words.
    pub fn failed(why: String, timed_out: bool, duration: Duration) -> ToolOutput {
        ToolOutput {
            content: why.clone(),
            images: Vec::new(),
            is_error: true,
            exit_code: None,
            timed_out,
            duration,
            failure: Some(why),
        }
    }
}

/// Where a tool's calls go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolSource {
    /// A command run for each call (`[tools.NAME]`).
    Command {
        /// The argv.
        command: Vec<String>,
        /// Variables passed on beyond the base set.
        env: Vec<String>,
        /// How long it may run.
        timeout: Duration,
    },
    /// A tool of an MCP server (`[mcp_servers.SERVER]`).
    Mcp {
        /// The server's name.
        server: String,
        /// The tool's name on that server.
        tool: String,
    },
}

/// A configured tool, its schema compiled.
#[derive(Debug)]
struct Tool {
    description: String,
    parameters: Value,
    risk: Risk,
    constraints: Vec<Constraint>,
    schema: CompiledSchema,
    source: ToolSource,
}

/// The configured tools.
#[derive(Debug, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Tool>,
    settings: ToolSettings,
}

/// A tool an MCP server listed, and whether it is offered to the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ListedTool {
    /// The server.
    pub server: String,
    /// The server's name for the tool.
    pub name: String,
    /// The name the model sees: `SERVER__TOOL`.
    pub qualified_name: String,
    /// Its description, as the server gave it.
    pub description: String,
    /// Whether the server hints it only reads (untrusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// Whether the model is offered it.
    pub offered: bool,
    /// Why not, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_offered_because: Option<String>,
}

/// The longest tool description taken from a server.
const MAX_DESCRIPTION_BYTES: usize = 4096;
/// The largest input schema taken from a server.
const MAX_SCHEMA_BYTES: usize = 64 * 1024;

/// Whether `name` matches `^[a-zA-Z0-9_-]{1,64}$`.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl ToolRegistry {
    /// Checks and compiles every tool, with default [`ToolSettings`].
    pub fn from_config(tools: &BTreeMap<String, ToolConfig>) -> Result<ToolRegistry, ToolError> {
        let mut compiled = BTreeMap::new();
        for (name, config) in tools {
            if !is_valid_tool_name(name) {
                return Err(ToolError::BadName(name.clone()));
            }
            if config.command.first().is_none_or(|p| p.is_empty()) {
                return Err(ToolError::EmptyCommand(name.clone()));
            }
            if !(1..=86_400).contains(&config.timeout_secs) {
                return Err(ToolError::ZeroTimeout(name.clone()));
            }
            if let Some(bad) = config.env.iter().find(|v| !run::is_variable_name(v)) {
                return Err(ToolError::BadEnvName {
                    tool: name.clone(),
                    name: bad.clone(),
                });
            }
            let bad_schema = |message: String| ToolError::BadSchema {
                tool: name.clone(),
                message,
            };
            if config.parameters.get("type").and_then(Value::as_str) != Some("object") {
                return Err(bad_schema(
                    "parameters must be an object schema (type = \"object\")".into(),
                ));
            }
            let schema = CompiledSchema::compile(&config.parameters)
                .map_err(|err| bad_schema(format!("parameters: {err}")))?;
            if let Some(message) = config.constraints.iter().find_map(Constraint::problem) {
                return Err(ToolError::BadConstraint {
                    tool: name.clone(),
                    message,
                });
            }
            compiled.insert(
                name.clone(),
                Tool {
                    description: config.description.clone(),
                    parameters: config.parameters.clone(),
                    risk: config.risk,
                    constraints: config.constraints.clone(),
                    schema,
                    source: ToolSource::Command {
                        command: config.command.clone(),
                        env: config.env.clone(),
                        timeout: Duration::from_secs(config.timeout_secs),
                    },
                },
            );
        }
        Ok(ToolRegistry {
            tools: compiled,
            settings: ToolSettings::default(),
        })
    }

    /// The same tools under `settings`.
    pub fn with_settings(mut self, settings: ToolSettings) -> ToolRegistry {
        self.settings = settings;
        self
    }

    /// The limits in force.
    pub fn settings(&self) -> ToolSettings {
        self.settings
    }

    /// Whether no tools are configured.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The tool names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tools.keys().map(String::as_str).collect()
    }

    /// The tools as declared to the model, sorted by name.
    pub fn declarations(&self) -> Vec<ToolDeclaration> {
        self.tools
            .iter()
            .map(|(name, tool)| ToolDeclaration {
                name: name.clone(),
                description: tool.description.clone(),
                parameters: tool.parameters.clone(),
            })
            .collect()
    }

    /// Checks a call the model asked for: a known tool, arguments that are
    /// a JSON object (an empty string counts as `{}`) valid for its schema,
    /// and every constraint met.
    pub fn check(&self, call: &ToolCallRequest) -> Result<CheckedCall, Refusal> {
        let Some(tool) = self.tools.get(&call.name) else {
            return Err(Refusal {
                kind: RefusalKind::UnknownTool,
                reason: format!(
                    "tool call refused: there is no tool named `{}`; the tools are: {}",
                    approval::printable(&call.name),
                    self.names().join(", ")
                ),
            });
        };
        let invalid = |reason: String| Refusal {
            kind: RefusalKind::InvalidArguments,
            reason: format!(
                "tool call refused: invalid arguments for `{}`: {reason}",
                call.name
            ),
        };
        let text = call.arguments.trim();
        let arguments: Value = if text.is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str(text)
                .map_err(|err| invalid(format!("they are not valid JSON ({err})")))?
        };
        if !arguments.is_object() {
            return Err(invalid("they must be a JSON object".into()));
        }
        tool.schema
            .validate(&arguments)
            .map_err(|errors| invalid(errors.join("; ")))?;
        for constraint in &tool.constraints {
            constraint.check(&arguments).map_err(|why| Refusal {
                kind: RefusalKind::Constraint,
                reason: format!("tool call refused: {why}"),
            })?;
        }
        Ok(CheckedCall {
            call_id: call.id.clone().unwrap_or_default(),
            name: call.name.clone(),
            description: tool.description.clone(),
            arguments_json: arguments.to_string(),
            arguments,
            risk: tool.risk,
        })
    }

    /// Decides whether a checked call may run: low risk runs; high risk
    /// runs when named in `approved_by_flag`, else when a person says yes
    /// at `prompt`; with no prompt it is refused.
    pub fn decide(
        &self,
        checked: &CheckedCall,
        approved_by_flag: &[String],
        prompt: Option<&mut dyn ApprovalPrompt>,
    ) -> Decision {
        match checked.risk {
            Risk::Low => Decision::Allowed,
            Risk::High if approved_by_flag.contains(&checked.name) => Decision::ApprovedByFlag,
            Risk::High => match prompt {
                Some(prompt) => {
                    if prompt.approve(checked) {
                        Decision::ApprovedByPerson
                    } else {
                        Decision::DeniedByPerson
                    }
                }
                None => Decision::RefusedNoTerminal,
            },
        }
    }

    /// Where calls of tool `name` go.
    pub fn source(&self, name: &str) -> Option<&ToolSource> {
        self.tools.get(name).map(|tool| &tool.source)
    }

    /// Runs a checked (and approved) call of a command tool: its argv
    /// without a shell, the arguments JSON on stdin, its timeout, the
    /// output limit. (MCP tools are called through their server.)
    pub fn run(&self, checked: &CheckedCall) -> ToolOutput {
        match self.source(&checked.name) {
            Some(ToolSource::Command {
                command,
                env,
                timeout,
            }) => run::run_command(
                command,
                env,
                &checked.arguments_json,
                *timeout,
                self.settings.output_limit_bytes,
            )
            .output(),
            _ => ToolOutput::failed(
                format!("no command tool named `{}`", checked.name),
                false,
                Duration::ZERO,
            ),
        }
    }

    /// Adds the tools `listed` by MCP server `server` that its `allow`
    /// names, under `SERVER__TOOL`, with the server's risk and
    /// constraints; says of every listed tool whether it is offered and
    /// why not. A tool is not offered when its name cannot be sent, its
    /// schema is not an object schema that compiles, or its description
    /// reads like instructions to the model.
    pub fn add_mcp_tools(
        &mut self,
        server: &str,
        config: &mcp::McpServerConfig,
        listed: &[mcp::McpTool],
    ) -> Vec<ListedTool> {
        listed
            .iter()
            .map(|tool| {
                let qualified_name = mcp::qualified_name(server, &tool.name);
                let refusal = if !config.allow.contains(&tool.name) {
                    Some("not in `allow`".to_string())
                } else {
                    self.offer_mcp_tool(server, config, tool, &qualified_name)
                        .err()
                };
                ListedTool {
                    server: server.to_string(),
                    name: tool.name.clone(),
                    qualified_name,
                    description: tool.description.clone(),
                    read_only_hint: tool.read_only_hint,
                    offered: refusal.is_none(),
                    not_offered_because: refusal,
                }
            })
            .collect()
    }

    /// Adds one allowed MCP tool, or says why it cannot be offered.
    fn offer_mcp_tool(
        &mut self,
        server: &str,
        config: &mcp::McpServerConfig,
        tool: &mcp::McpTool,
        qualified_name: &str,
    ) -> Result<(), String> {
        if !is_valid_tool_name(qualified_name) {
            return Err(format!(
                "`{}` cannot be a tool name for the model: use 1 to 64 letters, digits, `_` or `-`",
                approval::printable(qualified_name)
            ));
        }
        if self.tools.contains_key(qualified_name) {
            return Err(format!("`{qualified_name}` is already a tool"));
        }
        if tool.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(format!(
                "its description is over {MAX_DESCRIPTION_BYTES} bytes"
            ));
        }
        let findings = crate::guard::injection::screen(&tool.description);
        if let Some(finding) = findings.first() {
            return Err(format!(
                "its description reads like instructions to the model ({})",
                finding.rule
            ));
        }
        let schema_bytes = tool.input_schema.to_string().len();
        if schema_bytes > MAX_SCHEMA_BYTES {
            return Err(format!(
                "its input schema is {schema_bytes} bytes, over the {MAX_SCHEMA_BYTES}-byte limit"
            ));
        }
        if tool.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err("its input schema is not an object schema".into());
        }
        let schema = CompiledSchema::compile(&tool.input_schema)
            .map_err(|err| format!("its input schema does not compile: {err}"))?;
        self.tools.insert(
            qualified_name.to_string(),
            Tool {
                description: tool.description.clone(),
                parameters: tool.input_schema.clone(),
                risk: config.risk,
                constraints: config
                    .constraints
                    .get(&tool.name)
                    .cloned()
                    .unwrap_or_default(),
                schema,
                source: ToolSource::Mcp {
                    server: server.to_string(),
                    tool: tool.name.clone(),
                },
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(risk: Risk, command: &[&str]) -> ToolConfig {
        ToolConfig {
            description: "Reads a document".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "lines": {"type": "integer", "minimum": 1}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
            command: command.iter().map(|s| s.to_string()).collect(),
            timeout_secs: 5,
            risk,
            constraints: Vec::new(),
            env: Vec::new(),
        }
    }

    fn registry(config: ToolConfig) -> ToolRegistry {
        let mut tools = BTreeMap::new();
        tools.insert("read_doc".to_string(), config);
        ToolRegistry::from_config(&tools).expect("registry")
    }

    fn call(name: &str, arguments: &str) -> ToolCallRequest {
        ToolCallRequest {
            id: Some("call_1".into()),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// A terminal that answers from a script and records what it was shown.
    struct ScriptedPrompt {
        answers: Vec<&'static str>,
        shown: Vec<String>,
    }

    impl ApprovalPrompt for ScriptedPrompt {
        fn approve(&mut self, call: &CheckedCall) -> bool {
            self.shown.push(approval::question(call));
            let answer = if self.answers.is_empty() {
                ""
            } else {
                self.answers.remove(0)
            };
            approval::is_yes(answer)
        }
    }

    #[test]
    fn parses_tool_config_from_toml() {
        let text = r#"
            [tools.read_doc]
            description = "Reads a document"
            command = ["/usr/local/bin/read-doc", "--plain"]
            constraints = [{ argument = "path", path_prefixes = ["/srv/docs"], max_length = 200 }]
            [tools.read_doc.parameters]
            type = "object"
            required = ["path"]
            [tools.read_doc.parameters.properties.path]
            type = "string"
        "#;
        #[derive(Deserialize)]
        struct File {
            tools: BTreeMap<String, ToolConfig>,
        }
        let file: File = toml::from_str(text).expect("toml");
        let config = &file.tools["read_doc"];
        assert_eq!(config.risk, Risk::High);
        assert_eq!(config.timeout_secs, 30);
        assert_eq!(config.parameters["properties"]["path"]["type"], "string");
        assert_eq!(config.constraints[0].max_length, Some(200));
        let registry = ToolRegistry::from_config(&file.tools).expect("registry");
        assert_eq!(
            registry.declarations(),
            [ToolDeclaration {
                name: "read_doc".into(),
                description: "Reads a document".into(),
                parameters: config.parameters.clone(),
            }]
        );
        assert!(toml::from_str::<File>(
            "[tools.x]\ndescription = \"d\"\ncommand = [\"a\"]\nparameters = {}\nshell = true"
        )
        .is_err());
        let settings: ToolSettings = toml::from_str("max_rounds = 3").expect("settings");
        assert_eq!(settings.max_rounds, 3);
        assert_eq!(settings.output_limit_bytes, 65536);
    }

    #[test]
    fn rejects_bad_configs() {
        let mut tools = BTreeMap::new();
        tools.insert("bad name".to_string(), tool(Risk::Low, &["x"]));
        assert!(matches!(
            ToolRegistry::from_config(&tools),
            Err(ToolError::BadName(_))
        ));
        let mut tools = BTreeMap::new();
        tools.insert("x".repeat(65), tool(Risk::Low, &["x"]));
        assert!(matches!(
            ToolRegistry::from_config(&tools),
            Err(ToolError::BadName(_))
        ));
        let mut tools = BTreeMap::new();
        tools.insert("t".to_string(), tool(Risk::Low, &[]));
        assert!(matches!(
            ToolRegistry::from_config(&tools),
            Err(ToolError::EmptyCommand(_))
        ));
        let mut bad = tool(Risk::Low, &["x"]);
        bad.parameters = json!({"type": "object", "properties": {"a": {"type": 5}}});
        let mut tools = BTreeMap::new();
        tools.insert("t".to_string(), bad);
        assert!(matches!(
            ToolRegistry::from_config(&tools),
            Err(ToolError::BadSchema { .. })
        ));
        let mut not_object = tool(Risk::Low, &["x"]);
        not_object.parameters = json!({"type": "string"});
        let mut tools = BTreeMap::new();
        tools.insert("t".to_string(), not_object);
        assert!(matches!(
            ToolRegistry::from_config(&tools),
            Err(ToolError::BadSchema { .. })
        ));
        let mut relative = tool(Risk::Low, &["x"]);
        relative.constraints.push(Constraint {
            argument: "path".into(),
            path_prefixes: vec!["docs".into()],
            max_length: None,
        });
        let mut tools = BTreeMap::new();
        tools.insert("t".to_string(), relative);
        assert!(matches!(
            ToolRegistry::from_config(&tools),
            Err(ToolError::BadConstraint { .. })
        ));
        assert!(is_valid_tool_name("get-weather_2"));
        assert!(!is_valid_tool_name(""));
        assert!(!is_valid_tool_name("dür"));
    }

    #[test]
    fn each_refusal_kind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = tool(Risk::Low, &["cat"]);
        config.constraints.push(Constraint {
            argument: "path".into(),
            path_prefixes: vec![dir.path().to_path_buf()],
            max_length: None,
        });
        let registry = registry(config);

        let refusal = registry.check(&call("rm_rf", "{}")).expect_err("unknown");
        assert_eq!(refusal.kind, RefusalKind::UnknownTool);
        assert!(refusal.reason.contains("read_doc"), "{}", refusal.reason);

        let refusal = registry
            .check(&call("read_doc", "{not json"))
            .expect_err("json");
        assert_eq!(refusal.kind, RefusalKind::InvalidArguments);
        let refusal = registry
            .check(&call("read_doc", "[1,2]"))
            .expect_err("array");
        assert_eq!(refusal.kind, RefusalKind::InvalidArguments);
        assert!(refusal.reason.contains("object"));
        let refusal = registry
            .check(&call("read_doc", r#"{"lines": 0}"#))
            .expect_err("schema");
        assert_eq!(refusal.kind, RefusalKind::InvalidArguments);
        assert!(refusal.reason.contains("/lines: "), "{}", refusal.reason);
        assert!(refusal.reason.contains("path"), "{}", refusal.reason);
        let refusal = registry.check(&call("read_doc", "")).expect_err("empty");
        assert_eq!(refusal.kind, RefusalKind::InvalidArguments);

        let refusal = registry
            .check(&call("read_doc", r#"{"path": "/etc/passwd"}"#))
            .expect_err("constraint");
        assert_eq!(refusal.kind, RefusalKind::Constraint);
        let escape = format!(r#"{{"path": "{}/../etc"}}"#, dir.path().display());
        let refusal = registry
            .check(&call("read_doc", &escape))
            .expect_err("dotdot");
        assert_eq!(refusal.kind, RefusalKind::Constraint);

        let ok = format!(
            r#"{{"path": "{}/a.txt", "lines": 3}}"#,
            dir.path().display()
        );
        let checked = registry.check(&call("read_doc", &ok)).expect("ok");
        assert_eq!(checked.call_id, "call_1");
        assert_eq!(checked.arguments["lines"], 3);

        let chain = Refusal::chain_limit(8);
        assert_eq!(chain.kind, RefusalKind::ChainLimit);
        let result = chain.tool_result("call_9");
        assert!(result.is_error && result.call_id == "call_9");
    }

    #[test]
    fn approval_paths() {
        let registry = registry(tool(Risk::High, &["cat"]));
        let checked = registry
            .check(&call("read_doc", r#"{"path": "/srv/x\u001b[2J"}"#))
            .expect("ok");
        let none: &[String] = &[];

        assert_eq!(
            registry.decide(&checked, &["read_doc".to_string()], None),
            Decision::ApprovedByFlag
        );
        assert_eq!(
            registry.decide(&checked, &["other".to_string()], None),
            Decision::RefusedNoTerminal
        );

        let mut prompt = ScriptedPrompt {
            answers: vec!["y", "n", "", "yes please"],
            shown: Vec::new(),
        };
        assert_eq!(
            registry.decide(&checked, none, Some(&mut prompt)),
            Decision::ApprovedByPerson
        );
        assert_eq!(
            registry.decide(&checked, none, Some(&mut prompt)),
            Decision::DeniedByPerson
        );
        assert_eq!(
            registry.decide(&checked, none, Some(&mut prompt)),
            Decision::DeniedByPerson
        );
        assert_eq!(
            registry.decide(&checked, none, Some(&mut prompt)),
            Decision::DeniedByPerson
        );
        // The person saw the tool and the exact arguments, escapes visible.
        let shown = &prompt.shown[0];
        assert!(shown.contains("`read_doc`"), "{shown}");
        assert!(shown.contains(r#""path": "/srv/x\u001b[2J""#), "{shown}");
        assert!(!shown.contains('\u{1b}'));
        assert!(shown.ends_with("[y/N] "));
        // Flag approval does not ask.
        let asked = prompt.shown.len();
        registry.decide(&checked, &["read_doc".to_string()], Some(&mut prompt));
        assert_eq!(prompt.shown.len(), asked);

        assert!(Decision::DeniedByPerson.refusal_result(&checked).is_some());
        assert!(Decision::ApprovedByPerson
            .refusal_result(&checked)
            .is_none());
        assert!(!Decision::RefusedNoTerminal.may_run());

        let low = registry_low();
        let checked = low
            .check(&call("read_doc", r#"{"path": "/a"}"#))
            .expect("ok");
        assert_eq!(low.decide(&checked, none, None), Decision::Allowed);
    }

    fn registry_low() -> ToolRegistry {
        registry(tool(Risk::Low, &["cat"]))
    }

    #[cfg(unix)]
    #[test]
    fn runs_the_tool_with_the_arguments_on_stdin() {
        let registry = registry(tool(Risk::Low, &["/bin/sh", "-c", "cat; echo"])).with_settings(
            ToolSettings {
                max_rounds: 8,
                output_limit_bytes: 1024,
            },
        );
        let checked = registry
            .check(&call("read_doc", r#"{ "path" : "/a; rm -rf /" }"#))
            .expect("ok");
        let output = registry.run(&checked);
        assert_eq!(output.exit_code, Some(0));
        assert_eq!(output.content, "{\"path\":\"/a; rm -rf /\"}\n");
    }
}
