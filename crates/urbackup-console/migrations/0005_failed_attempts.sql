-- Schema version 5: what compliance needs to count failed attempts (see compliance.rs).

-- The first poll at which the server's verdict on a kind of a client was not OK, after a
-- given last backup of that kind: one row per failure, which lasts until a newer good backup.
CREATE TABLE verdict_failures (
    server TEXT NOT NULL,
    clientid INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'image')),
    -- The kind's last backup in `status` at that poll (Unix time; 0: none).
    after_backup INTEGER NOT NULL,
    -- The poll that first saw it.
    seen INTEGER NOT NULL,
    PRIMARY KEY (server, clientid, kind, after_backup)
) WITHOUT ROWID;

-- A log with errors whose backup failed: no "Backup succeeded" or "Backup completed with
-- issues" line (a restore's log never counts). For logs stored before, whose info lines were
-- not kept: those whose error lines say "Backup failed".
ALTER TABLE logs ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
UPDATE logs SET failed = 1 WHERE restore = 0 AND lines LIKE '%Backup failed%';
