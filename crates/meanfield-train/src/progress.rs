//! Progress display: an indicatif bar on a terminal, plain lines (about every 10%) otherwise.
//!
//! The first step of a run pays one-off costs (thread pools, first allocations, the first
//! kernels' set-up), so rates and ETAs count from the end of the first step reported, and one
//! line, once a few seconds of steady steps are measured, projects the run's remaining time.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Steady steps are measured for this long before the projection is printed.
const PROJECT_AFTER: Duration = Duration::from_secs(2);
/// No projection for runs whose remaining time is shorter than this.
const PROJECT_IF_LONGER: f64 = 10.0;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    start: Instant,
    /// When the first reported step ended, and its number: rates count from there.
    first: Option<(Instant, u64)>,
    projected: bool,
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
            first: None,
            projected: false,
            next_line: 0,
            quiet,
        }
    }

    /// Steps per second since the first reported step, once there is more than one.
    fn steady_rate(&self, step: u64) -> Option<(f64, Duration)> {
        let (at, first) = self.first?;
        let elapsed = at.elapsed();
        (step > first && !elapsed.is_zero())
            .then(|| ((step - first) as f64 / elapsed.as_secs_f64(), elapsed))
    }

    /// Reports step `step` (updates done) with the last batch loss.
    pub fn update(&mut self, step: u64, loss: Option<f64>) {
        let first = self.first.is_none();
        if first {
            self.first = Some((Instant::now(), step));
            if let Some(bar) = &self.bar {
                // The bar's rate and ETA start after the first step's one-off costs.
                bar.set_position(step);
                bar.reset_eta();
            }
        }
        let steady = self.steady_rate(step);
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            if let Some(l) = loss {
                bar.set_message(format!("loss {l:.4}"));
            }
        } else if !self.quiet && (step >= self.next_line || step == self.total) {
            let loss = loss.map_or("-".into(), |l| format!("{l:.4}"));
            match steady {
                Some((rate, _)) => eprintln!(
                    "step {step}/{}  loss {loss}  {rate:.1} steps/s  ETA {:.0}s",
                    self.total,
                    (self.total - step) as f64 / rate
                ),
                None => eprintln!(
                    "step {step}/{}  loss {loss}  (first step {:.2}s: one-off set-up; rate and ETA from the next steps)",
                    self.total,
                    self.start.elapsed().as_secs_f64()
                ),
            }
            self.next_line = step + (self.total / 10).max(1);
        }
        if let Some((rate, measured)) = steady
            && !self.projected
            && measured >= PROJECT_AFTER
        {
            self.projected = true;
            let left = (self.total - step) as f64 / rate;
            if left >= PROJECT_IF_LONGER {
                self.println(&format!(
                    "measured {rate:.1} steps/s over {:.0}s: the {} steps left should take about {}",
                    measured.as_secs_f64(),
                    self.total - step,
                    duration_words(left)
                ));
            }
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

    /// Leaves the bar where the run stopped (an interruption), instead of filling it.
    pub fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}

/// "45 s", "12 min", "3.4 h".
fn duration_words(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 90.0 * 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::duration_words;

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(duration_words(45.0), "45 s");
        assert_eq!(duration_words(1800.0), "30 min");
        assert_eq!(duration_words(3.4 * 3600.0), "3.4 h");
    }
}
