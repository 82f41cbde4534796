-- The console's database, schema version 1. Applied once, in order, by rusqlite_migration
-- (the version is SQLite's user_version); never edit a migration that has shipped: add one.

-- Console users: separate from the UrBackup servers' accounts.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    -- Argon2id, PHC string format (salt and parameters inside).
    password_hash TEXT NOT NULL,
    created INTEGER NOT NULL,
    password_changed INTEGER NOT NULL
);

-- Browser sessions. The cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The token every state-changing request of this session must carry.
    csrf TEXT NOT NULL,
    created INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    -- A message for the next page (JSON {"ok": bool, "text": "..."}), shown once.
    flash TEXT
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- Clients the console has seen, per server (the server's profile name).
CREATE TABLE clients (
    server TEXT NOT NULL,
    clientid INTEGER NOT NULL,
    name TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    -- The client's last file and image backup times (from `status`) when its backup lists
    -- were last read: the poller reads them again only once these change.
    lists_file INTEGER,
    lists_image INTEGER,
    PRIMARY KEY (server, clientid)
) WITHOUT ROWID;

-- Every backup the console has seen in a server's backup lists, kept after the server
-- deletes it (trends and compliance outlive the server's retention).
CREATE TABLE backups (
    server TEXT NOT NULL,
    clientid INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'image')),
    backupid INTEGER NOT NULL,
    backuptime INTEGER NOT NULL,
    -- As the server reports it; -1 while not calculated.
    size_bytes INTEGER NOT NULL,
    -- 0: full; otherwise the incremental level.
    incremental INTEGER NOT NULL,
    first_listed INTEGER NOT NULL,
    last_listed INTEGER NOT NULL,
    PRIMARY KEY (server, clientid, kind, backupid)
) WITHOUT ROWID;
CREATE INDEX backups_time ON backups (server, clientid, kind, backuptime);

-- Durations of finished backups, from the server's recent activities (`lastacts`).
CREATE TABLE durations (
    server TEXT NOT NULL,
    clientid INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'image')),
    backupid INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    PRIMARY KEY (server, clientid, kind, backupid)
) WITHOUT ROWID;

-- Logs with errors, with their error and warning lines.
CREATE TABLE logs (
    server TEXT NOT NULL,
    logid INTEGER NOT NULL,
    clientname TEXT NOT NULL,
    time INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    warnings INTEGER NOT NULL,
    image INTEGER NOT NULL,
    incremental INTEGER NOT NULL,
    restore INTEGER NOT NULL,
    -- JSON array of [level, unix time, message] (errors and warnings only).
    lines TEXT NOT NULL,
    PRIMARY KEY (server, logid)
) WITHOUT ROWID;
CREATE INDEX logs_client ON logs (server, clientname, time);

-- What console users did to servers (start and stop), with the outcome.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    user TEXT NOT NULL,
    server TEXT NOT NULL,
    clientid INTEGER,
    action TEXT NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_client ON audit (server, clientid, time);
