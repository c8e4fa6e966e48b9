//! Plots as SVG (plotters' SVG backend, which needs no font library) and PNG (the SVG rendered
//! by resvg with the DejaVu Sans font embedded from `assets/`, so figures are identical on every
//! machine).
//!
//! Every line chart goes through [`chart_with_layout`], which decides what a reader needs by
//! default: labelled ticks on log axes ([`log_ticks`], plain numbers), the x axis marked at the
//! widths run, labels that never overlap ([`thin_ticks`]), the legend below the plot with each
//! series' own mark (each colour of the palette its own marker shape, [`Marker`]), and bands
//! under the data. A new chart gets these by building [`Series`] ([`Series::means`] for seeds,
//! [`Series::band`] for a fit's interval, [`Series::intervals`] for error bars,
//! [`Style::Dashed`] for a theorem's slope). Histogram grids (the
//! figures) are drawn by [`crate::histogram_grid`] with the same palette and fonts.

use crate::StudyError;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// How a series is drawn, in the chart and in its legend (the legend shows the same mark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Small filled dots: measurements (one per run or seed).
    Points,
    /// A larger open circle: the mean of the points at one x.
    Mean,
    /// A solid line: a fit or a measured curve.
    Line,
    /// A dashed line: a reference (a theorem's slope).
    Dashed,
    /// A shaded region (a confidence band); its points are the polygon, see [`Series::band`].
    Band,
    /// Vertical error bars with caps; its points are pairs (x, low), (x, high), see
    /// [`Series::intervals`].
    Intervals,
}

/// The shape of a series' points: one per colour of the palette ([`Marker::of`]), so series
/// told apart by colour are told apart without it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    Cross,
    TriangleDown,
    Plus,
}

impl Marker {
    /// The marker of palette colour `color`: the data colours (all but the references' grey,
    /// [`series_color`]) take the markers in order, so the first seven series differ in both.
    pub fn of(color: usize) -> Marker {
        const ORDER: [Marker; 7] = [
            Marker::Circle,
            Marker::Square,
            Marker::Triangle,
            Marker::Diamond,
            Marker::Cross,
            Marker::TriangleDown,
            Marker::Plus,
        ];
        let c = color % PALETTE.len();
        let data_index = if c > 5 { c - 1 } else { c };
        ORDER[data_index % ORDER.len()]
    }
}

/// One named series of (x, y) points. An empty label keeps it out of the legend.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
    /// Index into the palette.
    pub color: usize,
}

impl Series {
    /// A band between `lo` and `hi` at each x (sorted by x): the polygon along the lower edge
    /// and back along the upper one.
    pub fn band(label: impl Into<String>, edges: &[(f64, f64, f64)], color: usize) -> Series {
        let mut points: Vec<(f64, f64)> = edges.iter().map(|(x, lo, _)| (*x, *lo)).collect();
        points.extend(edges.iter().rev().map(|(x, _, hi)| (*x, *hi)));
        Series {
            label: label.into(),
            points,
            style: Style::Band,
            color,
        }
    }

    /// Error bars from `low` to `high` at each x: (x, low, high) triples.
    pub fn intervals(label: impl Into<String>, bars: &[(f64, f64, f64)], color: usize) -> Series {
        Series {
            label: label.into(),
            points: bars
                .iter()
                .flat_map(|(x, lo, hi)| [(*x, *lo), (*x, *hi)])
                .collect(),
            style: Style::Intervals,
            color,
        }
    }

    /// A log-log fit of `points` drawn over their x range: its 95% band ([`Style::Band`],
    /// labelled `band_label`; none when the fit has no interval) and its line ([`Style::Line`],
    /// labelled `line_label`).
    pub fn fit(
        points: &[(f64, f64)],
        fit: &meanfield_chaos::RateFit,
        color: usize,
        band_label: &str,
        line_label: String,
    ) -> Vec<Series> {
        let (lo, hi) = points
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let grid: Vec<f64> = (0..=20)
            .map(|i| lo * (hi / lo).powf(i as f64 / 20.0))
            .collect();
        let band = meanfield_chaos::confidence_band(points, fit, &grid);
        let mut out = Vec::new();
        if !band.is_empty() {
            out.push(Series::band(band_label, &band, color));
        }
        out.push(Series {
            label: line_label,
            points: grid
                .iter()
                .map(|n| (*n, (fit.intercept + fit.slope * n.ln()).exp()))
                .collect(),
            style: Style::Line,
            color,
        });
        out
    }

    /// The points' mean y at each distinct x, as a [`Style::Mean`] series (seeds summarised).
    pub fn means(label: impl Into<String>, points: &[(f64, f64)], color: usize) -> Series {
        let mut xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let points = xs
            .into_iter()
            .map(|x| {
                let ys: Vec<f64> = points.iter().filter(|p| p.0 == x).map(|p| p.1).collect();
                (x, ys.iter().sum::<f64>() / ys.len() as f64)
            })
            .collect();
        Series {
            label: label.into(),
            points,
            style: Style::Mean,
            color,
        }
    }
}

/// The colours, by index (Tableau's; 5 is the grey of references, 6–9 for charts of more
/// than five series).
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(90, 90, 90),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`-th of several data series: every colour but the references' grey.
pub fn series_color(i: usize) -> usize {
    let data = PALETTE.len() - 1;
    let c = i % data;
    if c >= 5 { c + 1 } else { c }
}

/// Draws `marker` at each of `points` (pixel offsets around the point: works on a chart's
/// coordinates and on a plain drawing area alike).
macro_rules! draw_marks {
    ($draw:expr, $points:expr, $marker:expr, $color:expr) => {{
        let color = $color;
        let points = $points;
        match $marker {
            Marker::Circle => $draw(
                points
                    .map(|p| EmptyElement::at(p) + Circle::new((0, 0), 4, color.filled()))
                    .collect::<Vec<_>>(),
            ),
            Marker::Square => $draw(
                points
                    .map(|p| {
                        EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], color.filled())
                    })
                    .collect::<Vec<_>>(),
            ),
            Marker::Triangle => $draw(
                points
                    .map(|p| {
                        EmptyElement::at(p)
                            + Polygon::new(vec![(0, -5), (5, 4), (-5, 4)], color.filled())
                    })
                    .collect::<Vec<_>>(),
            ),
            Marker::Diamond => $draw(
                points
                    .map(|p| {
                        EmptyElement::at(p)
                            + Polygon::new(vec![(0, -5), (5, 0), (0, 5), (-5, 0)], color.filled())
                    })
                    .collect::<Vec<_>>(),
            ),
            Marker::Cross => $draw(
                points
                    .map(|p| EmptyElement::at(p) + Cross::new((0, 0), 4, color.stroke_width(2)))
                    .collect::<Vec<_>>(),
            ),
            Marker::TriangleDown => $draw(
                points
                    .map(|p| {
                        EmptyElement::at(p)
                            + Polygon::new(vec![(0, 5), (5, -4), (-5, -4)], color.filled())
                    })
                    .collect::<Vec<_>>(),
            ),
            Marker::Plus => $draw(
                points
                    .map(|p| {
                        EmptyElement::at(p)
                            + PathElement::new(vec![(-5, 0), (5, 0)], color.stroke_width(2))
                            + PathElement::new(vec![(0, -5), (0, 5)], color.stroke_width(2))
                    })
                    .collect::<Vec<_>>(),
            ),
        }
    }};
}

pub(crate) fn plot_err(path: &Path) -> impl Fn(String) -> StudyError + '_ {
    move |reason| StudyError::Plot {
        path: path.to_path_buf(),
        reason,
    }
}

/// A compact tick label: 3 significant digits, no trailing zeros.
pub(crate) fn short(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A tick label in plain numbers (never 1e-3): as many decimals as the value needs, up to 3
/// significant digits.
pub fn plain(v: f64) -> String {
    short(v)
}

/// Tick positions of a log axis over [lo, hi]: 1, 2 and 5 × 10^k; every decade alone when
/// those are more than 12; 1..9 × 10^k when they are fewer than 3; and, for a range under a
/// factor of about 1.25, three evenly spaced values. At least three ticks always.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let in_range = |mults: &[f64]| -> Vec<f64> {
        let (k0, k1) = (lo.log10().floor() as i32 - 1, hi.log10().ceil() as i32 + 1);
        let mut v: Vec<f64> = (k0..=k1)
            .flat_map(|k| mults.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|x| *x >= lo * (1.0 - 1e-9) && *x <= hi * (1.0 + 1e-9))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let ticks = in_range(&[1.0, 2.0, 5.0]);
    if ticks.len() > 12 {
        let decades = in_range(&[1.0]);
        if decades.len() >= 3 {
            return decades;
        }
    }
    if ticks.len() >= 3 {
        return ticks;
    }
    let fine = in_range(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if fine.len() >= 3 {
        return fine;
    }
    let step = (hi - lo) / 4.0;
    (1..=3).map(|i| lo + step * i as f64).collect()
}

/// The log x axis's ticks when the measured points (dots and means) sit at 2 to 10 distinct x:
/// those x, so the axis marks where the runs are.
fn data_ticks(series: &[Series], lo: f64, hi: f64) -> Option<Vec<f64>> {
    let mut xs: Vec<f64> = series
        .iter()
        .filter(|s| matches!(s.style, Style::Points | Style::Mean))
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .filter(|x| x.is_finite() && *x >= lo && *x <= hi)
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    (2..=10).contains(&xs.len()).then_some(xs)
}

/// The pixels a tick label takes at the axes' 14 px font: DejaVu Sans's digits are 0.64 em
/// wide and its point 0.32 em; 0.65 em a character bounds both.
fn label_width(label: &str) -> f64 {
    label.chars().count() as f64 * 0.65 * 14.0
}

/// The log x axis's `ticks` over [lo, hi] thinned so that no two labels overlap: from the
/// left, a tick is kept when its label starts at least 8 px after the last kept one ends, on a
/// plotting area `width` pixels wide. The test `x_labels_never_overlap` checks the rendered
/// glyphs' boxes.
pub fn thin_ticks(ticks: Vec<f64>, lo: f64, hi: f64, width: f64) -> Vec<f64> {
    let px = |x: f64| width * (x / lo).ln() / (hi / lo).ln();
    let mut kept: Vec<f64> = Vec::new();
    let mut right_end = f64::NEG_INFINITY;
    for x in ticks {
        let half = label_width(&plain(x)) / 2.0;
        if px(x) - half >= right_end + 8.0 {
            right_end = px(x) + half;
            kept.push(x);
        }
    }
    kept
}

/// The plotting area's width in pixels: the chart's width less its margins and the y labels'
/// area ([`chart_with_layout`]).
const PLOT_WIDTH: f64 = (WIDTH - 2 * MARGIN - Y_LABEL_AREA) as f64;

/// Where a chart put things, in the SVG's pixels: for tests and for callers that annotate.
#[derive(Debug, Clone, Default)]
pub struct ChartLayout {
    /// The labelled ticks of each axis: (value, label).
    pub x_ticks: Vec<(f64, String)>,
    pub y_ticks: Vec<(f64, String)>,
    /// The legend's box (x0, y0, x1, y1); empty when no series has a label.
    pub legend: Option<(i32, i32, i32, i32)>,
    /// Every drawn point's position (series with marks and line vertices).
    pub points: Vec<(i32, i32)>,
    /// How many bands were drawn.
    pub bands: usize,
}

/// Which axes are logarithmic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axes {
    pub log_x: bool,
    pub log_y: bool,
}

impl Axes {
    /// Both axes logarithmic (rates against N).
    pub const LOG_LOG: Axes = Axes {
        log_x: true,
        log_y: true,
    };
    /// A logarithmic x axis and a linear y axis.
    pub const LOG_X: Axes = Axes {
        log_x: true,
        log_y: false,
    };
    /// Both axes linear.
    pub const LINEAR: Axes = Axes {
        log_x: false,
        log_y: false,
    };
}

/// Draws a chart on `axes`; returns the SVG text.
pub fn chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    axes: Axes,
) -> Result<String, String> {
    chart_with_layout(title, x_label, y_label, series, axes).map(|(svg, _)| svg)
}

const WIDTH: u32 = 820;
const CHART_HEIGHT: u32 = 540;
const LEGEND_ROW: u32 = 22;
const MARGIN: u32 = 16;
const Y_LABEL_AREA: u32 = 76;

/// Every chart of the project goes through here, which decides by default:
/// - log axes carry labelled ticks at 1, 2, 5 × 10^k ([`log_ticks`], at least three, plain
///   numbers), and the x axis is ticked at the measured x values when there are few of them;
/// - the legend sits below the plotting area, outside it, so it covers no data; its marks are
///   the series' own (dots, open circles, solid and dashed lines, a shaded box);
/// - bands are drawn first (under the data), translucent.
pub fn chart_with_layout(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    axes: Axes,
) -> Result<(String, ChartLayout), String> {
    chart_with_ticks(title, x_label, y_label, series, axes, None)
}

/// [`chart_with_layout`] with the log x axis ticked at `x_ticks` when given (thinned as
/// always): for charts whose points are set apart from the x they stand for.
pub fn chart_with_ticks(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    axes: Axes,
    x_ticks: Option<&[f64]>,
) -> Result<(String, ChartLayout), String> {
    let given = x_ticks;
    let Axes { log_x, log_y } = axes;
    let keep = |(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!log_x || *x > 0.0) && (!log_y || *y > 0.0)
    };
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(keep)
        .collect();
    if pts.is_empty() {
        return Err("no finite positive points to plot".into());
    }
    let (xmin, xmax) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (ymin, ymax) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (xmin, xmax) = if log_x {
        (xmin / 1.3, xmax * 1.3)
    } else {
        let pad = ((xmax - xmin) * 0.08).max(0.5);
        (xmin - pad, xmax + pad)
    };
    let (ymin, ymax) = if log_y {
        (ymin / 1.5, ymax * 1.5)
    } else {
        let pad = ((ymax - ymin) * 0.1).max(1e-12);
        (ymin - pad, ymax + pad)
    };
    let x_ticks: Option<Vec<f64>> = log_x.then(|| {
        let ticks = match given {
            Some(t) => t
                .iter()
                .copied()
                .filter(|x| (xmin..=xmax).contains(x))
                .collect(),
            None => data_ticks(series, xmin, xmax).unwrap_or_else(|| log_ticks(xmin, xmax)),
        };
        thin_ticks(ticks, xmin, xmax, PLOT_WIDTH)
    });
    let y_ticks: Option<Vec<f64>> = log_y.then(|| log_ticks(ymin, ymax));
    let labelled: Vec<&Series> = series.iter().filter(|s| !s.label.is_empty()).collect();
    let two_columns = labelled.iter().all(|s| s.label.chars().count() <= 44);
    let legend_rows = if two_columns {
        labelled.len().div_ceil(2)
    } else {
        labelled.len()
    } as u32;
    let legend_height = if labelled.is_empty() {
        0
    } else {
        legend_rows * LEGEND_ROW + 16
    };
    let mut layout = ChartLayout::default();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, CHART_HEIGHT + legend_height))
            .into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (chart_area, legend_area) = root.split_vertically(CHART_HEIGHT);
        let mut builder = ChartBuilder::on(&chart_area);
        builder
            .caption(title, ("sans-serif", 20))
            .margin(MARGIN)
            .x_label_area_size(48)
            .y_label_area_size(Y_LABEL_AREA);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_labels(8)
                    .y_labels(8)
                    .x_label_formatter(&|x| plain(*x))
                    .y_label_formatter(&|y| plain(*y))
                    .light_line_style(WHITE.mix(0.0))
                    .bold_line_style(BLACK.mix(0.08))
                    .x_desc(x_label)
                    .y_desc(y_label)
                    .label_style(("sans-serif", 14))
                    .draw()
                    .map_err(|e| e.to_string())?;
                // Bands first, so the data lie on top of them.
                let mut order: Vec<&Series> =
                    series.iter().filter(|s| s.style == Style::Band).collect();
                order.extend(series.iter().filter(|s| s.style != Style::Band));
                for s in order {
                    let color = PALETTE[s.color % PALETTE.len()];
                    let data: Vec<(f64, f64)> = if s.style == Style::Intervals {
                        // Whole bars only: a dropped end would pair the next bar's ends wrongly.
                        s.points
                            .chunks_exact(2)
                            .filter(|bar| keep(&bar[0]) && keep(&bar[1]))
                            .flatten()
                            .copied()
                            .collect()
                    } else {
                        s.points.iter().copied().filter(keep).collect()
                    };
                    match s.style {
                        Style::Points => {
                            draw_marks!(
                                |marks: Vec<_>| chart.draw_series(marks).map(|_| ()),
                                data.iter().copied(),
                                Marker::of(s.color),
                                color
                            )
                            .map_err(|e| e.to_string())?;
                        }
                        Style::Intervals => {
                            for bar in data.chunks_exact(2) {
                                let ((x, lo), (_, hi)) = (bar[0], bar[1]);
                                chart
                                    .draw_series(std::iter::once(
                                        EmptyElement::at((x, lo))
                                            + PathElement::new(
                                                vec![(-4, 0), (4, 0)],
                                                color.stroke_width(1),
                                            ),
                                    ))
                                    .map_err(|e| e.to_string())?;
                                chart
                                    .draw_series(std::iter::once(
                                        EmptyElement::at((x, hi))
                                            + PathElement::new(
                                                vec![(-4, 0), (4, 0)],
                                                color.stroke_width(1),
                                            ),
                                    ))
                                    .map_err(|e| e.to_string())?;
                                chart
                                    .draw_series(LineSeries::new(
                                        vec![(x, lo), (x, hi)],
                                        color.stroke_width(1),
                                    ))
                                    .map_err(|e| e.to_string())?;
                            }
                        }
                        Style::Mean => {
                            chart
                                .draw_series(
                                    data.iter()
                                        .map(|p| Circle::new(*p, 8, color.stroke_width(2))),
                                )
                                .map_err(|e| e.to_string())?;
                        }
                        Style::Line => {
                            chart
                                .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))
                                .map_err(|e| e.to_string())?;
                        }
                        Style::Dashed => {
                            chart
                                .draw_series(DashedLineSeries::new(
                                    data.clone(),
                                    7,
                                    5,
                                    color.stroke_width(2),
                                ))
                                .map_err(|e| e.to_string())?;
                        }
                        Style::Band => {
                            chart
                                .draw_series(std::iter::once(Polygon::new(
                                    data.clone(),
                                    color.mix(0.18).filled(),
                                )))
                                .map_err(|e| e.to_string())?;
                            layout.bands += 1;
                        }
                    }
                    if s.style != Style::Band {
                        layout
                            .points
                            .extend(data.iter().map(|p| chart.backend_coord(p)));
                    }
                }
            }};
        }
        macro_rules! axis {
            ($range:expr, $ticks:expr) => {
                ($range).with_key_points($ticks.clone().unwrap_or_default())
            };
        }
        match (log_x, log_y, &x_ticks, &y_ticks) {
            (true, true, Some(_), Some(_)) => draw!(
                builder
                    .build_cartesian_2d(
                        axis!((xmin..xmax).log_scale(), x_ticks),
                        axis!((ymin..ymax).log_scale(), y_ticks)
                    )
                    .map_err(|e| e.to_string())?
            ),
            (true, false, Some(_), _) => draw!(
                builder
                    .build_cartesian_2d(axis!((xmin..xmax).log_scale(), x_ticks), ymin..ymax)
                    .map_err(|e| e.to_string())?
            ),
            (false, false, _, _) => draw!(
                builder
                    .build_cartesian_2d(xmin..xmax, ymin..ymax)
                    .map_err(|e| e.to_string())?
            ),
            _ => return Err("a log y axis needs a log x axis".into()),
        }
        layout.x_ticks = x_ticks
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v, plain(v)))
            .collect();
        layout.y_ticks = y_ticks
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v, plain(v)))
            .collect();
        if !labelled.is_empty() {
            layout.legend = Some(draw_legend(&legend_area, &labelled, two_columns)?);
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok((svg, layout))
}

/// The legend below the chart: one entry per labelled series with its own mark. Returns its
/// box in the SVG's pixels.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    labelled: &[&Series],
    two_columns: bool,
) -> Result<(i32, i32, i32, i32), String> {
    let (x0, y0) = area.get_base_pixel();
    let column = (WIDTH as i32 - 100) / 2;
    let mut bottom = 0;
    for (i, s) in labelled.iter().enumerate() {
        let (row, col) = if two_columns {
            ((i / 2) as i32, (i % 2) as i32)
        } else {
            (i as i32, 0)
        };
        let x = 90 + col * column;
        let y = 12 + row * LEGEND_ROW as i32;
        bottom = y + LEGEND_ROW as i32;
        let color = PALETTE[s.color % PALETTE.len()];
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        match s.style {
            Style::Points => draw_marks!(
                |marks: Vec<_>| marks.iter().try_for_each(|m| area.draw(m)),
                std::iter::once((x + 12, y)),
                Marker::of(s.color),
                color
            )
            .map_err(e)?,
            Style::Intervals => {
                for path in [
                    vec![(x + 12, y - 7), (x + 12, y + 7)],
                    vec![(x + 8, y - 7), (x + 16, y - 7)],
                    vec![(x + 8, y + 7), (x + 16, y + 7)],
                ] {
                    area.draw(&PathElement::new(path, color.stroke_width(1)))
                        .map_err(e)?;
                }
            }
            Style::Mean => area
                .draw(&Circle::new((x + 12, y), 8, color.stroke_width(2)))
                .map_err(e)?,
            Style::Line => area
                .draw(&PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    color.stroke_width(2),
                ))
                .map_err(e)?,
            Style::Dashed => {
                for (a, b) in [(0, 7), (12, 19)] {
                    area.draw(&PathElement::new(
                        vec![(x + a, y), (x + b, y)],
                        color.stroke_width(2),
                    ))
                    .map_err(e)?;
                }
            }
            Style::Band => area
                .draw(&Rectangle::new(
                    [(x, y - 6), (x + 24, y + 6)],
                    color.mix(0.18).filled(),
                ))
                .map_err(e)?,
        }
        area.draw(&Text::new(
            s.label.clone(),
            (x + 32, y - 8),
            ("sans-serif", 13),
        ))
        .map_err(e)?;
    }
    Ok((x0 + 80, y0, x0 + WIDTH as i32 - 10, y0 + bottom))
}

/// usvg's options with the embedded font as every family.
fn svg_options() -> resvg::usvg::Options<'static> {
    let mut options = resvg::usvg::Options::default();
    {
        let db = options.fontdb_mut();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
    }
    options.font_family = "DejaVu Sans".into();
    options
}

/// Every text of a rendered SVG with its box in pixels (x0, y0, x1, y1), as the renderer lays
/// its glyphs out with the embedded font: what tests of a chart's layout read.
pub fn text_boxes(svg: &str) -> Result<Vec<(String, [f32; 4])>, String> {
    fn walk(group: &resvg::usvg::Group, out: &mut Vec<(String, [f32; 4])>) {
        for node in group.children() {
            match node {
                resvg::usvg::Node::Group(g) => walk(g, out),
                resvg::usvg::Node::Text(t) => {
                    let text: String = t.chunks().iter().map(|c| c.text()).collect();
                    let b = t.abs_bounding_box();
                    out.push((text, [b.left(), b.top(), b.right(), b.bottom()]));
                }
                _ => {}
            }
        }
    }
    let tree = resvg::usvg::Tree::from_str(svg, &svg_options()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    walk(tree.root(), &mut out);
    Ok(out)
}

/// Renders SVG text to a PNG file with the embedded font.
pub fn svg_to_png(svg: &str, path: &Path) -> Result<(), StudyError> {
    let err = plot_err(path);
    let options = svg_options();
    let tree = resvg::usvg::Tree::from_str(svg, &options).map_err(|e| err(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| err("empty image".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    let png = pixmap.encode_png().map_err(|e| err(e.to_string()))?;
    crate::write_file(path, &png)
}

pub(crate) fn write_svg_and_png(stem: &Path, svg: &str) -> Result<(PathBuf, PathBuf), StudyError> {
    let svg_path = stem.with_extension("svg");
    let png_path = stem.with_extension("png");
    crate::write_file(&svg_path, svg.as_bytes())?;
    svg_to_png(svg, &png_path)?;
    Ok((svg_path, png_path))
}

/// Writes a linear-axes chart as `<stem>.svg` and `<stem>.png`; returns both paths.
pub fn save_linear_chart(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(PathBuf, PathBuf), StudyError> {
    save_chart(stem, title, x_label, y_label, series, Axes::LINEAR)
}

/// [`save_chart`] with the log x axis ticked at `x_ticks` ([`chart_with_ticks`]).
pub fn save_chart_with_ticks(
    stem: &Path,
    labels: (&str, &str, &str),
    series: &[Series],
    axes: Axes,
    x_ticks: Option<&[f64]>,
) -> Result<(PathBuf, PathBuf), StudyError> {
    let (title, x_label, y_label) = labels;
    let (svg, _) = chart_with_ticks(title, x_label, y_label, series, axes, x_ticks)
        .map_err(plot_err(&stem.with_extension("svg")))?;
    write_svg_and_png(stem, &svg)
}

/// Writes `<stem>.svg` and `<stem>.png`; returns both paths.
pub fn save_chart(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    axes: Axes,
) -> Result<(PathBuf, PathBuf), StudyError> {
    save_chart_with_ticks(stem, (title, x_label, y_label), series, axes, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log-log chart over [250, 4000] × [0.03, 0.5], as the coupling study draws: dots per
    /// seed, their means, a fit with its band and a dashed reference slope.
    fn coupling_like() -> (String, ChartLayout) {
        let widths = [250.0, 500.0, 1000.0, 2000.0, 4000.0];
        let mut points = Vec::new();
        for w in &widths {
            for wobble in [0.9, 1.1] {
                points.push((*w, 0.5 * (250.0 / w) * wobble));
            }
        }
        points.push((4000.0, 0.03));
        let fit = meanfield_chaos::fit_rate(&points).unwrap();
        let band = meanfield_chaos::confidence_band(&points, &fit, &widths);
        let series = vec![
            Series {
                label: "runs".into(),
                points: points.clone(),
                style: Style::Points,
                color: 0,
            },
            Series::means("mean over the seeds", &points, 0),
            Series::band("95% band of the fit", &band, 0),
            Series {
                label: "fit".into(),
                points: widths
                    .iter()
                    .map(|w| (*w, (fit.intercept + fit.slope * w.ln()).exp()))
                    .collect(),
                style: Style::Line,
                color: 0,
            },
            Series {
                label: "slope −1: Theorem 2".into(),
                points: vec![(250.0, 0.5), (4000.0, 0.5 / 16.0)],
                style: Style::Dashed,
                color: 2,
            },
        ];
        let axes = Axes {
            log_x: true,
            log_y: true,
        };
        chart_with_layout("test", "width N", "D", &series, axes).unwrap()
    }

    #[test]
    fn log_axes_carry_at_least_three_labelled_ticks_in_plain_numbers() {
        let (svg, layout) = coupling_like();
        // plotters writes each text on its own line: compare without the line breaks.
        let flat = svg.replace('\n', "");
        let labels = |t: &[(f64, String)]| t.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>();
        // x: the widths run (the axis marks where the runs are).
        assert_eq!(
            labels(&layout.x_ticks),
            ["250", "500", "1000", "2000", "4000"]
        );
        // y: the data span [0.03, 0.55] padded by 1.5: 1, 2, 5 × 10^k inside [0.02, 0.83].
        assert_eq!(
            labels(&layout.y_ticks),
            ["0.02", "0.05", "0.1", "0.2", "0.5"]
        );
        for (_, label) in layout.x_ticks.iter().chain(&layout.y_ticks) {
            assert!(
                flat.contains(&format!(">{label}</text>")),
                "tick label {label} not drawn"
            );
        }
    }

    #[test]
    fn the_legend_covers_no_data_point() {
        let (_, layout) = coupling_like();
        let (x0, y0, x1, y1) = layout.legend.expect("a legend");
        assert!(layout.points.len() >= 11);
        for (x, y) in &layout.points {
            assert!(
                !(x0..=x1).contains(x) || !(y0..=y1).contains(y),
                "point ({x}, {y}) inside the legend {:?}",
                layout.legend
            );
        }
    }

    #[test]
    fn a_fit_with_an_interval_draws_its_band() {
        let (svg, layout) = coupling_like();
        assert_eq!(layout.bands, 1);
        assert!(svg.contains("<polygon"), "the band's polygon");
        assert!(svg.contains("95% band of the fit"), "named in the legend");
    }

    /// Runs at γ/M = 0.0005 … 0.02 (the tails grid's ten values), ticked where the runs are:
    /// 0.002, 0.0025, 0.003 and 0.005, 0.006 sit closer than their labels are wide. The labels
    /// kept, as the renderer lays out their glyphs, do not overlap, and the first and last
    /// value keep theirs.
    #[test]
    fn crowded_x_labels_are_thinned_until_none_overlap() {
        let xs = [
            0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.005, 0.006, 0.01, 0.02,
        ];
        let series = vec![Series {
            label: "runs".into(),
            points: xs.iter().map(|x| (*x, 1.0 + x * 100.0)).collect(),
            style: Style::Points,
            color: 0,
        }];
        let (svg, layout) = chart_with_layout("t", "x", "y", &series, Axes::LOG_X).unwrap();
        let labels: Vec<String> = layout.x_ticks.iter().map(|(_, l)| l.clone()).collect();
        assert!(labels.len() >= 6 && labels.len() < xs.len(), "{labels:?}");
        assert_eq!(labels.first().map(String::as_str), Some("0.0005"));
        assert_eq!(labels.last().map(String::as_str), Some("0.02"));
        let mut boxes: Vec<[f32; 4]> = text_boxes(&svg)
            .unwrap()
            .into_iter()
            .filter(|(t, b)| labels.contains(t) && b[1] > 450.0 && b[3] < CHART_HEIGHT as f32)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(boxes.len(), labels.len());
        boxes.sort_by(|a, b| a[0].total_cmp(&b[0]));
        for pair in boxes.windows(2) {
            assert!(
                pair[0][2] + 2.0 <= pair[1][0],
                "overlap: {pair:?} {labels:?}"
            );
        }
    }

    #[test]
    fn log_ticks_cover_short_and_long_ranges() {
        assert_eq!(log_ticks(0.9, 12.0), vec![1.0, 2.0, 5.0, 10.0]);
        // Less than a decade: 1..9 × 10^k (here only 3 and 4), then three even steps.
        assert_eq!(log_ticks(2.5, 4.5), vec![3.0, 3.5, 4.0]);
        // 2 and 5 only: 1..9 × 10^k instead.
        assert_eq!(
            log_ticks(1.5, 9.5),
            vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        );
        assert!(log_ticks(1.01, 1.1).len() >= 3);
        // Ten decades: every decade only.
        assert_eq!(log_ticks(1.0, 1e10).len(), 11);
        assert_eq!(plain(0.00001), "0.00001");
        assert_eq!(plain(1_000_000.0), "1000000");
    }
}
