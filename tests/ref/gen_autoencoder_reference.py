#!/usr/bin/python3
"""Independent PyTorch reimplementation of scintigen's count-image autoencoder
(src/gen/autoencoder.cc): encoder, decoder, the Poisson + KL loss and the Poisson deviance, and
the adversarial term (patch discriminator, straight-through Poisson fakes, hinge losses, the
adaptive weight).

Usage: gen_autoencoder_reference.py DIR

DIR/index.json (written by tests/gen/gen_reference_test.cc):
  {"config": <AutoencoderConfig JSON>, "kl_weight": w,
   "params": [{"name": "enc_levels.0.res.0.conv1.weight", "shape": [...], "file": "p0.bin"}, ...],
   "tensors": {"x": ..., "counts": ..., "eps": ..., "w": ...}}
Every .bin is raw little-endian float32. Writes DIR/out/index.json with: the latent mean and
log variance of x ("mean", "logvar"), the decoded log rate of the mean ("log_rate"), the loss
terms ("loss", "nll", "kl") and the loss's gradient for every parameter ("grad/<name>"), and the
Poisson deviance of counts under log_rate ("deviance").
With "adversarial": {"weight", "channels", "layers", "groups", "count_max", "params": [...]} and
the tensor "draw" (Poisson counts drawn around the sampled reconstruction), also: the generator
term ("adv_gen"), the adaptive weight ("adv_lambda"), the total loss with the term
("adv_loss") and its gradient for every autoencoder parameter ("adv_grad/<name>"), the
discriminator's hinge loss ("d_loss") and its gradient for every discriminator parameter
("d_grad/<name>").
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv2(F.silu(self.norm2(self.conv1(F.silu(self.norm1(x))))))
        return (self.skip(x) if self.skip is not None else x) + h


class Level(nn.Module):
    def __init__(self):
        super().__init__()
        self.res = nn.ModuleList()
        self.resample = None


class Autoencoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c0, g, mult, z = cfg["base_channels"], cfg["groups"], cfg["channel_mult"], cfg["latent_channels"]
        self.enc_in = nn.Conv2d(2, c0, 3, padding=1)
        self.enc_levels = nn.ModuleList()
        ch = c0
        for l, m in enumerate(mult):
            lv = Level()
            for _ in range(cfg["res_blocks"]):
                lv.res.append(Block(ch, c0 * m, g))
                ch = c0 * m
            if l + 1 < len(mult):
                lv.resample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
            self.enc_levels.append(lv)
        self.enc_mid = Block(ch, ch, g)
        self.enc_norm = nn.GroupNorm(g, ch)
        self.enc_out = nn.Conv2d(ch, 2 * z, 3, padding=1)
        self.dec_in = nn.Conv2d(z, ch, 3, padding=1)
        self.dec_mid = Block(ch, ch, g)
        self.dec_levels = nn.ModuleList()
        for l in reversed(range(len(mult))):
            lv = Level()
            for _ in range(cfg["res_blocks"]):
                lv.res.append(Block(ch, c0 * mult[l], g))
                ch = c0 * mult[l]
            if l > 0:
                lv.resample = nn.Conv2d(ch, ch, 3, padding=1)
            self.dec_levels.append(lv)
        self.dec_norm = nn.GroupNorm(g, ch)
        self.dec_out = nn.Conv2d(ch, 2, 3, padding=1)

    def encode(self, x):
        h = self.enc_in(x)
        for lv in self.enc_levels:
            for rb in lv.res:
                h = rb(h)
            if lv.resample is not None:
                h = lv.resample(h)
        h = self.enc_out(F.silu(self.enc_norm(self.enc_mid(h))))
        mean, logvar = h.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z):
        h = self.dec_mid(self.dec_in(z))
        for lv in self.dec_levels:
            for rb in lv.res:
                h = rb(h)
            if lv.resample is not None:
                h = lv.resample(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.dec_out(F.silu(self.dec_norm(h)))


class PatchDiscriminator(nn.Module):
    """conv 4x4/2 + LeakyReLU; (layers - 1) x [conv 4x4/2, GroupNorm, LeakyReLU]; conv 4x4/1,
    GroupNorm, LeakyReLU; conv 4x4/1 to one logit per patch (Isola et al. 2017)."""

    def __init__(self, ch, layers, groups):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(2, ch, 4, stride=2, padding=1)])
        self.norms = nn.ModuleList()
        c = ch
        for n in range(1, layers + 1):
            out = ch * min(2**n, 8)
            self.convs.append(nn.Conv2d(c, out, 4, stride=2 if n < layers else 1, padding=1, bias=False))
            self.norms.append(nn.GroupNorm(groups, out))
            c = out
        self.convs.append(nn.Conv2d(c, 1, 4, stride=1, padding=1))

    def forward(self, x):
        h = F.leaky_relu(self.convs[0](x), 0.2)
        for k in range(1, len(self.convs) - 1):
            h = F.leaky_relu(self.norms[k - 1](self.convs[k](h)), 0.2)
        return self.convs[-1](h)


def counts_to_model(c, count_max):
    a0, a1 = 2 * math.sqrt(0.375), 2 * math.sqrt(count_max + 0.375)
    return (2 * torch.sqrt(torch.clamp(c, min=0) + 0.375) - a0) * (2 / (a1 - a0)) - 1


def load(d, entry):
    return torch.from_numpy(np.fromfile(os.path.join(d, entry["file"]), dtype=np.float32).reshape(entry["shape"]).copy())


def main():
    d = sys.argv[1]
    torch.set_num_threads(2)
    idx = json.load(open(os.path.join(d, "index.json")))
    net = Autoencoder(idx["config"])
    net.load_state_dict({p["name"]: load(d, p) for p in idx["params"]}, strict=True)
    T = {k: load(d, v) for k, v in idx["tensors"].items()}
    out_dir = os.path.join(d, "out")
    os.makedirs(out_dir, exist_ok=True)
    out = {"tensors": {}}

    def put(name, tensor):
        f = "o%d.bin" % len(out["tensors"])
        tensor.detach().float().contiguous().numpy().tofile(os.path.join(out_dir, f))
        out["tensors"][name] = {"shape": list(tensor.shape), "dtype": "float32", "file": f}

    with torch.no_grad():
        mean, logvar = net.encode(T["x"])
        log_rate = net.decode(mean)
    put("mean", mean)
    put("logvar", logvar)
    put("log_rate", log_rate)
    # Poisson deviance 2 (c log(c / m) - (c - m)), 0 log 0 = 0, averaged over pixels.
    c, m = T["counts"], torch.exp(log_rate)
    c_log = torch.where(c > 0, c * (torch.log(torch.clamp(c, min=1e-30)) - log_rate), torch.zeros_like(c))
    put("deviance", (2 * (c_log - (c - m))).mean().reshape(1))
    # The loss: reparameterised sample, Poisson NLL (log input, no Stirling term), KL per image pixel.
    mean, logvar = net.encode(T["x"])
    z = mean + torch.exp(0.5 * logvar) * T["eps"]
    r = net.decode(z)
    nll = F.poisson_nll_loss(r, T["counts"], log_input=True, full=False, reduction="mean")
    b, _, hh, ww = T["x"].shape
    kl = 0.5 * (mean**2 + torch.exp(logvar) - 1 - logvar).sum() / (2 * hh * ww * b)
    loss = nll + idx["kl_weight"] * kl
    put("nll", nll.reshape(1))
    put("kl", kl.reshape(1))
    put("loss", loss.reshape(1))
    adv = idx.get("adversarial")
    if adv is not None:  # before loss.backward(): the adversarial graph shares the forward pass
        disc = PatchDiscriminator(adv["channels"], adv["layers"], adv["groups"])
        disc.load_state_dict({p["name"]: load(d, p) for p in adv["params"]}, strict=True)
        rate = torch.exp(torch.clamp(r, max=math.log(1e6)))
        fake = counts_to_model(rate + (T["draw"] - rate).detach(), adv["count_max"])
        gen = -disc(fake).mean()
        last = net.dec_out.weight
        g_nll = torch.autograd.grad(nll, last, retain_graph=True)[0]
        g_gen = torch.autograd.grad(gen, last, retain_graph=True)[0]
        lam = torch.clamp(g_nll.norm() / (g_gen.norm() + 1e-4), 0.0, 1e4).detach()
        adv_loss = loss + adv["weight"] * lam * gen
        put("adv_gen", gen.reshape(1))
        put("adv_lambda", lam.reshape(1))
        put("adv_loss", adv_loss.reshape(1))
        ae_grads = torch.autograd.grad(adv_loss, list(net.parameters()), retain_graph=True)
        for (name, _), g in zip(net.named_parameters(), ae_grads):
            put("adv_grad/" + name, g)
        d_loss = 0.5 * (F.relu(1 - disc(T["x"])).mean() + F.relu(1 + disc(fake.detach())).mean())
        put("d_loss", d_loss.reshape(1))
        d_grads = torch.autograd.grad(d_loss, list(disc.parameters()))
        for (name, _), g in zip(disc.named_parameters(), d_grads):
            put("d_grad/" + name, g)
    loss.backward()
    params = dict(net.named_parameters())
    for p in idx["params"]:
        put("grad/" + p["name"], params[p["name"]].grad)
    json.dump(out, open(os.path.join(out_dir, "index.json"), "w"))


if __name__ == "__main__":
    main()
