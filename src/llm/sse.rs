//! Server-sent events: an incremental decoder from a response body's bytes to
//! dispatched events, following the WHATWG HTML event-stream rules
//! (§9.2.5-9.2.6; summarised in `shared/reference/llm-apis.md` §7). The
//! OpenAI Chat Completions and Anthropic Messages stream readers are built on
//! it.
//!
//! Bytes may arrive split anywhere: inside a multi-byte UTF-8 character,
//! inside the leading byte-order mark, or between the CR and LF of a CRLF.
//! The decoder buffers the unfinished line and decodes it (lossily, as UTF-8)
//! only once it is complete, so none of those splits changes the result.
//!
//! The one deliberate departure from the spec is at the end of the body; see
//! [`SseDecoder::finish`].

/// The UTF-8 byte-order mark, stripped once at the very start of a stream.
const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type: the last `event` field of the block, or `"message"`
    /// when there was none (or it was empty).
    pub event: String,
    /// The `data` field values of the block, joined with `"\n"`.
    pub data: String,
    /// The last event ID in force when the event was dispatched: set by an
    /// `id` field of this or an earlier block, `None` if never set or cleared
    /// by an empty `id`.
    pub id: Option<String>,
    /// The reconnection time in milliseconds in force when the event was
    /// dispatched: the latest valid `retry` field of this or an earlier block
    /// (like the spec's reconnection time, it persists), `None` if none yet.
    pub retry: Option<u64>,
}

/// Incremental decoder.
///
/// Feed the body's chunks in order with [`feed`](Self::feed), then call
/// [`finish`](Self::finish) once at the end of the body.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The bytes of the current line so far (no terminator).
    line: Vec<u8>,
    /// The last byte seen was a CR that ended a line: an LF right after it
    /// (possibly at the start of the next chunk) belongs to the same CRLF.
    pending_cr: bool,
    /// The start of the stream has been checked for a BOM.
    bom_done: bool,
    /// How many leading bytes of the stream match the BOM so far (held back
    /// until it is known whether they are a BOM).
    bom_matched: usize,
    /// The spec's data buffer.
    data: String,
    /// The spec's event type buffer.
    event_type: String,
    /// The spec's last event ID buffer; `None` when empty.
    last_event_id: Option<String>,
    /// The spec's reconnection time, once a valid `retry` field set it.
    retry: Option<u64>,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next chunk; appends every event completed by it to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        let mut rest = chunk;
        if !self.bom_done {
            while let Some((&byte, tail)) = rest.split_first() {
                if BOM.get(self.bom_matched) == Some(&byte) {
                    self.bom_matched += 1;
                    rest = tail;
                    if self.bom_matched == BOM.len() {
                        self.bom_done = true;
                        break;
                    }
                } else {
                    // Not a BOM after all: the held bytes are ordinary input
                    // (they hold no line terminator, so just buffer them).
                    self.bom_done = true;
                    self.line.extend_from_slice(&BOM[..self.bom_matched]);
                    break;
                }
            }
        }
        self.push_bytes(rest, out);
    }

    /// The end of the body: appends a last pending event, if any (see above).
    ///
    /// The spec discards an event that no blank line has ended. Real servers
    /// do not always send that blank line: llama.cpp has been seen ending
    /// with `data: [DONE]` and nothing after it (reference §8). So:
    ///
    /// - If the body ended right after a line terminator, the pending event
    ///   (if it has data) is dispatched as if a blank line had followed: every
    ///   line of it arrived whole.
    /// - If the body ended inside a `data` line, that line is taken as
    ///   complete and the event is dispatched: this is the `[DONE]` case. Had
    ///   the connection really been cut mid-line, the truncated payload fails
    ///   to parse as JSON upstream, which reports the break rather than
    ///   hiding it.
    /// - If the body ended inside any other line (`event`, `id`, `retry`, a
    ///   comment, an unknown or truncated field name), the stream was cut at
    ///   a point where the event's type or ID may be wrong, so the pending
    ///   event is discarded, as the spec says.
    ///
    /// Afterwards the decoder is ready for a new stream (such as a
    /// reconnection); the last event ID and reconnection time carry over.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.bom_done {
            // A body shorter than a BOM that matched its first bytes.
            self.line.extend_from_slice(&BOM[..self.bom_matched]);
        }
        let tail = std::mem::take(&mut self.line);
        let complete = if tail.is_empty() {
            true
        } else if tail == b"data" || tail.starts_with(b"data:") {
            self.process_line(&tail, out);
            true
        } else {
            false
        };
        if complete {
            self.dispatch(out);
        }
        *self = SseDecoder {
            last_event_id: self.last_event_id.take(),
            retry: self.retry,
            ..SseDecoder::default()
        };
    }

    /// Splits bytes (after the BOM check) into lines and processes each
    /// complete one; the unfinished rest stays in `self.line`.
    fn push_bytes(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        let mut rest = bytes;
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if let Some(tail) = rest.strip_prefix(b"\n") {
                rest = tail;
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (content, from_terminator) = rest.split_at(pos);
            let Some((&terminator, after)) = from_terminator.split_first() else {
                break; // unreachable: `pos` indexes a terminator
            };
            if self.line.is_empty() {
                self.process_line(content, out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(content);
                self.process_line(&line, out);
                line.clear();
                self.line = line; // keep the allocation
            }
            rest = after;
            if terminator == b'\r' {
                match rest.split_first() {
                    Some((b'\n', tail)) => rest = tail,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
        }
        self.line.extend_from_slice(rest);
    }

    /// Interprets one complete line (without its terminator).
    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        let text = String::from_utf8_lossy(line);
        if text.starts_with(':') {
            return; // a comment, e.g. a `: ping` keep-alive
        }
        let (name, value) = match text.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*text, ""),
        };
        match name {
            "event" => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            // An id containing NUL is ignored; an empty one clears.
            "id" if !value.contains('\0') => {
                self.last_event_id = (!value.is_empty()).then(|| value.to_owned());
            }
            // Digits only; a value too large for u64 is ignored too.
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse::<u64>().ok().or(self.retry);
            }
            _ => {} // unknown fields, and ignored id / retry values
        }
    }

    /// Ends the current block: emits an event if it had any data, and
    /// resets the data and type buffers either way.
    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let mut data = std::mem::take(&mut self.data);
        let event_type = std::mem::take(&mut self.event_type);
        if data.is_empty() {
            return;
        }
        if data.ends_with('\n') {
            data.pop();
        }
        let event = if event_type.is_empty() {
            "message".to_owned()
        } else {
            event_type
        };
        out.push(SseEvent {
            event,
            data,
            id: self.last_event_id.clone(),
            retry: self.retry,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
            id: None,
            retry: None,
        }
    }

    fn ev_id(event: &str, data: &str, id: Option<&str>, retry: Option<u64>) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
            retry,
        }
    }

    /// Feeds the chunks in order, then finishes.
    fn decode_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out);
        }
        decoder.finish(&mut out);
        out
    }

    fn decode(input: &[u8]) -> Vec<SseEvent> {
        decode_chunks(&[input])
    }

    /// Events from `feed` alone, without `finish`.
    fn feed_only(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out);
        }
        out
    }

    /// Asserts that feeding byte by byte and at every 2-way split gives the
    /// same events as feeding the whole input; returns those events.
    fn assert_split_invariant(input: &[u8]) -> Vec<SseEvent> {
        let whole = decode(input);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes), whole, "byte by byte");
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            assert_eq!(decode_chunks(&[a, b]), whole, "split at {i}");
            // Empty chunks in between change nothing either.
            assert_eq!(decode_chunks(&[a, b"", b]), whole, "split at {i} + empty");
        }
        whole
    }

    #[test]
    fn lf_line_endings() {
        let out = decode(b"data: a\n\ndata: b\n\n");
        assert_eq!(out, vec![ev("message", "a"), ev("message", "b")]);
    }

    #[test]
    fn crlf_line_endings() {
        let out = decode(b"event: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n");
        assert_eq!(out, vec![ev("x", "a\nb"), ev("message", "c")]);
    }

    #[test]
    fn cr_line_endings() {
        let out = decode(b"event: x\rdata: a\rdata: b\r\rdata: c\r\r");
        assert_eq!(out, vec![ev("x", "a\nb"), ev("message", "c")]);
    }

    #[test]
    fn mixed_line_endings() {
        let out = decode(b"data: a\rdata: b\r\ndata: c\n\r\n\ndata: d\r\r");
        assert_eq!(out, vec![ev("message", "a\nb\nc"), ev("message", "d")]);
    }

    #[test]
    fn every_split_point_matches_whole() {
        let input = "\u{FEFF}: hello\r\n\
                     retry: 1500\n\
                     id: 7\r\
                     event: greet\r\n\
                     data: héllo €\r\
                     data\n\
                     data:  x 😀\r\n\
                     \r\n\
                     : ping\r\r\
                     foo: bar\n\
                     data: second\r\
                     \r\
                     id\n\
                     data: third\r\n\
                     \n\
                     data: [DONE]";
        let whole = assert_split_invariant(input.as_bytes());
        assert_eq!(
            whole,
            vec![
                ev_id("greet", "héllo €\n\n x 😀", Some("7"), Some(1500)),
                ev_id("message", "second", Some("7"), Some(1500)),
                ev_id("message", "third", None, Some(1500)),
                ev_id("message", "[DONE]", None, Some(1500)),
            ]
        );
    }

    #[test]
    fn every_split_point_with_all_crlf() {
        let input = b"data: one\r\n\r\ndata: two\r\ndata: 2\r\n\r\n: ka\r\n\r\n";
        let whole = assert_split_invariant(input);
        assert_eq!(whole, vec![ev("message", "one"), ev("message", "two\n2")]);
    }

    #[test]
    fn every_three_way_split_matches_whole() {
        let input = "\u{FEFF}data: é\r\n\r\nid: 1\rdata: b\r\rdata: [DONE]".as_bytes();
        let whole = decode(input);
        assert_eq!(
            whole,
            vec![
                ev("message", "é"),
                ev_id("message", "b", Some("1"), None),
                ev_id("message", "[DONE]", Some("1"), None),
            ]
        );
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let chunks = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(decode_chunks(&chunks), whole, "splits at {i}, {j}");
            }
        }
    }

    #[test]
    fn crlf_split_between_chunks_is_one_terminator() {
        // Were the LF taken as a second line ending, the empty line would
        // dispatch "a" on its own.
        let out = decode_chunks(&[b"data: a\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(out, vec![ev("message", "a\nb")]);
        let out = decode_chunks(&[b"data: a\r", b"\n", b"\r", b"\n"]);
        assert_eq!(out, vec![ev("message", "a")]);
        // A CR then an empty chunk then the LF.
        let out = decode_chunks(&[b"data: a\r", b"", b"\ndata: b\n\n"]);
        assert_eq!(out, vec![ev("message", "a\nb")]);
        // CR CR is two line endings even across chunks.
        let out = decode_chunks(&[b"data: a\r", b"\rdata: b\n\n"]);
        assert_eq!(out, vec![ev("message", "a"), ev("message", "b")]);
    }

    #[test]
    fn event_dispatched_as_soon_as_blank_line_arrives() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        decoder.feed(b"data: a\r\n\r", &mut out);
        assert_eq!(out, vec![ev("message", "a")]);
        decoder.feed(b"\n", &mut out);
        decoder.finish(&mut out);
        assert_eq!(out, vec![ev("message", "a")]);
    }

    #[test]
    fn comments_and_keep_alives_ignored() {
        assert_eq!(decode(b": ping\n\n"), vec![]);
        assert_eq!(decode(b":\n\n:\r\n\r\n"), vec![]);
        let out = decode(b": ping\ndata: a\n: data: b\ndata: c\n\n: ping\n\n");
        assert_eq!(out, vec![ev("message", "a\nc")]);
    }

    #[test]
    fn multi_line_data_joined_with_lf() {
        let out = decode(b"data: line one\ndata: line two\ndata: line three\n\n");
        assert_eq!(out, vec![ev("message", "line one\nline two\nline three")]);
        // Only one trailing LF is stripped.
        let out = decode(b"data: a\ndata:\n\n");
        assert_eq!(out, vec![ev("message", "a\n")]);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        // A bare `data` appends an empty line: the buffer is "\n", not empty,
        // so an event with empty data is dispatched.
        assert_eq!(decode(b"data\n\n"), vec![ev("message", "")]);
        let out = decode(b"data\ndata: x\ndata\n\n");
        assert_eq!(out, vec![ev("message", "\nx\n")]);
        // A bare `event` sets an empty type, which means "message".
        assert_eq!(
            decode(b"event: a\nevent\ndata: x\n\n"),
            vec![ev("message", "x")]
        );
    }

    #[test]
    fn leading_space_stripped_only_once() {
        assert_eq!(decode(b"data:  two\n\n"), vec![ev("message", " two")]);
        assert_eq!(decode(b"data:x\n\n"), vec![ev("message", "x")]);
        assert_eq!(decode(b"data:\tx\n\n"), vec![ev("message", "\tx")]);
        assert_eq!(decode(b"data: x \n\n"), vec![ev("message", "x ")]);
        // Only the first colon splits.
        assert_eq!(decode(b"data: a: b\n\n"), vec![ev("message", "a: b")]);
        assert_eq!(decode(b"event:  x\ndata: y\n\n"), vec![ev(" x", "y")]);
    }

    #[test]
    fn bom_stripped_only_at_start() {
        assert_eq!(decode(b"\xEF\xBB\xBFdata: x\n\n"), vec![ev("message", "x")]);
        // Split BOM, at every point.
        let out = decode_chunks(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(out, vec![ev("message", "x")]);
        let out = decode_chunks(&[b"\xEF\xBB", b"\xBF", b"data: x\n\n"]);
        assert_eq!(out, vec![ev("message", "x")]);
        // Only one is stripped: the second makes the field name unknown.
        assert_eq!(decode(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n"), vec![]);
        // A BOM later in the stream is ordinary text.
        let out = decode(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n");
        assert_eq!(out, vec![ev("message", "a")]);
        let out = decode(b"data: \xEF\xBB\xBFa\n\n");
        assert_eq!(out, vec![ev("message", "\u{FEFF}a")]);
        // A BOM-like prefix that is not a BOM is kept (as invalid UTF-8).
        assert_eq!(decode(b"\xEF\xBBdata: x\n\n"), vec![]);
        let out = decode_chunks(&[b"\xEF", b"\n", b"data: x\n\n"]);
        assert_eq!(out, vec![ev("message", "x")]);
        // No BOM at all.
        assert_eq!(
            decode_chunks(&[b"d", b"ata: x\n\n"]),
            vec![ev("message", "x")]
        );
        assert_split_invariant(b"\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\ndata: z\n\n");
    }

    #[test]
    fn unknown_fields_ignored() {
        let out = decode(b"foo: bar\ndata: x\nDATA: y\nEvent: z\n data: w\nretry_: 5\n\n");
        assert_eq!(out, vec![ev("message", "x")]);
        // A block of unknown fields alone dispatches nothing.
        assert_eq!(decode(b"foo: bar\nerror: {}\n\n"), vec![]);
    }

    #[test]
    fn event_type_applies_to_its_block_only() {
        let out = decode(b"event: ping\ndata: {}\n\ndata: b\n\nevent: lost\n\ndata: c\n\n");
        assert_eq!(
            out,
            vec![ev("ping", "{}"), ev("message", "b"), ev("message", "c")]
        );
        // The last `event` line of a block wins.
        assert_eq!(
            decode(b"event: a\nevent: b\ndata: x\n\n"),
            vec![ev("b", "x")]
        );
    }

    #[test]
    fn id_persists_clears_and_rejects_nul() {
        let input = b"id: 1\ndata: a\n\n\
                      data: b\n\n\
                      id\ndata: c\n\n\
                      id: 2\n\n\
                      data: d\n\n\
                      id: x\0y\ndata: e\n\n\
                      id:\ndata: f\n\n\
                      id: 3\ndata: g\n\n\
                      id: \ndata: h\n\n";
        let out = decode(input);
        assert_eq!(
            out,
            vec![
                ev_id("message", "a", Some("1"), None),
                ev_id("message", "b", Some("1"), None),
                ev_id("message", "c", None, None),
                ev_id("message", "d", Some("2"), None),
                ev_id("message", "e", Some("2"), None),
                ev_id("message", "f", None, None),
                ev_id("message", "g", Some("3"), None),
                ev_id("message", "h", None, None),
            ]
        );
        // The id may come after the data within a block.
        assert_eq!(
            decode(b"data: a\nid: 9\n\n"),
            vec![ev_id("message", "a", Some("9"), None)]
        );
    }

    #[test]
    fn retry_accepts_ascii_digits_only() {
        let r = |input: &[u8]| {
            decode(input)
                .into_iter()
                .map(|e| e.retry)
                .collect::<Vec<_>>()
        };
        assert_eq!(r(b"retry: 3000\ndata: a\n\n"), vec![Some(3000)]);
        assert_eq!(r(b"retry:0\ndata: a\n\n"), vec![Some(0)]);
        for bad in [
            &b"retry: 30x\n"[..],
            b"retry: -1\n",
            b"retry: +5\n",
            b"retry:  5\n",
            b"retry: 5 \n",
            b"retry: 1.5\n",
            b"retry: \n",
            b"retry\n",
            b"retry: \xD9\xA3\n", // ARABIC-INDIC DIGIT THREE
            b"retry: 99999999999999999999999\n",
        ] {
            let mut input = bad.to_vec();
            input.extend_from_slice(b"data: a\n\n");
            assert_eq!(r(&input), vec![None], "{:?}", String::from_utf8_lossy(bad));
        }
        // It persists, an invalid value leaves it alone, a valid one replaces it,
        // and a retry-only block (nothing dispatched) still sets it.
        assert_eq!(
            r(b"retry: 10\ndata: a\n\ndata: b\n\nretry: x\ndata: c\n\nretry: 20\n\ndata: d\n\n"),
            vec![Some(10), Some(10), Some(10), Some(20)]
        );
    }

    #[test]
    fn block_without_data_dispatches_nothing() {
        assert_eq!(decode(b"\n\n\n\r\n\r"), vec![]);
        assert_eq!(decode(b"event: x\n\n"), vec![]);
        assert_eq!(decode(b"id: 1\nretry: 5\n\n"), vec![]);
        assert_eq!(decode(b"event: x\nid: 1\n: c\n\n"), vec![]);
        // An empty `data:` line is still data (an empty line of it).
        assert_eq!(decode(b"data:\n\n"), vec![ev("message", "")]);
    }

    #[test]
    fn utf8_char_split_across_chunks() {
        let text = "data: héllo € 😀\n\n".as_bytes();
        let expected = vec![ev("message", "héllo € 😀")];
        assert_eq!(decode(text), expected);
        for i in 0..=text.len() {
            let (a, b) = text.split_at(i);
            assert_eq!(decode_chunks(&[a, b]), expected, "split at {i}");
        }
        // The 4-byte emoji split into single bytes.
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes), expected);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_char() {
        let out = decode(b"data: a\xFFb\xE2\x82\n\n");
        assert_eq!(out, vec![ev("message", "a\u{FFFD}b\u{FFFD}")]);
    }

    #[test]
    fn done_without_trailing_blank_line_delivered_by_finish() {
        let chunks: [&[u8]; 2] = [b"data: {\"x\":1}\n\n", b"data: [DONE]"];
        assert_eq!(feed_only(&chunks), vec![ev("message", "{\"x\":1}")]);
        assert_eq!(
            decode_chunks(&chunks),
            vec![ev("message", "{\"x\":1}"), ev("message", "[DONE]")]
        );
        // With a single line terminator and no blank line.
        for end in [&b"\n"[..], b"\r\n", b"\r"] {
            let mut input = b"data: [DONE]".to_vec();
            input.extend_from_slice(end);
            assert_eq!(decode(&input), vec![ev("message", "[DONE]")]);
        }
        // A multi-line event whose last data line is unterminated.
        assert_eq!(decode(b"data: a\ndata: b"), vec![ev("message", "a\nb")]);
        assert_eq!(decode(b"event: e\ndata"), vec![ev("e", "")]);
    }

    #[test]
    fn unterminated_non_data_line_at_end_discarded() {
        // The event's type was being cut: the whole pending event goes.
        assert_eq!(decode(b"data: a\nevent: fo"), vec![]);
        assert_eq!(decode(b"data: a\nid: 12"), vec![]);
        assert_eq!(decode(b"data: a\nretry: 1"), vec![]);
        assert_eq!(decode(b"data: a\n: pi"), vec![]);
        // A truncated `data` field name is not a data line.
        assert_eq!(decode(b"data: a\ndat"), vec![]);
        // Earlier, completed events are unaffected.
        assert_eq!(decode(b"data: a\n\nevent: x"), vec![ev("message", "a")]);
        assert_eq!(decode(b"data: a\n\nid: 5"), vec![ev("message", "a")]);
        // The discarded `id` never took effect.
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        decoder.feed(b"id: 1\n\nid: 2", &mut out);
        decoder.finish(&mut out);
        decoder.feed(b"data: a\n\n", &mut out);
        assert_eq!(out, vec![ev_id("message", "a", Some("1"), None)]);
        // A lone partial BOM is not a data line either.
        assert_eq!(decode(b"\xEF\xBB"), vec![]);
        assert_eq!(decode(b""), vec![]);
    }

    #[test]
    fn finish_resets_for_a_new_stream() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        decoder.feed(
            b"id: 4\nretry: 100\ndata: a\n\ndata: partial\nevent: x",
            &mut out,
        );
        decoder.finish(&mut out);
        decoder.finish(&mut out); // a second finish adds nothing
                                  // The new stream may start with its own BOM; nothing of the old
                                  // stream's partial event leaks into it; id and retry carry over.
        decoder.feed(b"\xEF\xBB\xBFdata: b\n\n", &mut out);
        decoder.finish(&mut out);
        assert_eq!(
            out,
            vec![
                ev_id("message", "a", Some("4"), Some(100)),
                ev_id("message", "b", Some("4"), Some(100)),
            ]
        );
    }

    #[test]
    fn openai_chat_completions_stream() {
        let input = concat!(
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,",
            "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",",
            "\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            ": keep-alive\n\n",
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,",
            "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo\"},",
            "\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,",
            "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},",
            "\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,",
            "\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,",
            "\"completion_tokens\":2,\"total_tokens\":7}}\n\n",
            "data: [DONE]\n\n",
        );
        let out = assert_split_invariant(input.as_bytes());
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|e| e.event == "message" && e.id.is_none()));
        assert!(out[0].data.starts_with("{\"id\":\"chatcmpl-1\""));
        assert!(out[0].data.ends_with("\"finish_reason\":null}]}"));
        assert!(out[1].data.contains("\"content\":\"Héllo\""));
        assert!(out[2].data.contains("\"finish_reason\":\"stop\""));
        assert!(out[3].data.contains("\"total_tokens\":7"));
        assert_eq!(out[4].data, "[DONE]");
    }

    #[test]
    fn anthropic_messages_stream() {
        let input = concat!(
            "event: message_start\r\n",
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",",
            "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",",
            "\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\r\n\r\n",
            "event: content_block_start\r\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,",
            "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n",
            "event: ping\r\n",
            "data: {\"type\": \"ping\"}\r\n\r\n",
            "event: content_block_delta\r\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,",
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi 👋\"}}\r\n\r\n",
            "event: content_block_stop\r\n",
            "data: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n",
            "event: message_delta\r\n",
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",",
            "\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\r\n\r\n",
            "event: message_stop\r\n",
            "data: {\"type\":\"message_stop\"}\r\n\r\n",
        );
        let out = assert_split_invariant(input.as_bytes());
        let types: Vec<&str> = out.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(
            types,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        for e in &out {
            assert!(e.data.starts_with("{\"type\":"), "{e:?}");
            assert!(e.data.contains(&format!("\"{}\"", e.event)), "{e:?}");
            assert!(!e.data.contains('\r') && !e.data.contains('\n'), "{e:?}");
        }
        assert!(out[3].data.contains("Hi 👋"));
        assert_eq!(out[6].data, "{\"type\":\"message_stop\"}");
    }
}
