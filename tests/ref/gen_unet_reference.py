#!/usr/bin/python3
"""Independent PyTorch reimplementation of scintigen's conditional U-Net (src/gen/unet.cc),
its v-prediction loss (src/gen/objective.cc) and one AdamW training step (src/gen/trainer.cc).

Usage: gen_unet_reference.py DIR

DIR/index.json (written by tests/gen/gen_reference_test.cc):
  {"config": <ModelConfig JSON>,
   "params": [{"name": "down.0.res.0.conv1.weight", "shape": [...], "file": "p0.bin"}, ...],
   "tensors": {"x": {"shape": [...], "dtype": "float32"|"int64", "file": "x.bin"}, ...},
   "train": {...optional AdamW settings...}}
Every .bin is raw little-endian data. Writes DIR/out/index.json with the same layout:
  forward output "v", the gradient of sum(v * w) for every parameter ("grad/<name>"), the
  training loss "loss" and its gradients ("loss_grad/<name>"), and, when "train" is given,
  every parameter after one optimiser step ("step/<name>").
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups, scale_shift):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb_proj = nn.Linear(emb, 2 * cout if scale_shift else cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.scale_shift = scale_shift

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        e = self.emb_proj(F.silu(emb))[:, :, None, None]
        if self.scale_shift:
            scale, shift = e.chunk(2, dim=1)
            h = self.conv2(F.silu(self.norm2(h) * (1 + scale) + shift))
        else:
            h = self.conv2(F.silu(self.norm2(h + e)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, ch, head_ch, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        self.heads = ch // head_ch

    def forward(self, x):
        b, c, hh, ww = x.shape
        d = c // self.heads
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, d, hh * ww)
        q, k, v = (qkv[:, i].transpose(2, 3) for i in range(3))  # (B, h, T, d)
        w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        o = (w @ v).transpose(2, 3).reshape(b, c, hh, ww)
        return x + self.proj(o)


class Level(nn.Module):
    def __init__(self):
        super().__init__()
        self.res = nn.ModuleList()
        self.attn = nn.ModuleList()
        self.resample = None


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c0, e, g = cfg["base_channels"], cfg["time_embed_dim"], cfg["groups"]
        ss, hc, mult = cfg["scale_shift"], cfg["head_channels"], cfg["channel_mult"]
        att = set(cfg["attention_levels"])
        self.c0 = c0
        self.time_in = nn.Linear(c0, e)
        self.time_out = nn.Linear(e, e)
        self.cond_embed = nn.ModuleList(nn.Embedding(len(a["values"]) + 1, e) for a in cfg["conditions"])
        self.conv_in = nn.Conv2d(cfg["in_channels"], c0, 3, padding=1)
        skips, ch = [c0], c0
        self.down = nn.ModuleList()
        for l, m in enumerate(mult):
            lv = Level()
            for _ in range(cfg["res_blocks"]):
                lv.res.append(ResBlock(ch, c0 * m, e, g, ss))
                ch = c0 * m
                if l in att:
                    lv.attn.append(Attention(ch, hc, g))
                skips.append(ch)
            if l + 1 < len(mult):
                lv.resample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
                skips.append(ch)
            self.down.append(lv)
        self.mid_res1 = ResBlock(ch, ch, e, g, ss)
        self.mid_attn = Attention(ch, hc, g)
        self.mid_res2 = ResBlock(ch, ch, e, g, ss)
        self.up = nn.ModuleList()
        for l in reversed(range(len(mult))):
            lv = Level()
            for _ in range(cfg["res_blocks"] + 1):
                lv.res.append(ResBlock(ch + skips.pop(), c0 * mult[l], e, g, ss))
                ch = c0 * mult[l]
                if l in att:
                    lv.attn.append(Attention(ch, hc, g))
            if l > 0:
                lv.resample = nn.Conv2d(ch, ch, 3, padding=1)
            self.up.append(lv)
        self.norm_out = nn.GroupNorm(g, ch)
        self.conv_out = nn.Conv2d(ch, cfg["in_channels"], 3, padding=1)

    def forward(self, x, t, cond):
        emb = self.time_out(F.silu(self.time_in(timestep_embedding(t, self.c0))))
        for a, table in enumerate(self.cond_embed):
            emb = emb + table(cond[:, a])
        h = self.conv_in(x)
        hs = [h]
        for lv in self.down:
            for i, rb in enumerate(lv.res):
                h = rb(h, emb)
                if len(lv.attn):
                    h = lv.attn[i](h)
                hs.append(h)
            if lv.resample is not None:
                h = lv.resample(h)
                hs.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, emb)), emb)
        for lv in self.up:
            for i, rb in enumerate(lv.res):
                h = rb(torch.cat([h, hs.pop()], dim=1), emb)
                if len(lv.attn):
                    h = lv.attn[i](h)
            if lv.resample is not None:
                h = lv.resample(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def alpha_sigma(cfg, t):
    """Truncated, shifted cosine logSNR schedule, in float64 (Hoogeboom et al. 2023)."""
    a = math.atan(math.exp(-0.5 * cfg["logsnr_max"]))
    b = math.atan(math.exp(-0.5 * cfg["logsnr_min"]))
    td = t.double()
    logsnr = -2.0 * torch.log(torch.tan(a + td * (b - a))) + 2.0 * math.log(cfg["schedule_shift"])
    return torch.sqrt(torch.sigmoid(logsnr)).float(), torch.sqrt(torch.sigmoid(-logsnr)).float()


def v_loss(net, cfg, x0, cond, t, noise):
    alpha, sigma = alpha_sigma(cfg, t)
    a, s = alpha[:, None, None, None], sigma[:, None, None, None]
    x_t = a * x0 + s * noise
    v = a * noise - s * x0
    return ((net(x_t, t, cond) - v) ** 2).mean()


def load(d, entry):
    dtype = {"float32": np.float32, "int64": np.int64}[entry["dtype"]]
    return torch.from_numpy(np.fromfile(os.path.join(d, entry["file"]), dtype=dtype).reshape(entry["shape"]).copy())


def main():
    d = sys.argv[1]
    torch.set_num_threads(2)
    idx = json.load(open(os.path.join(d, "index.json")))
    cfg = idx["config"]
    net = UNet(cfg)
    state = {p["name"]: load(d, dict(p, dtype="float32")) for p in idx["params"]}
    net.load_state_dict(state, strict=True)
    T = {k: load(d, v) for k, v in idx["tensors"].items()}
    out_dir = os.path.join(d, "out")
    os.makedirs(out_dir, exist_ok=True)
    out = {"tensors": {}}

    def put(name, tensor):
        f = "o%d.bin" % len(out["tensors"])
        tensor.detach().float().contiguous().numpy().tofile(os.path.join(out_dir, f))
        out["tensors"][name] = {"shape": list(tensor.shape), "dtype": "float32", "file": f}

    names = [p["name"] for p in idx["params"]]
    params = dict(net.named_parameters())
    # (a) forward and (b) gradients of sum(v * w).
    v = net(T["x"], T["t"], T["cond"])
    put("v", v)
    (v * T["w"]).sum().backward()
    for n in names:
        put("grad/" + n, params[n].grad)
    net.zero_grad(set_to_none=True)
    # (c) training loss on a fixed batch with fixed noise and times, and its gradients.
    loss = v_loss(net, cfg, T["x0"], T["cond_train"], T["t_train"], T["noise"])
    put("loss", loss.reshape(1))
    loss.backward()
    for n in names:
        put("loss_grad/" + n, params[n].grad)
    # One optimiser step: clip, AdamW with the scheduled learning rate.
    tr = idx.get("train")
    if tr:
        opt = torch.optim.AdamW(net.parameters(), lr=tr["lr"], betas=(tr["beta1"], tr["beta2"]), eps=tr["eps"],
                                weight_decay=tr["weight_decay"])
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), tr["grad_clip"])
        put("grad_norm", norm.reshape(1))
        opt.step()
        for n in names:
            put("step/" + n, params[n])
    json.dump(out, open(os.path.join(out_dir, "index.json"), "w"))


if __name__ == "__main__":
    main()
