-- Schema version 3: the audit trail of browsing, downloads and restores (issue 23). Every row
-- names, besides its user, time, server and client, the backup and the path it was about,
-- the bytes sent (downloads) and how it ended, as structured fields; `action` and `detail`
-- stay the plain words shown on the pages.
ALTER TABLE audit ADD COLUMN backupid INTEGER;
ALTER TABLE audit ADD COLUMN path TEXT;
ALTER TABLE audit ADD COLUMN bytes INTEGER;
-- ok, failed, running, broken off, cancelled, refused (NULL for rows written before)
ALTER TABLE audit ADD COLUMN outcome TEXT;
CREATE INDEX audit_time ON audit (time);
