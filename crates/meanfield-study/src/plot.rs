//! Plots as SVG (plotters' SVG backend, which needs no font library) and PNG (the SVG rendered
//! by resvg with the DejaVu Sans font embedded from `assets/`, so figures are identical on every
//! machine).

use crate::StudyError;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Points,
    Line,
    Dashed,
}

/// One named series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
    /// Index into the palette.
    pub color: usize,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(90, 90, 90),
];

fn plot_err(path: &Path) -> impl Fn(String) -> StudyError + '_ {
    move |reason| StudyError::Plot {
        path: path.to_path_buf(),
        reason,
    }
}

/// A compact tick label: 3 significant digits, no trailing zeros.
fn short(v: f64) -> String {
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

/// Draws a log-log (or, with `log_y = false`, log-x) chart; returns the SVG text.
pub fn chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<String, String> {
    chart_svg_axes(title, x_label, y_label, series, true, log_y)
}

/// Draws a chart with linear axes; returns the SVG text.
pub fn linear_chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String, String> {
    chart_svg_axes(title, x_label, y_label, series, false, false)
}

fn chart_svg_axes(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
    log_y: bool,
) -> Result<String, String> {
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
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_labels(8)
                    .y_labels(8)
                    .x_label_formatter(&|x| format!("{}", short(*x)))
                    .y_label_formatter(&|y| format!("{}", short(*y)))
                    .light_line_style(WHITE.mix(0.0))
                    .x_desc(x_label)
                    .y_desc(y_label)
                    .label_style(("sans-serif", 14))
                    .draw()
                    .map_err(|e| e.to_string())?;
                for s in series {
                    let color = PALETTE[s.color % PALETTE.len()];
                    let data: Vec<(f64, f64)> = s.points.iter().copied().filter(keep).collect();
                    let anno = match s.style {
                        Style::Points => chart
                            .draw_series(data.iter().map(|p| Circle::new(*p, 4, color.filled())))
                            .map_err(|e| e.to_string())?,
                        Style::Line => chart
                            .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))
                            .map_err(|e| e.to_string())?,
                        Style::Dashed => chart
                            .draw_series(DashedLineSeries::new(
                                data.clone(),
                                6,
                                4,
                                color.stroke_width(1),
                            ))
                            .map_err(|e| e.to_string())?,
                    };
                    if !s.label.is_empty() {
                        anno.label(s.label.clone()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                    }
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 13))
                    .draw()
                    .map_err(|e| e.to_string())?;
            }};
        }
        if !log_x {
            draw!(
                builder
                    .build_cartesian_2d(xmin..xmax, ymin..ymax)
                    .map_err(|e| e.to_string())?
            );
        } else if log_y {
            draw!(
                builder
                    .build_cartesian_2d((xmin..xmax).log_scale(), (ymin..ymax).log_scale())
                    .map_err(|e| e.to_string())?
            );
        } else {
            draw!(
                builder
                    .build_cartesian_2d((xmin..xmax).log_scale(), ymin..ymax)
                    .map_err(|e| e.to_string())?
            );
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Renders SVG text to a PNG file with the embedded font.
pub fn svg_to_png(svg: &str, path: &Path) -> Result<(), StudyError> {
    let err = plot_err(path);
    let mut options = resvg::usvg::Options::default();
    {
        let db = options.fontdb_mut();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
    }
    options.font_family = "DejaVu Sans".into();
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

fn write_svg_and_png(stem: &Path, svg: &str) -> Result<(PathBuf, PathBuf), StudyError> {
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
    let svg = linear_chart_svg(title, x_label, y_label, series)
        .map_err(plot_err(&stem.with_extension("svg")))?;
    write_svg_and_png(stem, &svg)
}

/// One panel of a histogram figure: the histogram of a coordinate across the particles and,
/// optionally, a limit density drawn over it.
#[derive(Debug, Clone)]
pub struct HistogramPanel {
    pub title: String,
    pub histogram: meanfield_chaos::Histogram,
    /// (x, density) points of the limit density.
    pub limit: Option<Vec<(f64, f64)>>,
}

/// A `rows` × `cols` grid of histogram panels (row-major), each on its own window, with the
/// limit density as a line; returns the SVG text.
pub fn histogram_grid_svg(
    title: &str,
    x_label: &str,
    limit_label: &str,
    panels: &[HistogramPanel],
    cols: usize,
) -> Result<String, String> {
    if panels.is_empty() || cols == 0 {
        return Err("no panels to draw".into());
    }
    let rows = panels.len().div_ceil(cols);
    let mut svg = String::new();
    {
        let (w, h) = (330 * cols as u32 + 20, 260 * rows as u32 + 110);
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(title, ("sans-serif", 22))
            .map_err(|e| e.to_string())?;
        let body_height = root.dim_in_pixel().1.saturating_sub(70);
        let (body, legend) = root.split_vertically(body_height);
        for (panel, area) in panels.iter().zip(body.split_evenly((rows, cols))) {
            let hist = &panel.histogram;
            let limit_max = panel
                .limit
                .iter()
                .flatten()
                .map(|p| p.1)
                .fold(0.0f64, f64::max);
            let ymax = hist.density.iter().copied().fold(limit_max, f64::max) * 1.1;
            let ymax = if ymax > 0.0 { ymax } else { 1.0 };
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.title, ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(44)
                .build_cartesian_2d(hist.lo..hist.hi, 0.0..ymax)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(5)
                .x_label_formatter(&|x| short(*x))
                .y_label_formatter(&|y| short(*y))
                .light_line_style(WHITE.mix(0.0))
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(|e| e.to_string())?;
            let bar = PALETTE[0].mix(0.55).filled();
            chart
                .draw_series(hist.density.iter().enumerate().map(|(i, d)| {
                    Rectangle::new(
                        [(hist.left(i), 0.0), (hist.left(i) + hist.bin_width(), *d)],
                        bar,
                    )
                }))
                .map_err(|e| e.to_string())?;
            if let Some(limit) = &panel.limit {
                chart
                    .draw_series(LineSeries::new(
                        limit.iter().copied(),
                        PALETTE[3].stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?;
            }
        }
        // One legend for the whole figure.
        let y = 22;
        legend
            .draw(&Rectangle::new(
                [(20, y - 7), (40, y + 7)],
                PALETTE[0].mix(0.55).filled(),
            ))
            .map_err(|e| e.to_string())?;
        legend
            .draw(&Text::new(
                format!("histogram of {x_label} across the N particles"),
                (48, y - 8),
                ("sans-serif", 14),
            ))
            .map_err(|e| e.to_string())?;
        legend
            .draw(&PathElement::new(
                vec![(20, y + 20), (40, y + 20)],
                PALETTE[3].stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        legend
            .draw(&Text::new(
                limit_label.to_string(),
                (48, y + 12),
                ("sans-serif", 14),
            ))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Writes a histogram grid as `<stem>.svg` and `<stem>.png`; returns both paths.
pub fn save_histogram_grid(
    stem: &Path,
    title: &str,
    x_label: &str,
    limit_label: &str,
    panels: &[HistogramPanel],
    cols: usize,
) -> Result<(PathBuf, PathBuf), StudyError> {
    let svg = histogram_grid_svg(title, x_label, limit_label, panels, cols)
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
    log_y: bool,
) -> Result<(PathBuf, PathBuf), StudyError> {
    let svg = chart_svg(title, x_label, y_label, series, log_y)
        .map_err(plot_err(&stem.with_extension("svg")))?;
    write_svg_and_png(stem, &svg)
}
