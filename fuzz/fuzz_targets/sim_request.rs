//! The simulator's HTTP request parser and form decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = urbackup_sim::parse_request(data) {
        let _ = req.header("content-length");
    }
    let _ = urbackup_sim::http::parse_params(data);
    let _ = urbackup_sim::http::route(&String::from_utf8_lossy(data));
});
