//! Any bytes inside the strings of replies (as the real server writes them: only `"`, `\` and
//! bytes below 32 escaped): every decoder must accept them, and the decoded name must stand
//! for the same bytes (the crate's rule, `urbackup::text`). Panics otherwise.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    urbackup::fuzzing::names_round_trip(data);
});
