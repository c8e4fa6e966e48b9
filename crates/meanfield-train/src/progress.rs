//! Progress display: an indicatif bar on a terminal, plain lines (about every 10%) otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    start: Instant,
    next_line: u64,
    quiet: bool,
}

impl Progress {
    /// `quiet` silences everything (library use, tests).
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} steps  {msg}  {per_sec}  ETA {eta}",
                )
                .expect("valid template"),
            );
            bar
        });
        Self {
            bar,
            total,
            start: Instant::now(),
            next_line: 0,
            quiet,
        }
    }

    /// Reports step `step` (updates done) with the last batch loss.
    pub fn update(&mut self, step: u64, loss: Option<f64>) {
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            if let Some(l) = loss {
                bar.set_message(format!("loss {l:.4}"));
            }
        } else if !self.quiet && (step >= self.next_line || step == self.total) {
            let secs = self.start.elapsed().as_secs_f64();
            let rate = step as f64 / secs.max(1e-9);
            let eta = (self.total - step) as f64 / rate.max(1e-9);
            eprintln!(
                "step {step}/{}  loss {}  {rate:.1} steps/s  ETA {eta:.0}s",
                self.total,
                loss.map_or("-".into(), |l| format!("{l:.4}"))
            );
            self.next_line = step + (self.total / 10).max(1);
        }
    }

    /// Prints a line without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
