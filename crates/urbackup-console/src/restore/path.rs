//! The paths the console accepts: the server's own, from its listings (`/`-separated, names
//! under the crate's rule for bytes that are not UTF-8), checked before any request.

/// The longest path accepted.
const MAX: usize = 4096;

/// `path` checked and in one form: `""` for the root, else `/a/b` (a missing leading `/`
/// is added, one trailing `/` dropped). Refused, with the reason: `..` and `.`, empty names
/// (`a//b`), control characters, a path longer than 4,096 bytes.
pub fn check(path: &str) -> Result<String, String> {
    if path.len() > MAX {
        return Err("The path is too long.".into());
    }
    if path.chars().any(char::is_control) {
        return Err("The path holds control characters.".into());
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let trimmed = trimmed.strip_prefix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return match path {
            "" | "/" => Ok(String::new()),
            _ => Err("The path has an empty name in it (“//”).".into()),
        };
    }
    for name in trimmed.split('/') {
        match name {
            "" => return Err("The path has an empty name in it (“//”).".into()),
            "." | ".." => return Err(format!("The path may not hold “{name}”.")),
            _ => {}
        }
    }
    Ok(format!("/{trimmed}"))
}

/// A checked path that names a file or folder (not the root): its folder and its name.
pub fn split(path: &str) -> Option<(&str, &str)> {
    path.rsplit_once('/').filter(|(_, name)| !name.is_empty())
}

/// The folder of a checked path (`""` for the root and what is in it).
pub fn folder(path: &str) -> &str {
    split(path).map_or("", |(folder, _)| folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_before_any_request() {
        assert_eq!(check("").unwrap(), "");
        assert_eq!(check("/").unwrap(), "");
        assert_eq!(check("C/docs/").unwrap(), "/C/docs");
        assert_eq!(check(r"/etc/caf\xE9.txt").unwrap(), r"/etc/caf\xE9.txt");
        for bad in [
            "/../etc", "/a/./b", "/a//b", "//", "/a/..", "/a\u{0}b", "/a\nb",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        assert!(check(&"/a".repeat(3000)).is_err());
        assert_eq!(split("/C/docs/x.txt"), Some(("/C/docs", "x.txt")));
        assert_eq!(split("/C"), Some(("", "C")));
        assert_eq!(split(""), None);
        assert_eq!(folder("/C/docs/x.txt"), "/C/docs");
        assert_eq!(folder("/C"), "");
        assert_eq!(folder(""), "");
    }
}
