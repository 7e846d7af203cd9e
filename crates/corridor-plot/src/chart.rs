//! Drawing, on any plotters backend: the same code makes the PNG and the SVG.
//!
//! The look follows the charts central banks publish on money-market rates: a title and a
//! subtitle saying what is shown and in which units, horizontal grid lines only, the corridor
//! as step lines (a rate changes on a date and holds until the next decision), the market
//! rate as a median with a shaded band, reserves as a grey area on a second axis, the legend
//! under the chart and a source line.

use chrono::{Datelike, NaiveDate};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::data::{DemandCurves, RateFan};
use crate::palette;

/// Image size in pixels (16:9.6, legible when shrunk into a slide or a paper's column).
pub const WIDTH: u32 = 1200;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 720;

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(33, 33, 33);
const MUTED: RGBColor = RGBColor(100, 100, 100);
const GRID: RGBColor = RGBColor(221, 221, 221);
pub(crate) const MEDIAN: RGBColor = rgb(palette::MEDIAN);
pub(crate) const BAND: RGBColor = rgb(palette::BAND);
pub(crate) const LENDING: RGBColor = rgb(palette::LENDING);
pub(crate) const POLICY: RGBColor = rgb(palette::POLICY);
pub(crate) const DEPOSIT: RGBColor = rgb(palette::DEPOSIT);
pub(crate) const RESERVES: RGBColor = rgb(palette::RESERVES);
const RESERVES_EDGE: RGBColor = RGBColor(165, 165, 165);
/// Curves of a multi-key sweep, after [`MEDIAN`].
const PALETTE: [RGBColor; 6] = [
    MEDIAN,
    RGBColor(230, 120, 20),
    RGBColor(120, 60, 160),
    RGBColor(0, 150, 200),
    RGBColor(150, 110, 40),
    RGBColor(200, 80, 150),
];

const fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// What a legend entry shows.
enum Key {
    Line(RGBColor),
    Dashed(RGBColor),
    Fill(RGBColor),
}

/// Title, subtitle, legend and source: the frame around the plot area, which is returned.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    legend: &[(Key, String)],
    source: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let left = 24;
    root.draw_text(title, &(FONT, 30).into_font().color(&INK), (left, 18))?;
    root.draw_text(subtitle, &(FONT, 17).into_font().color(&MUTED), (left, 58))?;

    // Legend: one row of entries, wrapped when wider than the image.
    let text = (FONT, 16).into_font().color(&INK);
    let (mut x, mut y) = (left, HEIGHT as i32 - 92);
    for (key, label) in legend {
        let width = 34 + 10 + root.estimate_text_size(label, &text)?.0 as i32 + 28;
        if x + width > WIDTH as i32 - left {
            x = left;
            y += 26;
        }
        let mid = y + 9;
        match key {
            Key::Line(c) => root.draw(&PathElement::new(
                vec![(x, mid), (x + 34, mid)],
                c.stroke_width(3),
            ))?,
            Key::Dashed(c) => {
                for k in 0..3 {
                    let x0 = x + 13 * k;
                    root.draw(&PathElement::new(
                        vec![(x0, mid), (x0 + 8, mid)],
                        c.stroke_width(2),
                    ))?;
                }
            }
            Key::Fill(c) => {
                root.draw(&Rectangle::new([(x, y + 1), (x + 34, y + 17)], c.filled()))?
            }
        }
        root.draw_text(label, &text, (x + 44, y))?;
        x += width;
    }
    root.draw_text(
        source,
        &(FONT, 14).into_font().color(&MUTED),
        (left, HEIGHT as i32 - 30),
    )?;
    Ok(root.margin(95, 100, 10, 10))
}

/// Points of a step line: each value holds from its x until the next x.
pub(crate) fn steps(xs: &[f64], ys: &[f64]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(xs.len() * 2);
    for (i, (&x, &y)) in xs.iter().zip(ys).enumerate() {
        if i > 0 && ys[i - 1] != y {
            out.push((x, ys[i - 1]));
        }
        if i == 0 || ys[i - 1] != y || i + 1 == xs.len() {
            out.push((x, y));
        }
    }
    out
}

/// Maximal runs of consecutive indices where every series has a value.
fn segments(len: usize, present: impl Fn(usize) -> bool) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for i in 0..=len {
        match (i < len && present(i), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// A shaded band between `lo` and `hi` over `xs` (a closed polygon).
fn band(xs: &[f64], lo: &[f64], hi: &[f64]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = xs.iter().copied().zip(hi.iter().copied()).collect();
    pts.extend(xs.iter().copied().zip(lo.iter().copied()).rev());
    pts
}

/// `[lo, hi]` padded by `share` of its width (at least `min_pad`).
fn padded(lo: f64, hi: f64, share: f64, min_pad: f64) -> (f64, f64) {
    let pad = ((hi - lo) * share).max(min_pad);
    (lo - pad, hi + pad)
}

/// Thousands separated by thin spaces, no decimals unless the number is small.
pub(crate) fn format_amount(x: f64) -> String {
    if x.abs() < 10.0 && x.fract().abs() > 1e-9 {
        return format!("{x:.1}");
    }
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    if n < 0 { format!("\u{2212}{out}") } else { out }
}

/// Basis points as an axis label.
fn format_bp(x: f64) -> String {
    let s = if (x - x.round()).abs() < 1e-9 {
        format!("{:.0}", x)
    } else {
        format!("{x:.1}")
    };
    s.replace('-', "\u{2212}")
}

fn date_of(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days + 719_163)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "3 Feb 2015" for short spans, "Feb 2015" when the chart covers more than four months.
pub(crate) fn format_date(days: i32, long_span: bool) -> String {
    match date_of(days) {
        Some(d) if long_span => format!("{} {}", MONTHS[d.month0() as usize], d.year()),
        Some(d) => format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year()),
        None => String::new(),
    }
}

/// Tick positions (day indices) for a business-day axis: the first business day of each
/// month (every second, third... month when there are many) over long spans, about seven
/// evenly spaced days over short ones. Also says which label style fits.
pub(crate) fn date_ticks(dates: &[i32]) -> (Vec<f64>, bool) {
    let long_span = dates
        .first()
        .zip(dates.last())
        .is_some_and(|(a, b)| b - a > 120);
    if !long_span {
        let step = dates.len().div_ceil(7).max(1);
        return (
            (0..dates.len()).step_by(step).map(|i| i as f64).collect(),
            false,
        );
    }
    let month = |d: i32| date_of(d).map(|d| d.year() * 12 + d.month0() as i32);
    let starts: Vec<usize> = (1..dates.len())
        .filter(|&i| month(dates[i]) != month(dates[i - 1]))
        .collect();
    let every = starts.len().div_ceil(10).max(1);
    (
        starts
            .into_iter()
            .step_by(every)
            .map(|i| i as f64)
            .collect(),
        true,
    )
}

/// The horizontal axis of a run: business days (evenly spaced, as markets trade), ticked at
/// chosen days and labelled with their calendar dates.
struct DayAxis {
    days: RangedCoordf64,
    ticks: Vec<f64>,
    labels: Vec<String>,
}

impl Ranged for DayAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.days.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.max_num_points() == 0 {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.days.range()
    }
}

impl ValueFormatter<f64> for DayAxis {
    fn format_ext(&self, value: &f64) -> String {
        let i = value.round().max(0.0) as usize;
        self.labels.get(i).cloned().unwrap_or_default()
    }
}

/// The overnight rate across runs inside the corridor, reserves on the right axis.
pub(crate) fn draw_rate_fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fan: &RateFan,
) -> DrawResult<DB> {
    let p = &fan.provenance;
    let n = fan.dates.len();
    let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let legend = vec![
        (
            Key::Line(MEDIAN),
            "Overnight rate, median across runs".to_string(),
        ),
        (
            Key::Fill(BAND),
            "5th\u{2013}95th percentile across runs".to_string(),
        ),
        (Key::Line(LENDING), "Lending facility rate".to_string()),
        (Key::Dashed(POLICY), "Policy rate".to_string()),
        (Key::Line(DEPOSIT), "Deposit facility rate".to_string()),
        (
            Key::Fill(RESERVES),
            format!("Reserves, median (right axis, {})", p.money_unit),
        ),
    ];
    let area = frame(
        root,
        "Overnight rate in the corridor",
        &format!(
            "{}: {} runs, basis points (left) and reserves in {} (right)",
            p.scenario, p.runs, p.money_unit
        ),
        &legend,
        &format!(
            "Source: corridor {} simulation, scenario {}, seed {}. Reserves: aggregate balances before the standing facilities.",
            p.version, p.scenario, p.seed
        ),
    )?;

    let rate_values = fan
        .p05
        .iter()
        .chain(&fan.p95)
        .flatten()
        .chain(&fan.lending)
        .chain(&fan.deposit)
        .chain(&fan.policy)
        .copied();
    let (lo, hi) = rate_values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let (y0, y1) = padded(lo, hi, 0.08, 5.0);
    let reserves: Vec<f64> = fan.reserves_p50.iter().flatten().copied().collect();
    let r_lo = reserves.iter().copied().fold(0.0_f64, f64::min);
    let r_hi = reserves.iter().copied().fold(0.0_f64, f64::max);
    let (r0, r1) = if r_hi > r_lo {
        (r_lo - 0.05 * (r_hi - r_lo), r_hi + 0.15 * (r_hi - r_lo))
    } else {
        (-1.0, 1.0)
    };
    let x1 = (n.max(2) - 1) as f64;
    let (ticks, long_span) = date_ticks(&fan.dates);
    let axis = DayAxis {
        days: (0.0..x1).into(),
        ticks,
        labels: fan
            .dates
            .iter()
            .map(|&d| format_date(d, long_span))
            .collect(),
    };
    let mut chart = ChartBuilder::on(&area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .right_y_label_area_size(100)
        .build_cartesian_2d(axis, y0..y1)?
        .set_secondary_coord(0.0..x1, r0..r1);

    let bp_label = |y: &f64| format_bp(*y);
    let amount_label = |y: &f64| format_amount(*y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_max_light_lines(0)
        .bold_line_style(GRID.stroke_width(1))
        .axis_style(MUTED.stroke_width(1))
        .label_style((FONT, 15).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&MUTED))
        .y_labels(8)
        .y_label_formatter(&bp_label)
        .y_desc("Basis points")
        .draw()?;
    chart
        .configure_secondary_axes()
        .axis_style(MUTED.stroke_width(1))
        .label_style((FONT, 15).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&MUTED))
        .y_labels(8)
        .y_label_formatter(&amount_label)
        .y_desc(format!("Reserves ({})", p.money_unit))
        .draw()?;

    // Reserves first, so the rates are drawn over them.
    for seg in segments(n, |i| fan.reserves_p50[i].is_some()) {
        let x: Vec<f64> = xs[seg.clone()].to_vec();
        let hi: Vec<f64> = seg
            .clone()
            .map(|i| fan.reserves_p50[i].unwrap_or(0.0))
            .collect();
        let zero = vec![0.0; x.len()];
        chart.draw_secondary_series(std::iter::once(Polygon::new(
            band(&x, &zero, &hi),
            RESERVES.filled(),
        )))?;
        chart.draw_secondary_series(LineSeries::new(
            x.iter().copied().zip(hi.iter().copied()),
            RESERVES_EDGE.stroke_width(1),
        ))?;
    }
    for seg in segments(n, |i| fan.p05[i].is_some() && fan.p95[i].is_some()) {
        let x: Vec<f64> = xs[seg.clone()].to_vec();
        let lo: Vec<f64> = seg.clone().filter_map(|i| fan.p05[i]).collect();
        let hi: Vec<f64> = seg.clone().filter_map(|i| fan.p95[i]).collect();
        chart.draw_series(std::iter::once(Polygon::new(
            band(&x, &lo, &hi),
            BAND.filled(),
        )))?;
    }
    chart.draw_series(LineSeries::new(
        steps(&xs, &fan.lending),
        LENDING.stroke_width(2),
    ))?;
    chart.draw_series(LineSeries::new(
        steps(&xs, &fan.deposit),
        DEPOSIT.stroke_width(2),
    ))?;
    chart.draw_series(DashedLineSeries::new(
        steps(&xs, &fan.policy),
        8,
        5,
        POLICY.stroke_width(2),
    ))?;
    for seg in segments(n, |i| fan.p50[i].is_some()) {
        let pts: Vec<(f64, f64)> = seg
            .clone()
            .filter_map(|i| fan.p50[i].map(|y| (xs[i], y)))
            .collect();
        if pts.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(pts[0], 3, MEDIAN.filled())))?;
        } else {
            chart.draw_series(LineSeries::new(pts, MEDIAN.stroke_width(3)))?;
        }
    }
    root.present()
}

/// The overnight rate against reserves across a sweep's points, one curve per combination of
/// the other swept keys.
pub(crate) fn draw_demand_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    sweep: &DemandCurves,
) -> DrawResult<DB> {
    let p = &sweep.provenance;
    let all = || sweep.curves.iter().flat_map(|c| c.points.iter());
    let mut legend = Vec::new();
    for (k, curve) in sweep.curves.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let name = if curve.label.is_empty() {
            "Overnight rate, median of run-days".to_string()
        } else {
            format!("Median, {}", curve.label)
        };
        legend.push((Key::Line(colour), name));
    }
    legend.push((
        Key::Fill(BAND),
        "5th\u{2013}95th percentile of run-days".to_string(),
    ));
    legend.push((Key::Line(LENDING), "Lending facility rate".to_string()));
    legend.push((Key::Dashed(POLICY), "Policy rate".to_string()));
    legend.push((Key::Line(DEPOSIT), "Deposit facility rate".to_string()));
    let area = frame(
        root,
        "Reserve demand curve",
        &format!(
            "{}: overnight rate against reserves at {} points swept along {} ({} runs each), basis points",
            p.scenario, sweep.points, sweep.along, p.runs
        ),
        &legend,
        &format!(
            "Source: corridor {} sweep, scenario {}, seed {}. Reserves: mean over each point's run-days, before the standing facilities.",
            p.version, p.scenario, p.seed
        ),
    )?;

    let (x_lo, x_hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), q| {
        (a.min(q.reserves), b.max(q.reserves))
    });
    let (x0, x1) = padded(x_lo, x_hi, 0.04, 1.0);
    let (lo, hi) = all()
        .flat_map(|q| {
            [
                q.p05,
                q.p95,
                Some(q.lending),
                Some(q.deposit),
                Some(q.policy),
            ]
        })
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let (y0, y1) = padded(lo, hi, 0.08, 5.0);
    let mut chart = ChartBuilder::on(&area)
        .margin(12)
        .margin_right(30)
        .x_label_area_size(60)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let bp_label = |y: &f64| format_bp(*y);
    let amount_label = |x: &f64| format_amount(*x);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_max_light_lines(0)
        .bold_line_style(GRID.stroke_width(1))
        .axis_style(MUTED.stroke_width(1))
        .label_style((FONT, 15).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&MUTED))
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&amount_label)
        .y_label_formatter(&bp_label)
        .x_desc(format!("Reserves ({})", p.money_unit))
        .y_desc("Basis points")
        .draw()?;

    for curve in &sweep.curves {
        let pts = &curve.points;
        for seg in segments(pts.len(), |i| pts[i].p05.is_some() && pts[i].p95.is_some()) {
            let x: Vec<f64> = pts[seg.clone()].iter().map(|q| q.reserves).collect();
            let lo: Vec<f64> = pts[seg.clone()].iter().filter_map(|q| q.p05).collect();
            let hi: Vec<f64> = pts[seg.clone()].iter().filter_map(|q| q.p95).collect();
            chart.draw_series(std::iter::once(Polygon::new(
                band(&x, &lo, &hi),
                BAND.mix(0.6).filled(),
            )))?;
        }
    }
    // The corridor along the reserves axis: each point's rates, as steps between points.
    let mut corridor: Vec<_> = all().collect();
    corridor.sort_by(|a, b| a.reserves.total_cmp(&b.reserves));
    let mut xs: Vec<f64> = vec![x0];
    xs.extend(corridor.iter().skip(1).map(|q| q.reserves));
    xs.push(x1);
    let rate = |f: fn(&&crate::data::DemandPoint) -> f64| {
        let mut ys: Vec<f64> = corridor.iter().map(f).collect();
        ys.push(*ys.last().expect("a sweep has points"));
        ys
    };
    chart.draw_series(LineSeries::new(
        steps(&xs, &rate(|q| q.lending)),
        LENDING.stroke_width(2),
    ))?;
    chart.draw_series(LineSeries::new(
        steps(&xs, &rate(|q| q.deposit)),
        DEPOSIT.stroke_width(2),
    ))?;
    chart.draw_series(DashedLineSeries::new(
        steps(&xs, &rate(|q| q.policy)),
        8,
        5,
        POLICY.stroke_width(2),
    ))?;
    for (k, curve) in sweep.curves.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let pts: Vec<(f64, f64)> = curve
            .points
            .iter()
            .filter_map(|q| q.p50.map(|y| (q.reserves, y)))
            .collect();
        chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(3)))?;
        chart.draw_series(pts.into_iter().map(|q| Circle::new(q, 4, colour.filled())))?;
    }
    root.present()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_hold_each_value_until_the_next_change() {
        let xs = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(
            steps(&xs, &[5.0, 5.0, 7.0, 7.0]),
            vec![(0.0, 5.0), (2.0, 5.0), (2.0, 7.0), (3.0, 7.0)]
        );
        assert_eq!(steps(&xs[..1], &[1.0]), vec![(0.0, 1.0)]);
    }

    #[test]
    fn segments_skip_missing_days() {
        let present = [true, true, false, true, false, false, true];
        assert_eq!(segments(7, |i| present[i]), vec![0..2, 3..4, 6..7]);
        assert!(segments(0, |_| true).is_empty());
    }

    #[test]
    fn long_spans_tick_at_month_starts_short_ones_evenly() {
        // Business days from Thursday 1 Jan 2015: weekdays only, 130 of them (to early July).
        let dates: Vec<i32> = (16_436_i32..16_436 + 182)
            .filter(|d| (d + 3).rem_euclid(7) < 5)
            .take(130)
            .collect();
        let (ticks, long) = date_ticks(&dates);
        assert!(long);
        let labels: Vec<String> = ticks
            .iter()
            .map(|&t| format_date(dates[t as usize], true))
            .collect();
        assert_eq!(
            labels,
            [
                "Feb 2015", "Mar 2015", "Apr 2015", "May 2015", "Jun 2015", "Jul 2015"
            ]
        );
        let (ticks, long) = date_ticks(&dates[..14]);
        assert!(!long);
        assert_eq!(ticks, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
    }

    #[test]
    fn labels_read_like_a_publication() {
        assert_eq!(format_amount(1_234_567.0), "1\u{2009}234\u{2009}567");
        assert_eq!(format_amount(-2500.0), "\u{2212}2\u{2009}500");
        assert_eq!(format_amount(999.0), "999");
        assert_eq!(format_bp(-50.0), "\u{2212}50");
        assert_eq!(format_bp(12.5), "12.5");
        // 2015-01-02 is day 16 437 of the Unix epoch.
        assert_eq!(format_date(16_437, false), "2 Jan 2015");
        assert_eq!(format_date(16_437, true), "Jan 2015");
    }
}
