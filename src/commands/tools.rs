//! `confab tools`: what tools the model would be offered (declared ones
//! and each MCP server's, marked offered or not and why), and running one
//! call by hand through the same checks, approval and audit as in a chat.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use serde::Serialize;

use crate::app::Ctx;
use crate::exit::{ExitKind, Failure};
use crate::tools::broker::{ServerReport, ToolBroker};
use crate::tools::{AuditDecision, ListedTool, TerminalPrompt, ToolCallRequest};

/// `confab tools` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show the declared tools and every MCP server's tools, marking which the model is offered
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run one tool call by hand, checked, approved and audited as in a chat (for debugging a server)
    Call {
        /// The tool, as the model sees it (`SERVER__TOOL` for an MCP server's)
        name: String,
        /// The arguments, a JSON object
        #[arg(long = "args", value_name = "JSON", default_value = "{}")]
        arguments: String,
        /// Run a high-risk tool without asking
        #[arg(long)]
        approve: bool,
    },
}

/// A declared tool, for `tools list`.
#[derive(Debug, Serialize)]
struct DeclaredTool {
    name: String,
    description: String,
    risk: crate::tools::Risk,
}

/// A server, for `tools list --json`.
#[derive(Debug, Serialize)]
struct ServerView {
    server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    tools: Vec<ListedTool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_but_not_listed: Vec<String>,
}

/// Runs `confab tools`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::load("tools")?;
    let code = match command {
        Command::List { json } => list(&ctx, json),
        Command::Call {
            name,
            arguments,
            approve,
        } => call(&ctx, &name, &arguments, approve),
    };
    ctx.telemetry.finish();
    code
}

/// The broker for the config, high-risk calls asked about on the terminal
/// unless `approved` names them.
fn open_broker(ctx: &Ctx, approved: &[String]) -> anyhow::Result<ToolBroker> {
    let attended = std::io::stdin().is_terminal() || std::io::stderr().is_terminal();
    let prompt = attended.then(TerminalPrompt::open).flatten();
    crate::tools::broker::open(&ctx.config, &ctx.paths.data_dir, approved, prompt)
}

fn list(ctx: &Ctx, json: bool) -> anyhow::Result<ExitCode> {
    let declared: Vec<DeclaredTool> = ctx
        .config
        .tools
        .iter()
        .map(|(name, tool)| DeclaredTool {
            name: name.clone(),
            description: tool.description.clone(),
            risk: tool.risk,
        })
        .collect();
    let mut broker = open_broker(ctx, &[])?;
    let servers: Vec<ServerView> = broker.start_servers().into_iter().map(view).collect();
    let failed = servers.iter().any(|s| s.error.is_some());
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"tools": declared, "mcp_servers": servers}),
        )?;
        writeln!(out)?;
    } else {
        render_list(&mut out, ctx, &declared, &servers)?;
    }
    Ok(if failed {
        ExitCode::from(ExitKind::Other.code())
    } else {
        ExitCode::SUCCESS
    })
}

fn view(report: ServerReport) -> ServerView {
    let (tools, error) = match report.tools {
        Ok(tools) => (tools, None),
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    ServerView {
        server: report.server,
        error,
        tools,
        allowed_but_not_listed: report.unknown_allowed,
    }
}

fn render_list(
    out: &mut impl Write,
    ctx: &Ctx,
    declared: &[DeclaredTool],
    servers: &[ServerView],
) -> std::io::Result<()> {
    if declared.is_empty() && servers.is_empty() {
        writeln!(
            out,
            "no tools: declare [tools.NAME] or [mcp_servers.NAME] in config.toml"
        )?;
        return Ok(());
    }
    if !declared.is_empty() {
        writeln!(out, "declared tools ([tools.NAME]):")?;
        for tool in declared {
            let risk = serde_json::to_value(tool.risk).unwrap_or_default();
            writeln!(
                out,
                "  {:<28} {:<5} {}",
                tool.name,
                risk.as_str().unwrap_or(""),
                first_line(&tool.description)
            )?;
        }
    }
    for server in servers {
        let config = ctx.config.mcp_servers.get(&server.server);
        let how = config.map_or(String::new(), |c| match &c.url {
            Some(url) => format!("http {}", crate::safe_text::redact_url(url)),
            None => format!("stdio {}", c.command.join(" ")),
        });
        let risk = config.map_or("high", |c| match c.risk {
            crate::tools::Risk::Low => "low",
            crate::tools::Risk::High => "high",
        });
        writeln!(out, "MCP server {} ({how}; risk {risk}):", server.server)?;
        if let Some(error) = &server.error {
            writeln!(out, "  error: {error}")?;
        }
        let width = server
            .tools
            .iter()
            .map(|t| t.qualified_name.len())
            .max()
            .unwrap_or(0);
        for tool in &server.tools {
            let name = &tool.qualified_name;
            match &tool.not_offered_because {
                None => writeln!(
                    out,
                    "  {name:<width$}  offered      {}",
                    first_line(&tool.description)
                )?,
                Some(why) => writeln!(out, "  {name:<width$}  not offered: {why}")?,
            }
        }
        for name in &server.allowed_but_not_listed {
            writeln!(
                out,
                "  warning: `allow` names `{name}`, which the server does not list"
            )?;
        }
    }
    Ok(())
}

/// The first line of `text`, at most 80 characters, control characters
/// shown escaped.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    crate::safe_text::printable(&line.chars().take(80).collect::<String>())
}

fn call(ctx: &Ctx, name: &str, arguments: &str, approve: bool) -> anyhow::Result<ExitCode> {
    let approved = if approve {
        vec![name.to_string()]
    } else {
        Vec::new()
    };
    let mut broker = open_broker(ctx, &approved)?;
    if name.contains("__") {
        broker.start_for_chat().map_err(|err| {
            Failure::new(ExitKind::Other, err.to_string())
                .hint("`confab tools list` shows every server and what went wrong")
        })?;
    }
    let request = ToolCallRequest {
        id: Some(format!("manual_{}", crate::usage::new_call_id())),
        name: name.to_string(),
        arguments: arguments.to_string(),
    };
    let (messages, notes) = broker.answer(None, std::slice::from_ref(&request));
    let note = notes.into_iter().next();
    let result = messages.into_iter().find_map(|m| m.tool_result);
    let (Some(note), Some(result)) = (note, result) else {
        return Err(anyhow::anyhow!("the call gave no result"));
    };
    ctx.telemetry.tool_call(&crate::telemetry::ToolSpan {
        name,
        call_id: Some(&note.call_id),
        decision: note.decision.as_str(),
        started: note.started,
        duration: note.duration,
        error: result.is_error.then_some("error"),
        conversation_id: None,
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", result.content.trim_end_matches('\n'))?;
    for image in &result.images {
        writeln!(
            out,
            "[image {}, {} base64 bytes]",
            image.media_type,
            image.data.len()
        )?;
    }
    eprintln!("confab: tool `{name}`: {}", note.decision.as_str());
    Ok(match note.decision {
        AuditDecision::Allowed
        | AuditDecision::ApprovedByFlag
        | AuditDecision::ApprovedByPerson
            if !result.is_error =>
        {
            ExitCode::SUCCESS
        }
        AuditDecision::Allowed
        | AuditDecision::ApprovedByFlag
        | AuditDecision::ApprovedByPerson => ExitCode::from(ExitKind::Other.code()),
        _ => ExitCode::from(ExitKind::InputRejected.code()),
    })
}
