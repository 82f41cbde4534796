//! The size-over-time chart of a client's backups, drawn by the server as SVG (no script, no
//! style attribute: colours come from the stylesheet's classes).

use crate::fmt;
use crate::store::BackupRow;

/// Drawing area, in SVG units (the element scales to its container): the width of the chart
/// for wide screens, and of the one for phones (drawn narrower so that its labels stay
/// readable when it is scaled down to the screen).
pub const WIDE: f64 = 720.0;
/// The width of the chart for narrow screens.
pub const NARROW: f64 = 340.0;
const H: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A point with its tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    /// X.
    pub x: String,
    /// Y.
    pub y: String,
    /// Tooltip: time, size, full or incremental.
    pub title: String,
    /// A full backup (drawn larger).
    pub full: bool,
}

/// One series (file or image backups).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// CSS class (`file`, `image`).
    pub class: &'static str,
    /// Legend.
    pub label: &'static str,
    /// `x,y x,y ...` for a polyline.
    pub line: String,
    /// The points.
    pub dots: Vec<Dot>,
}

/// An axis label.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Position on its axis.
    pub at: String,
    /// Text.
    pub text: String,
    /// `start`, `middle` or `end` (the first and last dates stay inside the drawing).
    pub anchor: &'static str,
}

/// The chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// `0 0 W H`.
    pub view_box: String,
    /// Plot area edges.
    pub left: String,
    /// Right edge.
    pub right: String,
    /// Top edge.
    pub top: String,
    /// Bottom edge.
    pub bottom: String,
    /// Size labels (with grid lines).
    pub y_ticks: Vec<Tick>,
    /// Date labels.
    pub x_ticks: Vec<Tick>,
    /// File and image backups.
    pub series: Vec<Series>,
    /// A text description for screen readers.
    pub description: String,
}

fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// The chart of these backups, `width` units wide (sizes the server has not calculated are
/// left out), `None` when there is nothing to draw.
pub fn size_chart(rows: &[BackupRow], width: f64) -> Option<Chart> {
    #[allow(non_snake_case)]
    let W = width;
    let pts: Vec<&BackupRow> = rows.iter().filter(|r| r.size_bytes >= 0).collect();
    if pts.is_empty() {
        return None;
    }
    let t_min = pts.iter().map(|r| r.time).min()?;
    let t_max = pts.iter().map(|r| r.time).max()?;
    let s_max = pts.iter().map(|r| r.size_bytes).max()?.max(1);
    // Round the top of the size axis up to a round number of its unit.
    let top = nice_ceiling(s_max);
    let span = (t_max - t_min).max(1) as f64;
    let x = |t: i64| {
        if t_max == t_min {
            LEFT + (W - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (t - t_min) as f64 / span * (W - LEFT - RIGHT)
        }
    };
    let y = |s: i64| H - BOTTOM - s as f64 / top as f64 * (H - TOP - BOTTOM);
    let mut series = Vec::new();
    for (image, class, label) in [
        (false, "file", "File backups"),
        (true, "image", "Image backups"),
    ] {
        let mine: Vec<&&BackupRow> = pts.iter().filter(|r| r.image == image).collect();
        if mine.is_empty() {
            continue;
        }
        let dots: Vec<Dot> = mine
            .iter()
            .map(|r| Dot {
                x: n(x(r.time)),
                y: n(y(r.size_bytes)),
                title: format!(
                    "{}: {} ({})",
                    fmt::time(r.time),
                    fmt::bytes(r.size_bytes),
                    if r.incremental == 0 {
                        "full"
                    } else {
                        "incremental"
                    }
                ),
                full: r.incremental == 0,
            })
            .collect();
        let line = dots
            .iter()
            .map(|d| format!("{},{}", d.x, d.y))
            .collect::<Vec<_>>()
            .join(" ");
        series.push(Series {
            class,
            label,
            line,
            dots,
        });
    }
    let y_ticks = [0, top / 2, top]
        .iter()
        .map(|&v| Tick {
            at: n(y(v)),
            text: fmt::bytes(v),
            anchor: "end",
        })
        .collect();
    // Dates, or times of day when everything happened within two days.
    let label = |t: i64| {
        if t_max - t_min < 2 * 86_400 {
            fmt::time(t)
        } else {
            fmt::date(t)
        }
    };
    let mut x_ticks = vec![Tick {
        at: n(x(t_min)),
        text: label(t_min),
        anchor: if t_max == t_min { "middle" } else { "start" },
    }];
    if t_max != t_min {
        x_ticks.push(Tick {
            at: n(x(t_max)),
            text: label(t_max),
            anchor: "end",
        });
    }
    Some(Chart {
        view_box: format!("0 0 {W} {H}"),
        left: n(LEFT),
        right: n(W - RIGHT),
        top: n(TOP),
        bottom: n(H - BOTTOM),
        y_ticks,
        x_ticks,
        description: format!(
            "Backup sizes from {} to {}, largest {}",
            fmt::date(t_min),
            fmt::date(t_max),
            fmt::bytes(s_max)
        ),
        series,
    })
}

/// The smallest number of the form 1, 2 or 5 times a power of 1024 or of 10 within a unit
/// that is at least `v`.
fn nice_ceiling(v: i64) -> i64 {
    let mut unit: i64 = 1;
    while v / unit >= 1024 && unit < (1 << 50) {
        unit *= 1024;
    }
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            let c = m * step * unit;
            if c >= v {
                return c;
            }
        }
        step *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(image: bool, time: i64, size: i64, incremental: i64) -> BackupRow {
        BackupRow {
            image,
            id: time,
            time,
            size_bytes: size,
            incremental,
            duration: None,
            gone: false,
        }
    }

    #[test]
    fn points_stay_inside_the_plot() {
        let rows = vec![
            row(false, 1000, 100, 0),
            row(false, 2000, 50, 1),
            row(true, 1500, 400, 0),
            row(false, 2500, -1, 1),
        ];
        let c = size_chart(&rows, WIDE).unwrap();
        const W: f64 = WIDE;
        assert_eq!(c.series.len(), 2);
        for s in &c.series {
            for d in &s.dots {
                let (x, y): (f64, f64) = (d.x.parse().unwrap(), d.y.parse().unwrap());
                assert!((LEFT..=W - RIGHT).contains(&x), "{x}");
                assert!((TOP..=H - BOTTOM).contains(&y), "{y}");
            }
        }
        // The uncalculated size is left out.
        assert_eq!(c.series[0].dots.len(), 2);
        assert!(size_chart(&[row(false, 1, -1, 0)], NARROW).is_none());
        let narrow = size_chart(&rows, NARROW).unwrap();
        assert_eq!(narrow.view_box, "0 0 340 220");
        assert_eq!(narrow.x_ticks[1].anchor, "end");
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(700), 1000);
        assert_eq!(nice_ceiling(1500), 2048);
        assert_eq!(nice_ceiling(3 * 1024 * 1024 * 1024), 5 * 1024 * 1024 * 1024);
    }
}
