#!/usr/bin/python3
"""FLOPs per image of a model config and the machine's measured matmul peak.

Usage: gen_flops.py CONFIG_JSON THREADS [cpu|cuda]

Counts the forward pass of tests/ref/gen_unet_reference.py's UNet with forward hooks:
convolutions (2 x Cin/groups x k x k x Cout x H x W), linear layers (2 x in x out) and the two
attention matmuls (2 x 2 x heads x N^2 x head_channels); 1 multiply-add = 2 FLOPs. Element-wise
work (GroupNorm, SiLU, softmax) is left out. A training step is counted as 3 forwards (the
backward pass costs about twice the forward). Peak: the best of 5 runs of a 2048^3 float32
matmul and of a bfloat16 one on THREADS threads; on cuda, of 8192^3 float32 (TF32 off, as
torch's default for matmuls), TF32 (what cuDNN's convolutions use by default) and bfloat16
matmuls. Prints one JSON line.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import gen_unet_reference as ref  # noqa: E402


def forward_flops(cfg):
    net = ref.UNet(cfg)
    total = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1]
        total[0] += 2 * (m.in_channels // m.groups) * k * out.numel()

    def lin_hook(m, inp, out):
        total[0] += 2 * m.in_features * out.numel() // out.shape[-1] * out.shape[-1]

    def attn_hook(m, inp, out):
        b, c, h, w = inp[0].shape
        n = h * w
        total[0] += 2 * 2 * b * n * n * c  # q k^T and attn v over all heads: heads * head_ch = c

    for mod in net.modules():
        if isinstance(mod, torch.nn.Conv2d):
            mod.register_forward_hook(conv_hook)
        elif isinstance(mod, torch.nn.Linear):
            mod.register_forward_hook(lin_hook)
        elif isinstance(mod, ref.Attention):
            mod.register_forward_hook(attn_hook)
    x = torch.zeros(1, 2, cfg["height"], cfg["width"])
    with torch.no_grad():
        net(x, torch.zeros(1), torch.zeros(1, len(cfg["conditions"]), dtype=torch.long))
    return total[0], sum(p.numel() for p in net.parameters())


def peak(dtype, threads):
    torch.set_num_threads(threads)
    a = torch.randn(2048, 2048).to(dtype)
    b = torch.randn(2048, 2048).to(dtype)
    torch.mm(a, b)
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * 2048 ** 3 / best / 1e9


def cuda_peak(dtype, tf32=False):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    n = 8192
    a = torch.randn(n, n, device="cuda").to(dtype)
    b = torch.randn(n, n, device="cuda").to(dtype)
    for _ in range(3):
        torch.mm(a, b)
    torch.cuda.synchronize()
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(5):
            torch.mm(a, b)
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) / 5)
    torch.backends.cuda.matmul.allow_tf32 = False
    return 2 * n ** 3 / best / 1e9


def main():
    cfg = json.load(open(sys.argv[1]))
    threads = int(sys.argv[2])
    device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
    f, params = forward_flops(cfg)
    out = {"preset": cfg.get("preset"), "params": params, "forward_gflop_per_image": f / 1e9,
           "train_gflop_per_image": 3 * f / 1e9}
    if device == "cuda":
        out.update({"device": torch.cuda.get_device_name(), "peak_fp32_gflops": cuda_peak(torch.float32),
                    "peak_tf32_gflops": cuda_peak(torch.float32, tf32=True),
                    "peak_bf16_gflops": cuda_peak(torch.bfloat16)})
    else:
        out.update({"peak_fp32_gflops": peak(torch.float32, threads), "peak_bf16_gflops": peak(torch.bfloat16, threads),
                    "threads": threads})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
