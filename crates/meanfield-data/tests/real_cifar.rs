//! Our CIFAR-10 channel order and normalisation on real pictures: the 20 CIFAR-10 test images
//! that PyPI `foolbox==3.3.4` ships (`foolbox/data/cifar10_<index>_<label>.png`), turned into
//! binary records (label, then the R, G and B planes) and read by our reader.
//!
//! Two checks, each with a statistical tolerance (3 standard errors of a mean over 20 images,
//! s/√20 with s the spread across the images), not a tuned one:
//! - normalisation: after normalising with the published CIFAR-10 means and standard deviations
//!   (docs/paper.md), each channel's mean is near 0 (measured: R −0.005, G −0.031, B +0.013,
//!   against 3 SE of 0.24, 0.29, 0.36: this catches a wrong scale or offset, e.g. pixels not
//!   divided by 255, but is too wide to see a swap of R and B);
//! - channel order: per image, red minus blue in pixel units averages the published
//!   0.491 − 0.447 = +0.044 (measured +0.039, SE 0.023), while swapped planes would give
//!   −0.044, 3.6 SE away: the test requires the first within 3 SE and the second outside.
//!
//! The images are fetched on first use (`pip download`, then Python's zipfile) into the
//! workspace's `data/foolbox/`, as the CLI tests fetch MNIST.

use std::path::{Path, PathBuf};

fn images() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/foolbox");
    if std::fs::read_dir(&dir).map_or(0, |d| d.count()) < 20 {
        let wheel_dir = tempfile::tempdir().unwrap();
        meanfield_data::fetch::wheel_files(
            "foolbox==3.3.4",
            "foolbox/data/cifar10_",
            ".png",
            wheel_dir.path(),
            &dir,
        )
        .unwrap();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    files
}

/// One binary CIFAR-10 record from a 32×32 RGB PNG whose name ends in `_<label>.png`.
fn record(path: &Path) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height, info.color_type),
        (32, 32, png::ColorType::Rgb),
        "{}",
        path.display()
    );
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let label: u8 = stem.rsplit('_').next().unwrap().parse().unwrap();
    let mut rec = vec![label];
    for c in 0..3 {
        rec.extend(buf[..32 * 32 * 3].iter().skip(c).step_by(3));
    }
    rec
}

#[test]
fn real_cifar10_images_normalise_to_mean_zero_per_channel() {
    let files = images();
    assert_eq!(files.len(), 20, "the 20 foolbox images");
    let bytes: Vec<u8> = files.iter().flat_map(|f| record(f)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("real.bin");
    std::fs::write(&path, &bytes).unwrap();
    let data = meanfield_data::cifar::load(&[&path]).unwrap();
    assert_eq!((data.len(), data.dim), (20, 3072));
    // Labels from the file names (cifar10_00_3.png: a cat).
    assert_eq!(data.labels[0], 3);
    for (c, name) in ["R", "G", "B"].iter().enumerate() {
        let per_image: Vec<f64> = (0..20)
            .map(|i| {
                data.row(i)[c * 1024..(c + 1) * 1024]
                    .iter()
                    .map(|v| *v as f64)
                    .sum::<f64>()
                    / 1024.0
            })
            .collect();
        let mean = per_image.iter().sum::<f64>() / 20.0;
        let sd = (per_image.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / 19.0).sqrt();
        let se = sd / 20f64.sqrt();
        assert!(
            mean.abs() < 3.0 * se,
            "channel {name}: normalised mean {mean:.3}, 3 SE = {:.3}",
            3.0 * se
        );
        eprintln!(
            "channel {name}: normalised mean {mean:+.3} (3 standard errors: {:.3})",
            3.0 * se
        );
    }
    // Channel order: per image, red minus blue in pixel units. CIFAR-10's published means make
    // it 0.491 − 0.447 = +0.044 on average; swapped planes would make it −0.044.
    let pixel = |i: usize, c: usize| -> f64 {
        let (m, s) = (
            meanfield_data::normalize::CIFAR10_MEAN[c],
            meanfield_data::normalize::CIFAR10_STD[c],
        );
        data.row(i)[c * 1024..(c + 1) * 1024]
            .iter()
            .map(|v| (*v * s + m) as f64)
            .sum::<f64>()
            / 1024.0
    };
    let diff: Vec<f64> = (0..20).map(|i| pixel(i, 0) - pixel(i, 2)).collect();
    let mean = diff.iter().sum::<f64>() / 20.0;
    let se = (diff.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / 19.0).sqrt() / 20f64.sqrt();
    eprintln!("red − blue: {mean:+.4} (standard error {se:.4})");
    assert!(
        (mean - 0.044).abs() < 3.0 * se,
        "red − blue {mean:.4} is not the published +0.044"
    );
    assert!(
        (mean + 0.044).abs() > 3.0 * se,
        "red − blue {mean:.4} cannot tell the channel order"
    );
}
