//! A grid of histogram panels (the paper's Figures 1, 3 and S5): each panel the histogram of a
//! coordinate across the particles with a limit density over it; the panels of a row share
//! their y range (a row is one setting across widths, compared on one scale), one legend for
//! the figure.

use crate::StudyError;
use crate::plot::{PALETTE, plot_err, short, write_svg_and_png};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

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
        // One y range per row: a row is one setting across widths (Figure 1: one β), so its
        // panels compare on the same scale.
        let panel_max = |panel: &HistogramPanel| {
            let limit_max = panel
                .limit
                .iter()
                .flatten()
                .map(|p| p.1)
                .fold(0.0f64, f64::max);
            panel
                .histogram
                .density
                .iter()
                .copied()
                .fold(limit_max, f64::max)
        };
        let row_max: Vec<f64> = panels
            .chunks(cols)
            .map(|row| row.iter().map(panel_max).fold(0.0f64, f64::max))
            .collect();
        for (i, (panel, area)) in panels
            .iter()
            .zip(body.split_evenly((rows, cols)))
            .enumerate()
        {
            let hist = &panel.histogram;
            let ymax = row_max[i / cols] * 1.1;
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
