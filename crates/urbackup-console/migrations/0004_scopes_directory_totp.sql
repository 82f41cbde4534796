-- Scopes, directory users, the second factor, the sessions page.

-- Where a user's password is checked: 'local' (the Argon2 hash here) or 'directory' (LDAP;
-- no usable hash here, role and scope copied from the directory's groups at each login).
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local'
    CHECK (source IN ('local', 'directory'));
-- A directory user's entry.
ALTER TABLE users ADD COLUMN dn TEXT;
CREATE UNIQUE INDEX users_dn ON users (dn) WHERE dn IS NOT NULL;
-- The scope: NULL, every server (every group); else a JSON array of server names (of group
-- names) the user may see.
ALTER TABLE users ADD COLUMN scope_servers TEXT;
ALTER TABLE users ADD COLUMN scope_groups TEXT;
-- TOTP: the secret (base32) once enrolment is confirmed, the one being enrolled, and the step
-- of the last code accepted (a code is accepted once).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- One-time recovery codes: only their SHA-256 (each holds 80 random bits).
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- Sessions as the admins' sessions page shows them: an id to end one by (not the token's
-- hash), and the address of the login.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN addr TEXT NOT NULL DEFAULT '';
UPDATE sessions SET public_id = lower(hex(randomblob(12)));
CREATE UNIQUE INDEX sessions_public ON sessions (public_id);

-- Logins whose password was right, waiting for the second factor (a few minutes at most).
CREATE TABLE pending_logins (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    -- "Keep me logged in" was ticked.
    remember INTEGER NOT NULL,
    -- Where to go after the login.
    next TEXT NOT NULL,
    -- Wrong codes sent for it.
    failures INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
