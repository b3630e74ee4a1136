#!/usr/bin/env python3
"""The ae1 table (docs/experiments/fidelity.md, "Latent diffusion, step 1: the autoencoder's
ceiling") from a work folder of scripts/experiments/ae_ceiling.sh: audit-CELL/audit.json of the
reconstructions, of the fresh scans they reconstruct and of the shipped model's default cell,
and the autoencoder's training record (ae1/autoencoder.json).
Usage: ae_table.py WORKDIR
Reads the numbers; recomputes none."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fidelity_table import print_audit_table  # noqa: E402


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "."
    info = json.load(open(os.path.join(work, "ae1", "autoencoder.json")))
    t = info["training"]
    print("autoencoder ae1: %d parameters, %d steps, %.0f s (%.1f images/s), validation deviance %.4f per pixel" %
          (info["parameters"], t["steps_done"], t["seconds"], t["images_per_s"], t["final_val_deviance"]))
    print()
    print_audit_table(work, "", ["ae1-recon", "fresh-7004", "ft1m-C2-gi1.5-logsnr"], privacy=False)


if __name__ == "__main__":
    main()
