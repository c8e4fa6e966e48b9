//! The coupling study's folder: the tables, the charts (D against N with the fit's band and the
//! theorem's slopes, D(t), D against M) and `report.md` (the exponents, the reference's share,
//! the slope at each time, D in the theorem's own form).

use crate::coupling::{CouplingResult, CouplingStudy, ExponentFit, Part, SupRow};
use crate::plot::{Axes, Series, Style, save_chart};
use crate::{StudyError, write_file, write_rows};
use meanfield_chaos::two_term::Term;
use meanfield_train::Dynamics;
use std::collections::BTreeMap;

impl CouplingStudy {
    /// Writes `coupling.csv` (D at each time), `sup.csv` (D), `fits.json`, `coupling_width.png`
    /// (log-log D against N with the theorem's slopes), `coupling_time.png` (D(t) per width),
    /// `coupling_batch.png` (with a batch sweep) and `report.md`.
    pub fn render(&self, r: &CouplingResult) -> Result<(), StudyError> {
        crate::folders::claim_results(&self.out)?;
        write_rows(&self.out.join("coupling.csv"), &r.times)?;
        write_rows(&self.out.join("sup.csv"), &r.sups)?;
        write_file(
            &self.out.join("fits.json"),
            serde_json::to_string_pretty(&r.fits)
                .expect("serialises")
                .as_bytes(),
        )?;
        let title = self.short_title();
        let width_pts: Vec<(f64, f64)> = r
            .sups
            .iter()
            .filter(|s| s.part == Part::Width)
            .map(|s| (s.width as f64, s.d))
            .collect();
        save_chart(
            &self.out.join("coupling_width"),
            &format!("D(N) against N: {title}"),
            "width N",
            "D = mean_k max_t |W_k(N) − W_k(N_ref)|²",
            &with_slopes(&width_pts, &r.fits.width),
            Axes::LOG_LOG,
        )?;
        let mut by_width: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
        for t in r
            .times
            .iter()
            .filter(|t| t.part == Part::Width && t.d > 0.0)
        {
            by_width.entry(t.width).or_default().push((t.time, t.d));
        }
        let series: Vec<Series> = by_width
            .into_iter()
            .enumerate()
            .map(|(i, (w, pts))| Series {
                label: format!("N = {w}"),
                points: pts,
                style: Style::Points,
                color: i,
            })
            .collect();
        save_chart(
            &self.out.join("coupling_time"),
            &format!("D(t) along the trajectory: {title}"),
            "time t",
            "mean_k |W_k(N, t) − W_k(N_ref, t)|²",
            &series,
            Axes::LOG_LOG,
        )?;
        if let Some(batch) = &r.fits.batch {
            let pts: Vec<(f64, f64)> = r
                .sups
                .iter()
                .filter(|s| s.part == Part::Batch)
                .map(|s| (s.batch as f64, s.d))
                .collect();
            // No chart when every run of the sweep failed (the report lists them).
            if pts.iter().any(|(_, d)| d.is_finite() && *d > 0.0) {
                save_chart(
                    &self.out.join("coupling_batch"),
                    &format!("D against the batch size M: {title}"),
                    "batch size M",
                    "D",
                    &with_slopes(&pts, batch),
                    Axes::LOG_LOG,
                )?;
            }
        }
        crate::report::write(
            &self.out,
            &self.report(r),
            &self.command,
            &r.failed_runs,
            "",
        )?;
        Ok(())
    }

    /// The setting in a few words, for plot titles.
    fn short_title(&self) -> String {
        format!(
            "{}β = {}, {} noise, N_ref = {}",
            self.dynamics_words(),
            self.base.beta,
            if self.shared_noise {
                "shared"
            } else {
                "independent"
            },
            self.reference_width
        )
    }

    /// "" for SGD; the diffusion and its sets otherwise.
    fn dynamics_words(&self) -> String {
        match self.base.dynamics {
            Dynamics::Sgd => String::new(),
            Dynamics::Diffusion => format!(
                "diffusion (6) (drift {}, noise {}), ",
                self.base.drift_set, self.base.noise_set
            ),
        }
    }

    pub(crate) fn title(&self) -> String {
        let b = &self.base;
        format!(
            "{}{}, β = {}, α = {}, γ = {}, M = {}, T = {}, readout {}, {} noise",
            self.dynamics_words(),
            b.dataset,
            b.beta,
            b.alpha,
            b.gamma,
            b.batch,
            b.horizon,
            b.readout,
            if self.shared_noise {
                "shared"
            } else {
                "independent"
            }
        )
    }

    fn report(&self, r: &CouplingResult) -> String {
        let mut md = format!(
            "# Synchronous coupling: {}\n\nWidths {:?} against {} N_ref = {}; {} data seed(s) per width; {} snapshots (t_j = jT/K, K = {}); initial-weight seed {}. {} runs, {:.0} s in all (including runs reused from earlier calls).\n\n\
             D(N) = mean over the particles k < N of max_j |W^{{k,N}}_{{t_j}} − W^{{k,N_ref}}_{{t_j}}|² (hidden row, and readout row when trained).\n\n\
             ![D against N](coupling_width.png)\n\n![D along the trajectory](coupling_time.png)\n\n",
            self.title(),
            self.widths,
            if self.reference_per_family() {
                "a reference per data seed, on its noise,"
            } else {
                "the reference"
            },
            self.reference_width,
            self.data_seeds().len(),
            self.snapshots + 1,
            self.snapshots,
            self.base.init_seed(),
            r.runs,
            r.seconds
        );
        md.push_str("| N | runs | mean D | min D | max D | tail index of the displacements |\n|---:|---:|---:|---:|---:|---|\n");
        let mut by: BTreeMap<(Part, usize, usize), Vec<&SupRow>> = BTreeMap::new();
        for s in &r.sups {
            by.entry((s.part, s.width, s.batch)).or_default().push(s);
        }
        let mut marked = false;
        for ((_, width, _), v) in by.iter().filter(|((p, _, _), _)| *p == Part::Width) {
            let d: Vec<f64> = v.iter().map(|s| s.d).collect();
            let heavy = v.iter().any(|s| !s.d_meaningful);
            marked |= heavy;
            let tails: Vec<String> = v
                .iter()
                .map(|s| s.tail_index.map_or("–".into(), |t| format!("{t:.2}")))
                .collect();
            md.push_str(&format!(
                "| {width} | {} | {:.4e}{} | {:.4e} | {:.4e} | {} |\n",
                v.len(),
                d.iter().sum::<f64>() / d.len() as f64,
                if heavy { " †" } else { "" },
                d.iter().copied().fold(f64::INFINITY, f64::min),
                d.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                tails.join(", ")
            ));
        }
        if marked {
            md.push_str(&crate::tails::not_meaningful_note(
                "D",
                "the particles' sup displacements max_j |Δ_k(t_j)|",
                "The fitted exponent below does not test the theorems there.",
            ));
        }
        md.push_str("\n## Exponents\n\n| axis | measured slope | 95% interval | points | theorem |\n|---|---:|---|---:|---|\n");
        let mut row = |axis: &str, e: &ExponentFit| {
            let theory = e
                .predicted
                .iter()
                .map(|(what, s)| format!("{s:.3} ({what})"))
                .collect::<Vec<_>>()
                .join("; ");
            match &e.fit {
                Some(f) => md.push_str(&format!(
                    "| {axis} | {:.3} | [{:.3}, {:.3}] | {} | {theory} |\n",
                    f.slope, f.ci_low, f.ci_high, f.points
                )),
                None => md.push_str(&format!("| {axis} | – | – | – | {theory} |\n")),
            }
        };
        row("N", &r.fits.width);
        if let Some(b) = &r.fits.batch {
            row("M", b);
        }
        if r.fits.families.is_none() && self.data_seeds().len() > 1 {
            md.push_str(&format!(
                "\nAcross replicate families: {} of {} families could be fitted (a family needs its reference and two widths); no interval across families.\n",
                r.fits.family_seeds.len(),
                self.data_seeds().len()
            ));
        }
        if let Some(f) = &r.fits.families {
            md.push_str(&format!(
                "\nAcross replicate families ({what}): the slope in N is {m:.3} [{lo:.3}, {hi:.3}] (mean of {n} families ± t·sd/√n; `meanfield_chaos::replicate_interval`), the families' slopes {v}. This interval counts the families' spread; the one above, every run as a point.\n",
                what = if self.shared_noise {
                    "each data seed's runs over the widths against a reference on the same noise, trained on that seed too"
                } else {
                    "each data seed's runs over the widths, one batch sequence per width, against the one reference"
                },
                m = f.mean,
                lo = f.ci_low,
                hi = f.ci_high,
                n = f.values.len(),
                v = f
                    .values
                    .iter()
                    .zip(&r.fits.family_seeds)
                    .map(|(x, seed)| format!("{x:.3} (seed {seed})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        if let (Some(share), Some(small)) = (r.fits.reference_share, r.fits.smallest_width_d) {
            md.push_str(&format!(
                "\nThe reference's own share: D between N_ref/2 = {} and N_ref{} is {share:.4e}, against {small:.4e} at the smallest width: widths whose D is not well above it measure the reference as much as themselves.\n",
                self.reference_width / 2,
                if self.reference_per_family() {
                    format!(
                        " (both on the first data seed's noise, {}; one family's share stands for all)",
                        self.data_seeds()[0]
                    )
                } else {
                    String::new()
                }
            ));
            if let (Some(f), Some(raw)) = (&r.fits.width_corrected, &r.fits.width.fit) {
                md.push_str(&format!(
                    "Corrected for the reference's finite width (D − D(N_ref/2, N_ref)/3 = D − {c:.4e}, the reference's own error under independent errors and 1/N near N_ref; `meanfield_chaos::reference_correction`): slope {s:.3} [{lo:.3}, {hi:.3}] over {n} points, against {raw:.3} uncorrected, a shift of {shift:+.3}.\n",
                    c = meanfield_chaos::reference_correction(share),
                    s = f.slope,
                    lo = f.ci_low,
                    hi = f.ci_high,
                    n = f.points,
                    raw = raw.slope,
                    shift = f.slope - raw.slope,
                ));
            }
        }
        if let Some(f) = &r.fits.two_term {
            md.push_str(&format!(
                "\n## In the theorem's own form\n\nD(N) = a·N^(−{e:.3})/M + b/N with a, b ≥ 0 (M = {m}; {first}), fitted by non-negative least squares on relative residuals {after}{left}. 95% intervals: percentiles of {reps} bootstrap replicates resampling runs and, within each, particles (particles interact, so the intervals are somewhat optimistic; `meanfield_chaos::two_term`).\n\n- a = {a:.4e} [{al:.4e}, {ah:.4e}]\n- b = {b:.4e} [{bl:.4e}, {bh:.4e}]\n\n| N | D − correction | a·N^(−e)/M | b/N | larger term |\n|---:|---:|---:|---:|---|\n",
                e = f.noise_exponent,
                m = f.batch,
                first = if f.noise_exponent == 0.0 {
                    "at β = 1 the first term is an N-independent part"
                } else {
                    "the first term is Theorem 1's noise term"
                },
                after = if r.fits.reference_share.is_some() {
                    format!(
                        "after subtracting the reference's own share D(N_ref/2, N_ref)/3 = {:.4e} (the share under independent errors and 1/N near N_ref)",
                        f.reference_correction
                    )
                } else {
                    "with no correction for the reference's own share: it was not measured (its run, or its family's reference, failed)".to_string()
                },
                left = if f.widths_left_out > 0 {
                    format!("; {} width(s) whose D is at or below it are left out", f.widths_left_out)
                } else {
                    String::new()
                },
                reps = f.replicates,
                a = f.a,
                al = f.a_ci.0,
                ah = f.a_ci.1,
                b = f.b,
                bl = f.b_ci.0,
                bh = f.b_ci.1,
            ));
            for w in &f.per_width {
                md.push_str(&format!(
                    "| {} | {:.4e} | {:.4e} | {:.4e} | {} |\n",
                    w.width,
                    w.d,
                    w.noise,
                    w.interaction,
                    match w.dominant {
                        Term::Noise if f.noise_exponent == 0.0 => "N-independent",
                        Term::Noise => "noise",
                        Term::Interaction => "interaction (1/N)",
                    }
                ));
            }
        }
        if !r.fits.per_time.is_empty() {
            md.push_str("\n## The slope at each time\n\nD(t) against N at each snapshot time (log-log least squares over every run). The theorems bound the sup over t by C/N (or their two terms); C grows with the horizon, so a slope near the theorem's at early times that fades later says the constant, not the rate, dominates there.\n\n| t | slope | 95% interval | points |\n|---:|---:|---|---:|\n");
            for (t, fit) in &r.fits.per_time {
                match fit {
                    Some(f) => md.push_str(&format!(
                        "| {t} | {:.3} | [{:.3}, {:.3}] | {} |\n",
                        f.slope, f.ci_low, f.ci_high, f.points
                    )),
                    None => md.push_str(&format!("| {t} | – | – | – |\n")),
                }
            }
        }
        md.push_str(
            "\nNumbers: `coupling.csv` (D at each time), `sup.csv` (D per run), `fits.json`. Theory: docs/paper.md, \"The two limits\".\n",
        );
        md
    }
}

/// The runs (one dot per seed), their mean at each x, the fitted line with its 95% band, and
/// the theorem's slopes (dashed) anchored at the fitted line's value at the smallest x, each
/// named in the legend.
fn with_slopes(points: &[(f64, f64)], e: &ExponentFit) -> Vec<Series> {
    let mut series = vec![
        Series {
            label: "runs (one per data seed)".into(),
            points: points.to_vec(),
            style: Style::Points,
            color: 0,
        },
        Series::means("mean over the seeds", points, 0),
    ];
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let (Some(lo), Some(hi)) = (
        xs.iter().copied().reduce(f64::min),
        xs.iter().copied().reduce(f64::max),
    ) else {
        return series;
    };
    if let Some(f) = &e.fit {
        let at = |x: f64| (f.intercept + f.slope * x.ln()).exp();
        series.extend(Series::fit(
            points,
            f,
            0,
            "95% band of the fit",
            format!(
                "fit: slope {:.2} [{:.2}, {:.2}]",
                f.slope, f.ci_low, f.ci_high
            ),
        ));
        for (i, (what, s)) in e.predicted.iter().enumerate() {
            let y0 = at(lo);
            series.push(Series {
                label: format!("slope {s:.2}: {what} (through the fit at {lo})"),
                points: vec![(lo, y0), (hi, y0 * (hi / lo).powf(*s))],
                style: Style::Dashed,
                color: i + 2,
            });
        }
    }
    series
}
