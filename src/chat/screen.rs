//! The first step of a turn: the message, the system prompt and any
//! retrieved chunks are judged by the guard ([`crate::guard::judge`]), each
//! under the policy of its origin, before anything leaves.

use crate::exit::{ExitKind, Failure};
use crate::guard::{fence, judge, Action, Finding, Origin, Verdict};
use crate::rag::retrieve::QueryHit;

use super::{Engine, NoticeLevel};

/// The user's input after screening.
pub(super) struct ScreenedInput {
    /// What the user wrote (secrets redacted, if asked): what is stored.
    pub(super) message: String,
    /// What is sent: fenced if flagged, with retrieved chunks if any.
    pub(super) sent: String,
    /// Whether the message was flagged and sent fenced.
    pub(super) fenced: bool,
}

/// The verdicts on the texts of one request, gathered so that the person
/// hears about all of them at once.
#[derive(Default)]
struct Screening {
    secret_places: Vec<String>,
    redacted: usize,
    blocked_injections: Vec<String>,
    notices: Vec<(NoticeLevel, String)>,
}

impl Screening {
    /// Notes the verdict on the text at `place` (whose first line is
    /// `first_line` of the file it came from).
    fn add(&mut self, place: &str, first_line: i64, verdict: &Verdict) {
        for m in &verdict.secrets {
            self.secret_places.push(format!(
                "{} in {place} at line {}, column {}",
                m.kind,
                m.line as i64 + first_line - 1,
                m.column
            ));
        }
        if verdict.redacted() {
            self.redacted += verdict.secrets.len();
        }
        let lines = describe(&verdict.findings, place);
        match verdict.action {
            Action::Send | Action::BlockSecret => {}
            Action::BlockInjection => self.blocked_injections.extend(lines),
            Action::Warn => self.notices.extend(lines.into_iter().map(|line| {
                (
                    NoticeLevel::Warning,
                    format!("possible prompt injection: {line}"),
                )
            })),
            Action::Fence => self.notices.extend(lines.into_iter().map(|line| {
                (
                    NoticeLevel::Note,
                    format!("possible prompt injection, sent fenced as data: {line}"),
                )
            })),
        }
    }

    /// Tells the person what was found, and fails (exit 5) when anything
    /// is blocked: credentials first, as nothing of them may leave.
    fn finish(self, engine: &mut Engine) -> anyhow::Result<()> {
        if self.redacted == 0 && !self.secret_places.is_empty() {
            return Err(Failure::new(
                ExitKind::InputRejected,
                format!(
                    "refusing to send what looks like a credential: {}",
                    self.secret_places.join("; ")
                ),
            )
            .hint("remove it, or pass --redact to send it as [REDACTED:kind]; nothing was sent or saved")
            .into());
        }
        if self.redacted > 0 {
            engine.info(&format!(
                "redacted {} secret(s): {}",
                self.redacted,
                self.secret_places.join("; ")
            ));
        }
        for (level, notice) in self.notices {
            engine.sink.notice(level, &notice);
        }
        if self.blocked_injections.is_empty() {
            return Ok(());
        }
        Err(Failure::new(
            ExitKind::InputRejected,
            format!(
                "refusing to send text that looks like a prompt injection:\n  {}",
                self.blocked_injections.join("\n  ")
            ),
        )
        .hint(
            "rephrase, remove the flagged text, or set [guard] user_input / retrieved = \"warn\" \
             or \"fence\" in config.toml; nothing was sent or saved",
        )
        .into())
    }
}

/// One line per finding: where, which rule, why, and what matched.
fn describe(findings: &[Finding], place: &str) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            let via = f
                .via
                .map(|v| format!(" (hidden as {v})"))
                .unwrap_or_default();
            format!(
                "{place}:{}:{}: {}{via}: {} ({})",
                f.line, f.column, f.rule, f.why, f.excerpt
            )
        })
        .collect()
}

impl Engine {
    /// Screens the message and the system prompt (before retrieval's
    /// embedding call sends the message anywhere), then the retrieved
    /// chunks, and builds what is sent: a flagged message fenced under the
    /// `fence` policy, chunks always fenced as data.
    pub(super) fn screen_input(&mut self, message: &str) -> anyhow::Result<ScreenedInput> {
        let guard = self.config.guard;
        let redact = self.plan.redact;
        let mut screening = Screening::default();
        let asked = judge(message, guard.policy_for(Origin::UserInput, redact));
        screening.add("the message", 1, &asked);
        let system = self
            .system
            .as_deref()
            .map(|s| judge(s, guard.policy_for(Origin::SystemPrompt, redact)));
        if let Some(verdict) = &system {
            screening.add("the system prompt", 1, verdict);
        }
        screening.finish(self)?;
        if let Some(verdict) = system {
            self.system = Some(verdict.text);
        }
        let fenced = asked.action == Action::Fence;
        let message = asked.text;
        let question = if fenced {
            fence(&message, "user input")
        } else {
            message.clone()
        };
        let sent = match self.retrieve_for(&message)? {
            Some(hits) => {
                crate::rag::retrieve::fenced_prompt(&self.screen_chunks(hits)?, &question)
            }
            None => question,
        };
        Ok(ScreenedInput {
            message,
            sent,
            fenced,
        })
    }

    /// Where `--rag` indexes are: the team store when one is set, else
    /// this machine.
    fn rag_location(&self) -> anyhow::Result<crate::rag::store::Location> {
        crate::rag::store::Location::resolve(
            &self.paths.data_dir,
            &self.config.store,
            &crate::config::ProcessEnvironment,
            crate::rag::store::LocationChoice::Configured,
        )
        .map_err(|err| crate::store::failure(err).into())
    }

    /// The chunks for this request: retrieved now with `--rag`, or handed
    /// over by `rag query --answer`. They go with this request only; the
    /// conversation keeps what the user wrote.
    fn retrieve_for(&mut self, message: &str) -> anyhow::Result<Option<Vec<QueryHit>>> {
        Ok(match &self.plan.rag_index {
            Some(index) => Some(crate::rag::retrieve::retrieve(
                &self.rag_location()?,
                &self.paths,
                index,
                message,
                crate::rag::search::Mode::Hybrid,
                4,
                crate::rag::retrieve::Caller {
                    command: "chat",
                    telemetry: &self.telemetry,
                },
            )?),
            None => self.retrieved.take(),
        })
    }

    /// Judges each retrieved chunk under the `retrieved` policy; returns
    /// them with credentials redacted when that is the policy.
    fn screen_chunks(&mut self, mut hits: Vec<QueryHit>) -> anyhow::Result<Vec<QueryHit>> {
        let policy = self
            .config
            .guard
            .policy_for(Origin::Retrieved, self.plan.redact);
        let mut screening = Screening::default();
        for hit in &mut hits {
            let verdict = judge(&hit.text, policy);
            let place = format!("{} (retrieved chunk {})", hit.path, hit.rank);
            screening.add(&place, hit.start_line, &verdict);
            hit.text = verdict.text;
        }
        screening.finish(self)?;
        Ok(hits)
    }
}
