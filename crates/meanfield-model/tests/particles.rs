//! Coupled initial particles: particle k depends only on (seed, k), so a width-N network starts
//! from exactly the first N particles of a width-2N network with the same seed.

use meanfield_model::{Init, MeanFieldNetConfig};

const LAWS: [Init; 4] = [
    Init::Pytorch,
    Init::Normal(0.5),
    Init::Uniform(1.0),
    Init::Const(0.01),
];

fn particles(width: usize, hidden: Init, readout: Init, seed: u64) -> (Vec<f32>, Vec<f32>) {
    MeanFieldNetConfig::new(width, 7)
        .with_classes(3)
        .with_hidden_init(hidden)
        .with_readout_init(readout)
        .sample_particles(seed)
}

/// Both layers, every law: the first N rows of width 2N are width N's, bit for bit. The one
/// N-dependent law (the `pytorch` readout, U(±1/√N)) is the same draw scaled by its width, so
/// there r·√N agrees to float32 rounding instead.
#[test]
fn width_n_is_the_prefix_of_width_2n() {
    let (n, p, c) = (50, 7, 3);
    for hidden in LAWS {
        for readout in LAWS {
            let (h1, r1) = particles(n, hidden, readout, 3);
            let (h2, r2) = particles(2 * n, hidden, readout, 3);
            assert_eq!(h1[..], h2[..n * p], "hidden {hidden}, readout {readout}");
            if readout.depends_on_fan_in() {
                for (a, b) in r1.iter().zip(&r2[..n * c]) {
                    let (x, y) = (
                        *a as f64 * (n as f64).sqrt(),
                        *b as f64 * (2.0 * n as f64).sqrt(),
                    );
                    assert!((x - y).abs() <= 1e-6 * x.abs().max(1e-6), "{x} vs {y}");
                }
            } else {
                assert_eq!(r1[..], r2[..n * c], "hidden {hidden}, readout {readout}");
            }
        }
    }
}

/// Different seeds give different particles, and particles within a run differ (the streams
/// are independent, not copies).
#[test]
fn seeds_and_particles_differ() {
    let (a, _) = particles(20, Init::Normal(1.0), Init::Uniform(1.0), 0);
    let (b, _) = particles(20, Init::Normal(1.0), Init::Uniform(1.0), 1);
    assert_ne!(a, b);
    assert_ne!(a[..7], a[7..14]);
}
