#!/usr/bin/python3
"""Side-by-side figure: the real reference (KU Leuven, head left) and a simulated scan.

usage: sim_vs_reference.py REFERENCE.png CASE.png OUT.png
CASE.png is a preview written by `phantom_realism sheet` (anterior | posterior, head up); it is
turned head-left and stacked anterior over posterior like the reference.
"""
import sys
from PIL import Image


def main():
    ref = Image.open(sys.argv[1]).convert('L')
    case = Image.open(sys.argv[2]).convert('L')
    w, h = case.size
    # Crop empty rows below the feet (the previews keep the full field of view).
    rows = [r for r in range(h) if min(case.crop((0, r, w, r + 1)).getdata()) < 235]
    bottom = min(h, max(rows) + 8) if rows else h
    ant = case.crop((0, 0, w // 2, bottom)).rotate(90, expand=True)
    post = case.crop((w // 2, 0, w, bottom)).rotate(90, expand=True)
    sim = Image.new('L', (ant.width, ant.height * 2 + 8), 255)
    sim.paste(ant, (0, 0))
    sim.paste(post, (0, ant.height + 8))
    H = 420
    ref = ref.resize((int(ref.width * H / ref.height), H), Image.LANCZOS)
    sim = sim.resize((int(sim.width * H / sim.height), H), Image.LANCZOS)
    out = Image.new('L', (ref.width + sim.width + 16, H), 255)
    out.paste(ref, (0, 0))
    out.paste(sim, (ref.width + 16, 0))
    out.save(sys.argv[3], optimize=True)


main()
