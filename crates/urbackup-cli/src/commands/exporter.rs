//! `exporter`: Prometheus metrics over HTTP.
//!
//! A tiny HTTP/1.1 server on tokio: `GET /metrics` scrapes the server with **three requests**
//! sent at once (`status`, `progress`, `usage`), whatever the number of clients, plus a login
//! when the session has expired. One [`urbackup::UrbackupServer`] is shared by every scrape,
//! so the exporter logs in once and keeps its session.

use super::status::{file_flag, image_flag};
use super::Ctx;
use crate::cli::ExporterArgs;
use crate::output::Flag;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use urbackup::{UrbackupError, UrbackupServer};

/// `exporter`.
pub async fn run(ctx: &Ctx, a: &ExporterArgs) -> Result<u8> {
    // Log in once up front: a wrong password must not be retried on every scrape (the
    // server bans an address after 10 failed logins).
    match ctx.server.login_typed().await {
        Ok(_) => {}
        Err(e @ UrbackupError::Authentication(_)) => return Err(e.into()),
        Err(e) => {
            eprintln!("warning: cannot log in yet ({e}); serving urbackup_up 0 until it works")
        }
    }
    let listener = TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    eprintln!(
        "serving Prometheus metrics of {} on http://{}/metrics",
        ctx.server.url(),
        listener.local_addr()?
    );
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("warning: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let server = ctx.server.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(120), handle(stream, server)).await;
        });
    }
}

async fn handle(mut stream: TcpStream, server: UrbackupServer) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > 16 * 1024 {
            return respond(
                &mut stream,
                431,
                "text/plain",
                "request header too large\n",
                false,
            )
            .await;
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut stream,
            405,
            "text/plain",
            "method not allowed\n",
            false,
        )
        .await;
    }
    match path {
        "/metrics" => {
            let body = scrape(&server).await;
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
                head_only,
            )
            .await
        }
        "/" => {
            respond(
                &mut stream,
                200,
                "text/html; charset=utf-8",
                "<html><head><title>UrBackup exporter</title></head><body><h1>UrBackup exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n",
                head_only,
            )
            .await
        }
        _ => respond(&mut stream, 404, "text/plain", "not found\n", head_only).await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

/// Prometheus text builder.
struct Metrics {
    out: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", fmt_value(value));
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn b(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}

/// One scrape: `status`, `progress` and `usage`, sent concurrently.
pub async fn scrape(server: &UrbackupServer) -> String {
    let t0 = Instant::now();
    let (status, progress, usage) = tokio::join!(
        server.status_report(),
        server.get_actions_typed(),
        server.get_usage_typed()
    );
    let mut m = Metrics { out: String::new() };
    m.family(
        "urbackup_up",
        "gauge",
        "1 when the server answered the status request, else 0",
    );
    m.sample("urbackup_up", &[], b(status.is_ok()));
    if let Err(e) = &status {
        eprintln!("warning: scrape failed: {e}");
    }

    if let Ok(report) = &status {
        let clients: Vec<_> = report.status.iter().filter(|c| !c.rejected).collect();
        m.family("urbackup_clients", "gauge", "Number of clients");
        m.sample("urbackup_clients", &[], clients.len() as f64);

        m.family(
            "urbackup_client_info",
            "gauge",
            "Client facts as labels (always 1)",
        );
        for c in &clients {
            m.sample(
                "urbackup_client_info",
                &[
                    ("client", &c.name),
                    ("group", &c.groupname),
                    ("version", &c.client_version_string),
                    ("os", &c.os_simple),
                ],
                1.0,
            );
        }
        type Getter = fn(&urbackup::ClientStatus, &urbackup::StatusReport) -> f64;
        let per_client: [(&str, &str, Getter); 9] = [
            (
                "urbackup_client_online",
                "1 when the client is connected",
                |c, _| b(c.online),
            ),
            (
                "urbackup_client_last_file_backup_timestamp_seconds",
                "Unix time of the last file backup (0 = never)",
                |c, _| c.lastbackup as f64,
            ),
            (
                "urbackup_client_last_image_backup_timestamp_seconds",
                "Unix time of the last image backup (0 = never)",
                |c, _| c.lastbackup_image as f64,
            ),
            (
                "urbackup_client_last_seen_timestamp_seconds",
                "Unix time the client was last seen",
                |c, _| c.lastseen as f64,
            ),
            (
                "urbackup_client_file_ok",
                "The server's file backup status flag",
                |c, _| b(c.file_ok),
            ),
            (
                "urbackup_client_image_ok",
                "The server's image backup status flag",
                |c, _| b(c.image_ok),
            ),
            (
                "urbackup_client_file_failed",
                "1 when file backups are neither OK nor disabled",
                |c, r| b(file_flag(c, Some(r)) == Flag::Failed),
            ),
            (
                "urbackup_client_image_failed",
                "1 when image backups are neither OK, disabled nor unsupported",
                |c, r| b(image_flag(c, Some(r)) == Flag::Failed),
            ),
            (
                "urbackup_client_last_file_backup_issues",
                "Issues in the last file backup",
                |c, _| c.last_filebackup_issues as f64,
            ),
        ];
        for (name, help, get) in per_client {
            m.family(name, "gauge", help);
            for c in &clients {
                m.sample(name, &[("client", &c.name)], get(c, report));
            }
        }
    }

    m.family(
        "urbackup_usage_up",
        "gauge",
        "1 when the usage request succeeded (needs the statistics right)",
    );
    m.sample("urbackup_usage_up", &[], b(usage.is_ok()));
    if let Ok(usage) = &usage {
        m.family(
            "urbackup_client_used_bytes",
            "gauge",
            "Storage used by the client's backups, by kind (files, images)",
        );
        for u in usage {
            m.sample(
                "urbackup_client_used_bytes",
                &[("client", &u.name), ("kind", "files")],
                u.files as f64,
            );
            m.sample(
                "urbackup_client_used_bytes",
                &[("client", &u.name), ("kind", "images")],
                u.images as f64,
            );
        }
        m.family(
            "urbackup_client_used_total_bytes",
            "gauge",
            "Storage used by all backups of the client",
        );
        for u in usage {
            m.sample(
                "urbackup_client_used_total_bytes",
                &[("client", &u.name)],
                u.used as f64,
            );
        }
    }

    if let Ok(actions) = &progress {
        m.family("urbackup_actions_running", "gauge", "Running actions");
        m.sample("urbackup_actions_running", &[], actions.len() as f64);
        let families: [(&str, &str); 5] = [
            (
                "urbackup_action_progress_ratio",
                "Progress of a running action, 0 to 1 (absent while unknown)",
            ),
            (
                "urbackup_action_done_bytes",
                "Bytes done by a running action",
            ),
            (
                "urbackup_action_total_bytes",
                "Total bytes of a running action (absent while unknown)",
            ),
            (
                "urbackup_action_speed_bytes_per_second",
                "Current speed of a running action",
            ),
            (
                "urbackup_action_eta_seconds",
                "Estimated time left of a running action (absent while unknown; 60 = under a minute)",
            ),
        ];
        for (i, (name, help)) in families.iter().enumerate() {
            m.family(name, "gauge", help);
            for a in actions {
                let id = a.id.to_string();
                let action = a.action.description();
                let client = if a.name.is_empty() {
                    ""
                } else {
                    a.name.as_str()
                };
                let labels = [
                    ("client", client),
                    ("action", action.as_str()),
                    ("id", id.as_str()),
                ];
                let v = match i {
                    0 => a.percent().map(|p| f64::from(p) / 100.0),
                    1 => Some(a.done_bytes.max(0) as f64),
                    2 if a.total_bytes >= 0 => Some(a.total_bytes as f64),
                    3 => Some(a.speed_bpms * 1000.0),
                    // The server says "under a minute" as 61 s: report the bound, 60.
                    4 if a.eta_under_a_minute() => Some(60.0),
                    4 => a.eta().map(|d| d.as_secs_f64()),
                    _ => None,
                };
                if let Some(v) = v {
                    m.sample(name, &labels, v);
                }
            }
        }
    }

    m.family(
        "urbackup_scrape_duration_seconds",
        "gauge",
        "Time this scrape took (status, progress and usage requests)",
    );
    m.sample(
        "urbackup_scrape_duration_seconds",
        &[],
        t0.elapsed().as_secs_f64(),
    );
    m.out
}
