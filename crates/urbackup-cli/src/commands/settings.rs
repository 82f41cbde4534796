//! `settings get|set|diff|apply` for global, group and client settings.
//!
//! Writes go through the library, which sends only the changed keys (plus what the server
//! needs with them) in one save and verifies the reply. `apply` first compares the file with
//! the effective values and sends only the keys that differ; nothing differs, nothing is sent.

use super::{client_by_name, Ctx};
use crate::cli::{SettingsCmd, SettingsTarget};
use crate::output::{Cell, Format, Output, Table};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use urbackup::{SettingValue, Settings};

/// Whose settings, resolved to ids.
#[derive(Debug, Clone)]
enum Target {
    Global,
    Client(i64, String),
    Group(i64, String),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Global => "global settings".into(),
            Target::Client(_, n) => format!("settings of client `{n}`"),
            Target::Group(_, n) => format!("settings of group `{n}`"),
        }
    }
}

async fn target(ctx: &Ctx, t: &SettingsTarget) -> Result<Target> {
    if let Some(c) = &t.client {
        return Ok(Target::Client(client_by_name(ctx, c).await?.id, c.clone()));
    }
    if let Some(g) = &t.group {
        return Ok(Target::Group(
            super::users::group_id(ctx, g).await?,
            g.clone(),
        ));
    }
    Ok(Target::Global)
}

async fn read(ctx: &Ctx, t: &Target) -> Result<Settings> {
    Ok(match t {
        Target::Global => ctx.server.get_global_settings_typed().await?,
        Target::Client(id, _) => ctx.server.client_settings_by_id(*id).await?,
        Target::Group(id, _) => ctx.server.group_settings(*id).await?,
    })
}

async fn save(ctx: &Ctx, t: &Target, changes: &[(String, SettingValue)]) -> Result<()> {
    let refs: Vec<(&str, SettingValue)> = changes
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    match t {
        Target::Global => ctx.server.set_global_settings(&refs).await?,
        Target::Client(id, _) => ctx.server.change_client_settings(*id, &refs).await?,
        Target::Group(id, _) => ctx.server.change_group_settings(*id, &refs).await?,
    };
    Ok(())
}

fn source(s: &urbackup::Setting) -> &'static str {
    match s.use_mask {
        None => "global",
        Some(m) if m & 4 != 0 && s.client.is_some() => "client",
        Some(m) if m & 2 != 0 && s.own.is_some() => "own",
        Some(_) => "inherited",
    }
}

/// `settings ...`.
pub async fn run(ctx: &Ctx, cmd: &SettingsCmd) -> Result<Output> {
    match cmd {
        SettingsCmd::Get { target: t, keys } => get(ctx, t, keys).await,
        SettingsCmd::Set { target: t, pairs } => {
            let mut changes = Vec::new();
            for p in pairs {
                let (k, v) = p
                    .split_once('=')
                    .ok_or_else(|| anyhow!("`{p}` is not KEY=VALUE"))?;
                let k = k.trim();
                if k.is_empty() {
                    bail!("`{p}` has an empty key");
                }
                changes.push((k.to_owned(), parse_value(v)));
            }
            let t = target(ctx, t).await?;
            save(ctx, &t, &changes).await?;
            let keys: Vec<&str> = changes.iter().map(|(k, _)| k.as_str()).collect();
            Ok(Output::done(
                format!("changed {} in the {}", keys.join(", "), t.describe()),
                json!({"changed": changes.iter().map(|(k, v)| json!({"key": k, "value": v.to_wire()})).collect::<Vec<_>>()}),
            ))
        }
        SettingsCmd::Diff { target: t, file } => {
            let wanted = read_file(file)?;
            let t = target(ctx, t).await?;
            let current = read(ctx, &t).await?;
            let diff = differences(&current, &wanted);
            Ok(diff_output(ctx, &diff, None))
        }
        SettingsCmd::Apply {
            target: t,
            file,
            dry_run,
        } => {
            let wanted = read_file(file)?;
            let t = target(ctx, t).await?;
            let current = read(ctx, &t).await?;
            let diff = differences(&current, &wanted);
            if diff.is_empty() || *dry_run {
                let note = if diff.is_empty() {
                    format!(
                        "the {} already match {}: nothing to change",
                        t.describe(),
                        file.display()
                    )
                } else {
                    format!("dry run: {} setting(s) would change", diff.len())
                };
                return Ok(diff_output(ctx, &diff, Some((note, false))));
            }
            let changes: Vec<(String, SettingValue)> = diff
                .iter()
                .map(|d| (d.key.clone(), d.new.clone()))
                .collect();
            save(ctx, &t, &changes).await?;
            Ok(diff_output(
                ctx,
                &diff,
                Some((
                    format!(
                        "changed {} setting(s) of the {} in one save",
                        diff.len(),
                        t.describe()
                    ),
                    true,
                )),
            ))
        }
    }
}

/// `settings get`.
pub async fn get(ctx: &Ctx, t: &SettingsTarget, keys: &[String]) -> Result<Output> {
    let t = target(ctx, t).await?;
    let s = read(ctx, &t).await?;
    let unknown: Vec<&str> = keys
        .iter()
        .filter(|k| s.get(k).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        bail!("no setting named {}", unknown.join(", "));
    }
    let mut table = Table::new(&[("key", "KEY"), ("value", "VALUE"), ("source", "SOURCE")]);
    for (k, v) in &s.entries {
        if !keys.is_empty() && !keys.contains(k) {
            continue;
        }
        table.push(vec![
            Cell::from(k),
            Cell::text(v.text()),
            Cell::from(source(v)),
        ]);
    }
    Ok(Output::Table(table))
}

/// A setting that differs.
#[derive(Debug, Clone)]
struct Diff {
    key: String,
    old: Option<String>,
    new: SettingValue,
}

fn differences(current: &Settings, wanted: &[(String, SettingValue)]) -> Vec<Diff> {
    wanted
        .iter()
        .filter_map(|(k, v)| match current.get(k) {
            Some(s) if v.matches(&s.value) => None,
            Some(s) => Some(Diff {
                key: k.clone(),
                old: Some(s.text()),
                new: v.clone(),
            }),
            None => Some(Diff {
                key: k.clone(),
                old: None,
                new: v.clone(),
            }),
        })
        .collect()
}

fn diff_output(ctx: &Ctx, diff: &[Diff], note: Option<(String, bool)>) -> Output {
    let mut t = Table::new(&[("key", "KEY"), ("current", "CURRENT"), ("new", "NEW")]);
    for d in diff {
        t.push(vec![
            Cell::from(&d.key),
            d.old.clone().map(Cell::text).unwrap_or(Cell::Null),
            Cell::text(d.new.to_wire()),
        ]);
    }
    let Some((note, applied)) = note else {
        return Output::Table(t);
    };
    match ctx.style.format {
        Format::Json => Output::done("", json!({"applied": applied, "changes": t.json_rows()})),
        _ => {
            let mut message = String::new();
            if !diff.is_empty() {
                message.push_str(&t.render(ctx.style.color));
            }
            message.push_str(&note);
            Output::done(message, Value::Null)
        }
    }
}

/// A value typed on the command line: `true`/`false`, an integer, else text.
fn parse_value(v: &str) -> SettingValue {
    match v {
        "true" => SettingValue::Bool(true),
        "false" => SettingValue::Bool(false),
        _ => match v.parse::<i64>() {
            Ok(i) if i.to_string() == v => SettingValue::Int(i),
            _ => SettingValue::Text(v.to_owned()),
        },
    }
}

fn json_value(key: &str, v: &Value) -> Result<SettingValue> {
    Ok(match v {
        Value::Bool(b) => SettingValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SettingValue::Int(i),
            None => SettingValue::Text(n.to_string()),
        },
        Value::String(s) => SettingValue::Text(s.clone()),
        Value::Null => SettingValue::Text(String::new()),
        _ => bail!("setting `{key}`: a value must be a string, number or boolean"),
    })
}

/// Reads `key = value` from a TOML file, or a JSON object, or the rows of
/// `settings get --output json`.
fn read_file(path: &Path) -> Result<Vec<(String, SettingValue)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_json =
        path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with(['{', '[']);
    let mut out = Vec::new();
    if is_json {
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow!("invalid JSON in {}: {e}", path.display()))?;
        match v {
            Value::Object(m) => {
                for (k, v) in &m {
                    out.push((k.clone(), json_value(k, v)?));
                }
            }
            Value::Array(rows) => {
                for r in &rows {
                    let k = r
                        .get("key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| anyhow!("{}: every row needs a `key`", path.display()))?;
                    let v = r.get("value").unwrap_or(&Value::Null);
                    out.push((k.to_owned(), json_value(k, v)?));
                }
            }
            _ => bail!("{}: expected an object of key: value", path.display()),
        }
    } else {
        let t: toml::Table = toml::from_str(&text)
            .map_err(|e| anyhow!("invalid TOML in {}: {}", path.display(), e.message().trim()))?;
        for (k, v) in &t {
            let sv = match v {
                toml::Value::Boolean(b) => SettingValue::Bool(*b),
                toml::Value::Integer(i) => SettingValue::Int(*i),
                toml::Value::String(s) => SettingValue::Text(s.clone()),
                toml::Value::Float(f) => SettingValue::Text(f.to_string()),
                _ => bail!(
                    "{}: setting `{k}` must be a string, number or boolean",
                    path.display()
                ),
            };
            out.push((k.clone(), sv));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_the_command_line() {
        assert_eq!(parse_value("true"), SettingValue::Bool(true));
        assert_eq!(parse_value("42"), SettingValue::Int(42));
        assert_eq!(parse_value("042"), SettingValue::Text("042".into()));
        assert_eq!(parse_value("a b"), SettingValue::Text("a b".into()));
    }
}
