//! The login hash (`urbackup::auth::login_proof`): MD5, then PBKDF2-HMAC-SHA256 with the
//! server's 10,000 rounds, then MD5 with the one-time `rnd` — paid once per login.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

fn hash(c: &mut Criterion) {
    // The test vector of the API reference (§2.4).
    let (salt, pw, rnd) = ("pOqk8oLzNKgWJp2M7cHu", "secret", "Ab3dE6gH9k");
    assert_eq!(
        urbackup::auth::login_proof(salt, pw, 10000, rnd),
        "1f2986537d27d217cb0ac09abebccf99"
    );
    let mut g = c.benchmark_group("login_hash");
    g.bench_function("pbkdf2_10000_rounds", |b| {
        b.iter(|| {
            urbackup::auth::login_proof(black_box(salt), black_box(pw), 10000, black_box(rnd))
        })
    });
    g.bench_function("legacy_md5", |b| {
        b.iter(|| urbackup::auth::login_proof(black_box(salt), black_box(pw), 0, black_box(rnd)))
    });
    g.finish();
}

criterion_group!(benches, hash);
criterion_main!(benches);
