//! Tool rounds as plain text, for a request that offers no tools.
//!
//! A conversation continued without tools (`chat -c` after the tool table
//! or an MCP server was removed) still holds the model's earlier tool calls
//! and their results. Anthropic answers 400 to `tool_use` / `tool_result`
//! blocks in a request without `tools`, and some OpenAI-compatible servers'
//! chat templates break on `tool` messages; so such a request carries the
//! rounds as text the model can still read.

use super::{Message, Role, ToolResult};

/// The messages with every tool call and result rendered as text, or
/// `None` when they hold no tool round (the request is sent as it is).
/// Results join the user message next to them, so roles still alternate.
pub fn tool_rounds_as_text(messages: &[Message]) -> Option<Vec<Message>> {
    let has_rounds = messages
        .iter()
        .any(|m| !m.tool_calls.is_empty() || m.tool_result.is_some());
    if !has_rounds {
        return None;
    }
    let mut flat: Vec<Message> = Vec::with_capacity(messages.len());
    let mut names: Vec<(&str, &str)> = Vec::new();
    for message in messages {
        if let Some(result) = &message.tool_result {
            let name = names
                .iter()
                .rev()
                .find(|(id, _)| *id == result.call_id)
                .map_or("a tool", |(_, name)| name);
            push_user_text(&mut flat, result_text(name, result));
        } else if !message.tool_calls.is_empty() {
            names.extend(
                message
                    .tool_calls
                    .iter()
                    .map(|c| (c.id.as_deref().unwrap_or(""), c.name.as_str())),
            );
            flat.push(Message::new(Role::Assistant, calls_text(message)));
        } else if message.role == Role::User && message.attachments.is_empty() {
            push_user_text(&mut flat, message.content.clone());
        } else {
            flat.push(Message {
                attachments: message.attachments.clone(),
                ..Message::new(message.role, message.content.clone())
            });
        }
    }
    Some(flat)
}

/// Appends `text` to the last message when it is the user's, else as a
/// new user message.
fn push_user_text(flat: &mut Vec<Message>, text: String) {
    match flat.last_mut() {
        Some(last) if last.role == Role::User && last.tool_result.is_none() => {
            if !last.content.is_empty() && !text.is_empty() {
                last.content.push_str("\n\n");
            }
            last.content.push_str(&text);
        }
        _ => flat.push(Message::new(Role::User, text)),
    }
}

/// An assistant message's text followed by a line per call.
fn calls_text(message: &Message) -> String {
    let mut text = message.content.clone();
    for call in &message.tool_calls {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!(
            "[called tool {} with {}]",
            call.name, call.arguments
        ));
    }
    text
}

/// A result as text, marked when it was an error, with a note per image.
fn result_text(name: &str, result: &ToolResult) -> String {
    let error = if result.is_error { " (an error)" } else { "" };
    let mut text = format!("[result of {name}{error}]\n{}", result.content);
    for image in &result.images {
        text.push_str(&format!("\n[an image ({}) was returned]", image.media_type));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ToolCallRequest, ToolImage};

    fn call(id: &str, name: &str) -> ToolCallRequest {
        ToolCallRequest {
            id: Some(id.into()),
            name: name.into(),
            arguments: r#"{"path":"a"}"#.into(),
        }
    }

    #[test]
    fn plain_messages_are_left_alone() {
        let messages = vec![
            Message::new(Role::User, "hi"),
            Message::new(Role::Assistant, "hello"),
        ];
        assert_eq!(tool_rounds_as_text(&messages), None);
    }

    #[test]
    fn rounds_become_text_and_roles_alternate() {
        let mut image_result = ToolResult::text("c2", "two", true);
        image_result.images.push(ToolImage {
            media_type: "image/png".into(),
            data: "iVBORw0KGgo=".into(),
        });
        let messages = vec![
            Message::new(Role::User, "read them"),
            Message::assistant_tool_calls("Reading.", vec![call("c1", "read"), call("c2", "look")]),
            Message::tool_result(ToolResult::text("c1", "one", false)),
            Message::tool_result(image_result),
            Message::new(Role::Assistant, "done"),
            Message::new(Role::User, "and now?"),
        ];
        let flat = tool_rounds_as_text(&messages).expect("rounds");
        let shape: Vec<(Role, &str)> = flat.iter().map(|m| (m.role, m.content.as_str())).collect();
        assert_eq!(
            shape,
            vec![
                (Role::User, "read them"),
                (
                    Role::Assistant,
                    "Reading.\n[called tool read with {\"path\":\"a\"}]\n[called tool look with {\"path\":\"a\"}]"
                ),
                (
                    Role::User,
                    "[result of read]\none\n\n[result of look (an error)]\ntwo\n[an image (image/png) was returned]"
                ),
                (Role::Assistant, "done"),
                (Role::User, "and now?"),
            ]
        );
        assert!(flat
            .iter()
            .all(|m| m.tool_calls.is_empty() && m.tool_result.is_none()));
    }

    #[test]
    fn a_user_message_after_results_joins_them() {
        let messages = vec![
            Message::assistant_tool_calls("", vec![call("c1", "read")]),
            Message::tool_result(ToolResult::text("c1", "one", false)),
            Message::new(Role::User, "next"),
        ];
        let flat = tool_rounds_as_text(&messages).expect("rounds");
        assert_eq!(flat.len(), 2);
        assert_eq!(flat[0].content, "[called tool read with {\"path\":\"a\"}]");
        assert_eq!(flat[1].content, "[result of read]\none\n\nnext");
    }
}
