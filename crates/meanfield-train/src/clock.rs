//! The time a run has spent, split into training and evaluation, carried across resumes.

use std::time::Instant;

/// Seconds spent before this process (from the checkpoint) plus this process's own.
#[derive(Debug)]
pub struct Clock {
    start: Instant,
    train_before: f64,
    eval_before: f64,
    eval_now: f64,
}

impl Clock {
    /// Starts now, with the training and evaluation seconds of earlier processes.
    pub fn start(train_before: f64, eval_before: f64) -> Self {
        Clock {
            start: Instant::now(),
            train_before,
            eval_before,
            eval_now: 0.0,
        }
    }

    /// Runs `f`, counting its time as evaluation.
    pub fn evaluation<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.eval_now += t.elapsed().as_secs_f64();
        out
    }

    /// Seconds of training (evaluation excluded), earlier processes included.
    pub fn train_seconds(&self) -> f64 {
        self.train_before + self.start.elapsed().as_secs_f64() - self.eval_now
    }

    /// Seconds of evaluation, earlier processes included.
    pub fn eval_seconds(&self) -> f64 {
        self.eval_before + self.eval_now
    }

    /// Seconds of everything, earlier processes included.
    pub fn wall_seconds(&self) -> f64 {
        self.train_before + self.eval_before + self.start.elapsed().as_secs_f64()
    }
}
