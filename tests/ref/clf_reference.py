#!/usr/bin/env python3
"""Plain-PyTorch reimplementation of scintigen's classifier network (src/clf/model.h), used by
tests/clf/clf_model_test.cc.

Usage: clf_reference.py DIR
DIR/index.json: {"config": {...ClassifierNetConfig...}, "input": {"file", "shape"},
                 "tensors": {name: {"file", "shape"}}}; every file raw little-endian float32.
Writes DIR/logits.bin (B) and DIR/embed.bin (B, D) as raw float32, computed in eval mode
with torch.nn.functional only (no module classes), so names and wiring are checked too.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def main():
    d = sys.argv[1]
    idx = json.load(open(os.path.join(d, "index.json")))
    cfg = idx["config"]

    def load(entry):
        a = np.fromfile(os.path.join(d, entry["file"]), dtype="<f4").reshape(entry["shape"])
        return torch.from_numpy(a.copy())

    W = {k: load(v) for k, v in idx["tensors"].items()}
    x = load(idx["input"]).double()
    W = {k: v.double() for k, v in W.items()}

    def norm(prefix, h):
        if cfg["norm"] == "batch":
            return F.batch_norm(h, W[prefix + ".running_mean"], W[prefix + ".running_var"],
                                W[prefix + ".weight"], W[prefix + ".bias"], training=False, eps=1e-5)
        return F.group_norm(h, 8, W[prefix + ".weight"], W[prefix + ".bias"], eps=1e-5)

    # Input transform: Anscombe (or log1p) of counts, standardised per scan over both views
    # (population std).
    if cfg.get("transform", "log") == "log":
        h = torch.log1p(x.clamp(min=0))
    else:
        h = 2 * torch.sqrt(x.clamp(min=0) + 0.375)
    flat = h.flatten(1)
    mean = flat.mean(1).view(-1, 1, 1, 1)
    std = flat.std(1, unbiased=False).view(-1, 1, 1, 1)
    h = (h - mean) / (std + 1e-5)

    h = F.relu(norm("stem_norm", F.conv2d(h, W["stem_conv.weight"], stride=2, padding=1)))
    k = 0
    in_ch = cfg["base_width"]
    for s, nblocks in enumerate(cfg["blocks"]):
        out_ch = cfg["base_width"] << s
        for b in range(nblocks):
            stride = 2 if (s > 0 and b == 0) else 1
            p = f"stages.{k}."
            y = F.relu(norm(p + "norm1", F.conv2d(h, W[p + "conv1.weight"], stride=stride, padding=1)))
            y = norm(p + "norm2", F.conv2d(y, W[p + "conv2.weight"], stride=1, padding=1))
            if stride != 1 or in_ch != out_ch:
                skip = norm(p + "proj_norm", F.conv2d(h, W[p + "proj.weight"], stride=stride))
            else:
                skip = h
            h = F.relu(y + skip)
            in_ch = out_ch
            k += 1
    emb = h.mean(dim=(2, 3))
    if cfg.get("pool", "avg") == "avgmax":
        emb = torch.cat([emb, h.amax(dim=(2, 3))], dim=1)
    logits = (emb @ W["head.weight"].t() + W["head.bias"]).squeeze(1)
    logits.float().numpy().astype("<f4").tofile(os.path.join(d, "logits.bin"))
    emb.float().numpy().astype("<f4").tofile(os.path.join(d, "embed.bin"))


if __name__ == "__main__":
    main()
