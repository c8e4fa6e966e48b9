//! How fetching looks on stderr: an indicatif bar per download on a terminal (bytes, rate,
//! ETA, in the training bar's style), a plain line about every 10% otherwise (CI logs, Slurm
//! output files), nothing under `--quiet` (errors still reach the user as errors).

use indicatif::{ProgressBar, ProgressStyle};
use meanfield_train::data::download::{FetchLog, human_bytes};
use std::io::IsTerminal;
use std::time::Instant;

pub struct FetchProgress {
    quiet: bool,
    terminal: bool,
    bar: Option<ProgressBar>,
    /// Plain lines: when the current download started, from which byte, and the next byte
    /// count that earns a line.
    started: Option<(Instant, u64)>,
    next_line: u64,
}

impl FetchProgress {
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            started: None,
            next_line: 0,
        }
    }

    fn plain_line(&mut self, url: &str, done: u64, total: Option<u64>) {
        let (start, from) = *self.started.get_or_insert((Instant::now(), done));
        if done < self.next_line && total != Some(done) {
            return;
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = (done - from) as f64 / secs.max(1e-9);
        let of = match total {
            Some(t) => format!(
                " of {} ({:.0}%)",
                human_bytes(t),
                100.0 * done as f64 / t.max(1) as f64
            ),
            None => String::new(),
        };
        let eta = match total {
            Some(t) if done > from && secs > 0.0 => {
                format!(", ETA {:.0}s", (t - done.min(t)) as f64 / rate)
            }
            _ => String::new(),
        };
        let speed = if done > from {
            format!(", {}/s", human_bytes(rate as u64))
        } else {
            String::new()
        };
        eprintln!("{url}: {}{of}{speed}{eta}", human_bytes(done));
        // About ten lines a download (every 10 MB when the length is unknown).
        self.next_line = done + total.map_or(10_000_000, |t| (t / 10).max(1));
    }
}

impl FetchLog for FetchProgress {
    fn line(&mut self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn bytes(&mut self, url: &str, done: u64, total: Option<u64>) {
        if self.quiet {
            return;
        }
        if !self.terminal {
            return self.plain_line(url, done, total);
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::no_length(),
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {decimal_bytes}/{decimal_total_bytes}  {decimal_bytes_per_sec}  ETA {eta}  {msg}",
                )
                .expect("valid template"),
            );
            bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
            bar.set_position(done);
            // Rate and ETA count from here: a resumed part is not "downloaded now".
            bar.reset_eta();
            bar
        });
        bar.set_position(done);
    }

    fn end(&mut self, _url: &str, whole: bool) {
        if let Some(bar) = self.bar.take() {
            // A cut download's bar stays where the bytes stopped.
            if whole {
                bar.finish();
            } else {
                bar.abandon();
            }
        }
        self.started = None;
        self.next_line = 0;
    }
}
