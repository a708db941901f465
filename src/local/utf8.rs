//! Streaming text that arrives as bytes (a byte-level tokenizer can split
//! a character across tokens): complete characters go out at once, a
//! partial one is held back until the rest arrives.

/// Bytes not yet released because they end in a partial character.
#[derive(Debug, Default)]
pub struct Utf8Holdback {
    pending: Vec<u8>,
}

impl Utf8Holdback {
    /// Adds `bytes` and returns the text that is complete now (invalid
    /// sequences become U+FFFD; an incomplete tail waits for more).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(err) => {
                    let valid = err.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match err.error_len() {
                        // A partial character at the end: keep it.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// What is left at the end of the stream (a partial character becomes
    /// U+FFFD).
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_of_multibyte_text_streams_whole_characters() {
        let text = "naïve café 東京 🎨!";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut holdback = Utf8Holdback::default();
            let first = holdback.push(&bytes[..cut]);
            assert!(text.starts_with(&first), "cut {cut}");
            let second = holdback.push(&bytes[cut..]);
            assert_eq!(first + &second + &holdback.finish(), text, "cut {cut}");
        }
    }

    #[test]
    fn byte_by_byte_never_releases_half_a_character() {
        let text = "東京🎨";
        let mut holdback = Utf8Holdback::default();
        let mut out = String::new();
        for byte in text.as_bytes() {
            out.push_str(&holdback.push(&[*byte]));
            assert!(text.starts_with(&out));
        }
        assert_eq!(out, text);
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut holdback = Utf8Holdback::default();
        assert_eq!(holdback.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(holdback.push(b"\xe6\x9d"), "");
        assert_eq!(holdback.finish(), "\u{fffd}");
    }
}
