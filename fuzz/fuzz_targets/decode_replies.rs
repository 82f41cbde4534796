//! Every response decoder of the library, on arbitrary bytes: the first byte picks the
//! content type, the rest is the body, tried against the decoder of every action and the
//! incremental list splitter of streamed replies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use urbackup::fuzzing::{decode_reply, ACTIONS};

fuzz_target!(|data: &[u8]| {
    let (ct, body) = match data.split_first() {
        Some((b, rest)) => (
            match b % 3 {
                0 => Some("application/json"),
                1 => Some("text/html; charset=UTF-8"),
                _ => None,
            },
            rest,
        ),
        None => (None, data),
    };
    for (action, sa) in ACTIONS {
        let _ = decode_reply(action, sa, ct, body);
    }
    // The streaming path: the same bytes split into list elements, in pieces.
    let _ = urbackup::fuzzing::split_list(body, 1 + data.first().copied().unwrap_or(0) as usize % 64);
});
