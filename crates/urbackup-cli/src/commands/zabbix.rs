//! `zabbix`: low-level discovery JSON and item values for Zabbix.
//!
//! `zabbix discovery` prints `{"data": [{"{#SERVER}": ..., "{#CLIENT}": ...}, ...]}` (the LLD
//! format of Zabbix 4.2 and later: a `data` array of macro objects); `zabbix values` prints
//! one object for a master item whose dependent items pick their value with JSONPath, e.g.
//! `$.servers["prod"].clients["laptop"].file_state`. Both read every server given (one task
//! each) and judge clients by the library's health rule, like `report`.

use super::report::{collect, exit_code};
use crate::cli::{ZabbixArgs, ZabbixWhat};
use crate::config::Resolved;
use anyhow::Result;
use serde_json::{json, Map, Value};
use urbackup::BackupKind;

/// `zabbix`.
pub async fn run(targets: Vec<Resolved>, a: &ZabbixArgs) -> Result<u8> {
    let servers = collect(targets, a.server.name.as_deref(), &a.health.policy()).await?;
    let out = match a.what {
        ZabbixWhat::Discovery => {
            let mut data = Vec::new();
            for s in servers.servers.iter().filter(|s| s.failure.is_none()) {
                for c in s.clients.iter() {
                    data.push(json!({"{#SERVER}": s.name, "{#CLIENT}": c.name()}));
                }
            }
            json!({ "data": data })
        }
        ZabbixWhat::Values => {
            let mut all = Map::new();
            for s in &servers.servers {
                let v = match &s.failure {
                    None => {
                        let mut clients = Map::new();
                        for c in s.clients.iter().map(|c| &c.health) {
                            let mut m = Map::new();
                            for kind in [BackupKind::File, BackupKind::Image] {
                                let k = c.kind(kind);
                                let n = kind.as_str();
                                m.insert(format!("{n}_state"), json!(k.state.as_str()));
                                m.insert(format!("{n}_severity"), json!(k.severity.code()));
                                m.insert(format!("{n}_last_backup"), json!(k.last_backup));
                                m.insert(format!("{n}_age_seconds"), json!(k.age_secs));
                            }
                            m.insert("severity".into(), json!(c.severity().code()));
                            m.insert("online".into(), json!(u8::from(c.online)));
                            m.insert("outdated".into(), json!(u8::from(c.outdated)));
                            m.insert("version".into(), json!(c.version));
                            m.insert("file_issues".into(), json!(c.file_issues));
                            clients.insert(c.name.clone(), Value::Object(m));
                        }
                        json!({"up": 1, "used_bytes": s.used_bytes(), "clients": clients})
                    }
                    Some(f) => json!({
                        "up": 0,
                        "error": format!("{}: {}", f.kind.describe(), f.message),
                        "clients": {}
                    }),
                };
                all.insert(s.name.clone(), v);
            }
            json!({ "servers": all })
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&out).unwrap_or_else(|_| "{}".into())
    );
    // Discovery succeeds when anything answered; values carry `up` per server.
    Ok(if exit_code(&servers) == 3 { 1 } else { 0 })
}
