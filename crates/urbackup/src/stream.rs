//! Incremental decoding of one list inside a JSON reply, element by element, as the bytes
//! arrive: the memory needed is one element, not the whole reply (a 10,000-client `status`
//! is megabytes).
//!
//! [`ListSplitter`] finds the elements of the list under a top-level key with a small state
//! machine over the bytes (strings, escapes, nesting) and hands each complete element to
//! serde. It never panics on malformed input: a broken element fails to decode, and a reply
//! that ends inside the list is reported as truncated.

/// Splits the elements of `{"...": ..., "<key>": [elem, elem, ...], ...}` out of a stream.
///
/// An element that lies within one fed chunk is handed on as a slice of that chunk (no copy);
/// only an element cut by a chunk boundary is gathered in a buffer.
pub(crate) struct ListSplitter {
    key: &'static [u8],
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Top-level key being read (while `depth == 1` and a key is expected).
    key_buf: Vec<u8>,
    expect_key: bool,
    /// The top-level value being read belongs to `key`.
    at_key: bool,
    in_list: bool,
    list_done: bool,
    /// Whether an element is open, and where it starts in the chunk being fed (0 when it
    /// began in an earlier chunk: its first part is then in `carry`).
    in_element: bool,
    start: usize,
    carry: Vec<u8>,
    /// Every byte outside the list's elements: the reply with the list emptied.
    outside: Vec<u8>,
}

/// Bytes that end a run inside a string.
const STRING_STOP: [bool; 256] = table(b"\\\"");
/// The bytes that matter inside an element's own object or array.
const NESTED_SPECIAL: [bool; 256] = table(b"\"\\{}[]");

/// Bit `k` set when `block[k]` is one of [`NESTED_SPECIAL`] (16 bytes at a time: SSE2, part
/// of every x86-64 CPU; elsewhere a byte loop).
#[cfg(target_arch = "x86_64")]
fn special_mask(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is in the x86-64 baseline, so these intrinsics are always available; the
    // load is an unaligned 16-byte read of a 16-byte array.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let quotes = _mm_or_si128(eq(b'"'), eq(b'\\'));
        let braces = _mm_or_si128(eq(b'{'), eq(b'}'));
        let brackets = _mm_or_si128(eq(b'['), eq(b']'));
        _mm_movemask_epi8(_mm_or_si128(quotes, _mm_or_si128(braces, brackets))) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn special_mask(block: &[u8; 16]) -> u32 {
    tail_mask(block)
}

/// [`special_mask`] of fewer than 16 bytes.
fn tail_mask(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| NESTED_SPECIAL[**b as usize])
        .fold(0, |m, (k, _)| m | 1 << k)
}

const fn table(stops: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < stops.len() {
        t[stops[i] as usize] = true;
        i += 1;
    }
    t
}

/// The index of the first byte at or after `i` that `stop` marks, or `bytes.len()`.
fn run_end(bytes: &[u8], mut i: usize, stop: &[bool; 256]) -> usize {
    while i < bytes.len() && !stop[bytes[i] as usize] {
        i += 1;
    }
    i
}

impl ListSplitter {
    pub(crate) fn new(key: &'static str) -> Self {
        ListSplitter {
            key: key.as_bytes(),
            depth: 0,
            in_string: false,
            escaped: false,
            key_buf: Vec::new(),
            expect_key: false,
            at_key: false,
            in_list: false,
            list_done: false,
            in_element: false,
            start: 0,
            carry: Vec::new(),
            outside: Vec::new(),
        }
    }

    /// Feeds the next bytes; calls `on_element` with the bytes of each complete element.
    /// Stops early with the first error `on_element` returns.
    pub(crate) fn feed<E>(
        &mut self,
        bytes: &[u8],
        on_element: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.start = 0;
        // The bytes outside the list's elements are copied to `outside` in runs: from
        // `outside_from` up to where the list opens, or to the end of the chunk.
        let mut outside_from = (!self.in_list).then_some(0);
        let mut i = 0;
        while i < bytes.len() {
            if self.in_element && self.depth >= 3 {
                // Inside an element's own object or array: a tight loop to its end.
                i = self.skip_nested(bytes, i, 2);
                if self.depth == 2 {
                    self.finish_element(bytes, i, on_element)?;
                }
                continue;
            }
            if !self.in_list && self.depth >= 2 {
                // Inside another top-level value (`client_downloads`...): the same loop; its
                // bytes stay in the outside run.
                i = self.skip_nested(bytes, i, 1);
                continue;
            }
            if !self.in_list && self.in_string && !self.escaped {
                // Outside the list, string content is a run that changes nothing (but a
                // top-level key's, which is kept).
                let end = run_end(bytes, i, &STRING_STOP);
                if end > i {
                    if self.depth == 1 && self.expect_key {
                        self.key_buf.extend_from_slice(&bytes[i..end]);
                    }
                    i = end;
                    continue;
                }
            }
            let was_in_list = self.in_list;
            self.step(bytes, i, on_element)?;
            match (was_in_list, self.in_list) {
                // The list's `[` is the last byte of this outside run.
                (false, true) => {
                    if let Some(from) = outside_from.take() {
                        self.outside.extend_from_slice(&bytes[from..=i]);
                    }
                }
                // Its `]` is the first of the next one.
                (true, false) => outside_from = Some(i),
                _ => {}
            }
            i += 1;
        }
        if let Some(from) = outside_from {
            self.outside.extend_from_slice(&bytes[from..]);
        }
        if self.in_element {
            self.carry
                .extend_from_slice(&bytes[self.start.min(bytes.len())..]);
        }
        Ok(())
    }

    /// Runs through a nested object or array from `bytes[i]` until it closes (depth back to
    /// `until`) or the chunk ends; returns the index after the last byte taken. Only quotes,
    /// escapes and brackets matter here: they are found 16 bytes at a time.
    fn skip_nested(&mut self, bytes: &[u8], mut i: usize, until: u32) -> usize {
        let (mut depth, mut in_string) = (self.depth, self.in_string);
        // Bytes before `skip` are taken without a look (the one after a backslash).
        let mut skip = if std::mem::take(&mut self.escaped) {
            i + 1
        } else {
            i
        };
        while i < bytes.len() {
            let rest = &bytes[i..];
            let (mut mask, width) = match rest.first_chunk::<16>() {
                Some(block) => (special_mask(block), 16),
                None => (tail_mask(rest), rest.len()),
            };
            while mask != 0 {
                let j = i + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if j < skip {
                    continue;
                }
                match bytes[j] {
                    b'"' => in_string = !in_string,
                    b'\\' if in_string => skip = j + 2,
                    b'{' | b'[' if !in_string => depth += 1,
                    b'}' | b']' if !in_string => {
                        depth -= 1;
                        if depth == until {
                            self.depth = depth;
                            self.in_string = false;
                            return j + 1;
                        }
                    }
                    _ => {}
                }
            }
            i += width;
        }
        // The chunk ended inside the element (right after a backslash, perhaps).
        self.escaped = skip > bytes.len();
        self.depth = depth;
        self.in_string = in_string;
        bytes.len()
    }

    /// Advances the state machine by the byte at `bytes[i]`.
    fn step<E>(
        &mut self,
        bytes: &[u8],
        i: usize,
        on_element: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let b = bytes[i];
        let depth_before = self.depth;
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            if self.depth == 1 && self.expect_key && self.in_string {
                self.key_buf.push(b);
            }
        } else {
            match b {
                b'"' => {
                    self.in_string = true;
                    if self.depth == 1 && self.expect_key {
                        self.key_buf.clear();
                    }
                }
                b'{' | b'[' => self.depth = self.depth.saturating_add(1),
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                b':' if self.depth == 1 => {
                    self.expect_key = false;
                    self.at_key = self.key_buf == self.key;
                }
                b',' if self.depth == 1 => {
                    self.expect_key = true;
                    self.at_key = false;
                }
                _ => {}
            }
            if depth_before == 0 && self.depth == 1 && b == b'{' {
                self.expect_key = true;
            }
        }
        // The list of our key opens, closes, and holds elements at depth 2.
        if !self.in_list && !self.list_done && self.at_key && depth_before == 1 && self.depth == 2 {
            if b == b'[' {
                self.in_list = true;
            }
            return Ok(());
        }
        if !self.in_list {
            return Ok(());
        }
        if depth_before == 2 && self.depth == 1 {
            // `]` of the list: a scalar element may end here.
            self.finish_element(bytes, i, on_element)?;
            self.in_list = false;
            self.list_done = true;
            return Ok(());
        }
        if depth_before == 2 && self.depth == 2 && !self.in_string && b == b',' {
            return self.finish_element(bytes, i, on_element);
        }
        if !self.in_element {
            if b.is_ascii_whitespace() || b == b',' {
                return Ok(());
            }
            self.in_element = true;
            self.start = i;
            self.carry.clear();
        }
        // An object or array element ends when we are back at the list's depth.
        if depth_before == 3 && self.depth == 2 {
            return self.finish_element(bytes, i + 1, on_element);
        }
        Ok(())
    }

    /// Hands on the open element, which ends before `bytes[end]`.
    fn finish_element<E>(
        &mut self,
        bytes: &[u8],
        end: usize,
        on_element: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.in_element {
            return Ok(());
        }
        self.in_element = false;
        let here = &bytes[self.start.min(end)..end];
        let element = if self.carry.is_empty() {
            here
        } else {
            self.carry.extend_from_slice(here);
            &self.carry[..]
        };
        let trimmed = trim_ascii(element);
        let r = if trimmed.is_empty() {
            Ok(())
        } else {
            on_element(trimmed)
        };
        self.carry.clear();
        r
    }

    /// The reply without the list's elements (the list left empty): its other fields.
    pub(crate) fn outside(&self) -> &[u8] {
        &self.outside
    }

    /// True when the whole reply was read: the top-level value closed (or nothing came).
    pub(crate) fn complete(&self) -> bool {
        (self.depth == 0 && !self.in_string) && (self.list_done || !self.in_list)
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(json: &str, key: &'static str, chunk: usize) -> (Vec<String>, bool) {
        let mut s = ListSplitter::new(key);
        let mut out = Vec::new();
        for c in json.as_bytes().chunks(chunk.max(1)) {
            s.feed::<()>(c, &mut |e| {
                out.push(String::from_utf8(e.to_vec()).unwrap());
                Ok(())
            })
            .unwrap();
        }
        (out, s.complete())
    }

    #[test]
    fn finds_the_elements_under_the_key() {
        let json = r#"{"a": [9, {"x": 1}], "status": [{"n": "a,]\"}"}, {"n": "b", "p": [{"q": 1}]} ,3, "s,t"], "z": {"status": [1]}}"#;
        for chunk in [1, 2, 3, 7, 1000] {
            let (els, done) = split(json, "status", chunk);
            let mut s = ListSplitter::new("status");
            for c in json.as_bytes().chunks(chunk) {
                s.feed::<()>(c, &mut |_| Ok(())).unwrap();
            }
            assert_eq!(
                std::str::from_utf8(s.outside()).unwrap(),
                r#"{"a": [9, {"x": 1}], "status": [], "z": {"status": [1]}}"#
            );
            assert_eq!(
                els,
                [
                    r#"{"n": "a,]\"}"}"#,
                    r#"{"n": "b", "p": [{"q": 1}]}"#,
                    "3",
                    r#""s,t""#
                ],
                "chunk {chunk}"
            );
            assert!(done);
        }
    }

    #[test]
    fn real_layout_and_edge_cases() {
        let json = "{\n\"admin\": true,\n\"status\": [{\n\"id\": 2\n}\n,{\n\"id\": 1\n}\n]\n}\n";
        let (els, done) = split(json, "status", 5);
        assert_eq!(els.len(), 2);
        assert!(done);
        assert_eq!(split("{\"status\": []}", "status", 1).0.len(), 0);
        assert_eq!(split("{\"other\": [1,2]}", "status", 1).0.len(), 0);
        let (els, done) = split("{\"status\": [{\"id\": 1},{\"id\"", "status", 4);
        assert_eq!(els.len(), 1);
        assert!(!done, "truncated");
        assert!(split("  ", "status", 1).1);
    }

    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[a-z\"\\\\\\[\\]{}:, ä]{0,12}".prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z\"]{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The splitter agrees with a full parse: the same elements, and the rest of the
        /// document with the list emptied, however the bytes are cut.
        #[test]
        fn agrees_with_a_full_parse(
            before in prop::collection::btree_map("[a-r]{1,6}", value(), 0..4),
            list in prop::collection::vec(value(), 0..8),
            after in prop::collection::btree_map("[t-z]{1,6}", value(), 0..3),
            chunk in 1usize..40,
            pretty in any::<bool>(),
        ) {
            let mut doc: serde_json::Map<String, Value> = before.into_iter().collect();
            doc.insert("status".into(), Value::from(list.clone()));
            doc.extend(after);
            let doc = Value::Object(doc);
            let text = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) }.unwrap();
            let mut splitter = ListSplitter::new("status");
            let mut got = Vec::new();
            for piece in text.as_bytes().chunks(chunk) {
                splitter.feed::<()>(piece, &mut |e| {
                    got.push(serde_json::from_slice::<Value>(e).unwrap());
                    Ok(())
                }).unwrap();
            }
            prop_assert!(splitter.complete());
            prop_assert_eq!(got, list);
            let mut rest = doc.clone();
            rest["status"] = json!([]);
            let outside: Value = serde_json::from_slice(splitter.outside()).unwrap();
            prop_assert_eq!(outside, rest);
        }
    }

    /// Escapes and brackets at every offset of the 16-byte scan and of the chunks.
    #[test]
    fn escapes_across_blocks_and_chunks() {
        for pad in 0..20 {
            let value = format!("{}\\\"}}]{{\\\\x", "a".repeat(pad));
            let element = format!(r#"{{"k": "{value}", "p": [{{"q": "]"}}], "z": 1}}"#);
            let json = format!(r#"{{"status": [{element}, {element}], "after": "{value}"}}"#);
            for chunk in [1, 3, 15, 16, 17, 31, 1000] {
                let (els, done) = split(&json, "status", chunk);
                assert_eq!(
                    els,
                    [element.clone(), element.clone()],
                    "pad {pad}, chunk {chunk}"
                );
                assert!(done);
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        for input in [
            "]]]]",
            "{{{{",
            "\"\\",
            "{\"status\":[[[[",
            "{\"status\":]",
            "\u{0}\u{ff}",
        ] {
            let _ = split(input, "status", 1);
        }
    }
}
