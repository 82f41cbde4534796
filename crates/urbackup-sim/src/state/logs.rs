//! Stored logs and their text.

use super::*;

impl State {
    // ---------------------------------------------------------------- logs

    /// Add a stored log with explicit text.
    pub fn add_log(&mut self, mut log: StoredLog) -> i64 {
        if log.id == 0 {
            log.id = self.next_log_id;
        }
        if log.id >= self.next_log_id {
            self.next_log_id = log.id + 1;
        }
        let id = log.id;
        self.logs.insert(id, log);
        id
    }

    /// Log text (synthesized for seeded logs).
    pub fn log_text(&self, log: &StoredLog) -> String {
        if let Some(d) = &log.data {
            return d.clone();
        }
        let name = self
            .clients
            .get(&log.client_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let t = log.time;
        let kind = if log.image { "image" } else { "file" };
        let inc = if log.incremental > 0 {
            "incremental"
        } else {
            "full"
        };
        let mut lines = vec![format!(
            "0-{}-Starting scheduled {inc} {kind} backup...",
            t - 600
        )];
        if log.image {
            lines.push(format!("0-{}-Backing up volume C: ...", t - 599));
        } else {
            lines.push(format!("0-{}-{name}: Loading file list...", t - 598));
            lines.push(format!(
                "0-{}-{name}: Calculating file tree differences...",
                t - 597
            ));
            if self
                .clients
                .get(&log.client_id)
                .is_some_and(|c| c.latin1_file)
            {
                lines.push(format!(
                    "0-{}-Loading file patch for \"{}\"",
                    t - 596,
                    latin1_file_name()
                ));
            }
        }
        for i in 0..log.warnings {
            lines.push(format!(
                "1-{}-Error getting file metadata of file {i}. Retrying...",
                t - 300
            ));
        }
        for _ in 0..log.errors {
            lines.push(format!(
                "2-{}-Client {name} went offline. Backup failed.",
                t - 10
            ));
        }
        lines.push(format!(
            "0-{}-Time taken for backing up client {name}: 10m",
            t
        ));
        if log.errors > 0 {
            lines.push(format!("2-{t}-Backup failed"));
        } else {
            lines.push(format!("0-{t}-Backup succeeded"));
        }
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }
}
