//! A coordinate check in the style of width-scaled parametrisation tools (muP): train k steps at
//! several widths and measure, on one fixed batch,
//! - `pre_activation`: mean |H| of the hidden pre-activations H = x W1ᵀ,
//! - `logits`: mean |f(x)| of the outputs,
//! - `update`: root mean square over particles of |w_k(k steps) − w_k(0)| (the hidden row's move).
//!
//! Under the paper's scaling (1/N output, step γN^β, N-independent initial laws) all three stay
//! flat in N. With the `pytorch` readout law U(±1/√N) the logits shrink with N: the check shows it.

use crate::StudyError;
use crate::plot::{Series, Style, save_chart};
use burn::tensor::{Tensor, TensorData};
use meanfield_data::Sampler;
use meanfield_model::{net::to_vec, one_hot};
use meanfield_optim::ScaledSgd;
use meanfield_train::TrainConfig;
use meanfield_train::engine::StepEngine;
use meanfield_train::task::Task;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct CoordCheck {
    pub base: TrainConfig,
    pub widths: Vec<usize>,
    /// k, the number of steps before measuring.
    pub steps: u64,
    pub out: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoordRow {
    pub width: usize,
    pub step: u64,
    pub pre_activation: f64,
    pub logits: f64,
    pub update: f64,
}

fn mean_abs(v: &[f32]) -> f64 {
    v.iter().map(|x| x.abs() as f64).sum::<f64>() / v.len().max(1) as f64
}

impl CoordCheck {
    pub fn run(&self, log: &dyn Fn(&str)) -> Result<Vec<CoordRow>, StudyError> {
        std::fs::create_dir_all(&self.out).map_err(|e| StudyError::Write {
            path: self.out.clone(),
            reason: e.to_string(),
        })?;
        let mut quiet = |_: &str| {};
        let task = Task::load(&self.base, &mut quiet)?;
        let device = self.base.backend.device()?;
        let (p, classes, m) = (task.train.dim, task.train.classes, self.base.batch);
        let probe: Vec<usize> = (0..m.min(task.train.len())).collect();
        let (px, _) = task.train.gather(&probe);
        let mut rows = Vec::new();
        for &width in &self.widths {
            let config = TrainConfig {
                width,
                ..self.base.clone()
            };
            let schedule = config.schedule().init()?;
            let model = config.net(p, classes).init(&device, config.seed)?;
            let (h0, _) = model.weights_to_vec();
            let mut engine =
                StepEngine::new(config.engine, model, ScaledSgd::new(config.penalty, width));
            let bd = engine.batch_device(&device);
            let mut sampler = Sampler::new(config.sampling, task.train.len(), m, config.seed)?;
            for n in 0..=self.steps {
                if n > 0 {
                    let (x, y) = task.train.gather(&sampler.next_batch());
                    let xt = Tensor::<2>::from_data(TensorData::new(x, [m, p]), &bd);
                    engine.step(schedule.step_size(n - 1), xt, one_hot(&y, classes, &bd));
                }
                let model = engine.model();
                let xt =
                    Tensor::<2>::from_data(TensorData::new(px.clone(), [probe.len(), p]), &device);
                let trace = model.forward_trace(xt);
                let (h, _) = model.weights_to_vec();
                let update = (h
                    .chunks_exact(p)
                    .zip(h0.chunks_exact(p))
                    .map(|(a, b)| {
                        a.iter()
                            .zip(b)
                            .map(|(x, y)| ((x - y) as f64).powi(2))
                            .sum::<f64>()
                    })
                    .sum::<f64>()
                    / width as f64)
                    .sqrt();
                rows.push(CoordRow {
                    width,
                    step: n,
                    pre_activation: mean_abs(&to_vec(trace.pre)),
                    logits: mean_abs(&to_vec(trace.logits)),
                    update,
                });
            }
            let last = rows.last().expect("pushed");
            log(&format!(
                "N = {width}: after {} steps mean|H| {:.4}, mean|f| {:.4}, rms update {:.4}",
                self.steps, last.pre_activation, last.logits, last.update
            ));
        }
        let csv_path = self.out.join("coord_check.csv");
        let err = |e: String| StudyError::Write {
            path: csv_path.clone(),
            reason: e,
        };
        let mut w = csv::Writer::from_path(&csv_path).map_err(|e| err(e.to_string()))?;
        for r in &rows {
            w.serialize(r).map_err(|e| err(e.to_string()))?;
        }
        w.flush().map_err(|e| err(e.to_string()))?;
        let at = |f: fn(&CoordRow) -> f64| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r.step == self.steps)
                .map(|r| (r.width as f64, f(r)))
                .collect()
        };
        let series = vec![
            Series {
                label: "mean |pre-activation|".into(),
                points: at(|r| r.pre_activation),
                style: Style::Line,
                color: 0,
            },
            Series {
                label: "mean |logit|".into(),
                points: at(|r| r.logits),
                style: Style::Line,
                color: 1,
            },
            Series {
                label: "rms particle update".into(),
                points: at(|r| r.update),
                style: Style::Line,
                color: 2,
            },
        ];
        save_chart(
            &self.out.join("coord_check"),
            &format!(
                "coordinate check after {} steps: {}, β = {}, readout {}",
                self.steps, self.base.dataset, self.base.beta, self.base.readout
            ),
            "width N",
            "size",
            &series,
            true,
        )?;
        Ok(rows)
    }
}
