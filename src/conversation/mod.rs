//! Conversation files, `conversations/<id>.jsonl` in the data directory: a
//! header line (id, created, title, model, system prompt), then one line per
//! message, marks for interrupted replies, and compaction records that say
//! which messages a summary stands for. Append-only; see [`crate::jsonl`]
//! for the crash and concurrency rules.

pub mod compaction;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::jsonl::{self, JsonlError};
use compaction::Summary;

/// The current record format version.
pub const RECORD_VERSION: u32 = 1;

pub use crate::llm::Role;

/// One line of a conversation file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConversationRecord {
    /// The first line.
    Header {
        /// Format version.
        v: u32,
        /// The conversation id (also the file name).
        id: String,
        /// When it was created, RFC 3339.
        created: String,
        /// A title for listings.
        title: String,
        /// The model it was started with.
        model: String,
        /// The system prompt, if any.
        #[serde(default)]
        system: Option<String>,
        /// The conversation this one replays on another model, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replay_of: Option<String>,
        /// This conversation's compaction threshold (`--compact-at`), if set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compact_at: Option<f32>,
    },
    /// A message.
    Message {
        /// Format version.
        v: u32,
        /// When it was written, RFC 3339.
        ts: String,
        /// Who wrote it.
        role: Role,
        /// The text.
        content: String,
        /// The model that wrote an assistant message.
        #[serde(default)]
        model: Option<String>,
        /// The usage-log call id of the call that produced it.
        #[serde(default)]
        call_id: Option<String>,
        /// True when the reply stopped part-way and only what arrived is kept.
        #[serde(default)]
        interrupted: bool,
        /// True when screening flagged this user message and it is sent
        /// fenced as data (`[guard] user_input = "fence"`), on every turn.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        fenced: bool,
        /// The preset a user message was made from (`chat -p`), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preset: Option<String>,
        /// Images and PDFs sent with a user message, by reference (their
        /// bytes are in the attachment store).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<crate::llm::Attachment>,
    },
    /// A round of tool calls the model asked for, written before they are
    /// answered. Its results follow as [`ConversationRecord::ToolResult`]s.
    ToolCalls {
        /// Format version.
        v: u32,
        /// When it was written, RFC 3339.
        ts: String,
        /// The text the model wrote before the calls (often empty).
        #[serde(default)]
        content: String,
        /// The calls, as the model asked for them.
        calls: Vec<crate::llm::ToolCallRequest>,
        /// The model that asked for them.
        #[serde(default)]
        model: Option<String>,
        /// The usage-log call id of the call that asked for them.
        #[serde(default)]
        call_id: Option<String>,
        /// The reasoning that came with the calls, passed back with them
        /// if the conversation is continued before the round is answered.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasoning: Vec<crate::llm::ReasoningBlock>,
    },
    /// The result of one tool call, written once it was answered (run or
    /// refused).
    ToolResult {
        /// Format version.
        v: u32,
        /// When it was written, RFC 3339.
        ts: String,
        /// The name of the tool that was called.
        tool: String,
        /// The result as the model was told it.
        result: crate::llm::ToolResult,
    },
    /// Settings changed for the rest of the conversation.
    Settings {
        /// Format version.
        v: u32,
        /// When they were changed, RFC 3339.
        ts: String,
        /// The new compaction threshold (`--compact-at`).
        #[serde(default)]
        compact_at: Option<f32>,
    },
    /// A summary that stands for the first `covers` messages in requests
    /// from now on; the messages themselves stay in the file.
    Compaction {
        /// Format version.
        v: u32,
        /// When it was written, RFC 3339.
        ts: String,
        /// How many messages, counted from the first, the summary covers.
        covers: usize,
        /// The summary (of the previous summary plus the newly covered messages).
        summary: String,
        /// The model that wrote it.
        #[serde(default)]
        model: Option<String>,
        /// The usage-log call id of the summary call.
        #[serde(default)]
        call_id: Option<String>,
    },
}

/// Errors of conversation files.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// Reading or writing failed.
    #[error(transparent)]
    Store(#[from] JsonlError),
    /// No conversation has this id.
    #[error("no conversation `{0}`")]
    NotFound(String),
    /// The id has characters that cannot be in a file name.
    #[error("`{0}` is not a conversation id")]
    BadId(String),
    /// The file has no header line.
    #[error("{0} has no header line")]
    NoHeader(PathBuf),
}

/// The conversations of one data directory.
#[derive(Clone, Debug)]
pub struct ConversationStore {
    dir: PathBuf,
}

/// An open conversation file: the one way records are appended to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationHandle {
    id: String,
    path: PathBuf,
}

impl ConversationHandle {
    /// The conversation's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends one record.
    pub fn append(&self, record: &ConversationRecord) -> Result<(), ConversationError> {
        Ok(jsonl::append(&self.path, record)?)
    }

    /// The file's length in bytes, to tell whether someone appended.
    pub fn file_length(&self) -> Result<u64, ConversationError> {
        std::fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|source| {
                ConversationError::Store(JsonlError::Io {
                    action: "reading",
                    path: self.path.clone(),
                    source,
                })
            })
    }

    /// Takes the conversation's turn lock (see [`FileLock::acquire`]).
    pub fn lock_turn(
        &self,
        waiting: impl FnOnce(),
        give_up: impl Fn() -> bool,
    ) -> Result<Option<crate::private_files::FileLock>, ConversationError> {
        let path = lock_path(&self.path);
        crate::private_files::FileLock::acquire(&path, waiting, give_up).map_err(|source| {
            ConversationError::Store(JsonlError::Io {
                action: "locking",
                path,
                source,
            })
        })
    }
}

/// Where the turn lock of the conversation file at `path` is: beside the
/// conversations directory, in `locks/`, so the directory holds only
/// conversations.
fn lock_path(path: &Path) -> PathBuf {
    let name = path.with_extension("lock");
    let name = name.file_name().unwrap_or_default();
    match path.parent().and_then(Path::parent) {
        Some(data_dir) => data_dir.join("locks").join(name),
        None => PathBuf::from(name),
    }
}

/// A conversation as read from its file.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    /// Every record in order, the header first.
    pub records: Vec<ConversationRecord>,
    /// Warnings about skipped lines.
    pub warnings: Vec<String>,
}

impl ConversationStore {
    /// The store in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> ConversationStore {
        ConversationStore {
            dir: data_dir.join("conversations"),
        }
    }

    /// The file of conversation `id`.
    pub fn path(&self, id: &str) -> Result<PathBuf, ConversationError> {
        let valid = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(ConversationError::BadId(id.to_string()));
        }
        Ok(self.dir.join(format!("{id}.jsonl")))
    }

    /// Starts a new conversation: a fresh id whose file is created (never
    /// an existing one, never through a link) with `header(id)` as its
    /// first line. Nothing is left behind when that write fails.
    pub fn create(
        &self,
        header: impl Fn(&str) -> ConversationRecord,
    ) -> Result<ConversationHandle, ConversationError> {
        loop {
            let id = new_conversation_id();
            let path = self.path(&id)?;
            match jsonl::create(&path, &header(&id)) {
                Ok(()) => return Ok(ConversationHandle { id, path }),
                Err(JsonlError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// A handle on the existing conversation `id`, to append to it.
    pub fn open(&self, id: &str) -> Result<ConversationHandle, ConversationError> {
        let path = self.path(id)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(ConversationError::NotFound(id.to_string()));
        }
        crate::private_files::refuse_link(&path).map_err(|source| JsonlError::Io {
            action: "opening",
            path: path.clone(),
            source,
        })?;
        Ok(ConversationHandle {
            id: id.to_string(),
            path,
        })
    }

    /// Reads conversation `id` (never through a link); a file without a
    /// header line is an error.
    pub fn read(&self, id: &str) -> Result<Conversation, ConversationError> {
        let conversation = self.read_what_is_there(id)?;
        if !matches!(
            conversation.records.first(),
            Some(ConversationRecord::Header { .. })
        ) {
            return Err(ConversationError::NoHeader(self.path(id)?));
        }
        Ok(conversation)
    }
}

/// What [`ConversationStore::latest_usable`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatestUsable {
    /// The newest conversation that can be continued, if any.
    pub id: Option<String>,
    /// Newer files that could not be, newest first.
    pub passed_over: Vec<BrokenConversation>,
}

/// A conversation file that cannot be continued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenConversation {
    /// Its id.
    pub id: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A line of `confab history list`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversationSummary {
    /// The id.
    pub id: String,
    /// When it was created.
    pub created: String,
    /// Its title.
    pub title: String,
    /// The model it was started with.
    pub model: String,
    /// How many messages it holds.
    pub messages: usize,
    /// Why the file cannot be continued, when it can't.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl ConversationStore {
    /// Every conversation, newest first. A file that cannot be used (empty,
    /// no header, unreadable, a link) is listed too, with its problem, so
    /// that it can be shown and deleted.
    pub fn list(&self) -> Result<Vec<ConversationSummary>, ConversationError> {
        let mut ids = self.ids()?;
        ids.reverse();
        Ok(ids.iter().map(|id| self.summary(id)).collect())
    }

    /// The line of `history list` for `id`.
    fn summary(&self, id: &str) -> ConversationSummary {
        let broken = |problem: String| ConversationSummary {
            id: id.to_string(),
            created: String::new(),
            title: String::new(),
            model: String::new(),
            messages: 0,
            problem: Some(problem),
        };
        match self.read(id) {
            Ok(conversation) => match conversation.records.first() {
                Some(ConversationRecord::Header {
                    created,
                    title,
                    model,
                    ..
                }) => ConversationSummary {
                    id: id.to_string(),
                    created: created.clone(),
                    title: title.clone(),
                    model: model.clone(),
                    messages: conversation.records.len() - 1,
                    problem: None,
                },
                _ => broken("no header line".into()),
            },
            Err(err) => broken(self.problem_of(id, &err)),
        }
    }

    /// What is wrong with conversation `id`, in words.
    fn problem_of(&self, id: &str, err: &ConversationError) -> String {
        let empty = self
            .path(id)
            .ok()
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_file() && m.len() == 0);
        if empty {
            "the file is empty (a first write that failed)".to_string()
        } else {
            err.to_string()
        }
    }

    /// The newest conversation that can be continued, and the newer ones
    /// passed over because their files are broken.
    pub fn latest_usable(&self) -> Result<LatestUsable, ConversationError> {
        let mut passed_over = Vec::new();
        for id in self.ids()?.into_iter().rev() {
            match self.summary(&id).problem {
                None => {
                    return Ok(LatestUsable {
                        id: Some(id),
                        passed_over,
                    })
                }
                Some(problem) => passed_over.push(BrokenConversation { id, problem }),
            }
        }
        Ok(LatestUsable {
            id: None,
            passed_over,
        })
    }

    /// Every record of `id` that can be read, header or not, for `history
    /// show` of a broken file.
    pub fn read_what_is_there(&self, id: &str) -> Result<Conversation, ConversationError> {
        let path = self.path(id)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(ConversationError::NotFound(id.to_string()));
        }
        crate::private_files::refuse_link(&path).map_err(|source| JsonlError::Io {
            action: "reading",
            path: path.clone(),
            source,
        })?;
        let outcome = jsonl::read::<ConversationRecord>(&path)?;
        Ok(Conversation {
            records: outcome.records.into_iter().map(|(_, r)| r).collect(),
            warnings: outcome.warnings,
        })
    }

    /// The ids of every conversation, oldest first (ids sort by creation time).
    pub fn ids(&self) -> Result<Vec<String>, ConversationError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ConversationError::Store(JsonlError::Io {
                    action: "listing",
                    path: self.dir.clone(),
                    source,
                }))
            }
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".jsonl").map(str::to_string)
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Deletes conversation `id`.
    pub fn delete(&self, id: &str) -> Result<(), ConversationError> {
        let path = self.path(id)?;
        let _ = std::fs::remove_file(lock_path(&path));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Err(ConversationError::NotFound(id.to_string()))
            }
            Err(source) => Err(ConversationError::Store(JsonlError::Io {
                action: "deleting",
                path,
                source,
            })),
        }
    }
}

/// One exchange: a user message, the tool rounds of the reply, and the
/// reply, if one was recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// What the user sent.
    pub user: String,
    /// The preset the message was made from, if any.
    pub preset: Option<String>,
    /// The images and PDFs sent with it, by reference.
    pub attachments: Vec<crate::llm::Attachment>,
    /// The rounds of tool calls the model made before its reply, in order.
    pub tool_rounds: Vec<ToolRound>,
    /// The reply, if any.
    pub reply: Option<Reply>,
}

/// An assistant reply as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The whole text: what the model wrote in every tool round and in the
    /// last call, joined by blank lines.
    pub content: String,
    /// The text of the last call alone (the rounds' texts are in
    /// [`Turn::tool_rounds`]).
    pub last_content: String,
    /// The model that wrote it.
    pub model: Option<String>,
    /// The usage-log call that produced it.
    pub call_id: Option<String>,
    /// Whether it stopped part-way.
    pub interrupted: bool,
}

/// One round of tool calls within a turn, as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolRound {
    /// The text the model wrote before the calls.
    pub content: String,
    /// The calls, each with its result when one was recorded.
    pub calls: Vec<AnsweredCall>,
    /// The model that asked for them.
    pub model: Option<String>,
    /// The usage-log call that asked for them.
    pub call_id: Option<String>,
}

/// A tool call and the result it got, if one was recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnsweredCall {
    /// The call as the model asked for it.
    pub call: crate::llm::ToolCallRequest,
    /// Its result; `None` when the process stopped before one was written.
    pub result: Option<crate::llm::ToolResult>,
}

impl Turn {
    /// The usage-log calls of the turn, oldest first: each tool round's,
    /// then the reply's.
    pub fn call_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        let rounds = self.tool_rounds.iter().map(|r| r.call_id.as_deref());
        for id in rounds
            .chain(std::iter::once(
                self.reply.as_ref().and_then(|r| r.call_id.as_deref()),
            ))
            .flatten()
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The whole reply text once the turn's records are read: the rounds'
    /// texts and the last call's, joined. A turn whose rounds wrote text
    /// but that has no final message (the tool calls were stopped) gets a
    /// reply of that text.
    fn finish(mut self) -> Turn {
        let last = self.reply.as_ref().map(|r| r.last_content.as_str());
        let texts: Vec<&str> = self
            .tool_rounds
            .iter()
            .map(|r| r.content.as_str())
            .chain(last)
            .filter(|t| !t.is_empty())
            .collect();
        let content = texts.join("\n\n");
        match &mut self.reply {
            Some(reply) => reply.content = content,
            None if !content.is_empty() => {
                let round = self.tool_rounds.last();
                self.reply = Some(Reply {
                    content,
                    last_content: String::new(),
                    model: round.and_then(|r| r.model.clone()),
                    call_id: round.and_then(|r| r.call_id.clone()),
                    interrupted: false,
                });
            }
            None => {}
        }
        self
    }

    /// Files `result` under the call it answers, if this turn has that call
    /// waiting for one.
    fn answer(&mut self, result: &crate::llm::ToolResult) {
        let waiting = self
            .tool_rounds
            .iter_mut()
            .rev()
            .flat_map(|r| r.calls.iter_mut())
            .find(|c| c.result.is_none() && c.call.id.as_deref() == Some(&result.call_id));
        if let Some(call) = waiting {
            call.result = Some(result.clone());
        }
    }
}

/// The ids the calls of a round are answered under: the model's, else
/// `call_N` by position (as the tool broker names them).
fn answer_ids(calls: &[crate::llm::ToolCallRequest]) -> Vec<String> {
    calls
        .iter()
        .enumerate()
        .map(|(n, call)| call.id.clone().unwrap_or_else(|| format!("call_{n}")))
        .collect()
}

/// What a call whose result was never written is answered with when the
/// conversation is resent.
pub const MISSING_RESULT: &str = "no result was recorded for this call";

/// Builds the messages to resend from the records, so that every tool call
/// is answered right after it: results are matched to the calls waiting
/// for them, a result with no waiting call is dropped, and calls still
/// waiting when anything else comes get an error result.
#[derive(Default)]
struct Resend {
    messages: Vec<crate::llm::Message>,
    /// Ids of the last round's calls that have no result yet.
    waiting: Vec<String>,
}

impl Resend {
    fn calls(
        &mut self,
        content: &str,
        calls: &[crate::llm::ToolCallRequest],
        reasoning: &[crate::llm::ReasoningBlock],
    ) {
        self.close();
        if calls.is_empty() {
            self.text(Role::Assistant, content.to_string(), &[]);
            return;
        }
        let mut calls = calls.to_vec();
        let ids = answer_ids(&calls);
        for (call, id) in calls.iter_mut().zip(&ids) {
            call.id = Some(id.clone());
        }
        self.messages.push(crate::llm::Message {
            reasoning: reasoning.to_vec(),
            ..crate::llm::Message::assistant_tool_calls(content, calls)
        });
        self.waiting = ids;
    }

    fn result(&mut self, result: &crate::llm::ToolResult) {
        if let Some(at) = self.waiting.iter().position(|id| *id == result.call_id) {
            self.waiting.remove(at);
            self.messages
                .push(crate::llm::Message::tool_result(result.clone()));
        }
    }

    /// A text message; an empty assistant message (the last call of a turn
    /// with tool rounds wrote nothing) is not sent.
    fn text(&mut self, role: Role, content: String, attachments: &[crate::llm::Attachment]) {
        self.close();
        if role == Role::Assistant && content.is_empty() {
            return;
        }
        self.messages.push(crate::llm::Message {
            attachments: attachments.to_vec(),
            ..crate::llm::Message::new(role, content)
        });
    }

    /// Answers the calls still waiting with an error.
    fn close(&mut self) {
        for call_id in std::mem::take(&mut self.waiting) {
            self.messages.push(crate::llm::Message::tool_result(
                crate::llm::ToolResult::text(&call_id, MISSING_RESULT, true),
            ));
        }
    }

    fn finish(mut self) -> Vec<crate::llm::Message> {
        self.close();
        self.messages
    }
}

impl Conversation {
    /// The conversation as turns: each user message with the tool rounds
    /// and the assistant message that follow it (no reply when the call
    /// failed).
    pub fn turns(&self) -> Vec<Turn> {
        let mut turns: Vec<Turn> = Vec::new();
        for record in &self.records {
            let open = turns.last_mut().filter(|t| t.reply.is_none());
            match record {
                ConversationRecord::Message {
                    role: Role::User,
                    content,
                    preset,
                    attachments,
                    ..
                } => turns.push(Turn {
                    user: content.clone(),
                    preset: preset.clone(),
                    attachments: attachments.clone(),
                    tool_rounds: Vec::new(),
                    reply: None,
                }),
                ConversationRecord::Message {
                    role: Role::Assistant,
                    content,
                    model,
                    call_id,
                    interrupted,
                    ..
                } => {
                    if let Some(turn) = open {
                        turn.reply = Some(Reply {
                            content: content.clone(),
                            last_content: content.clone(),
                            model: model.clone(),
                            call_id: call_id.clone(),
                            interrupted: *interrupted,
                        });
                    }
                }
                ConversationRecord::ToolCalls {
                    content,
                    calls,
                    model,
                    call_id,
                    ..
                } => {
                    if let Some(turn) = open {
                        let ids = answer_ids(calls);
                        turn.tool_rounds.push(ToolRound {
                            content: content.clone(),
                            calls: calls
                                .iter()
                                .zip(ids)
                                .map(|(call, id)| AnsweredCall {
                                    call: crate::llm::ToolCallRequest {
                                        id: Some(id),
                                        ..call.clone()
                                    },
                                    result: None,
                                })
                                .collect(),
                            model: model.clone(),
                            call_id: call_id.clone(),
                        });
                    }
                }
                ConversationRecord::ToolResult { result, .. } => {
                    if let Some(turn) = open {
                        turn.answer(result);
                    }
                }
                _ => {}
            }
        }
        turns.into_iter().map(Turn::finish).collect()
    }

    /// The header's title, creation time and the conversation it replays.
    pub fn header_details(&self) -> (&str, &str, Option<&str>) {
        match self.records.first() {
            Some(ConversationRecord::Header {
                title,
                created,
                replay_of,
                ..
            }) => (title.as_str(), created.as_str(), replay_of.as_deref()),
            _ => ("", "", None),
        }
    }

    /// The header's system prompt and model.
    pub fn header(&self) -> (Option<&str>, &str) {
        match self.records.first() {
            Some(ConversationRecord::Header { system, model, .. }) => {
                (system.as_deref(), model.as_str())
            }
            _ => (None, ""),
        }
    }

    /// The messages to resend to a model, oldest first: the text messages
    /// (flagged user messages fenced) and the tool rounds, every call
    /// followed by its results (see [`MISSING_RESULT`]).
    pub fn messages(&self) -> Vec<crate::llm::Message> {
        let mut resend = Resend::default();
        for record in &self.records {
            match record {
                ConversationRecord::Message {
                    role,
                    content,
                    fenced,
                    attachments,
                    ..
                } => resend.text(
                    *role,
                    if *fenced {
                        crate::guard::fence(content, "user input")
                    } else {
                        content.clone()
                    },
                    attachments,
                ),
                ConversationRecord::ToolCalls {
                    content,
                    calls,
                    reasoning,
                    ..
                } => resend.calls(content, calls, reasoning),
                ConversationRecord::ToolResult { result, .. } => resend.result(result),
                _ => {}
            }
        }
        resend.finish()
    }

    /// The newest summary, if the conversation was compacted.
    pub fn latest_summary(&self) -> Option<Summary> {
        self.records.iter().rev().find_map(|record| match record {
            ConversationRecord::Compaction {
                covers, summary, ..
            } => Some(Summary {
                text: summary.clone(),
                covers: *covers,
            }),
            _ => None,
        })
    }

    /// The conversation's compaction threshold: the latest settings
    /// record's, else the header's, if either set one.
    pub fn compact_at(&self) -> Option<f32> {
        self.records.iter().rev().find_map(|record| match record {
            ConversationRecord::Settings { compact_at, .. } => Some(*compact_at),
            ConversationRecord::Header { compact_at, .. } => Some(*compact_at),
            _ => None,
        })?
    }
}

/// A new conversation id: the UTC time it was made, so ids sort by age,
/// then 64 bits from the operating system's random source, so nobody can
/// guess the next one (`20261127-101500-3fa2c41b09e7d655`).
pub fn new_conversation_id() -> String {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let mut random = [0u8; 8];
    // Without an OS random source, fall back to the seeded generator: the
    // file is still created exclusively, never through a link.
    if getrandom::fill(&mut random).is_err() {
        random = fastrand::u64(..).to_le_bytes();
    }
    format!(
        "{}-{:016x}",
        now.strftime("%Y%m%d-%H%M%S"),
        u64::from_le_bytes(random)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_a_conversation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConversationStore::in_data_dir(dir.path());
        let header = |id: &str| ConversationRecord::Header {
            v: RECORD_VERSION,
            id: id.to_string(),
            created: "2026-11-27T10:00:00Z".into(),
            title: "test".into(),
            model: "gpt-4o".into(),
            system: Some("be brief".into()),
            replay_of: None,
            compact_at: None,
        };
        let message = ConversationRecord::Message {
            v: RECORD_VERSION,
            ts: "2026-11-27T10:00:01Z".into(),
            role: Role::Assistant,
            content: "partial rep".into(),
            model: Some("gpt-4o".into()),
            call_id: None,
            interrupted: true,
            fenced: false,
            preset: None,
            attachments: Vec::new(),
        };
        let handle = store.create(header).expect("create");
        handle.append(&message).expect("append");
        let read = store.read(handle.id()).expect("read");
        assert_eq!(read.records, [header(handle.id()), message]);
        assert_eq!(store.open(handle.id()).expect("open"), handle);
        assert!(matches!(
            store.open("nope"),
            Err(ConversationError::NotFound(_))
        ));
        assert!(matches!(
            store.read("nope"),
            Err(ConversationError::NotFound(_))
        ));
        assert!(matches!(
            store.read("../etc/passwd"),
            Err(ConversationError::BadId(_))
        ));
    }

    fn conversation_of(lines: &str) -> Conversation {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConversationStore::in_data_dir(dir.path());
        std::fs::create_dir_all(dir.path().join("conversations")).expect("dir");
        std::fs::write(dir.path().join("conversations/c1.jsonl"), lines).expect("write");
        store.read("c1").expect("read")
    }

    const HEADER: &str = r#"{"type":"header","v":1,"id":"c1","created":"2026-11-27T10:00:00Z","title":"t","model":"openai:gpt-4o","system":null}"#;

    fn text(role: Role, content: &str) -> crate::llm::Message {
        crate::llm::Message::new(role, content)
    }

    fn call(id: &str) -> crate::llm::ToolCallRequest {
        crate::llm::ToolCallRequest {
            id: Some(id.into()),
            name: "say_hi".into(),
            arguments: r#"{"to":"you"}"#.into(),
        }
    }

    fn result(id: &str, content: &str, is_error: bool) -> crate::llm::ToolResult {
        crate::llm::ToolResult::text(id, content, is_error)
    }

    #[test]
    fn a_file_of_the_first_format_reads_as_before() {
        // Written before tool rounds were kept: header, messages, a fenced
        // user message, a compaction record.
        let old = format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n",
            r#"{"type":"message","v":1,"ts":"2026-11-27T10:00:01Z","role":"user","content":"hi","model":null,"call_id":null,"interrupted":false}"#,
            r#"{"type":"message","v":1,"ts":"2026-11-27T10:00:02Z","role":"assistant","content":"hello","model":"gpt-4o","call_id":"c-1","interrupted":false}"#,
            r#"{"type":"message","v":1,"ts":"2026-11-27T10:00:03Z","role":"user","content":"odd","model":null,"call_id":null,"interrupted":false,"fenced":true}"#,
            r#"{"type":"compaction","v":1,"ts":"2026-11-27T10:00:04Z","covers":2,"summary":"greetings","model":"gpt-4o","call_id":"c-2"}"#,
        );
        let conversation = conversation_of(&old);
        assert!(
            conversation.warnings.is_empty(),
            "{:?}",
            conversation.warnings
        );
        assert_eq!(
            conversation.messages(),
            [
                text(Role::User, "hi"),
                text(Role::Assistant, "hello"),
                text(Role::User, &crate::guard::fence("odd", "user input")),
            ]
        );
        let turns = conversation.turns();
        assert_eq!(turns.len(), 2);
        assert!(turns[0].tool_rounds.is_empty());
        let reply = turns[0].reply.as_ref().expect("a reply");
        assert_eq!(
            (reply.content.as_str(), reply.last_content.as_str()),
            ("hello", "hello")
        );
        assert_eq!(reply.call_id.as_deref(), Some("c-1"));
        assert_eq!(turns[0].call_ids(), ["c-1"]);
        assert_eq!(turns[1].reply, None);
        assert_eq!(conversation.latest_summary().map(|s| s.covers), Some(2));
    }

    /// The records of one turn with two tool rounds, as the engine writes
    /// them, and what follows.
    fn tool_turn() -> Vec<ConversationRecord> {
        let message = |role, content: &str, call_id: Option<&str>| ConversationRecord::Message {
            v: RECORD_VERSION,
            ts: "2026-11-27T10:00:01Z".into(),
            role,
            content: content.into(),
            model: None,
            call_id: call_id.map(str::to_string),
            interrupted: false,
            fenced: false,
            preset: None,
            attachments: Vec::new(),
        };
        let calls = |content: &str, ids: &[&str], call_id: &str| ConversationRecord::ToolCalls {
            v: RECORD_VERSION,
            ts: "2026-11-27T10:00:02Z".into(),
            content: content.into(),
            calls: ids.iter().map(|id| call(id)).collect(),
            model: Some("gpt-4o".into()),
            call_id: Some(call_id.into()),
            reasoning: Vec::new(),
        };
        let answer = |id: &str, content: &str| ConversationRecord::ToolResult {
            v: RECORD_VERSION,
            ts: "2026-11-27T10:00:03Z".into(),
            tool: "say_hi".into(),
            result: result(id, content, false),
        };
        vec![
            message(Role::User, "greet twice", None),
            calls("Greeting.", &["a", "b"], "c-1"),
            answer("b", "hi b"),
            answer("a", "hi a"),
            calls("", &["c"], "c-2"),
            answer("c", "hi c"),
            message(Role::Assistant, "Done.", Some("c-3")),
            message(Role::User, "next", None),
        ]
    }

    #[test]
    fn tool_rounds_are_resent_in_order_and_the_reply_joins_their_text() {
        let mut records = vec![ConversationRecord::Header {
            v: RECORD_VERSION,
            id: "c1".into(),
            created: String::new(),
            title: String::new(),
            model: String::new(),
            system: None,
            replay_of: None,
            compact_at: None,
        }];
        records.extend(tool_turn());
        let conversation = Conversation {
            records,
            warnings: Vec::new(),
        };
        let tool_result =
            |id: &str, content: &str| crate::llm::Message::tool_result(result(id, content, false));
        assert_eq!(
            conversation.messages(),
            [
                text(Role::User, "greet twice"),
                crate::llm::Message::assistant_tool_calls("Greeting.", vec![call("a"), call("b")]),
                tool_result("b", "hi b"),
                tool_result("a", "hi a"),
                crate::llm::Message::assistant_tool_calls("", vec![call("c")]),
                tool_result("c", "hi c"),
                // What the last call wrote, once: the rounds' text is above.
                text(Role::Assistant, "Done."),
                text(Role::User, "next"),
            ]
        );
        let turns = conversation.turns();
        assert_eq!(turns.len(), 2);
        let reply = turns[0].reply.as_ref().expect("a reply");
        assert_eq!(reply.content, "Greeting.\n\nDone.");
        assert_eq!(reply.last_content, "Done.");
        assert_eq!(reply.call_id.as_deref(), Some("c-3"));
        assert_eq!(turns[0].call_ids(), ["c-1", "c-2", "c-3"]);
        let rounds = &turns[0].tool_rounds;
        assert_eq!(rounds.len(), 2);
        assert_eq!(rounds[0].content, "Greeting.");
        let answered: Vec<(&str, Option<&str>)> = rounds
            .iter()
            .flat_map(|r| &r.calls)
            .map(|c| {
                (
                    c.call.id.as_deref().unwrap_or(""),
                    c.result.as_ref().map(|r| r.content.as_str()),
                )
            })
            .collect();
        assert_eq!(
            answered,
            [
                ("a", Some("hi a")),
                ("b", Some("hi b")),
                ("c", Some("hi c"))
            ]
        );
    }

    #[test]
    fn a_call_without_a_result_gets_an_error_and_a_stray_result_is_dropped() {
        let mut records = vec![conversation_of(&format!("{HEADER}\n")).records[0].clone()];
        let mut turn = tool_turn();
        // The process died after the first round's first result: no "a",
        // no second round's result, no reply. A stray result, too.
        turn.remove(3);
        turn.remove(4);
        turn.remove(4);
        turn.insert(
            1,
            ConversationRecord::ToolResult {
                v: RECORD_VERSION,
                ts: String::new(),
                tool: "say_hi".into(),
                result: result("zz", "from nowhere", false),
            },
        );
        records.extend(turn);
        let conversation = Conversation {
            records,
            warnings: Vec::new(),
        };
        let missing = |id: &str| crate::llm::Message::tool_result(result(id, MISSING_RESULT, true));
        assert_eq!(
            conversation.messages(),
            [
                text(Role::User, "greet twice"),
                crate::llm::Message::assistant_tool_calls("Greeting.", vec![call("a"), call("b")]),
                crate::llm::Message::tool_result(result("b", "hi b", false)),
                missing("a"),
                crate::llm::Message::assistant_tool_calls("", vec![call("c")]),
                missing("c"),
                text(Role::User, "next"),
            ]
        );
        let turns = conversation.turns();
        assert_eq!(
            turns[0].reply.as_ref().map(|r| r.content.as_str()),
            Some("Greeting.")
        );
        assert_eq!(turns[0].tool_rounds[1].calls[0].result, None);
    }

    #[test]
    fn an_empty_reply_after_tool_rounds_is_kept_but_not_resent() {
        let mut turn = tool_turn();
        turn.truncate(7);
        if let ConversationRecord::Message { content, .. } = &mut turn[6] {
            content.clear();
        }
        let conversation = Conversation {
            records: turn,
            warnings: Vec::new(),
        };
        let messages = conversation.messages();
        assert_eq!(messages.len(), 6);
        assert!(messages[5].tool_result.is_some());
        let turns = conversation.turns();
        let reply = turns[0].reply.as_ref().expect("a reply");
        assert_eq!(reply.content, "Greeting.");
        assert_eq!(reply.call_id.as_deref(), Some("c-3"));
    }

    #[test]
    fn tool_records_round_trip_and_read_results_with_fields_added_later() {
        for record in tool_turn() {
            let line = serde_json::to_string(&record).expect("json");
            assert_eq!(
                serde_json::from_str::<ConversationRecord>(&line).expect("back"),
                record
            );
        }
        let later = r#"{"type":"tool_result","v":1,"ts":"t","tool":"shot","result":{"call_id":"a","content":"ok","is_error":false,"images":[{"media_type":"image/png","data":"AA=="}]}}"#;
        let read: ConversationRecord = serde_json::from_str(later).expect("a later result");
        assert!(
            matches!(read, ConversationRecord::ToolResult { result, .. } if result.content == "ok")
        );
    }
}
