//! The second factor of local console users: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second
//! steps, through the `totp-rs` crate), its enrolment QR code (drawn here as an SVG element,
//! no image from elsewhere), and one-time recovery codes.
//!
//! A code is accepted within one step either side of the console's clock, and only once: the
//! caller stores the step of the last accepted code ([`check`] refuses any step not after it).
//! Recovery codes carry 80 random bits, so their SHA-256 is all the database keeps.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

/// The seconds of one step.
pub const STEP: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Recovery codes handed out at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The name authenticator apps show above the account.
pub const ISSUER: &str = "UrBackup console";

/// A new secret: 160 random bits (RFC 4226's recommended length).
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes
}

/// The secret as text (base32 without padding), as authenticator apps take it typed in and as
/// the database keeps it.
pub fn secret_text(secret: &[u8]) -> String {
    match Secret::Raw(secret.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => String::new(),
    }
}

/// The secret from its text (`None`: not base32).
pub fn secret_bytes(text: &str) -> Option<Vec<u8>> {
    Secret::Encoded(text.to_owned()).to_bytes().ok()
}

fn totp(secret: &[u8], account: &str) -> Option<TOTP> {
    // `new` refuses secrets under 128 bits and a `:` in the account name (the otpauth label's
    // separator); a console user name never has one.
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account.replace(':', "_"),
    )
    .ok()
}

/// The code of the step holding Unix time `unix` (what an authenticator app shows then).
pub fn code_at(secret: &[u8], unix: u64) -> String {
    totp(secret, "")
        .map(|t| t.generate(unix))
        .unwrap_or_default()
}

/// The step of Unix time `unix`.
pub fn step_of(unix: u64) -> u64 {
    unix / STEP
}

/// The step of the code `code` when it is right at Unix time `now` (the current step or one
/// either side) and comes after `last_step`, the step of the last code accepted; else `None`.
/// Spaces in the code are ignored.
pub fn check(secret: &[u8], code: &str, now: u64, last_step: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "")?;
    let now_step = step_of(now);
    let mut found = None;
    // Every candidate is computed and compared (no early exit on a match).
    for step in now_step.saturating_sub(1)..=now_step + 1 {
        let expected = t.generate(step * STEP);
        if crate::auth::same_secret(&expected, &code) && step > last_step {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URL an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &[u8], account: &str) -> String {
    totp(secret, account)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// The QR code of `url` as an inline `<svg>` element (dark modules on a light square, with
/// the quiet zone), to be placed in a page as it is: it holds only shapes, no text of the URL.
pub fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // The renderer starts with an XML declaration, which has no place inside HTML.
    let start = svg.find("<svg")?;
    let svg = &svg[start..];
    Some(svg.replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the second factor's secret\" class=\"qr\" ",
        1,
    ))
}

/// New recovery codes: [`RECOVERY_CODES`] of 80 random bits each, as `xxxx-xxxx-xxxx-xxxx`
/// (base32, lower case).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            let text = secret_text(&bytes).to_lowercase();
            text.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// A recovery code as typed, without case, dashes or spaces (`None`: it cannot be one).
fn normalise_recovery(code: &str) -> Option<String> {
    let c: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (c.len() == 16 && c.chars().all(|c| c.is_ascii_alphanumeric())).then_some(c)
}

/// True when `code` has the form of a recovery code (not of a TOTP code).
pub fn is_recovery_code(code: &str) -> bool {
    normalise_recovery(code).is_some()
}

/// What the database keeps of a recovery code: the SHA-256 of its normalised form (`None`:
/// it cannot be one).
pub fn recovery_hash(code: &str) -> Option<Vec<u8>> {
    normalise_recovery(code).map(|c| Sha256::digest(c.as_bytes()).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors_of_sha1() {
        // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890", 8-digit codes; the
        // six-digit code is their last six digits (the same truncation, modulo 10^6).
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(secret, time), eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_a_step_either_side_and_once() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let step = step_of(now);
        let code = code_at(&secret, now);
        assert_eq!(check(&secret, &code, now, 0), Some(step));
        // With spaces, as some apps show it.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(check(&secret, &spaced, now, 0), Some(step));
        // Once: not again at or before the step of the last one accepted.
        assert_eq!(check(&secret, &code, now, step), None);
        // One step either side of the clock.
        let before = code_at(&secret, now - STEP);
        let after = code_at(&secret, now + STEP);
        assert_eq!(check(&secret, &before, now, 0), Some(step - 1));
        assert_eq!(check(&secret, &after, now, 0), Some(step + 1));
        // Two steps away: refused.
        assert_eq!(
            check(&secret, &code_at(&secret, now - 2 * STEP), now, 0),
            None
        );
        assert_eq!(
            check(&secret, &code_at(&secret, now + 2 * STEP), now, 0),
            None
        );
        // Not six digits.
        assert_eq!(check(&secret, "12345", now, 0), None);
        assert_eq!(check(&secret, "abcdef", now, 0), None);
        assert_eq!(check(&secret, "", now, 0), None);
    }

    #[test]
    fn secrets_round_trip_and_the_url_and_qr_code_hold_them() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        let text = secret_text(&secret);
        assert_eq!(text.len(), 32);
        assert_eq!(secret_bytes(&text).unwrap(), secret);
        let url = otpauth_url(&secret, "ann");
        assert!(
            url.starts_with("otpauth://totp/UrBackup%20console:ann?secret="),
            "{url}"
        );
        assert!(url.contains(&text) && url.contains("issuer=UrBackup%20console"));
        let svg = qr_svg(&url).unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..80]);
        assert!(!svg.contains("<?xml") && !svg.contains(&text));
    }

    #[test]
    fn recovery_codes_are_random_and_hashed_without_their_form() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0].len(), 19);
        assert_ne!(codes[0], codes[1]);
        assert!(is_recovery_code(&codes[0]) && !is_recovery_code("123456"));
        let h = recovery_hash(&codes[0]).unwrap();
        assert_eq!(
            recovery_hash(&codes[0].to_uppercase().replace('-', " ")),
            Some(h)
        );
        assert_eq!(recovery_hash("short"), None);
    }
}
