//! Batches gathered on the device from a resident training set ([`Placement::Device`], the GPU
//! default) are the host-gathered batches ([`Placement::Host`], the CPU default) bit for bit:
//! two steppers of one setting, one per placement, end with identical weights, for both
//! gradient engines, with Langevin noise and the epoch sampler's reshuffles. Run here on Flex;
//! `tests/gpu.rs` runs the wgpu side.

use meanfield_model::net::to_vec;
use meanfield_train::batches::Placement;
use meanfield_train::task::Task;
use meanfield_train::{Backend, Engine, Stepper, TrainConfig};

#[test]
fn device_gathered_batches_train_exactly_as_host_gathered_ones() {
    for engine in [Engine::ClosedForm, Engine::Autodiff] {
        let mut config = TrainConfig::from_preset("synthetic").unwrap();
        // 300 rows at M = 100: the epoch sampler reshuffles every 3 steps.
        config.synthetic.train = 300;
        config.width = 48;
        config.temperature = 1e-3;
        config.engine = engine;
        let task = Task::load(&config).unwrap();
        let device = Backend::Flex.device().unwrap();
        let mut host = Stepper::fresh(&config, task.train.clone(), &device).unwrap();
        let mut resident = Stepper::fresh(&config, task.train.clone(), &device).unwrap();
        assert_eq!(
            host.placement(),
            Placement::Host,
            "Flex gathers on the host"
        );
        resident.set_placement(Placement::Device);
        assert_eq!(resident.placement(), Placement::Device);
        for _ in 0..20 {
            let (a, b) = (host.step(), resident.step());
            assert_eq!(a.labels, b.labels);
            assert_eq!(to_vec(a.logits), to_vec(b.logits), "{engine}: batch logits");
        }
        let (a, b) = (host.model(), resident.model());
        assert_eq!(
            to_vec(a.hidden.val()),
            to_vec(b.hidden.val()),
            "{engine}: W1"
        );
        assert_eq!(
            to_vec(a.readout.val()),
            to_vec(b.readout.val()),
            "{engine}: readout"
        );
    }
}

/// The GPU backends keep the training set on the device when it fits, the CPU ones never.
#[test]
fn placement_follows_the_backend_and_the_size() {
    let small = meanfield_data::Dataset::new(vec![0.0; 20], vec![0; 10], 2, 1).unwrap();
    assert_eq!(
        Placement::default_for(Backend::Flex, &small, None),
        Placement::Host
    );
    assert_eq!(
        Placement::default_for(Backend::Ndarray, &small, None),
        Placement::Host
    );
    assert_eq!(
        Placement::default_for(Backend::Wgpu, &small, None),
        Placement::Device
    );
    assert_eq!(
        Placement::default_for(Backend::Cuda, &small, None),
        Placement::Device
    );
    // MNIST (60000 × 784 floats, 188 MB) and CIFAR-10 (50000 × 3072, 614 MB) stay on a GPU; one
    // byte over the bound is gathered on the host.
    let max = meanfield_train::batches::RESIDENT_MAX_BYTES;
    assert_eq!(
        Placement::for_size(Backend::Wgpu, 50_000 * 3072 * 4, None),
        Placement::Device
    );
    assert_eq!(
        Placement::for_size(Backend::Cuda, max, None),
        Placement::Device
    );
    assert_eq!(
        Placement::for_size(Backend::Wgpu, max + 1, None),
        Placement::Host
    );
    assert_eq!(Placement::for_size(Backend::Flex, 4, None), Placement::Host);
    // A device whose one buffer holds less than the set (Mesa's software Vulkan adapter: 128
    // MiB, below MNIST's 188 MB) gathers on the host; the set is never split over buffers.
    let mnist = 60_000 * 784 * 4;
    assert_eq!(
        Placement::for_size(Backend::Wgpu, mnist, Some(128 << 20)),
        Placement::Host
    );
    assert_eq!(
        Placement::for_size(Backend::Wgpu, mnist, Some(2 << 30)),
        Placement::Device
    );
}
