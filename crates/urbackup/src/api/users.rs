//! Web interface users, rights and client groups (web action `settings`: `listusers`,
//! `useradd`, `removeuser`, `changepw`, `updaterights`, `navitems`, `groupadd`,
//! `groupremove`, `clientsettings_save` with `memberof`).

use crate::auth::{password_md5, random_salt};
use crate::error::{Result, UrbackupError};
use crate::models::de;
use crate::models::{Group, Rights, SettingsClient, User};
use crate::transport::{self, Call};
use crate::UrbackupServer;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub(crate) struct UsersReply {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) users: Vec<User>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) add_ok: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) alread_exists: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) removeuser: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) change_ok: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) update_right: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) old_pw_wrong: bool,
    #[serde(default)]
    pub(crate) sa: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct NavItems {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) groups: Vec<Group>,
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) clients: Vec<SettingsClient>,
}

#[derive(Deserialize)]
pub(crate) struct NavReply {
    #[serde(default)]
    pub(crate) navitems: Option<NavItems>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) add_ok: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) already_exists: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) delete_ok: bool,
    #[serde(default)]
    pub(crate) added_group: Option<Value>,
}

impl UrbackupServer {
    /// Users of the web interface (spec: `get_users`; web action `settings`,
    /// `sa=listusers`). Needs the user management right.
    pub async fn get_users(&self) -> Result<Vec<User>> {
        let r = self
            .users_call(Call::read("settings").param("sa", "listusers"))
            .await?;
        Ok(r.users)
    }

    /// Adds a user (spec: `add_user`; web action `settings`, `sa=useradd`, with the password
    /// hashed as the web interface does: a fresh salt and `md5(salt + password)`, which the
    /// server strengthens with PBKDF2). `rights` is `all` for an administrator or
    /// `domain=right;...` (see [`Rights`]). The server stores names in lower case.
    ///
    /// The spec's Python origin sends a sub-action that does not exist and adds nothing; and
    /// it probes `salt` first, which counts as a failed login on the server. This does neither.
    pub async fn add_user(&self, username: &str, password: &str, rights: &str) -> Result<bool> {
        let rights: Rights = rights.parse().map_err(UrbackupError::InvalidInput)?;
        if username.trim().is_empty() {
            return Err(UrbackupError::InvalidInput("user name is empty".into()));
        }
        let salt = random_salt(50);
        let call = Call::write("settings")
            .param("sa", "useradd")
            .param("name", username)
            .param("pwmd5", password_md5(&salt, password))
            .param("salt", salt)
            .param("rights", rights.encode());
        let r = self.users_call(call).await?;
        if r.alread_exists {
            return Err(UrbackupError::UserAlreadyExists(username.to_owned()));
        }
        let listed = r.users.iter().any(|u| u.name == username.to_lowercase());
        if !r.add_ok || !listed {
            return Err(UrbackupError::access_denied(
                "settings",
                Some("useradd".into()),
            ));
        }
        Ok(true)
    }

    /// Removes the user with id `userid` (web action `settings`, `sa=removeuser`).
    pub async fn remove_user(&self, userid: i64) -> Result<()> {
        let r = self
            .users_call(
                Call::write("settings")
                    .param("sa", "removeuser")
                    .param("userid", userid.to_string()),
            )
            .await?;
        if !r.removeuser || r.users.iter().any(|u| u.id == userid) {
            return Err(UrbackupError::access_denied(
                "settings",
                Some("removeuser".into()),
            ));
        }
        Ok(())
    }

    /// Sets a new password for the user with id `userid` (web action `settings`,
    /// `sa=changepw`; needs the user management right).
    pub async fn change_password(&self, userid: i64, new_password: &str) -> Result<()> {
        let salt = random_salt(50);
        let r = self
            .users_call(
                Call::write("settings")
                    .param("sa", "changepw")
                    .param("userid", userid.to_string())
                    .param("pwmd5", password_md5(&salt, new_password))
                    .param("salt", salt),
            )
            .await?;
        if r.old_pw_wrong {
            return Err(UrbackupError::Authentication(
                crate::AuthFailure::WrongPassword,
            ));
        }
        if !r.change_ok {
            return Err(UrbackupError::access_denied(
                "settings",
                Some("changepw".into()),
            ));
        }
        Ok(())
    }

    /// Replaces the rights of the user with id `userid` (web action `settings`,
    /// `sa=updaterights`). `rights` as for [`add_user`](UrbackupServer::add_user).
    pub async fn set_user_rights(&self, userid: i64, rights: &str) -> Result<()> {
        let rights: Rights = rights.parse().map_err(UrbackupError::InvalidInput)?;
        let r = self
            .users_call(
                Call::write("settings")
                    .param("sa", "updaterights")
                    .param("userid", userid.to_string())
                    .param("rights", rights.encode()),
            )
            .await?;
        if !r.update_right {
            return Err(UrbackupError::access_denied(
                "settings",
                Some("updaterights".into()),
            ));
        }
        Ok(())
    }

    async fn users_call(&self, call: Call<'_>) -> Result<UsersReply> {
        let mut r: UsersReply = self.transport.call(call).await?;
        if r.sa.as_deref() != Some("listusers") {
            // No `listusers` continuation: the session lacks the user management right.
            return Err(UrbackupError::access_denied(
                "settings",
                Some("usermod".into()),
            ));
        }
        r.users = r.users.into_iter().map(User::fill_rights_text).collect();
        Ok(r)
    }

    /// Client groups, without the default group (spec: `get_groups`; web action `settings`,
    /// `sa=navitems`: groups are listed in `navitems.groups`; the spec's Python origin asks
    /// for a sub-action that does not exist and always gets an empty list).
    pub async fn get_groups(&self) -> Result<Vec<Group>> {
        let r = self
            .nav_call(Call::read("settings").param("sa", "navitems"))
            .await?;
        Ok(r.navitems
            .unwrap_or_default()
            .groups
            .into_iter()
            .filter(|g| g.id != 0)
            .collect())
    }

    /// Clients as the settings pages list them, with their group (web action `settings`,
    /// `sa=navitems`).
    pub async fn settings_clients(&self) -> Result<Vec<SettingsClient>> {
        let r = self
            .nav_call(Call::read("settings").param("sa", "navitems"))
            .await?;
        Ok(r.navitems.unwrap_or_default().clients)
    }

    /// Adds a client group and returns it (web action `settings`, `sa=groupadd`).
    pub async fn add_group(&self, name: &str) -> Result<Group> {
        if name.trim().is_empty() {
            return Err(UrbackupError::InvalidInput("group name is empty".into()));
        }
        let r = self
            .nav_call(
                Call::write("settings")
                    .param("sa", "groupadd")
                    .param("name", name),
            )
            .await?;
        if r.already_exists {
            return Err(UrbackupError::Server {
                action: "settings".into(),
                message: format!("a group named `{name}` exists already"),
            });
        }
        match (r.add_ok, r.added_group) {
            (true, Some(g)) => transport::from_value("settings", &g),
            _ => Err(UrbackupError::access_denied(
                "settings",
                Some("groupadd".into()),
            )),
        }
    }

    /// Removes a client group; its clients move to the default group (web action
    /// `settings`, `sa=groupremove`).
    pub async fn remove_group(&self, groupid: i64) -> Result<()> {
        let r = self
            .nav_call(
                Call::write("settings")
                    .param("sa", "groupremove")
                    .param("id", groupid.to_string()),
            )
            .await?;
        if !r.delete_ok {
            return Err(UrbackupError::access_denied(
                "settings",
                Some("groupremove".into()),
            ));
        }
        Ok(())
    }

    /// Moves a client into a group (0 = default group) (web action `settings`,
    /// `sa=clientsettings_save` with `memberof`, `no_ok=true`, and the client's `archive`
    /// rules resent unchanged). Verified through the settings navigation.
    pub async fn set_client_group(&self, clientid: i64, groupid: i64) -> Result<()> {
        let current = self
            .read_settings(super::settings::Target::Client(clientid))
            .await?;
        let (archive, mask) = super::settings::unchanged_archive(&current);
        let call = Call::write("settings")
            .param("sa", "clientsettings_save")
            .param("t_clientid", clientid.to_string())
            .param("memberof", groupid.to_string())
            .param("no_ok", "true")
            .param("archive", archive)
            .param("archive.use", mask);
        let r = self.nav_call(call).await?;
        let moved = r
            .navitems
            .unwrap_or_default()
            .clients
            .iter()
            .any(|c| c.id == clientid && c.group == groupid);
        if !moved {
            return Err(UrbackupError::access_denied(
                "settings",
                Some("group membership".into()),
            ));
        }
        Ok(())
    }

    async fn nav_call(&self, call: Call<'_>) -> Result<NavReply> {
        self.transport.call(call).await
    }
}
