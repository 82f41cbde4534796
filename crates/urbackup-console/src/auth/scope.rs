//! What part of the fleet a console user may see: every server (the default), or some servers
//! by the names the console shows (the profile names), and optionally within them only the
//! clients of some UrBackup groups (the group names the servers report; the default group is
//! written `(default)`).
//!
//! Admins are never scoped (they hand out the scopes). Where a scope is applied to the fleet:
//! `web::state` (the one view of the fleet every handler reads).

use std::collections::BTreeSet;

/// How the default group (the empty name on the servers) is written in a scope.
pub const DEFAULT_GROUP: &str = "(default)";

/// A user's scope. `None` in a field: no restriction there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The servers the user may see (`None`: every server).
    pub servers: Option<BTreeSet<String>>,
    /// Within those servers, only clients of these groups (`None`: every client).
    pub groups: Option<BTreeSet<String>>,
}

impl Scope {
    /// Every server, every client.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Some servers (every client of them).
    pub fn servers<I: IntoIterator<Item = S>, S: Into<String>>(servers: I) -> Scope {
        Scope {
            servers: Some(servers.into_iter().map(Into::into).collect()),
            groups: None,
        }
    }

    /// Only the clients of these groups on the servers of this scope.
    pub fn with_groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Scope {
        self.groups = Some(groups.into_iter().map(Into::into).collect());
        self
    }

    /// No restriction at all.
    pub fn is_all(&self) -> bool {
        self.servers.is_none() && self.groups.is_none()
    }

    /// The user may see this server (some of its clients, at least).
    pub fn allows_server(&self, server: &str) -> bool {
        self.servers.as_ref().is_none_or(|s| s.contains(server))
    }

    /// Every client of an allowed server is allowed (no group restriction).
    pub fn whole_servers(&self) -> bool {
        self.groups.is_none()
    }

    /// The user may see a client of this group (its name as the server reports it: empty for
    /// the default group) on an allowed server.
    pub fn allows_group(&self, group: &str) -> bool {
        let group = if group.is_empty() {
            DEFAULT_GROUP
        } else {
            group
        };
        self.groups.as_ref().is_none_or(|g| g.contains(group))
    }

    /// The user may see this client of this server.
    pub fn allows(&self, server: &str, group: &str) -> bool {
        self.allows_server(server) && self.allows_group(group)
    }

    /// Parses a comma-separated list of names (`alpha,bravo`): blanks around names are
    /// dropped, an empty list or a blank name is an error.
    pub fn parse_list(what: &str, list: &str) -> Result<BTreeSet<String>, String> {
        let mut out = BTreeSet::new();
        for name in list.split(',') {
            let name = name.trim();
            if name.is_empty() {
                return Err(format!(
                    "{what}: `{}` holds an empty name (names are separated by commas)",
                    list.escape_debug()
                ));
            }
            if name.chars().any(char::is_control) || name.len() > 255 {
                return Err(format!("{what}: `{}` is not a name", name.escape_debug()));
            }
            out.insert(name.to_owned());
        }
        Ok(out)
    }

    /// The scope as `list` and the users page show it: `every server`, `alpha, bravo`,
    /// `alpha, bravo (groups: office)`.
    pub fn describe(&self) -> String {
        let servers = match &self.servers {
            None => "every server".to_string(),
            Some(s) if s.is_empty() => "no server".to_string(),
            Some(s) => s.iter().cloned().collect::<Vec<_>>().join(", "),
        };
        match &self.groups {
            None => servers,
            Some(g) => format!(
                "{servers} (groups: {})",
                g.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// The servers as a comma-separated list (empty: every server), as forms take it.
    pub fn servers_text(&self) -> String {
        self.servers
            .as_ref()
            .map(|s| s.iter().cloned().collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    }

    /// The groups as a comma-separated list (empty: every group), as forms take it.
    pub fn groups_text(&self) -> String {
        self.groups
            .as_ref()
            .map(|s| s.iter().cloned().collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    }

    /// The scope from the two lists forms and the command line take (empty or missing: no
    /// restriction).
    pub fn from_lists(servers: Option<&str>, groups: Option<&str>) -> Result<Scope, String> {
        let parse = |what, l: Option<&str>| match l.map(str::trim) {
            None | Some("") => Ok(None),
            Some(l) => Scope::parse_list(what, l).map(Some),
        };
        Ok(Scope {
            servers: parse("servers", servers)?,
            groups: parse("groups", groups)?,
        })
    }

    /// The stored form of one field: `None` for no restriction, else a JSON array.
    pub(crate) fn to_column(list: &Option<BTreeSet<String>>) -> Option<String> {
        list.as_ref()
            .map(|l| serde_json::to_string(l).unwrap_or_else(|_| "[]".into()))
    }

    /// A field from its stored form. A value that does not parse restricts to nothing
    /// (never widens a scope).
    pub(crate) fn from_column(column: Option<String>) -> Option<BTreeSet<String>> {
        column.map(|c| serde_json::from_str(&c).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_allow_their_servers_and_groups() {
        let all = Scope::all();
        assert!(all.is_all() && all.allows("any", "any") && all.allows("any", ""));
        let s = Scope::servers(["alpha", "bravo"]);
        assert!(s.allows("alpha", "x") && s.allows("bravo", "") && !s.allows("charlie", ""));
        assert!(s.whole_servers());
        let g = Scope::servers(["alpha"]).with_groups(["office", DEFAULT_GROUP]);
        assert!(g.allows("alpha", "office") && g.allows("alpha", ""));
        assert!(!g.allows("alpha", "lab") && !g.allows("bravo", "office"));
        assert!(!g.whole_servers());
        assert_eq!(g.describe(), "alpha (groups: (default), office)");
        assert_eq!(Scope::all().describe(), "every server");
    }

    #[test]
    fn lists_parse_and_refuse_blanks() {
        let s = Scope::from_lists(Some(" alpha , bravo"), Some("office")).unwrap();
        assert_eq!(s.servers_text(), "alpha,bravo");
        assert_eq!(s.groups_text(), "office");
        assert!(Scope::from_lists(Some("alpha,,bravo"), None).is_err());
        assert!(Scope::from_lists(Some("a\u{7}"), None).is_err());
        assert!(Scope::from_lists(Some(""), Some("  ")).unwrap().is_all());
    }

    #[test]
    fn stored_form_round_trips_and_never_widens() {
        let s = Scope::servers(["a,b", "c\"d"]);
        let col = Scope::to_column(&s.servers);
        assert_eq!(Scope::from_column(col), s.servers);
        assert_eq!(Scope::to_column(&None), None);
        assert_eq!(
            Scope::from_column(Some("not json".into())),
            Some(BTreeSet::new())
        );
    }
}
