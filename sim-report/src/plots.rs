//! The SVG plots of the HTML page, drawn with plotters' SVG backend: traffic, latency and
//! faults for the run, and per integration with traffic its calls over virtual time and the
//! platform's response times.
//!
//! Plotters is built without its `ttf` feature: text is written as SVG `<text>` elements and the
//! browser picks the font, so no font files or system font libraries are needed; plotters only
//! estimates label widths for layout. All time axes show *virtual* time since the run's virtual
//! start (as `H:MM`), because that is the clock faults and traffic were planned on.
//!
//! Each function returns a complete `<svg>` element and never fails: should plotters report an
//! error, a small SVG stating it takes the plot's place, so the page is still written.

use std::collections::BTreeMap;

use plotters::backend::SVGBackend;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::model::{FaultEvent, FlowPoint, FlowTotals, LatencySummary, RunReport, TrafficPoint};
use crate::text;

/// Plot width in pixels: wide enough for a readable time axis, narrow enough for a laptop
/// screen; CSS scales it down on narrower ones (`max-width: 100%`).
const WIDTH: u32 = 900;

/// The font family SVG text asks for; the browser resolves it.
const FONT: &str = "sans-serif";

/// Series colours, chosen to stay apart for the common forms of colour blindness
/// (Okabe–Ito blue, bluish green, orange) with the faults in vermillion.
const SENT: RGBColor = RGBColor(0, 114, 178);
const ACCEPTED: RGBColor = RGBColor(0, 158, 115);
const RECEIPTS: RGBColor = RGBColor(230, 159, 0);
const FAULT: RGBColor = RGBColor(213, 94, 0);
const BAR: RGBColor = RGBColor(86, 180, 233);

/// One colour per integration, in report order (the rest of the Okabe–Ito palette after the
/// three above: reddish purple, sky blue, and black for a sixth), so that a flow keeps its
/// colour from its traffic plot to the response-time plot.
const FLOW_COLORS: [RGBColor; 6] = [
    SENT,
    ACCEPTED,
    RECEIPTS,
    RGBColor(204, 121, 167),
    BAR,
    BLACK,
];

/// The "new messages" line of a flow's traffic plot: grey, apart from every flow colour.
const MESSAGES: RGBColor = RGBColor(110, 110, 110);

/// Which counter of a traffic bucket a line plots.
type Counter = fn(&TrafficPoint) -> u64;

/// The traffic lines: name, colour, counter.
const TRAFFIC_SERIES: [(&str, RGBColor, Counter); 3] = [
    ("sent", SENT, |p| p.sent),
    ("accepted", ACCEPTED, |p| p.accepted),
    ("receipts", RECEIPTS, |p| p.receipts),
];

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Renders into a fresh SVG of the given size, or an SVG that names the error.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> PlotResult,
) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root));
        drawn.and_then(|()| root.present().map_err(Into::into))
    };
    match result {
        Ok(()) => out,
        Err(e) => format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="40"><text x="8" y="24">plot failed: {}</text></svg>"#,
            size.0,
            text::xml(&e.to_string())
        ),
    }
}

/// A virtual-time axis. Plotters puts ticks on round numbers of the axis unit, so the unit
/// follows the span (seconds up to 10 minutes, minutes up to 5 hours, hours beyond): ticks then
/// land on round minutes or hours instead of on multiples of 1000 seconds.
#[derive(Clone, Copy)]
struct TimeAxis {
    /// Seconds per axis unit.
    unit: f64,
    /// The whole span in seconds, to choose `H:MM` or `H:MM:SS` labels.
    span: f64,
}

impl TimeAxis {
    fn new(span: f64) -> Self {
        let unit = if span <= 600.0 {
            1.0
        } else if span <= 5.0 * 3600.0 {
            60.0
        } else {
            3600.0
        };
        Self { unit, span }
    }

    /// Seconds since the virtual start → axis units.
    fn x(self, seconds: f64) -> f64 {
        seconds / self.unit
    }

    /// An axis value as a clock offset: `H:MM` for runs of 2 hours or more, else `H:MM:SS`.
    fn label(self, x: f64) -> String {
        let s = text::hms((x * self.unit).max(0.0).round() as u64);
        if self.span >= 2.0 * 3600.0 {
            s[..s.len() - 3].to_owned()
        } else {
            s
        }
    }
}

/// Writes a centred note on an otherwise empty plot ("no faults were injected").
fn empty(root: &DrawingArea<SVGBackend<'_>, Shift>, title: &str, note: &str) -> PlotResult {
    let (w, h) = root.dim_in_pixel();
    let title_style = TextStyle::from((FONT, 18).into_font()).color(&BLACK);
    root.draw(&Text::new(title.to_owned(), (10, 10), title_style))?;
    let grey = BLACK.mix(0.6);
    let style = TextStyle::from((FONT, 15).into_font()).color(&grey);
    root.draw(&Text::new(
        text::xml_chars(note),
        (w as i32 / 2 - 80, h as i32 / 2),
        style,
    ))?;
    Ok(())
}

/// Seconds from the run's virtual start to `t`.
fn offset(report: &RunReport, t: time::OffsetDateTime) -> f64 {
    (t - report.scenario.virtual_start).as_seconds_f64()
}

/// (a) Sent, accepted and receipts per traffic bucket over virtual time, with every fault
/// window shaded, so a dip can be matched to the fault that caused it.
pub fn traffic(report: &RunReport) -> String {
    svg((WIDTH, 320), |root| {
        let title = "Traffic per bucket over virtual time (shaded: faults)";
        if report.traffic.is_empty() {
            return empty(root, title, "no traffic was recorded");
        }
        let starts: Vec<f64> = report
            .traffic
            .iter()
            .map(|p| offset(report, p.at))
            .collect();
        // A bucket's width is the gap to the next one; the last one repeats the one before.
        let width = starts
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|d| *d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let width = if width.is_finite() {
            width
        } else {
            report.scenario.virtual_seconds().max(1.0)
        };
        let last = starts.iter().copied().fold(0.0, f64::max) + width;
        let span = report.scenario.virtual_seconds().max(last).max(1.0);
        let first = starts.iter().copied().fold(0.0, f64::min);
        let axis = TimeAxis::new(span - first);
        let peak = report
            .traffic
            .iter()
            .map(|p| p.sent.max(p.accepted).max(p.receipts))
            .max()
            .unwrap_or(0)
            .max(1) as f64
            // Headroom for the legend in the upper right corner.
            * 1.45;

        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(axis.x(first)..axis.x(span), 0.0..peak)?;
        chart
            .configure_mesh()
            .x_desc("virtual time since start")
            .y_desc("per bucket")
            .x_label_formatter(&|x| axis.label(*x))
            .y_label_formatter(&|y| text::number(y.round()))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;

        chart
            .draw_series(fault_windows(report, span).map(|(a, b)| {
                Rectangle::new(
                    [(axis.x(a), 0.0), (axis.x(b), peak)],
                    FAULT.mix(0.18).filled(),
                )
            }))?
            .label("fault active")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 18, y + 5)], FAULT.mix(0.18).filled())
            });

        for (name, color, value) in TRAFFIC_SERIES {
            let points = report
                .traffic
                .iter()
                .zip(&starts)
                .map(|(p, x)| (axis.x(x + width / 2.0), value(p) as f64));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 13))
            .draw()?;
        Ok(())
    })
}

/// Fault intervals in virtual seconds (not axis units), clipped to the plot; an instant gets a sliver of
/// 1/300 of the span so that it stays visible.
fn fault_windows(report: &RunReport, span: f64) -> impl Iterator<Item = (f64, f64)> + '_ {
    let sliver = span / 300.0;
    report
        .faults
        .iter()
        .map(move |f| interval(report, f, span, sliver))
}

/// A fault's interval in virtual seconds within `0..span`, at least `sliver` wide.
fn interval(report: &RunReport, f: &FaultEvent, span: f64, sliver: f64) -> (f64, f64) {
    let a = offset(report, f.start).clamp(0.0, (span - sliver).max(0.0));
    let b = f
        .end
        .map(|e| offset(report, e))
        .unwrap_or(a)
        .clamp(a + sliver, span.max(a + sliver));
    (a, b)
}

/// (b) The round-trip latency histogram: one bar per bucket of the report, equally wide
/// whatever the bucket bounds (they are usually logarithmic), labelled with the upper bound.
pub fn latency(report: &RunReport) -> String {
    let l: &LatencySummary = &report.latency;
    svg((WIDTH, 300), |root| {
        let title = if l.count == 0 {
            "Round-trip latency".to_owned()
        } else {
            format!(
                "Round-trip latency (n={}, p50 {}, p90 {}, p99 {}, max {})",
                l.count,
                text::millis(l.p50_ms),
                text::millis(l.p90_ms),
                text::millis(l.p99_ms),
                text::millis(l.max_ms)
            )
        };
        if l.buckets.is_empty() {
            return empty(root, &title, "no round trips were completed");
        }
        let n = l.buckets.len() as u32;
        let peak = l.buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..peak)?;
        let bounds: Vec<f64> = l.buckets.iter().map(|b| b.0).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(12) as usize)
            .x_desc("round trip, upper bound of bucket")
            .y_desc("updates")
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => bounds
                    .get(*i as usize)
                    .map(|b| format!("≤{}", text::millis(*b)))
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .y_label_formatter(&|y| text::number(y.round()))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart.draw_series(l.buckets.iter().enumerate().map(|(i, (_, count))| {
            let i = i as u32;
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *count as f64),
                ],
                BAR.filled(),
            );
            bar.set_margin(0, 0, 2, 2);
            bar
        }))?;
        Ok(())
    })
}

/// (c) The fault timeline: one row per fault kind and target, a bar over each interval (a
/// sliver for an instant), so the plan as it really happened can be read at a glance.
pub fn faults(report: &RunReport) -> String {
    // Rows in a stable order: by kind, then target ("all" for faults without one).
    let mut rows: BTreeMap<(String, String), Vec<&FaultEvent>> = BTreeMap::new();
    for f in &report.faults {
        let target = f.target.clone().unwrap_or_else(|| "all".to_owned());
        rows.entry((f.kind.clone(), target)).or_default().push(f);
    }
    let labels: Vec<String> = rows
        .keys()
        .map(|(kind, target)| text::xml_chars(&format!("{kind} @ {target}")))
        .collect();
    let height = 90 + 30 * rows.len().max(1) as u32;
    svg((WIDTH, height), |root| {
        let title = "Fault timeline (virtual time)";
        if rows.is_empty() {
            return empty(root, title, "no faults were injected");
        }
        let span = report
            .faults
            .iter()
            .filter_map(|f| f.end.or(Some(f.start)))
            .map(|t| offset(report, t))
            .fold(report.scenario.virtual_seconds(), f64::max)
            .max(1.0);
        let axis = TimeAxis::new(span);
        let n = rows.len() as u32;
        // Label area wide enough for the longest "kind @ target", within reason.
        let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size((longest * 7 + 16).clamp(60, 300))
            .build_cartesian_2d(0.0..axis.x(span), (0..n).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n as usize)
            .x_desc("virtual time since start")
            .x_label_formatter(&|x| axis.label(*x))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let sliver = span / 300.0;
        let bars = rows.values().enumerate().flat_map(|(row, events)| {
            let row = row as u32;
            events.iter().map(move |f| {
                let (a, b) = interval(report, f, span, sliver);
                let mut bar = Rectangle::new(
                    [
                        (axis.x(a), SegmentValue::Exact(row)),
                        (axis.x(b), SegmentValue::Exact(row + 1)),
                    ],
                    FAULT.mix(0.8).filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            })
        });
        chart.draw_series(bars)?;
        Ok(())
    })
}

/// The flows the page plots: those with calls and a series (reports written before the series
/// existed have figures only), in report order, each with its colour.
pub fn plotted_flows(report: &RunReport) -> impl Iterator<Item = (&FlowTotals, RGBColor)> {
    report
        .totals
        .flows
        .iter()
        .zip(FLOW_COLORS.iter().cycle())
        .filter(|(f, _)| f.calls > 0 && !f.series.is_empty())
        .map(|(f, c)| (f, *c))
}

/// The time axis every flow plot shares, so that they line up under one another and under the
/// run's traffic plot: from the run's start (or an earlier bucket) to its end (or the last
/// bucket's end), in seconds since the virtual start.
#[derive(Clone, Copy)]
struct FlowSpan {
    /// The first bucket's start, or 0.
    first: f64,
    /// The last bucket's end, or the run's length.
    last: f64,
}

impl FlowSpan {
    fn of(report: &RunReport) -> FlowSpan {
        let mut span = FlowSpan {
            first: 0.0,
            last: report.scenario.virtual_seconds().max(1.0),
        };
        for (f, _) in plotted_flows(report) {
            for p in &f.series {
                let a = offset(report, p.at);
                span.first = span.first.min(a);
                span.last = span.last.max(a + f.bucket_seconds as f64);
            }
        }
        span
    }

    fn axis(self) -> TimeAxis {
        TimeAxis::new(self.last - self.first)
    }
}

/// A bucket width for a title: `30 s`, `5 min`, `2 h`, `1 d`.
fn per_bucket(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        s if s < 3600 && s % 60 == 0 => format!("{} min", s / 60),
        s if s < 86_400 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s => text::duration(s as f64),
    }
}

/// A count axis label: only whole numbers are labelled, because plotters puts ticks at 0.2,
/// 0.4 ... when a flow had a call or two per bucket, and "1, 1, 1" reads as nonsense.
fn whole(y: &f64) -> String {
    if (y - y.round()).abs() < 1e-6 {
        text::number(y.round())
    } else {
        String::new()
    }
}

/// The middle of a flow bucket on the axis: where its value is drawn.
fn centre(report: &RunReport, flow: &FlowTotals, p: &FlowPoint) -> f64 {
    offset(report, p.at) + flow.bucket_seconds as f64 / 2.0
}

/// (d) One flow's calls per bucket over virtual time, one line per leg (the messages one way
/// and their answers the other, so a lag or a gap in the answers shows), with its new
/// messages (first sights of a TransaktionIdentifikator: a leg above them is resends or
/// answers) and the fault windows shaded like the run's traffic plot, on the same time axis
/// for every flow.
pub fn flow_traffic(report: &RunReport, flow: &FlowTotals, color: RGBColor) -> String {
    let span = FlowSpan::of(report);
    let lines = flow_lines(flow, color);
    svg((WIDTH, 260), |root| {
        let title = format!(
            "{}: calls to the platform per {} (shaded: faults)",
            flow.integration,
            per_bucket(flow.bucket_seconds)
        );
        let axis = span.axis();
        let peak = flow
            .series
            .iter()
            .flat_map(|p| lines.iter().map(|l| (l.value)(p)))
            .max()
            .unwrap_or(0)
            .max(1) as f64
            // Headroom for the legend in the upper right corner.
            * 1.45;
        let mut chart = ChartBuilder::on(root)
            .caption(text::xml_chars(&title), (FONT, 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(axis.x(span.first)..axis.x(span.last), 0.0..peak)?;
        chart
            .configure_mesh()
            .x_desc("virtual time since start")
            .y_desc("per bucket")
            .x_label_formatter(&|x| axis.label(*x))
            .y_label_formatter(&whole)
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        shade_faults(&mut chart, report, span, axis, peak)?;
        for line in &lines {
            let points = flow
                .series
                .iter()
                .map(|p| (axis.x(centre(report, flow, p)), (line.value)(p) as f64));
            let style = line.color.stroke_width(line.width);
            chart
                .draw_series(LineSeries::new(points, style))?
                .label(text::xml_chars(&line.name))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        legend(&mut chart)
    })
}

/// One line of a flow's traffic plot.
struct FlowLine {
    /// Its legend entry.
    name: String,
    color: RGBColor,
    width: u32,
    /// What it counts in a bucket.
    value: Box<dyn Fn(&FlowPoint) -> u64>,
}

/// A line per leg (the first in the flow's colour, the next ones darker), or one of all calls
/// when the series has no per-leg counts; then new messages, thin and grey, drawn last so that
/// where they equal a leg's calls both stay visible.
fn flow_lines(flow: &FlowTotals, color: RGBColor) -> Vec<FlowLine> {
    let n = flow.legs.len();
    let per_leg = n > 0 && flow.series.iter().all(|p| p.per_leg.len() == n);
    let mut lines: Vec<FlowLine> = if per_leg {
        flow.legs
            .iter()
            .enumerate()
            .map(|(i, leg)| FlowLine {
                name: leg.clone(),
                color: darker(color, i),
                width: 3,
                value: Box::new(move |p: &FlowPoint| p.per_leg[i]),
            })
            .collect()
    } else {
        vec![FlowLine {
            name: "calls".into(),
            color,
            width: 3,
            value: Box::new(|p: &FlowPoint| p.calls),
        }]
    };
    lines.push(FlowLine {
        name: "new messages".into(),
        color: MESSAGES,
        width: 1,
        value: Box::new(|p: &FlowPoint| p.messages),
    });
    lines
}

/// `color` darkened by 45 % per step, so that a flow's legs share its hue.
fn darker(color: RGBColor, steps: usize) -> RGBColor {
    let f = 0.55_f64.powi(steps as i32);
    let c = |v: u8| (f64::from(v) * f).round() as u8;
    RGBColor(c(color.0), c(color.1), c(color.2))
}

/// (e) The platform's response time per flow and bucket: p99 thick, p50 thin, in each flow's
/// colour, with the fault windows shaded (an injected delay shows as a rise). Buckets without
/// calls have no response time and are left out (the line breaks there) rather than drawn as
/// an instant answer. Times are the platform journal's, so virtual milliseconds.
pub fn flow_response_times(report: &RunReport) -> String {
    let span = FlowSpan::of(report);
    svg((WIDTH, 320), |root| {
        let title =
            "Platform response time per flow and bucket (thick: p99, thin: p50; shaded: faults)";
        let axis = span.axis();
        let peak = plotted_flows(report)
            .flat_map(|(f, _)| f.series.iter().map(|p| p.p99_ms.max(p.p50_ms)))
            .max()
            .unwrap_or(0)
            .max(1) as f64
            * 1.45;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(axis.x(span.first)..axis.x(span.last), 0.0..peak)?;
        chart
            .configure_mesh()
            .x_desc("virtual time since start")
            .y_desc("response time")
            .x_label_formatter(&|x| axis.label(*x))
            .y_label_formatter(&|y| {
                if *y == 0.0 {
                    "0".to_owned()
                } else {
                    text::millis(*y)
                }
            })
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        shade_faults(&mut chart, report, span, axis, peak)?;
        type Quantile = fn(&FlowPoint) -> u64;
        let quantiles: [(&str, u32, Quantile); 2] =
            [("p99", 2, |p| p.p99_ms), ("p50", 1, |p| p.p50_ms)];
        for (f, color) in plotted_flows(report) {
            for (q, width, value) in quantiles {
                let point = |p: &FlowPoint| (axis.x(centre(report, f, p)), value(p) as f64);
                let runs = f
                    .series
                    .split(|p| p.calls == 0)
                    .filter(|run| !run.is_empty())
                    .map(|run| run.iter().map(point).collect::<Vec<_>>());
                let style = color.stroke_width(width);
                chart
                    .draw_series(runs.map(|run| PathElement::new(run, style)))?
                    .label(text::xml_chars(&format!("{} {q}", f.integration)))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                // A bucket between empty ones is a run of one: its marker is all there is.
                let marks = f.series.iter().filter(|p| p.calls > 0).map(point);
                chart.draw_series(marks.map(|at| Circle::new(at, width + 1, color.filled())))?;
            }
        }
        legend(&mut chart)
    })
}

/// The chart type of the flow plots.
type TimeChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The fault windows as shaded bands over the whole height, with their legend entry.
fn shade_faults(
    chart: &mut TimeChart<'_, '_>,
    report: &RunReport,
    span: FlowSpan,
    axis: TimeAxis,
    peak: f64,
) -> PlotResult {
    if report.faults.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(fault_windows(report, span.last).map(|(a, b)| {
            Rectangle::new(
                [(axis.x(a), 0.0), (axis.x(b), peak)],
                FAULT.mix(0.18).filled(),
            )
        }))?
        .label("fault active")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], FAULT.mix(0.18).filled()));
    Ok(())
}

/// The legend in the upper right corner, as on the run's traffic plot.
fn legend<'a, 'b: 'a>(chart: &mut TimeChart<'a, 'b>) -> PlotResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}
