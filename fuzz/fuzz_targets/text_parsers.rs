//! The library's text parsers: stored log lines, rights, archive rules, server URLs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    urbackup::fuzzing::parse_texts(&String::from_utf8_lossy(data));
});
