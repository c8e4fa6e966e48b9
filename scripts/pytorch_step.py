"""The same training step in PyTorch, for `scripts/bench.sh`: what a researcher would otherwise
run. Two variants per case, timed like `experiments bench` (warm-up, then enough steps to fill
`--seconds`): `autograd` (forward, loss.backward(), in-place SGD on both layers: the usual
script) and `closed-form` (the same two matrix products and mask as this project's default
engine, without autograd). Prints CSV rows with the columns of `experiments bench`.

f(x) = (1/N) relu(x W1^T) W2, cross-entropy, SGD step lr = gamma * N^beta (gamma = 1, beta = 1,
the value does not change the cost).
"""

import argparse
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

COLUMNS = (
    "backend,engine,width,input_dim,batch,iterations,ms_per_step,steps_per_s,gflops,"
    "peak_gflops,fraction_of_peak,peak_rss_mib,readout,peak_size"
)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def matmul_peak(size):
    """GFLOP/s of one square f32 product: best of 3 after a warm-up, as `experiments bench`."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    a @ b
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def make_step(engine, n, p, m, c):
    bound1, bound2 = 1.0 / math.sqrt(p), 1.0 / math.sqrt(n)
    w1 = torch.empty(n, p).uniform_(-bound1, bound1)
    w2 = torch.empty(n, c).uniform_(-bound2, bound2)
    x = torch.randn(m, p)
    y = torch.randint(0, c, (m,))
    lr = float(n)
    if engine == "autograd":
        w1.requires_grad_(True)
        w2.requires_grad_(True)

        def step():
            logits = torch.relu(x @ w1.T) @ w2 / n
            loss = F.cross_entropy(logits, y)
            loss.backward()
            with torch.no_grad():
                w1.sub_(lr * w1.grad)
                w2.sub_(lr * w2.grad)
                w1.grad = None
                w2.grad = None

    else:
        onehot = F.one_hot(y, c).float()

        @torch.no_grad()
        def step():
            pre = x @ w1.T  # [M, N]
            h = torch.relu(pre)
            logits = h @ w2 / n
            g = (torch.softmax(logits, dim=1) - onehot) / (m * n)  # dL/dlogits / N
            gh = (g @ w2.T) * (pre > 0)  # [M, N]
            w2.sub_(lr * (h.T @ g))
            # The W1 gradient fused into the update: w1 <- w1 - lr * gh^T x.
            w1.addmm_(gh.T, x, alpha=-lr)

    return step


def time_case(engine, n, p, m, c, seconds):
    step = make_step(engine, n, p, m, c)
    step()  # warm-up
    start = time.perf_counter()
    step()
    one = time.perf_counter() - start
    iterations = max(3, int(seconds / max(one, 1e-9)))
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return iterations, (time.perf_counter() - start) / iterations


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--widths", default="1000,10000,100000")
    ap.add_argument("--input-dims", default="784,3072")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--engines", default="autograd,closed-form")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--peak-size", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(
        f"pytorch {torch.__version__} ({torch.get_num_threads()} threads)",
        file=sys.stderr,
    )
    print(COLUMNS)
    m, c = args.batch, args.classes
    for engine in args.engines.split(","):
        for p in map(int, args.input_dims.split(",")):
            for n in map(int, args.widths.split(",")):
                # The peak next to each case (the machine's throughput drifts over a run).
                peak = matmul_peak(args.peak_size)
                iterations, sec = time_case(engine, n, p, m, c, args.seconds)
                flops = 4.0 * m * p * n + 4.0 * m * n * c
                gflops = flops / sec / 1e9
                print(
                    f"pytorch,{engine},{n},{p},{m},{iterations},{sec * 1e3:.3f},{1 / sec:.2f},"
                    f"{gflops:.1f},{peak:.1f},{gflops / peak:.3f},{peak_rss_mib():.0f},"
                    f"trainable,{args.peak_size}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
