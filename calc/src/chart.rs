//! The calculators' charts, drawn by functions generic over the plotters backend: the page draws
//! them on a canvas (plotters-canvas), the tests on SVG. Each takes plain series so that what is
//! drawn is exactly what the calculator computed. Colours are the Okabe-Ito palette (safe for
//! colour-blind readers), the text colour comes from the page's light or dark theme.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub type Result<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Text and grid colours (light or dark page).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Theme {
    pub fg: RGBColor,
    pub grid: RGBColor,
    pub bg: RGBColor,
}

pub const LIGHT: Theme = Theme {
    fg: RGBColor(0x1b, 0x1d, 0x1f),
    grid: RGBColor(0xd6, 0xd9, 0xdc),
    bg: RGBColor(0xff, 0xff, 0xff),
};
pub const DARK: Theme = Theme {
    fg: RGBColor(0xe7, 0xe7, 0xe4),
    grid: RGBColor(0x3a, 0x3f, 0x45),
    bg: RGBColor(0x1c, 0x1f, 0x23),
};
pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xb2);
pub const ORANGE: RGBColor = RGBColor(0xe6, 0x9f, 0x00);
pub const VERMILION: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
pub const GREEN: RGBColor = RGBColor(0x00, 0x9e, 0x73);
pub const SKY: RGBColor = RGBColor(0x56, 0xb4, 0xe9);

const FONT: &str = "sans-serif";

/// A finite, non-empty range for an axis (plotters loops or panics on NaN, infinite or empty
/// ranges).
pub fn span(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < 1e-9 {
        (lo, lo + 1.0)
    } else {
        (lo, hi)
    }
}

fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    items: &[(&str, RGBColor, bool)],
) -> Result<DB> {
    let (w, _) = root.dim_in_pixel();
    let mut x = 70i32;
    let y = 8i32;
    for (label, c, dashed) in items {
        let style = ShapeStyle::from(c).stroke_width(3);
        if *dashed {
            root.draw(&PathElement::new(vec![(x, y + 6), (x + 8, y + 6)], style))?;
            root.draw(&PathElement::new(
                vec![(x + 13, y + 6), (x + 21, y + 6)],
                style,
            ))?;
        } else {
            root.draw(&PathElement::new(vec![(x, y + 6), (x + 21, y + 6)], style))?;
        }
        root.draw(&Text::new(
            label.to_string(),
            (x + 26, y),
            (FONT, 13).into_font().color(&t.fg),
        ))?;
        x += 34 + 7 * label.chars().count() as i32;
        if x > w as i32 - 60 {
            break;
        }
    }
    Ok(())
}

/// Bytes held (y) against hours offline (x): with this broker's limit and expiry, and without
/// them; the limit as a horizontal line; the chosen offline time as a vertical line.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueChart {
    pub capped: Vec<(f64, f64)>,
    pub uncapped: Vec<(f64, f64)>,
    pub limit_bytes: Option<f64>,
    pub at_hours: f64,
    pub y_label: &'static str,
}

pub fn queue<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    c: &QueueChart,
) -> Result<DB> {
    root.fill(&t.bg)?;
    let x1 = c.capped.last().map(|p| p.0).unwrap_or(1.0);
    let ymax = c
        .capped
        .iter()
        .chain(&c.uncapped)
        .map(|p| p.1)
        .fold(c.limit_bytes.unwrap_or(0.0), f64::max);
    let (x0, x1) = span(0.0, x1);
    let (y0, y1) = span(0.0, ymax * 1.08);
    let mut ch = ChartBuilder::on(root)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    mesh(
        &mut ch,
        t,
        ("hours offline", &plain),
        (c.y_label, &byte_label),
    )?;
    ch.draw_series(DashedLineSeries::new(
        c.uncapped.iter().copied(),
        6,
        4,
        ShapeStyle::from(&ORANGE).stroke_width(2),
    ))?;
    ch.draw_series(LineSeries::new(
        c.capped.iter().copied(),
        ShapeStyle::from(&BLUE).stroke_width(3),
    ))?;
    if let Some(l) = c.limit_bytes {
        ch.draw_series(DashedLineSeries::new(
            [(x0, l), (x1, l)],
            3,
            3,
            ShapeStyle::from(&VERMILION).stroke_width(1),
        ))?;
    }
    ch.draw_series(std::iter::once(PathElement::new(
        vec![(c.at_hours, y0), (c.at_hours, y1)],
        ShapeStyle::from(&t.fg.mix(0.5)).stroke_width(1),
    )))?;
    legend(
        root,
        t,
        &[
            ("this broker", BLUE, false),
            ("no limit, no expiry", ORANGE, true),
            ("queue limit", VERMILION, true),
        ],
    )?;
    root.present()
}

/// "8.4 MB" for axis labels (decimal units; the page shows both).
pub fn short_bytes(v: f64) -> String {
    let mut v = v;
    for unit in ["B", "kB", "MB", "GB", "TB", "PB"] {
        if v.abs() < 1000.0 {
            return format!("{} {unit}", crate::units::num(v, 3));
        }
        v /= 1000.0;
    }
    format!("{} EB", crate::units::num(v, 3))
}

/// Backoff: per attempt the delay's range (band), its mean and one drawn run (left); the time
/// to each attempt with its 5-95 % band (right).
pub fn backoff<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    s: &[crate::backoff::Attempt],
) -> Result<DB> {
    root.fill(&t.bg)?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let n = s.len().max(1) as f64;
    let (x0, x1) = span(0.5, n + 0.5);
    let top = s.iter().map(|a| a.hi.max(a.sample)).fold(0.0, f64::max);
    let (y0, y1) = span(0.0, top * 1.1);
    let mut ch = ChartBuilder::on(&left)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    mesh(
        &mut ch,
        t,
        ("attempt", &plain),
        ("delay before it (s)", &plain),
    )?;
    let band: Vec<(f64, f64)> = s
        .iter()
        .map(|a| (a.n as f64, a.hi))
        .chain(s.iter().rev().map(|a| (a.n as f64, a.lo)))
        .collect();
    ch.draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.22).filled())))?;
    ch.draw_series(LineSeries::new(
        s.iter().map(|a| (a.n as f64, a.mean)),
        ShapeStyle::from(&BLUE).stroke_width(3),
    ))?;
    ch.draw_series(DashedLineSeries::new(
        s.iter().map(|a| (a.n as f64, a.sample)),
        5,
        4,
        ShapeStyle::from(&VERMILION).stroke_width(2),
    ))?;
    let top = s
        .iter()
        .map(|a| a.total_p95.max(a.total_sample))
        .fold(0.0, f64::max);
    let (y0, y1) = span(0.0, top * 1.1);
    let mut ch = ChartBuilder::on(&right)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    mesh(&mut ch, t, ("attempt", &plain), ("time to it (s)", &plain))?;
    let band: Vec<(f64, f64)> = s
        .iter()
        .map(|a| (a.n as f64, a.total_p95))
        .chain(s.iter().rev().map(|a| (a.n as f64, a.total_p5)))
        .collect();
    ch.draw_series(std::iter::once(Polygon::new(
        band,
        GREEN.mix(0.22).filled(),
    )))?;
    ch.draw_series(LineSeries::new(
        s.iter().map(|a| (a.n as f64, a.total_mean)),
        ShapeStyle::from(&GREEN).stroke_width(3),
    ))?;
    ch.draw_series(DashedLineSeries::new(
        s.iter().map(|a| (a.n as f64, a.total_sample)),
        5,
        4,
        ShapeStyle::from(&VERMILION).stroke_width(2),
    ))?;
    legend(
        root,
        t,
        &[
            ("mean (band: range / 5-95 %)", BLUE, false),
            ("one run with this seed", VERMILION, true),
        ],
    )?;
    root.present()
}

fn mesh<DB: DrawingBackend, X, Y>(
    ch: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    t: Theme,
    (x, xfmt): (&str, &dyn Fn(&f64) -> String),
    (y, yfmt): (&str, &dyn Fn(&f64) -> String),
) -> Result<DB>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    ch.configure_mesh()
        .light_line_style(t.grid.mix(0.3))
        .max_light_lines(3)
        .bold_line_style(t.grid)
        .axis_style(t.fg)
        .label_style((FONT, 12).into_font().color(&t.fg))
        .axis_desc_style((FONT, 13).into_font().color(&t.fg))
        .x_desc(x)
        .y_desc(y)
        .x_label_formatter(xfmt)
        .y_label_formatter(yfmt)
        .draw()
}

/// Axis labels: numbers with 3 significant digits.
fn plain(v: &f64) -> String {
    crate::units::num(*v, 3)
}

fn byte_label(v: &f64) -> String {
    short_bytes(*v)
}

/// Storm: connection attempts per second for two strategies (each bar the busiest second of
/// its group), the broker's capacity, and the outage shaded.
pub struct StormChart<'a> {
    pub a: (&'a str, &'a [u32]),
    pub b: (&'a str, &'a [u32]),
    pub width_s: usize,
    pub capacity: f64,
    pub outage_s: f64,
}

pub fn storm<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    c: &StormChart,
) -> Result<DB> {
    root.fill(&t.bg)?;
    let w = c.width_s.max(1) as f64;
    let len = c.a.1.len().max(c.b.1.len()).max(1) as f64 * w;
    let top = c.a.1.iter().chain(c.b.1).copied().max().unwrap_or(0) as f64;
    let (x0, x1) = span(0.0, len);
    let (y0, y1) = span(0.0, top.max(c.capacity) * 1.1);
    let mut ch = ChartBuilder::on(root)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let y = if w > 1.0 {
        "attempts / s (busiest s per bar)"
    } else {
        "attempts per second"
    };
    mesh(
        &mut ch,
        t,
        ("seconds since the broker went down", &plain),
        (y, &plain),
    )?;
    ch.draw_series(std::iter::once(Rectangle::new(
        [(0.0, y0), (c.outage_s.min(x1), y1)],
        t.grid.mix(0.35).filled(),
    )))?;
    ch.draw_series(c.a.1.iter().enumerate().map(|(k, v)| {
        let x = k as f64 * w;
        Rectangle::new([(x, 0.0), (x + w, *v as f64)], BLUE.mix(0.75).filled())
    }))?;
    ch.draw_series(LineSeries::new(
        c.b.1.iter().enumerate().flat_map(|(k, v)| {
            let x = k as f64 * w;
            [(x, *v as f64), (x + w, *v as f64)]
        }),
        ShapeStyle::from(&VERMILION).stroke_width(2),
    ))?;
    ch.draw_series(DashedLineSeries::new(
        [(x0, c.capacity), (x1, c.capacity)],
        6,
        4,
        ShapeStyle::from(&t.fg).stroke_width(2),
    ))?;
    legend(
        root,
        t,
        &[
            (c.a.0, BLUE, false),
            (c.b.0, VERMILION, false),
            ("capacity", t.fg, true),
        ],
    )?;
    root.present()
}

/// Collision risk (y, 0-1) against fleet size (x, log scale): exact and approximation.
#[derive(Clone, Debug, PartialEq)]
pub struct CollisionChart {
    pub exact: Vec<(f64, f64)>,
    pub approx: Vec<(f64, f64)>,
    pub fleet: f64,
}

pub fn collision<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    c: &CollisionChart,
) -> Result<DB> {
    root.fill(&t.bg)?;
    let lo = c.exact.first().map(|p| p.0).unwrap_or(1.0).max(1.0);
    let hi = c.exact.last().map(|p| p.0).unwrap_or(10.0).max(lo * 10.0);
    let mut ch = ChartBuilder::on(root)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
    let pct = |v: &f64| format!("{} %", crate::units::num(*v * 100.0, 2));
    let count = |v: &f64| crate::units::num(*v, 2);
    mesh(
        &mut ch,
        t,
        ("devices (log scale)", &count),
        ("risk of a shared id", &pct),
    )?;
    ch.draw_series(LineSeries::new(
        c.exact.iter().copied(),
        ShapeStyle::from(&BLUE).stroke_width(3),
    ))?;
    ch.draw_series(DashedLineSeries::new(
        c.approx.iter().copied(),
        6,
        4,
        ShapeStyle::from(&ORANGE).stroke_width(2),
    ))?;
    if c.fleet >= lo && c.fleet <= hi {
        ch.draw_series(std::iter::once(PathElement::new(
            vec![(c.fleet, 0.0), (c.fleet, 1.0)],
            ShapeStyle::from(&t.fg.mix(0.5)),
        )))?;
    }
    legend(
        root,
        t,
        &[("exact", BLUE, false), ("1 - e^(-n²/2m)", ORANGE, true)],
    )?;
    root.present()
}

/// Buffer: bytes the outage's readings need (y) over the outage (x), and the capacity.
pub fn buffer<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    i: &crate::buffer::BufferInput,
) -> Result<DB> {
    root.fill(&t.bg)?;
    let r = crate::buffer::compute(i);
    let per = (i.reading + i.framing) as f64;
    let hours = i.outage_s / 3600.0;
    let (x0, x1) = span(0.0, hours);
    let (y0, y1) = span(0.0, (r.bytes_needed as f64).max(i.capacity as f64) * 1.1);
    let mut ch = ChartBuilder::on(root)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    mesh(
        &mut ch,
        t,
        ("hours into the outage", &plain),
        ("bytes buffered", &byte_label),
    )?;
    let steps = 200;
    let need = (0..=steps).map(|k| {
        let x = x1 * k as f64 / steps as f64;
        (
            x,
            ((x * 3600.0 / i.interval_s).ceil() * per).min(r.bytes_needed as f64),
        )
    });
    ch.draw_series(DashedLineSeries::new(
        need.clone(),
        6,
        4,
        ShapeStyle::from(&ORANGE).stroke_width(2),
    ))?;
    ch.draw_series(LineSeries::new(
        need.map(|(x, y)| (x, y.min(r.slots as f64 * per))),
        ShapeStyle::from(&BLUE).stroke_width(3),
    ))?;
    ch.draw_series(DashedLineSeries::new(
        [(x0, i.capacity as f64), (x1, i.capacity as f64)],
        3,
        3,
        ShapeStyle::from(&VERMILION).stroke_width(2),
    ))?;
    legend(
        root,
        t,
        &[
            ("held", BLUE, false),
            ("needed", ORANGE, true),
            ("capacity", VERMILION, true),
        ],
    )?;
    root.present()
}

/// QoS under loss: per QoS level, delivered %, duplicates per 100 messages, packets per message
/// and relative energy, as grouped bars.
pub fn loss<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    out: &[crate::loss::QosOutcome],
) -> Result<DB> {
    root.fill(&t.bg)?;
    let metrics: [(&str, RGBColor); 4] = [
        ("delivered %", BLUE),
        ("duplicates / 100", VERMILION),
        ("packets / msg x 10", GREEN),
        ("energy x 10", SKY),
    ];
    let vals: Vec<[f64; 4]> = out
        .iter()
        .map(|o| {
            let n = (o.delivered + o.lost).max(1) as f64;
            [
                o.delivered as f64 / n * 100.0,
                o.duplicates as f64 / n * 100.0,
                o.packets as f64 / n * 10.0,
                o.energy * 10.0,
            ]
        })
        .collect();
    let top = vals.iter().flatten().copied().fold(100.0, f64::max);
    let (y0, y1) = span(0.0, top * 1.08);
    let mut ch = ChartBuilder::on(root)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..out.len().max(1) as f64, y0..y1)?;
    ch.configure_mesh()
        .disable_x_mesh()
        .light_line_style(t.grid.mix(0.3))
        .max_light_lines(3)
        .bold_line_style(t.grid)
        .axis_style(t.fg)
        .label_style((FONT, 12).into_font().color(&t.fg))
        .x_labels(out.len().max(1) * 2 + 1)
        .x_label_formatter(&|v| {
            let k = *v - 0.5;
            if (k - k.round()).abs() < 1e-6 && k >= 0.0 {
                format!("QoS {}", k.round() as u32)
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v| crate::units::num(*v, 3))
        .draw()?;
    for (q, v) in vals.iter().enumerate() {
        for (m, (_, colour)) in metrics.iter().enumerate() {
            let x = q as f64 + 0.12 + m as f64 * 0.19;
            ch.draw_series(std::iter::once(Rectangle::new(
                [(x, 0.0), (x + 0.17, v[m])],
                colour.filled(),
            )))?;
        }
    }
    let items: Vec<(&str, RGBColor, bool)> = metrics.iter().map(|(l, c)| (*l, *c, false)).collect();
    legend(root, t, &items)?;
    root.present()
}

/// The effective-QoS matrix as a picture: rows publish QoS, columns subscription QoS, each cell
/// coloured by its guarantee, the chosen one outlined.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixChart {
    /// cells[publish][subscribe] = (forwarded QoS or refused, guarantee)
    pub cells: Vec<Vec<(Option<u8>, &'static str)>>,
    pub here: (u8, u8),
}

fn guarantee_colour(g: &str) -> RGBColor {
    match g {
        "exactly once" => GREEN,
        "at least once" => ORANGE,
        "at most once" => SKY,
        _ => VERMILION,
    }
}

pub fn matrix<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    m: &MatrixChart,
) -> Result<DB> {
    root.fill(&t.bg)?;
    let mut ch = ChartBuilder::on(root)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..3.0, 0.0..3.0)?;
    ch.configure_mesh()
        .disable_mesh()
        .axis_style(t.fg)
        .label_style((FONT, 12).into_font().color(&t.fg))
        .axis_desc_style((FONT, 13).into_font().color(&t.fg))
        .x_labels(7)
        .y_labels(7)
        .x_label_formatter(&|v| half_label(*v))
        .y_label_formatter(&|v| half_label(*v))
        .x_desc("subscription QoS")
        .y_desc("publish QoS")
        .draw()?;
    for (p, row) in m.cells.iter().enumerate() {
        for (s, (fwd, g)) in row.iter().enumerate() {
            let (x, y) = (s as f64, p as f64);
            ch.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.03, y + 0.03), (x + 0.97, y + 0.97)],
                guarantee_colour(g).mix(0.55).filled(),
            )))?;
            let label = fwd
                .map(|f| format!("QoS {f}"))
                .unwrap_or_else(|| "refused".into());
            ch.draw_series(std::iter::once(Text::new(
                label,
                (x + 0.5, y + 0.62),
                (FONT, 14)
                    .into_font()
                    .color(&t.fg)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
            ch.draw_series(std::iter::once(Text::new(
                g.to_string(),
                (x + 0.5, y + 0.36),
                (FONT, 12)
                    .into_font()
                    .color(&t.fg)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
            if (p as u8, s as u8) == m.here {
                ch.draw_series(std::iter::once(Rectangle::new(
                    [(x + 0.03, y + 0.03), (x + 0.97, y + 0.97)],
                    ShapeStyle::from(&t.fg).stroke_width(4),
                )))?;
            }
        }
    }
    root.present()
}

/// "0", "1", "2" at the middle of each unit cell, nothing at the edges.
fn half_label(v: f64) -> String {
    let k = v - 0.5;
    if (k - k.round()).abs() < 1e-6 && (0.0..3.0).contains(&k) {
        format!("{}", k.round() as u32)
    } else {
        String::new()
    }
}

/// The advisor's cost picture: packets per message for QoS 0, 1, 2 at 0 %, 5 % and 20 % loss
/// each way (expected values: QoS 1 (2-p)/(1-p)², QoS 2 twice that), the advice outlined.
#[derive(Clone, Debug, PartialEq)]
pub struct CostChart {
    pub recommended: u8,
}

/// Expected packets per message at loss `p` each way, retrying until acknowledged.
pub fn expected_packets(qos: u8, p: f64) -> f64 {
    match qos {
        0 => 1.0,
        1 => (2.0 - p) / ((1.0 - p) * (1.0 - p)),
        _ => 2.0 * (2.0 - p) / ((1.0 - p) * (1.0 - p)),
    }
}

pub fn costs<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Theme,
    c: &CostChart,
) -> Result<DB> {
    root.fill(&t.bg)?;
    let losses = [
        (0.0, "no loss", BLUE),
        (0.05, "5 % loss", ORANGE),
        (0.2, "20 % loss", VERMILION),
    ];
    let top = expected_packets(2, 0.2);
    let mut ch = ChartBuilder::on(root)
        .margin(10)
        .margin_top(28)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..3.0, 0.0..top * 1.1)?;
    ch.configure_mesh()
        .disable_x_mesh()
        .light_line_style(t.grid.mix(0.3))
        .max_light_lines(3)
        .bold_line_style(t.grid)
        .axis_style(t.fg)
        .label_style((FONT, 12).into_font().color(&t.fg))
        .axis_desc_style((FONT, 13).into_font().color(&t.fg))
        .x_labels(7)
        .x_label_formatter(&|v| {
            let l = half_label(*v);
            if l.is_empty() {
                l
            } else {
                format!("QoS {l}")
            }
        })
        .y_desc("packets per message")
        .y_label_formatter(&|v| crate::units::num(*v, 3))
        .draw()?;
    for q in 0..3u8 {
        for (k, (p, _, colour)) in losses.iter().enumerate() {
            let x = f64::from(q) + 0.15 + k as f64 * 0.24;
            ch.draw_series(std::iter::once(Rectangle::new(
                [(x, 0.0), (x + 0.22, expected_packets(q, *p))],
                colour.filled(),
            )))?;
        }
        if q == c.recommended {
            ch.draw_series(std::iter::once(Rectangle::new(
                [
                    (f64::from(q) + 0.08, 0.0),
                    (f64::from(q) + 0.92, top * 1.05),
                ],
                ShapeStyle::from(&t.fg).stroke_width(3),
            )))?;
        }
    }
    let items: Vec<(&str, RGBColor, bool)> =
        losses.iter().map(|(_, l, c)| (*l, *c, false)).collect();
    legend(root, t, &items)?;
    root.present()
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_engine::client::{Backoff, Jitter};

    fn svg(draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>)) -> String {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (720, 360)).into_drawing_area();
            draw(&root);
        }
        out
    }

    #[test]
    fn every_chart_draws_with_labels_and_data() {
        let q = svg(|r| {
            queue(
                r,
                LIGHT,
                &QueueChart {
                    capped: vec![(0.0, 0.0), (24.0, 140_000.0)],
                    uncapped: vec![(0.0, 0.0), (24.0, 201_600.0)],
                    limit_bytes: Some(140_000.0),
                    at_hours: 24.0,
                    y_label: "bytes per device",
                },
            )
            .unwrap()
        });
        assert!(
            q.contains("hours offline") && q.contains("this broker") && q.contains("<polyline"),
            "{q}"
        );
        let s = crate::backoff::schedule(
            &Backoff {
                initial: 1.0,
                multiplier: 2.0,
                max: 60.0,
                jitter: Jitter::Full,
            },
            8,
            1,
        );
        let b = svg(|r| backoff(r, DARK, &s).unwrap());
        assert!(b.contains("attempt") && b.contains("<polygon"), "{b}");
        let st = svg(|r| {
            storm(
                r,
                LIGHT,
                &StormChart {
                    a: ("no jitter", &[0, 5, 0, 9]),
                    b: ("full jitter", &[1, 2, 3, 2]),
                    width_s: 1,
                    capacity: 4.0,
                    outage_s: 2.0,
                },
            )
            .unwrap()
        });
        assert!(st.contains("capacity") && st.contains("<rect"), "{st}");
        let c = svg(|r| {
            collision(
                r,
                LIGHT,
                &CollisionChart {
                    exact: vec![(1.0, 0.0), (1e5, 0.7)],
                    approx: vec![(1.0, 0.0), (1e5, 0.69)],
                    fleet: 1e4,
                },
            )
            .unwrap()
        });
        assert!(c.contains("log scale"), "{c}");
        let bu = svg(|r| {
            buffer(
                r,
                LIGHT,
                &crate::buffer::BufferInput {
                    interval_s: 60.0,
                    outage_s: 7200.0,
                    reading: 257,
                    framing: 64,
                    capacity: 32_100,
                },
            )
            .unwrap()
        });
        assert!(bu.contains("capacity"), "{bu}");
        let input = crate::loss::LossInput {
            messages: 100,
            loss_up: 0.2,
            loss_down: 0.2,
            latency_ms: 50.0,
            retry_ms: 1000.0,
            seed: 1,
        };
        let outs: Vec<_> = (0..3).map(|q| crate::loss::run(&input, q).0).collect();
        let l = svg(|r| loss(r, LIGHT, &outs).unwrap());
        assert!(l.contains("QoS 2") && l.contains("duplicates"), "{l}");
    }

    #[test]
    fn degenerate_inputs_still_draw() {
        // Empty and flat series must not make plotters loop or panic.
        let q = svg(|r| {
            queue(
                r,
                LIGHT,
                &QueueChart {
                    capped: vec![],
                    uncapped: vec![],
                    limit_bytes: None,
                    at_hours: 0.0,
                    y_label: "bytes",
                },
            )
            .unwrap()
        });
        assert!(q.contains("<svg"));
        let st = svg(|r| {
            storm(
                r,
                LIGHT,
                &StormChart {
                    a: ("a", &[]),
                    b: ("b", &[]),
                    width_s: 1,
                    capacity: 0.0,
                    outage_s: 0.0,
                },
            )
            .unwrap()
        });
        assert!(st.contains("<svg"));
        assert_eq!(span(f64::NAN, 1.0), (0.0, 1.0));
        assert_eq!(span(5.0, 5.0), (5.0, 6.0));
        assert_eq!(short_bytes(8_400_000.0), "8.4 MB");
    }
}
