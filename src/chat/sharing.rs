//! Taking turns with other confab processes on one conversation: a turn
//! holds the conversation's lock (a second process waits, with a note),
//! and starts from what the file holds, so two processes never interleave
//! their turns or answer from a stale history.

use crate::exit::{ExitKind, Failure};
use crate::private_files::FileLock;

use super::{Engine, NoticeLevel};

impl Engine {
    /// Waits for the conversation's lock (when there is a conversation
    /// yet) and reloads it if another process wrote to it since this one
    /// last did. Ctrl-C while waiting gives up (exit 130).
    pub(super) fn take_turn(&mut self) -> anyhow::Result<Option<FileLock>> {
        let Some(conversation) = self.conversation.clone() else {
            return Ok(None);
        };
        let mut sink_notice = |message: String| self.sink.notice(NoticeLevel::Note, &message);
        let cancel = self.cancel.clone();
        let lock = conversation
            .lock_turn(
                || {
                    sink_notice(format!(
                        "another confab is taking a turn in conversation {}; waiting for it",
                        conversation.id()
                    ))
                },
                || cancel.requested(),
            )?
            .ok_or_else(|| {
                Failure::new(
                    ExitKind::Interrupted,
                    "interrupted while waiting for another confab's turn; nothing was sent",
                )
            })?;
        if conversation.file_length()? != self.seen_len {
            self.reload()?;
        }
        Ok(Some(lock))
    }

    /// Remembers how long the conversation file is after this process's
    /// own writes, to tell later whether someone else wrote.
    pub(super) fn note_file_length(&mut self) {
        if let Some(conversation) = &self.conversation {
            if let Ok(len) = conversation.file_length() {
                self.seen_len = len;
            }
        }
    }

    /// Reads the conversation again: its messages and latest summary.
    fn reload(&mut self) -> anyhow::Result<()> {
        let Some(id) = self.conversation_id().map(str::to_string) else {
            return Ok(());
        };
        let conversation = self.store.read(&id)?;
        self.history = conversation.messages();
        crate::attach::AttachmentStore::in_data_dir(&self.paths.data_dir).fill(&mut self.history);
        self.summary = conversation.latest_summary();
        Ok(())
    }
}
