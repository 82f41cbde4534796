//! Everything the commands print goes through here: tables on a terminal, JSON and CSV for
//! scripts, human sizes and ages, colours only on a terminal without `NO_COLOR`.
//!
//! A command builds a [`Table`] (or a single-row record) of typed [`Cell`]s; the renderer
//! decides how a cell looks:
//!
//! | cell | table | JSON / CSV |
//! |---|---|---|
//! | [`Cell::Time`] | age (`3h 12m`, `never`) | Unix seconds, `null` for never |
//! | [`Cell::Bytes`] | `1.5 GiB` | bytes (integer) |
//! | [`Cell::Secs`] | `2m 10s` | seconds |
//! | [`Cell::Eta`] | `2m 10s`, `<1m` | seconds |
//! | [`Cell::Flag`] | `ok` / `FAILED` / `disabled`, coloured | the same word |

use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON for scripts (stable; see the README).
    Json,
    /// CSV with a header line, raw values as in JSON.
    Csv,
    /// Markdown tables (values as for people, escaped).
    Markdown,
    /// One self-contained HTML file: inline CSS, no scripts, every value escaped.
    Html,
}

/// How to print: the format and whether colours are wanted.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// The output format.
    pub format: Format,
    /// Colours on stdout.
    pub color: bool,
    /// Stderr is a terminal (progress bars).
    pub stderr_tty: bool,
}

impl Style {
    /// Detects terminals and `NO_COLOR`.
    pub fn detect(format: Format) -> Style {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            format,
            color: stdout_tty && !no_color && std::env::var("TERM").ok().as_deref() != Some("dumb"),
            stderr_tty,
        }
    }
}

/// The state of a backup kind for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Backups are recent enough.
    Ok,
    /// Backups are due or failed.
    Failed,
    /// This kind is disabled for the client: not a failure.
    Disabled,
    /// The client cannot do this kind (images on Linux): not a failure.
    Unsupported,
    /// The server is content, but the backup is older than the given age.
    Stale,
    /// Never backed up.
    Never,
}

impl From<urbackup::BackupState> for Flag {
    fn from(s: urbackup::BackupState) -> Flag {
        use urbackup::BackupState as S;
        match s {
            S::Ok => Flag::Ok,
            S::Stale => Flag::Stale,
            S::Failed => Flag::Failed,
            S::Never => Flag::Never,
            S::Disabled => Flag::Disabled,
            S::Unsupported => Flag::Unsupported,
        }
    }
}

impl Flag {
    /// The word used in every format.
    pub fn word(self) -> &'static str {
        match self {
            Flag::Ok => "ok",
            Flag::Failed => "failed",
            Flag::Disabled => "disabled",
            Flag::Unsupported => "unsupported",
            Flag::Stale => "stale",
            Flag::Never => "never",
        }
    }
}

/// One typed value of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(Box<str>),
    /// An integer.
    Int(i64),
    /// Yes / no.
    Bool(bool),
    /// Yes / no where no deserves attention (online).
    YesNo(bool),
    /// A size in bytes (negative: unknown).
    Bytes(i64),
    /// A point in time, Unix seconds (0 = never), shown as an age.
    Time(i64),
    /// A point in time, Unix seconds, shown as a date (`2024-05-01 13:45:00 UTC`).
    Date(i64),
    /// A duration in seconds (negative: unknown).
    Secs(i64),
    /// A percentage (negative: unknown).
    Percent(i64),
    /// A time left in seconds (negative: unknown); `true`: the server only says "under a
    /// minute" (shown as `<1m`; JSON keeps the seconds).
    Eta(i64, bool),
    /// Backup state of a kind.
    Flag(Flag),
    /// Nothing.
    Null,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into().into_boxed_str())
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.into())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s.into_boxed_str())
    }
}
impl From<&String> for Cell {
    fn from(s: &String) -> Cell {
        Cell::Text(s.as_str().into())
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(v)
    }
}
impl From<bool> for Cell {
    fn from(v: bool) -> Cell {
        Cell::Bool(v)
    }
}

impl Cell {
    /// The JSON value (raw: Unix times, bytes, seconds).
    pub fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.to_string()),
            Cell::Int(v) => Value::from(*v),
            Cell::Bool(b) | Cell::YesNo(b) => Value::Bool(*b),
            Cell::Bytes(v) | Cell::Secs(v) | Cell::Percent(v) | Cell::Eta(v, _) => {
                if *v < 0 {
                    Value::Null
                } else {
                    Value::from(*v)
                }
            }
            Cell::Time(t) | Cell::Date(t) => {
                if *t <= 0 {
                    Value::Null
                } else {
                    Value::from(*t)
                }
            }
            Cell::Flag(f) => Value::String(f.word().to_owned()),
            Cell::Null => Value::Null,
        }
    }

    /// The CSV text (raw values, like JSON).
    fn csv(&self) -> String {
        match self.json() {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// The text for people, and its colour.
    fn human(&self, now: i64) -> (String, Option<Color>) {
        match self {
            Cell::Text(s) => (s.to_string(), None),
            Cell::Int(v) => (v.to_string(), None),
            Cell::Bool(true) | Cell::YesNo(true) => ("yes".into(), None),
            Cell::Bool(false) => ("no".into(), None),
            Cell::YesNo(false) => ("no".into(), Some(Color::Yellow)),
            Cell::Bytes(v) => (
                if *v < 0 {
                    "-".into()
                } else {
                    human_bytes(*v as u64)
                },
                None,
            ),
            Cell::Time(t) => {
                if *t <= 0 {
                    ("never".into(), Some(Color::Dim))
                } else {
                    (human_age(now - *t), None)
                }
            }
            Cell::Date(t) => (iso_time(*t), None),
            Cell::Secs(v) => (
                if *v < 0 {
                    "-".into()
                } else {
                    human_duration(*v)
                },
                None,
            ),
            Cell::Percent(v) => (if *v < 0 { "-".into() } else { format!("{v}%") }, None),
            Cell::Eta(v, under_a_minute) => (
                if *v < 0 {
                    "-".into()
                } else if *under_a_minute {
                    "<1m".into()
                } else {
                    human_duration(*v)
                },
                None,
            ),
            Cell::Flag(f) => (
                match f {
                    Flag::Failed => "FAILED".into(),
                    Flag::Stale => "STALE".into(),
                    other => other.word().into(),
                },
                Some(match f {
                    Flag::Ok => Color::Green,
                    Flag::Failed => Color::Red,
                    Flag::Stale | Flag::Never => Color::Yellow,
                    Flag::Disabled | Flag::Unsupported => Color::Dim,
                }),
            ),
            Cell::Null => ("-".into(), Some(Color::Dim)),
        }
    }

    fn right_aligned(&self) -> bool {
        matches!(
            self,
            Cell::Int(_) | Cell::Bytes(_) | Cell::Secs(_) | Cell::Percent(_) | Cell::Eta(..)
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Color {
    Green,
    Red,
    Yellow,
    Dim,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Green => "32",
            Color::Red => "1;31",
            Color::Yellow => "33",
            Color::Dim => "2",
        }
    }
}

fn paint(text: &str, color: Option<Color>, enabled: bool) -> String {
    match color {
        Some(c) if enabled => format!("\x1b[{}m{text}\x1b[0m", c.code()),
        _ => text.to_owned(),
    }
}

/// A column: its JSON/CSV key, its table header, and whether the table shows it.
#[derive(Debug, Clone)]
pub struct Column {
    /// Key in JSON and CSV.
    pub key: &'static str,
    /// Header in tables.
    pub header: &'static str,
    /// Shown in tables (JSON and CSV always have every column).
    pub in_table: bool,
}

/// A cell as [`Cell::json`] shows it, serialized without building the `Value`.
struct CellJson<'a>(&'a Cell);

impl serde::Serialize for CellJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Cell::Text(t) => s.serialize_str(t),
            Cell::Int(v) => s.serialize_i64(*v),
            Cell::Bool(b) | Cell::YesNo(b) => s.serialize_bool(*b),
            Cell::Bytes(v) | Cell::Secs(v) | Cell::Percent(v) | Cell::Eta(v, _) if *v >= 0 => {
                s.serialize_i64(*v)
            }
            Cell::Time(t) | Cell::Date(t) if *t > 0 => s.serialize_i64(*t),
            Cell::Flag(f) => s.serialize_str(f.word()),
            Cell::Bytes(_)
            | Cell::Secs(_)
            | Cell::Percent(_)
            | Cell::Eta(..)
            | Cell::Time(_)
            | Cell::Date(_)
            | Cell::Null => s.serialize_unit(),
        }
    }
}

/// Rows kept in a form of their own and turned into cells one row at a time when printed:
/// `status` of a 10,000-client server keeps 10,000 small structs, not 170,000 cells
/// (BENCHMARKS.md, part 4).
pub trait CompactRows: std::fmt::Debug + Send + Sync {
    /// How many rows.
    fn len(&self) -> usize;
    /// The cells of row `i`, one per column.
    fn cells(&self, i: usize) -> Vec<Cell>;
}

/// Rows of typed cells under named columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows, one cell per column (see [`Table::rows`]).
    rows: Vec<Vec<Cell>>,
    /// Or the rows in their own form, turned into cells when read.
    compact: Option<std::sync::Arc<dyn CompactRows>>,
    /// Said instead of `(none)` when there are no rows (on stderr for JSON and CSV, whose
    /// stdout stays `[]` or the header).
    pub empty: Option<String>,
}

impl Table {
    /// Says `note` instead of `(none)` when the table has no rows, e.g. what a filter left out.
    pub fn when_empty(mut self, note: impl Into<String>) -> Table {
        self.empty = Some(note.into());
        self
    }

    /// A table with these `(key, header)` columns, all shown.
    pub fn new(columns: &[(&'static str, &'static str)]) -> Table {
        Table {
            columns: columns
                .iter()
                .map(|(key, header)| Column {
                    key,
                    header,
                    in_table: true,
                })
                .collect(),
            rows: Vec::new(),
            compact: None,
            empty: None,
        }
    }

    /// Adds a column shown in JSON and CSV only.
    pub fn hidden(mut self, key: &'static str) -> Table {
        self.columns.push(Column {
            key,
            header: key,
            in_table: false,
        });
        self
    }

    /// Adds a row (one cell per column, in order).
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.make_cells();
        self.rows.push(row);
    }

    /// The rows, given in their own form: cells are made from them one row at a time when
    /// the table is printed (until the table is changed).
    pub fn with_compact_rows(mut self, rows: impl CompactRows + 'static) -> Table {
        debug_assert!(self.rows.is_empty());
        self.rows.clear();
        self.compact = Some(std::sync::Arc::new(rows));
        self
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        match &self.compact {
            Some(c) => c.len(),
            None => self.rows.len(),
        }
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows, one cell per column.
    pub fn rows(&self) -> Box<dyn Iterator<Item = std::borrow::Cow<'_, [Cell]>> + '_> {
        use std::borrow::Cow;
        match &self.compact {
            Some(c) => Box::new((0..c.len()).map(|i| Cow::Owned(c.cells(i)))),
            None => Box::new(self.rows.iter().map(|r| Cow::Borrowed(r.as_slice()))),
        }
    }

    /// Compact rows become cells, to be changed.
    fn make_cells(&mut self) {
        if let Some(c) = self.compact.take() {
            self.rows = (0..c.len()).map(|i| c.cells(i)).collect();
        }
    }

    /// Adds a first column `server` holding `name` in every row.
    pub fn with_server(mut self, name: &str) -> Table {
        self.columns.insert(
            0,
            Column {
                key: "server",
                header: "SERVER",
                in_table: true,
            },
        );
        self.make_cells();
        for r in &mut self.rows {
            r.insert(0, Cell::from(name));
        }
        self
    }

    /// Appends the rows of another table with the same columns.
    pub fn extend(&mut self, mut other: Table) {
        other.make_cells();
        if self.columns.is_empty() {
            self.columns = other.columns;
        }
        self.make_cells();
        self.rows.extend(other.rows);
    }

    /// Writes the rows as a pretty JSON array, one row at a time, straight from the cells
    /// (the same text as [`Table::json_rows`] through `serde_json::to_string_pretty`, without
    /// building a `Value` per row, and with each key escaped once rather than once per row).
    fn write_json_rows(&self, out: &mut impl Write) -> std::io::Result<()> {
        // The order a JSON object of `json_rows` lists its keys in (and, for a key repeated,
        // the column whose cell it keeps): taken from a `serde_json::Map` once.
        let order: Vec<usize> = {
            let mut m = Map::new();
            for (i, c) in self.columns.iter().enumerate() {
                m.insert(c.key.to_owned(), Value::from(i));
            }
            m.values()
                .filter_map(Value::as_u64)
                .map(|i| i as usize)
                .collect()
        };
        let keys = self
            .columns
            .iter()
            .map(|c| serde_json::to_string(c.key))
            .collect::<Result<Vec<_>, _>>()?;
        if self.is_empty() {
            return out.write_all(b"[]");
        }
        out.write_all(b"[")?;
        for (n, row) in self.rows().enumerate() {
            out.write_all(if n == 0 { b"\n  {" } else { b",\n  {" })?;
            let mut empty = true;
            for (i, cell) in order.iter().filter_map(|&i| Some((i, row.get(i)?))) {
                out.write_all(if empty { b"\n    " } else { b",\n    " })?;
                empty = false;
                out.write_all(keys[i].as_bytes())?;
                out.write_all(b": ")?;
                serde_json::to_writer(&mut *out, &CellJson(cell))?;
            }
            out.write_all(if empty { b"}" } else { b"\n  }" })?;
        }
        out.write_all(b"\n]")
    }

    /// The rows as JSON objects.
    pub fn json_rows(&self) -> Vec<Value> {
        self.rows()
            .map(|r| {
                let mut m = Map::new();
                for (c, cell) in self.columns.iter().zip(r.iter()) {
                    m.insert(c.key.to_owned(), cell.json());
                }
                Value::Object(m)
            })
            .collect()
    }

    fn csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| csv_field(c.key)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for r in self.rows() {
            let fields: Vec<String> = r.iter().map(|c| csv_field(&c.csv())).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// Aligned columns, header first.
    pub fn render(&self, color: bool) -> String {
        let now = now();
        let shown: Vec<usize> = (0..self.columns.len())
            .filter(|i| self.columns[*i].in_table)
            .collect();
        let cells: Vec<Vec<(String, Option<Color>, bool)>> = self
            .rows()
            .map(|r| {
                shown
                    .iter()
                    .map(|i| {
                        let (t, c) = r[*i].human(now);
                        (t, c, r[*i].right_aligned())
                    })
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = shown
            .iter()
            .map(|i| self.columns[*i].header.chars().count())
            .collect();
        for r in &cells {
            for (w, (t, _, _)) in widths.iter_mut().zip(r) {
                *w = (*w).max(t.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = shown
            .iter()
            .zip(&widths)
            .map(|(i, w)| format!("{:<w$}", self.columns[*i].header, w = *w))
            .collect();
        let header = header.join("  ");
        let header = header.trim_end();
        if color {
            out.push_str(&format!("\x1b[1m{header}\x1b[0m\n"));
        } else {
            out.push_str(header);
            out.push('\n');
        }
        for r in &cells {
            let mut line = String::new();
            for (n, ((t, c, right), w)) in r.iter().zip(&widths).enumerate() {
                if n > 0 {
                    line.push_str("  ");
                }
                let pad = w.saturating_sub(t.chars().count());
                let last = n + 1 == r.len();
                if *right {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(&paint(t, *c, color));
                } else {
                    line.push_str(&paint(t, *c, color));
                    if !last {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// One row as `HEADER  value` lines.
    fn render_record(&self, color: bool) -> String {
        let now = now();
        let width = self
            .columns
            .iter()
            .map(|c| c.header.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (n, r) in self.rows().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            for (c, cell) in self.columns.iter().zip(r.iter()) {
                let (t, col) = cell.human(now);
                let (t, col) = match cell {
                    Cell::Time(ts) if *ts > 0 && now - *ts >= 1 => {
                        (format!("{t} ago ({})", iso_time(*ts)), col)
                    }
                    Cell::Time(ts) if *ts > 0 => (format!("{t} ({})", iso_time(*ts)), col),
                    _ => (t, col),
                };
                out.push_str(&format!(
                    "{:<width$}  {}\n",
                    c.header.to_lowercase().replace('_', " "),
                    paint(&t, col, color)
                ));
            }
        }
        out
    }
}

impl Table {
    /// A Markdown table of the shown columns (values as for people, escaped).
    pub fn markdown(&self) -> String {
        let now = now();
        let shown: Vec<usize> = (0..self.columns.len())
            .filter(|i| self.columns[*i].in_table)
            .collect();
        let mut out = String::new();
        let head: Vec<String> = shown
            .iter()
            .map(|i| markdown_escape(self.columns[*i].header))
            .collect();
        out.push_str(&format!("| {} |\n", head.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(shown.len())));
        for r in self.rows() {
            let cells: Vec<String> = shown
                .iter()
                .map(|i| markdown_escape(&r[*i].human(now).0))
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }

    /// An HTML `<table>` of the shown columns, every value escaped; state words get a class
    /// (`ok`, `failed`, `stale`, ...) that [`html_page`]'s CSS colours.
    pub fn html(&self) -> String {
        let now = now();
        let shown: Vec<usize> = (0..self.columns.len())
            .filter(|i| self.columns[*i].in_table)
            .collect();
        let mut out = String::from("<table>\n<thead><tr>");
        for i in &shown {
            out.push_str(&format!(
                "<th>{}</th>",
                html_escape(self.columns[*i].header)
            ));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for r in self.rows() {
            out.push_str("<tr>");
            for i in &shown {
                let (text, _) = r[*i].human(now);
                let class = match &r[*i] {
                    Cell::Flag(f) => Some(f.word()),
                    Cell::Text(t)
                        if matches!(&**t, "critical" | "warning" | "ok" | "unreachable") =>
                    {
                        Some(&**t)
                    }
                    _ => None,
                };
                match class {
                    Some(c) => {
                        out.push_str(&format!("<td class=\"{c}\">{}</td>", html_escape(&text)))
                    }
                    None => out.push_str(&format!("<td>{}</td>", html_escape(&text))),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        out
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell: one line, no markup, no HTML.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A complete HTML document around `body` (already escaped HTML): inline CSS only, no
/// scripts, no external resources, so that it reads the same in a mail client.
pub fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        html_escape(title),
        HTML_CSS
    )
}

const HTML_CSS: &str = "body{font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;margin:16px}\n\
h1{font-size:20px}h2{font-size:16px;margin-top:24px}\n\
table{border-collapse:collapse;margin:8px 0}\n\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\n\
th{background:#f0f0f0}\n\
td.ok{color:#1a7f37}td.failed,td.critical,td.unreachable{color:#fff;background:#c62828;font-weight:bold}\n\
td.stale,td.warning,td.never{background:#fff3cd}\n\
td.disabled,td.unsupported{color:#777}\n\
p.meta{color:#666;font-size:12px}\n";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// What a command hands back to be printed.
#[derive(Debug)]
pub enum Output {
    /// A list.
    Table(Table),
    /// One object (a table with one row): `key value` lines on a terminal, an object in JSON.
    Record(Table),
    /// A write's outcome: the message for people, the object for JSON (CSV: the message).
    Done {
        /// For people.
        message: String,
        /// For scripts.
        json: Value,
    },
    /// Plain text printed as is in every format (JSON: a string).
    Text(String),
}

impl Output {
    /// A write's outcome.
    pub fn done(message: impl Into<String>, json: Value) -> Output {
        Output::Done {
            message: message.into(),
            json,
        }
    }

    /// Prints to stdout. Tables in JSON are written row by row (the same text as
    /// [`render`](Output::render), without building it in memory first).
    pub fn print(&self, style: &Style) -> std::io::Result<()> {
        if let Output::Table(
            t @ Table {
                empty: Some(note), ..
            },
        ) = self
        {
            if t.is_empty() && style.format != Format::Table {
                eprintln!("{note}");
            }
        }
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let written = match (self, style.format) {
            (Output::Table(t), Format::Json) => t
                .write_json_rows(&mut out)
                .and_then(|_| out.write_all(b"\n")),
            _ => out.write_all(self.render(style).as_bytes()),
        };
        match written.and_then(|_| out.flush()) {
            // `urbackup status | head`: a closed pipe is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }

    /// The text [`print`](Output::print) writes.
    pub fn render(&self, style: &Style) -> String {
        match (self, style.format) {
            (Output::Table(t), Format::Table) => {
                if t.is_empty() {
                    format!("{}\n", t.empty.as_deref().unwrap_or("(none)"))
                } else {
                    t.render(style.color)
                }
            }
            (Output::Record(t), Format::Table) => t.render_record(style.color),
            (Output::Table(t), Format::Json) => pretty(&Value::Array(t.json_rows())),
            (Output::Record(t), Format::Json) => {
                let rows = t.json_rows();
                if rows.len() == 1 {
                    pretty(&rows[0])
                } else {
                    pretty(&Value::Array(rows))
                }
            }
            (Output::Table(t) | Output::Record(t), Format::Csv) => t.csv(),
            (Output::Table(t) | Output::Record(t), Format::Markdown) => t.markdown(),
            (Output::Table(t) | Output::Record(t), Format::Html) => {
                html_page("urbackup", &t.html())
            }
            (Output::Done { message, .. }, Format::Html) => {
                html_page("urbackup", &format!("<p>{}</p>", html_escape(message)))
            }
            (Output::Text(t), Format::Html) => {
                html_page("urbackup", &format!("<pre>{}</pre>", html_escape(t)))
            }
            (Output::Done { message, .. }, Format::Table | Format::Csv | Format::Markdown) => {
                if message.is_empty() {
                    String::new()
                } else {
                    format!("{message}\n")
                }
            }
            (Output::Done { json, .. }, Format::Json) => pretty(json),
            (Output::Text(t), Format::Json) => pretty(&Value::String(t.clone())),
            (Output::Text(t), _) => {
                if t.ends_with('\n') {
                    t.clone()
                } else {
                    format!("{t}\n")
                }
            }
        }
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `1.5 GiB`, `512 B`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A duration in two units at most: `42s`, `5m 3s`, `3h 12m`, `2d 4h`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        if h > 0 {
            format!("{d}d {h}h")
        } else {
            format!("{d}d")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h}h {m}m")
        } else {
            format!("{h}h")
        }
    } else if m > 0 {
        if sec > 0 {
            format!("{m}m {sec}s")
        } else {
            format!("{m}m")
        }
    } else {
        format!("{sec}s")
    }
}

/// An age: a duration, or `just now` for a time in the (near) future.
pub fn human_age(secs: i64) -> String {
    if secs < 1 {
        "just now".into()
    } else {
        human_duration(secs)
    }
}

/// `2024-05-01 13:45:00 UTC`.
pub fn iso_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `90s`, `15m`, `26h`, `3d`, `1w`, `1d12h` or plain seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    let mut total = 0i64;
    let mut num = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            num.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86_400.0,
            'w' => 604_800.0,
            ' ' => continue,
            _ => {
                return Err(format!(
                    "invalid duration `{s}` (use e.g. 90s, 15m, 26h, 3d)"
                ))
            }
        };
        let v: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration `{s}` (use e.g. 90s, 15m, 26h, 3d)"))?;
        total += (v * unit) as i64;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "invalid duration `{s}`: a number without unit at the end"
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_written_one_by_one_match_the_rendered_text() {
        for n in [0, 1, 3] {
            let mut t = Table::new(&[("name", "NAME"), ("size", "SIZE")]).hidden("when");
            for i in 0..n {
                t.push(vec![
                    Cell::from(format!("c{i} \"q\"")),
                    Cell::Bytes(i),
                    Cell::Time(-1),
                ]);
            }
            let style = Style {
                format: Format::Json,
                color: false,
                stderr_tty: false,
            };
            let mut streamed = Vec::new();
            t.write_json_rows(&mut streamed).unwrap();
            streamed.push(b'\n');
            let rendered = Output::Table(t).render(&style);
            assert_eq!(String::from_utf8(streamed).unwrap(), rendered, "{n} rows");
        }
    }

    #[test]
    fn json_rows_written_from_the_cells_match_the_values_for_every_cell() {
        let keys = [
            "zeta", "alpha", "mid", "b", "yn", "bytes", "time", "date", "secs", "pct", "eta",
            "flag", "null", "alpha",
        ];
        let mut t = Table::new(&[("zeta", "Z")]);
        for k in &keys[1..] {
            t = t.hidden(k);
        }
        for v in [-1i64, 0, 7] {
            t.push(vec![
                Cell::from(format!("t\u{e4}\"{v}\\")),
                Cell::Int(v),
                Cell::Null,
                Cell::Bool(v > 0),
                Cell::YesNo(v < 0),
                Cell::Bytes(v),
                Cell::Time(v),
                Cell::Date(v),
                Cell::Secs(v),
                Cell::Percent(v),
                Cell::Eta(v, true),
                Cell::Flag(Flag::Failed),
                Cell::Null,
                Cell::Int(v * 10), // a repeated key: the last column's cell, as in a Map
            ]);
        }
        let mut streamed = Vec::new();
        t.write_json_rows(&mut streamed).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            serde_json::to_string_pretty(&Value::Array(t.json_rows())).unwrap()
        );
    }

    #[test]
    fn sizes_and_ages() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(human_duration(42), "42s");
        assert_eq!(human_duration(3 * 3600 + 12 * 60), "3h 12m");
        assert_eq!(human_duration(2 * 86_400 + 4 * 3600 + 5), "2d 4h");
        assert_eq!(human_age(-5), "just now");
        assert_eq!(iso_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(iso_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("26h").unwrap(), 26 * 3600);
        assert_eq!(parse_duration("3d").unwrap(), 3 * 86_400);
        assert_eq!(parse_duration("1d12h").unwrap(), 36 * 3600);
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("1.5h").unwrap(), 5400);
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("3d5").is_err());
    }

    #[test]
    fn table_formats() {
        let mut t = Table::new(&[("name", "NAME"), ("size", "SIZE")]).hidden("id");
        t.push(vec!["a,b".into(), Cell::Bytes(2048), Cell::Int(7)]);
        let style = Style {
            format: Format::Csv,
            color: false,
            stderr_tty: false,
        };
        let out = Output::Table(t.clone());
        assert_eq!(out.render(&style), "name,size,id\n\"a,b\",2048,7\n");
        let style = Style {
            format: Format::Table,
            ..style
        };
        assert_eq!(out.render(&style), "NAME  SIZE\na,b   2.0 KiB\n");
        let style = Style {
            format: Format::Json,
            ..style
        };
        let v: Value = serde_json::from_str(&out.render(&style)).unwrap();
        assert_eq!(v[0]["size"], 2048);
        assert_eq!(v[0]["id"], 7);
    }

    #[test]
    fn eta_cells() {
        assert_eq!(Cell::Eta(61, true).human(0).0, "<1m");
        assert_eq!(Cell::Eta(61, true).json(), 61);
        assert_eq!(Cell::Eta(130, false).human(0).0, "2m 10s");
        assert_eq!(Cell::Eta(-1, false).human(0).0, "-");
        assert_eq!(Cell::Eta(-1, false).json(), Value::Null);
    }
}
