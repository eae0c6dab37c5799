"""Training throughput of the Fashion-MNIST MLP (784-400-400-10): samples per second.

Compares one optimiser step (forward, backward, Adam) of
  * the PNN with the DSTD solver (M = 10, random offset) — what ``imcflow train`` uses,
  * the same PNN with the exact event solver (sorted spike times),
  * a time-stepped surrogate-gradient LIF SNN of the same size in snntorch (latency coding,
    ``--snn-steps`` steps; a plain-torch LIF of the same kind if snntorch is not installed),
and prints figures only (no asserts). Data are random images: throughput does not depend on them.

    python benchmarks/train_throughput.py [--threads N] [--batch 32] [--seconds 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from imcflow.pnn import PNNParams  # noqa: E402
from imcflow.train.loss import spike_time_loss  # noqa: E402
from imcflow.train.models import build_model  # noqa: E402

SIZES = (784, 400, 400, 10)


def _pnn_step_fn(solver: str, M: int, device: torch.device, batch: int):
    torch.manual_seed(0)
    net = build_model(model="mlp", neuron="rc", n_in=SIZES[0], n_classes=SIZES[-1],
                      hidden=SIZES[1:-1], params=PNNParams.symmetric(5.0), solver=solver, M=M,
                      noise_std=0.01).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.rand(batch, SIZES[0], device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        t = net(1.0 - x)
        loss, _ = spike_time_loss(t, y, tau_soft=0.07, gamma1=2.6, t_ref=0.9)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _snn_step_fn(steps: int, device: torch.device, batch: int):
    """Latency-coded LIF MLP, BPTT with a fast-sigmoid surrogate; snntorch if available."""
    torch.manual_seed(0)
    try:
        import snntorch as snn
        from snntorch import surrogate

        grad = surrogate.fast_sigmoid(slope=25)

        def lif():
            return snn.Leaky(beta=0.9, spike_grad=grad)

        label = f"snntorch {snn.__version__}"
    except ImportError:  # plain-torch fallback with the same dynamics
        snn = None

        class _Spike(torch.autograd.Function):
            @staticmethod
            def forward(ctx, u):
                ctx.save_for_backward(u)
                return (u > 0).to(u.dtype)

            @staticmethod
            def backward(ctx, g):
                (u,) = ctx.saved_tensors
                return g / (1 + 25 * u.abs()) ** 2

        class _Leaky(nn.Module):
            def forward(self, cur, mem):
                mem = 0.9 * mem + cur
                spk = _Spike.apply(mem - 1.0)
                return spk, mem - spk

            def init_leaky(self):
                return 0.0

        def lif():
            return _Leaky()

        label = "plain-torch LIF (snntorch not installed)"

    fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:], strict=True))
    lifs = nn.ModuleList(lif() for _ in fcs)
    model = nn.ModuleDict({"fc": fcs, "lif": lifs}).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch, SIZES[0], device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    # latency code: pixel x spikes at step round((1 - x)·(steps - 1))
    fire_step = ((1.0 - x) * (steps - 1)).round().long()

    def step():
        mems = [lif_.init_leaky() for lif_ in lifs]
        out = 0.0
        for k in range(steps):
            s = (fire_step == k).to(x.dtype)
            for i, (fc, lif_) in enumerate(zip(fcs, lifs, strict=True)):
                s, mems[i] = lif_(fc(s), mems[i])
            out = out + s
        loss = nn.functional.cross_entropy(out, y)  # spike-count cross-entropy
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step, label


def _throughput(step, batch: int, seconds: float, device: torch.device) -> tuple[float, int]:
    step()  # warm-up
    step()
    n = 0
    t0 = time.perf_counter()
    while True:
        step()
        n += 1
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 3:
            return n * batch / dt, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=8.0, help="timing per method")
    ap.add_argument("--M", type=int, default=10)
    ap.add_argument("--snn-steps", type=int, default=25)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {args.batch}, device {device}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    rows = []
    for name, make in ((f"PNN DSTD M={args.M}",
                        lambda: _pnn_step_fn("dstd", args.M, device, args.batch)),
                       ("PNN exact", lambda: _pnn_step_fn("exact", args.M, device, args.batch))):
        sps, n = _throughput(make(), args.batch, args.seconds, device)
        rows.append((name, sps, n))
    snn_step, label = _snn_step_fn(args.snn_steps, device, args.batch)
    sps, n = _throughput(snn_step, args.batch, args.seconds, device)
    rows.append((f"SNN {args.snn_steps} steps, {label}", sps, n))
    dstd = rows[0][1]
    for name, sps, n in rows:
        print(f"  {name:<48s} {sps:9.1f} samples/s  ({n} steps timed; "
              f"60k-sample epoch {60000 / sps:7.1f} s; DSTD is {dstd / sps:5.2f}x)")


if __name__ == "__main__":
    main()
