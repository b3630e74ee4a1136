#!/usr/bin/python3
"""The downstream classifier network and its training step written plainly in Python PyTorch
(fp32, eager), as the baseline for bench/clf_bench (bench/run_clf_bench.sh, BENCHMARKS.md).

Usage: clf_python_baseline.py THREADS [TRAIN_STEPS=5] [REPEATS=5] [INFER_IMAGES=128]
       clf_python_baseline.py --flops THREADS

Network: src/clf/model.cc with ClassifierConfig's defaults (2 x 256 x 64 input, base width 16,
one basic residual block per stage, GroupNorm(8), mean + max pooling, Anscombe transform).
Step as src/clf/train.cc: forward, BCE with logits, zero_grad, backward, AdamW (lr 1e-3,
weight decay 1e-4), loss.item(); batch 16 of fixed Poisson counts (mean 100). Timing as
bench/clf_bench.cc: 2 warm-up steps, then the median of REPEATS runs of TRAIN_STEPS steps;
inference is eval mode, no_grad, 64 scans at a time, sigmoid to float64 (predict_probabilities).
Prints one JSON line.

--flops: FLOPs per image counted with forward hooks (convolutions 2 x Cin x k x k x Cout x Hout x
Wout, the linear head 2 x in x out; 1 multiply-add = 2 FLOPs; GroupNorm, ReLU, pooling and the
input transform left out), cross-checked against torch.profiler's with_flops count, a training
step counted as 3 forwards; and the machine's 2048^3 matmul peak (bench/gen_flops.py's peak()).
"""
import json
import os
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

HEIGHT, WIDTH, BASE_WIDTH, BLOCKS, BATCH = 256, 64, 16, (1, 1, 1, 1), 16
LR, WEIGHT_DECAY, WARMUP_STEPS = 1e-3, 1e-4, 2


def normalize_counts(counts):
    """(B, C, H, W) counts -> Anscombe, then standardised per scan over both views."""
    x = 2 * torch.sqrt(counts.clamp(min=0) + 0.375)
    flat = x.flatten(1)  # (B, C*H*W)
    mean = flat.mean(1).view(-1, 1, 1, 1)
    std = flat.std(1, unbiased=False).view(-1, 1, 1, 1)
    return (x - mean) / (std + 1e-5)


def conv3x3(cin, cout, stride):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.norm1 = nn.GroupNorm(8, cout)
        self.conv2 = conv3x3(cout, cout, 1)
        self.norm2 = nn.GroupNorm(8, cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.proj_norm = nn.GroupNorm(8, cout)

    def forward(self, x):  # (B, Cin, H, W) -> (B, Cout, H/s, W/s)
        h = F.relu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        skip = self.proj_norm(self.proj(x)) if self.proj is not None else x
        return F.relu(h + skip)


class ClassifierNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem_conv = conv3x3(2, BASE_WIDTH, 2)
        self.stem_norm = nn.GroupNorm(8, BASE_WIDTH)
        stages, cin = [], BASE_WIDTH
        for s, n in enumerate(BLOCKS):
            cout = BASE_WIDTH << s
            for b in range(n):
                stages.append(ResidualBlock(cin, cout, 2 if s > 0 and b == 0 else 1))
                cin = cout
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(2 * cin, 1)

    def forward(self, counts):  # (B, 2, H, W) counts -> (B) logits
        x = normalize_counts(counts)
        x = F.relu(self.stem_norm(self.stem_conv(x)))  # (B, 16, H/2, W/2)
        x = self.stages(x)                              # (B, 128, H/16, W/16)
        x = torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)  # (B, 256)
        return self.head(x).squeeze(1)


def throughput(threads, train_steps, repeats, infer_images):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = ClassifierNet()
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    x = torch.poisson(torch.full((BATCH, 2, HEIGHT, WIDTH), 100.0))  # (B, 2, H, W)
    y = (torch.arange(BATCH) % 2).float()                             # (B)

    net.train()

    def step():
        logits = net(x)
        loss = F.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(WARMUP_STEPS):
        step()
    train_rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(train_steps):
            step()
        train_rates.append(BATCH * train_steps / (time.perf_counter() - t0))

    scans = torch.poisson(torch.full((infer_images, 2, HEIGHT, WIDTH), 100.0))

    def predict(n):
        net.eval()
        out = []
        with torch.no_grad():
            for i in range(0, n, 64):
                out.append(torch.sigmoid(net(scans[i:i + 64]).double()))
        net.train()
        return torch.cat(out).tolist()

    predict(min(infer_images, 64))  # warm-up
    infer_rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(infer_images)
        infer_rates.append(infer_images / (time.perf_counter() - t0))
    return {"impl": "python", "torch": torch.__version__, "params": sum(p.numel() for p in net.parameters()),
            "batch": BATCH, "threads": torch.get_num_threads(), "train_images_per_s": statistics.median(train_rates),
            "train_images_per_s_runs": train_rates, "infer_images_per_s": statistics.median(infer_rates)}


def flops(threads):
    net = ClassifierNet()
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += 2 * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1] * out.numel()

    def lin_hook(m, inp, out):
        total[0] += 2 * m.in_features * out.numel()

    for mod in net.modules():
        if isinstance(mod, nn.Conv2d):
            mod.register_forward_hook(conv_hook)
        elif isinstance(mod, nn.Linear):
            mod.register_forward_hook(lin_hook)
    x = torch.zeros(1, 2, HEIGHT, WIDTH)
    with torch.no_grad(), torch.profiler.profile(with_flops=True) as prof:
        net(x)
    profiler_flops = sum(e.flops for e in prof.key_averages() if e.flops)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gen_flops import peak  # noqa: E402  the same 2048^3 matmul peak as the generative bench

    return {"forward_gflop_per_image": total[0] / 1e9, "forward_gflop_per_image_profiler": profiler_flops / 1e9,
            "train_gflop_per_image": 3 * total[0] / 1e9, "peak_fp32_gflops": peak(torch.float32, threads),
            "threads": threads}


def main():
    if len(sys.argv) < 2 or len(sys.argv) > 5:
        sys.exit(__doc__.split("\n\n")[1])
    if sys.argv[1] == "--flops":
        print(json.dumps(flops(int(sys.argv[2]))))
        return
    args = [int(a) for a in sys.argv[1:]] + [5, 5, 128][len(sys.argv) - 2:]
    print(json.dumps(throughput(*args)))


if __name__ == "__main__":
    main()
