//! Text made safe to show or log: text from outside (a model, a server)
//! with its terminal controls made visible, and URLs without the
//! credentials someone put in them.

use std::sync::LazyLock;

use regex::Regex;

/// `text` with control characters (C0 but newline and tab, DEL, C1) and
/// bidirectional overrides shown as `\u{..}` escapes.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if (c.is_control() && c != '\n' && c != '\t') || bidi {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Query parameter names whose values are credentials.
const SECRET_PARAMS: [&str; 9] = [
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "sig",
    "auth",
    "credential",
    "session",
];

/// `url` as it may be shown or logged: without `user:password@` and with
/// the values of query parameters such as `api_key` or `token` masked.
pub fn redact_url(url: &str) -> String {
    let without_userinfo = strip_userinfo(url);
    let Some((base, rest)) = without_userinfo.split_once('?') else {
        return without_userinfo;
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    let mut shown = format!("{base}?{}", masked.join("&"));
    if let Some(fragment) = fragment {
        shown.push('#');
        shown.push_str(fragment);
    }
    shown
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|secret| name.contains(secret))
}

/// `text` with the `user:password@` part of every URL in it removed.
pub fn strip_userinfo(text: &str) -> String {
    static USERINFO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@").expect("a valid pattern")
    });
    USERINFO.replace_all(text, "$1").into_owned()
}

/// `text` (an error a server sent back, say) without `key` in it, without
/// credentials in URLs, and without anything else shaped like a key.
pub fn without_secrets(text: &str, key: Option<&str>) -> String {
    let mut text = strip_userinfo(text);
    if let Some(key) = key.filter(|k| k.len() >= 8) {
        text = text.replace(key, "[REDACTED]");
    }
    crate::guard::secrets::redact(&text).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\n");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("x\u{202E}y"), "x\\u{202e}y");
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("http://user:pw@host:8080/v1"),
            "http://host:8080/v1"
        );
        assert_eq!(
            redact_url("https://host/v1?api_key=abc&model=x&X-Token=t#f"),
            "https://host/v1?api_key=***&model=x&X-Token=***#f"
        );
        assert_eq!(
            redact_url("http://localhost:11434/v1"),
            "http://localhost:11434/v1"
        );
        assert_eq!(
            strip_userinfo("error sending request for url (http://u:p@h/v1/chat): refused"),
            "error sending request for url (http://h/v1/chat): refused"
        );
    }

    #[test]
    fn an_echoed_key_is_removed() {
        let echoed = "Incorrect API key provided: my-own-key-1234. Also sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD";
        let shown = without_secrets(echoed, Some("my-own-key-1234"));
        assert!(!shown.contains("my-own-key-1234"), "{shown}");
        assert!(!shown.contains("sk-proj-abcdefghij"), "{shown}");
        assert!(shown.contains("Incorrect API key provided"), "{shown}");
    }
}
