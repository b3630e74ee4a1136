#!/usr/bin/env python3
"""The autoencoders' ceiling table (docs/experiments/fidelity.md, "Latent diffusion, step 1: the
autoencoder's ceiling") from a work folder of scripts/experiments/ae_ceiling.sh: audit-CELL/audit.json
of each autoencoder's reconstructions (ae1, ae2, ... where they exist), of the fresh scans they
reconstruct and of the shipped model's default cell, and each autoencoder's training record
(NAME/autoencoder.json).
Usage: ae_table.py WORKDIR
Reads the numbers; recomputes none."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table  # noqa: E402


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    names = ["ae%d" % k for k in range(1, 10) if os.path.exists(os.path.join(work, "ae%d" % k, "autoencoder.json"))]
    for n in names:
        info = json.load(open(os.path.join(work, n, "autoencoder.json")))
        t = info["training"]
        adv = info["run"].get("adversarial")
        adv_text = (", adversarial weight %g from step %d (discriminator %d channels, %d layers)" %
                    (adv["weight"], adv["start"], adv["channels"], adv["layers"]) if adv else "")
        print("autoencoder %s: %d latent channels, factor %d, %d parameters%s, %d steps, %.0f s (%.1f images/s), "
              "validation deviance %.4f per pixel" %
              (n, info["config"]["latent_channels"], 2 ** (len(info["config"]["channel_mult"]) - 1), info["parameters"],
               adv_text, t["steps_done"], t["seconds"], t["images_per_s"], t["final_val_deviance"]))
    print()
    print_audit_table(work, "", [n + "-recon" for n in names] + ["fresh-7004", "ft1m-C2-gi1.5-logsnr"],
                      privacy=False)


if __name__ == "__main__":
    main()
