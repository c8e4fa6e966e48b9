//! `metrics.csv`: one row per logged step.
//!
//! Columns: `step` (updates done), `time` (t = step · γ_αβ(N)), `step_size` (of the update that
//! led here; empty at step 0), `batch_loss`, `batch_accuracy` (of that update's batch, before
//! the update), and, on evaluation rows, `train_loss`, `train_accuracy`, `test_loss`,
//! `test_accuracy` over the whole (subset of the) datasets. Empty cells mean "not measured".

use crate::TrainError;
use meanfield_io::Digest;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The first line of every `metrics.csv` (the field names of [`MetricsRow`]; a test checks the
/// writer writes it).
pub const HEADER: &str = "step,time,step_size,batch_loss,batch_accuracy,train_loss,train_accuracy,test_loss,test_accuracy\n";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    pub step: u64,
    pub time: f64,
    pub step_size: Option<f64>,
    pub batch_loss: Option<f64>,
    pub batch_accuracy: Option<f64>,
    pub train_loss: Option<f64>,
    pub train_accuracy: Option<f64>,
    pub test_loss: Option<f64>,
    pub test_accuracy: Option<f64>,
}

/// Appends rows to `metrics.csv`, flushing after each row so an interrupted run keeps its log.
pub struct MetricsWriter {
    path: PathBuf,
    writer: csv::Writer<File>,
}

impl MetricsWriter {
    pub fn create(path: &Path) -> Result<Self, TrainError> {
        let writer = csv::Writer::from_path(path).map_err(|e| TrainError::Write {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
        })
    }

    /// Reopens an existing `metrics.csv` for a resumed run: rows after step `keep_until` (written
    /// after the checkpoint the run resumes from) are dropped, so every step appears once.
    /// With `recorded`, the checkpoint's digest of the log's first bytes (its rows up to the
    /// step), those bytes must be as recorded and are what is kept. Without (a checkpoint made
    /// before manifests), a log that cannot be continued is an error, never a headless or gapped
    /// file: missing, not starting at step 0, or ending more than `log_every` steps before the
    /// checkpoint.
    pub fn resume(
        path: &Path,
        keep_until: u64,
        log_every: u64,
        recorded: Option<&Digest>,
    ) -> Result<Self, TrainError> {
        let damaged = |reason: String| TrainError::MetricsDamaged {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(damaged("it is missing".into()));
        }
        if let Some(prefix) = recorded {
            let name = crate::layout::METRICS;
            crate::manifest::check_prefix(path, name, prefix).map_err(damaged)?;
            // The recorded rows must end at the checkpoint's step (a checkpoint whose state
            // was changed to another step would repeat or skip rows).
            let mut text = Vec::new();
            {
                use std::io::Read;
                std::fs::File::open(path)
                    .and_then(|f| f.take(prefix.size).read_to_end(&mut text))
                    .map_err(|source| TrainError::Read {
                        path: path.to_path_buf(),
                        source,
                    })?;
            }
            let rows: Vec<MetricsRow> = csv::Reader::from_reader(&text[..])
                .deserialize()
                .collect::<Result<_, _>>()
                .map_err(|e| damaged(format!("its rows up to the checkpoint do not read: {e}")))?;
            continuous(&rows, keep_until, log_every).map_err(damaged)?;
            if let Some(last) = rows.last().filter(|l| l.step > keep_until) {
                return Err(damaged(format!(
                    "its rows recorded at the checkpoint go to step {}, past the checkpoint's step {keep_until}",
                    last.step
                )));
            }
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .and_then(|f| f.set_len(prefix.size).map(|()| f))
                .map_err(|source| TrainError::Write {
                    path: path.to_path_buf(),
                    source,
                })?;
            return Ok(Self {
                path: path.to_path_buf(),
                writer: csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(file),
            });
        }
        let rows: Vec<MetricsRow> = read(path)?
            .into_iter()
            .filter(|r| r.step <= keep_until)
            .collect();
        continuous(&rows, keep_until, log_every).map_err(damaged)?;
        let tmp = path.with_file_name(crate::layout::partial(crate::layout::METRICS));
        {
            let mut w = Self::create(&tmp)?;
            for r in &rows {
                w.write(r)?;
            }
        }
        std::fs::rename(&tmp, path).map_err(|source| TrainError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| TrainError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file),
        })
    }

    pub fn write(&mut self, row: &MetricsRow) -> Result<(), TrainError> {
        let err = |e: std::io::Error| TrainError::Write {
            path: self.path.clone(),
            source: e,
        };
        self.writer.serialize(row).map_err(|e| err(e.into()))?;
        self.writer.flush().map_err(err)
    }
}

/// Whether `rows` (those up to a checkpoint at step `keep_until`) can be continued: they start
/// at step 0 and end less than `log_every` steps before the checkpoint; else why not.
fn continuous(rows: &[MetricsRow], keep_until: u64, log_every: u64) -> Result<(), String> {
    match (rows.first(), rows.last()) {
        (Some(first), _) if first.step != 0 => {
            Err(format!("its first row is step {}, not 0", first.step))
        }
        (Some(_), Some(last)) if last.step + log_every.max(1) <= keep_until => Err(format!(
            "its last row is step {}, the checkpoint is at step {keep_until} (rows are logged every {log_every}): it was cut short",
            last.step
        )),
        (None, _) => Err("it has no rows".into()),
        _ => Ok(()),
    }
}

/// Reads a `metrics.csv` back (tests and analysis tools).
pub fn read(path: &Path) -> Result<Vec<MetricsRow>, TrainError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| TrainError::Read {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    reader
        .deserialize()
        .collect::<Result<Vec<MetricsRow>, _>>()
        .map_err(|e| TrainError::Read {
            path: path.to_path_buf(),
            source: e.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_what_the_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        MetricsWriter::create(&path)
            .unwrap()
            .write(&MetricsRow::default())
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
    }
}
