//! Property tests of settings writes: whatever value is written to whichever key (booleans,
//! numbers, empty strings, non-ASCII, characters the form encoding must escape), reading back
//! shows that key with that value and no other key changed.

mod common;
use common::*;
use proptest::prelude::*;
use urbackup::SettingValue;

/// Text keys of the client settings, and a boolean and an integer key.
const TEXT_KEYS: &[&str] = &[
    "exclude_files",
    "include_files",
    "computername",
    "default_dirs",
    "backup_window_incr_file",
    "client_quota",
];
const BOOL_KEYS: &[&str] = &[
    "allow_pause",
    "internet_encrypt",
    "allow_tray_exit",
    "silent_update",
];
const INT_KEYS: &[&str] = &[
    "max_file_incr",
    "min_file_full",
    "startup_backup_delay",
    "hash_threads",
];

fn change() -> impl Strategy<Value = (&'static str, SettingValue)> {
    prop_oneof![
        (
            prop::sample::select(TEXT_KEYS),
            "[ -~äöüßéあ€/&=+%$'\";\\\\]{0,24}"
        )
            .prop_map(|(k, v)| (k, SettingValue::Text(v))),
        (prop::sample::select(BOOL_KEYS), any::<bool>())
            .prop_map(|(k, v)| (k, SettingValue::Bool(v))),
        (prop::sample::select(INT_KEYS), -5i64..100_000)
            .prop_map(|(k, v)| (k, SettingValue::Int(v))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn client_setting_round_trip(changes in prop::collection::vec(change(), 1..4), global in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let sim = start().await;
            let s = admin(&sim);
            let alpha = sim.client_id("alpha").unwrap();
            // Last write of a key wins, as in one save.
            let mut unique: Vec<(&str, SettingValue)> = Vec::new();
            for (k, v) in changes {
                unique.retain(|(x, _)| *x != k);
                unique.push((k, v));
            }
            let read = |s: urbackup::UrbackupServer| async move {
                if global { s.get_global_settings_typed().await } else { s.client_settings_by_id(alpha).await }
            };
            let before = read(s.clone()).await.unwrap();
            if global {
                s.set_global_settings(&unique).await.unwrap();
            } else {
                s.change_client_settings(alpha, &unique).await.unwrap();
            }
            let after = read(s.clone()).await.unwrap();
            for (k, v) in &unique {
                let got = after.get(k).unwrap();
                prop_assert!(v.matches(&got.value), "{k}: wrote {v:?}, read {:?}", got.value);
            }
            let mut moved = before.diff_keys(&after);
            moved.retain(|k| !unique.iter().any(|(u, _)| u == k));
            prop_assert!(moved.is_empty(), "other keys changed: {moved:?}");
            Ok(())
        })?;
    }
}
