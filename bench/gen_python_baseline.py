#!/usr/bin/python3
"""The same model and training loop written plainly in Python PyTorch (fp32, eager), as the
baseline for the C++ trainer (bench/run_gen_bench.sh, BENCHMARKS.md).

Usage: gen_python_baseline.py CONFIG_JSON BATCH STEPS THREADS [cpu|cuda]

Model: tests/ref/gen_unet_reference.py's UNet (the PyTorch reimplementation the reference test
checks bit for bit against src/gen). Loop per step, as src/gen/trainer.cc: condition dropout,
t ~ U[0,1), noise, v-loss, backward, clip_grad_norm_(1.0), AdamW with the scheduled learning
rate, EMA update. Prints one JSON line with training images/s.
"""
import copy
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import gen_unet_reference as ref  # noqa: E402


def main():
    cfg_path, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    device = torch.device(sys.argv[5] if len(sys.argv) > 5 else "cpu")
    cfg = json.load(open(cfg_path))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = ref.UNet(cfg).to(device)
    ema = copy.deepcopy(net)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    n_attr = len(cfg["conditions"])
    x0 = torch.randn(batch, 2, cfg["height"], cfg["width"], device=device)
    cond = torch.ones(batch, n_attr, dtype=torch.long, device=device)

    def step(i):
        keep = (torch.rand(batch, n_attr, device=device) >= 0.1).long()
        t = torch.rand(batch, device=device)
        noise = torch.randn_like(x0)
        for g in opt.param_groups:
            g["lr"] = 2e-4 * min(1.0, (i + 1) / 10)
        opt.zero_grad()
        loss = ref.v_loss(net, cfg, x0, cond * keep, t, noise)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        d = min(0.999, (1 + i) / (10 + i))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.mul_(d).add_(pn, alpha=1 - d)
        return loss.item()

    step(0)  # warm-up (and cuDNN's algorithm choice)
    step(0)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i + 1)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "python", "torch": torch.__version__, "preset": cfg.get("preset"), "batch": batch,
                      "threads": threads, "device": str(device), "train_images_per_s": batch * steps / dt}))


if __name__ == "__main__":
    main()
