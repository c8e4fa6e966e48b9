//! Resumable HTTP downloads (ureq), reported byte by byte to a [`FetchLog`].
//!
//! A download writes `<dest>.part` and renames it to `dest` only once the server's whole
//! length has arrived, so a file named `dest` is never a partial one. `<dest>.part.url` records
//! where the part came from. An interrupted download keeps both; the next call for the same URL
//! asks the server for the rest (`Range: bytes=<len>-`) and appends when the server answers
//! `206 Partial Content` from that offset, or starts over when it answers `200` (no ranges) or
//! the part came from another URL. Checksums are the caller's, on the whole file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a fetch reports: lines of text, and each download's bytes as they arrive. Any
/// `FnMut(&str)` is a `FetchLog` that shows the lines and ignores the bytes.
pub trait FetchLog {
    /// A line for the user.
    fn line(&mut self, line: &str);
    /// `done` bytes of `url` are on disk (a resumed download starts at its part's length), out
    /// of `total` when the server said.
    fn bytes(&mut self, _url: &str, _done: u64, _total: Option<u64>) {}
    /// The download of `url` ended: `whole` when every byte arrived.
    fn end(&mut self, _url: &str, _whole: bool) {}
}

impl<F: FnMut(&str)> FetchLog for F {
    fn line(&mut self, line: &str) {
        self(line)
    }
}

/// Why a download did not complete.
#[derive(Debug)]
pub struct DownloadError {
    pub message: String,
    /// The partial file kept for the next attempt, when there is one.
    pub kept: Option<PathBuf>,
}

impl std::fmt::Display for DownloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(part) = &self.kept {
            write!(
                f,
                " (the part received is kept in {}; the same command continues it)",
                part.display()
            )?;
        }
        Ok(())
    }
}

/// The partial file of `dest`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

fn source_path(part: &Path) -> PathBuf {
    let mut name = part.file_name().unwrap_or_default().to_os_string();
    name.push(".url");
    part.with_file_name(name)
}

/// Removes `dest`'s partial file and its record (after a checksum failure, say).
pub fn discard_part(dest: &Path) {
    let part = part_path(dest);
    let _ = std::fs::remove_file(source_path(&part));
    let _ = std::fs::remove_file(part);
}

/// Human-readable byte count (decimal units, as download sizes are usually given).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

/// Downloads `url` into `dest` (10 s to connect, 30 s without a byte, no overall limit: a slow
/// link finishes), resuming a part left by an earlier call for the same URL.
pub fn download(url: &str, dest: &Path, log: &mut dyn FetchLog) -> Result<(), DownloadError> {
    let part = part_path(dest);
    let record = source_path(&part);
    let fail = |message: String, kept: Option<PathBuf>| DownloadError { message, kept };
    let io_fail = |path: &Path, e: std::io::Error| fail(format!("{}: {e}", path.display()), None);
    let same_source = std::fs::read_to_string(&record).is_ok_and(|u| u == url);
    let have = match std::fs::metadata(&part) {
        Ok(m) if same_source => m.len(),
        _ => 0,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = request
        .call()
        .map_err(|e| fail(format!("{url}: {e}"), None))?;
    let status = response.status().as_u16();
    // Where the body starts in the file, and the whole file's length when known.
    let (offset, total) = match status {
        206 => {
            let range = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            match range {
                Some((start, total)) if start == have => (have, total),
                _ => {
                    return Err(fail(
                        format!(
                            "{url}: the server answered a request for bytes {have}- with another range; delete {} and try again",
                            part.display()
                        ),
                        None,
                    ));
                }
            }
        }
        200 => {
            if have > 0 {
                log.line(&format!(
                    "{url}: the server does not resume downloads; starting over"
                ));
            }
            (0, response.body().content_length())
        }
        416 if have > 0 => {
            // The part is not a prefix the server can continue (the file changed, say).
            discard_part(dest);
            log.line(&format!(
                "{url}: the server cannot continue the part kept; starting over"
            ));
            return download(url, dest, log);
        }
        code => {
            return Err(fail(
                format!("{url}: the server answered HTTP {code}"),
                None,
            ));
        }
    };
    if offset > 0 {
        log.line(&format!(
            "resuming {url} at {} of {}",
            human_bytes(offset),
            total.map_or("an unknown length".into(), human_bytes)
        ));
    }
    std::fs::write(&record, url).map_err(|e| io_fail(&record, e))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(offset > 0)
        .truncate(offset == 0)
        .open(&part)
        .map_err(|e| io_fail(&part, e))?;
    let mut body = response.into_body().into_reader();
    let mut done = offset;
    let mut buffer = vec![0u8; 1 << 16];
    log.bytes(url, done, total);
    let copied = loop {
        match body.read(&mut buffer) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(e) = file.write_all(&buffer[..n]) {
                    break Err(io_fail(&part, e));
                }
                done += n as u64;
                log.bytes(url, done, total);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                break Err(fail(
                    format!(
                        "{url}: the transfer stopped after {} of {}: {e}",
                        human_bytes(done),
                        total.map_or("an unknown length".into(), human_bytes)
                    ),
                    Some(part.clone()),
                ));
            }
        }
    };
    log.end(url, copied.is_ok() && total.is_none_or(|t| t == done));
    copied?;
    file.flush().map_err(|e| io_fail(&part, e))?;
    drop(file);
    if let Some(total) = total
        && done != total
    {
        return Err(fail(
            format!(
                "{url}: the transfer ended after {} of {}",
                human_bytes(done),
                human_bytes(total)
            ),
            Some(part),
        ));
    }
    std::fs::rename(&part, dest).map_err(|e| io_fail(dest, e))?;
    let _ = std::fs::remove_file(&record);
    Ok(())
}

/// `bytes START-END/TOTAL` → (START, Some(TOTAL)); `TOTAL` may be `*`.
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 5-9/10"), None);
        assert_eq!(parse_content_range("bytes x-9/10"), None);
    }

    #[test]
    fn byte_counts_read_as_people_write_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(170_052_171), "170.1 MB");
        assert_eq!(human_bytes(1_500), "1.5 kB");
    }

    #[test]
    fn part_names_sit_beside_the_file() {
        assert_eq!(
            part_path(Path::new("/d/archive.tar.gz")),
            Path::new("/d/archive.tar.gz.part")
        );
    }
}
