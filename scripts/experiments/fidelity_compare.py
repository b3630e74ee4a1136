#!/usr/bin/env python3
"""One picture of simulator and generated scans side by side, for the same conditions.

Stacks the per-(set, condition) contact sheets that fidelity_sheets.sh writes into
WORKDIR/sheets: one row per condition (no finding; metastasis; Perugini 3 with DPD), the real
set's five scans on the left and the synthetic set's on the right, each with a caption.
  fidelity_compare.py WORKDIR REAL_SET SYN_SET OUT.png "synthetic caption"
Needs Pillow (python3-pil, installed by scripts/install-deps.sh).
"""
import sys
from pathlib import Path

from PIL import Image, ImageDraw

CONDITIONS = [("normal", "no finding (no metastasis, Perugini 0)"),
              ("metastasis", "metastasis, Perugini 0"),
              ("grade3", "Perugini 3, DPD, no metastasis")]
GAP = 16
CAPTION = 18


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    work, real, syn, out, syn_caption = Path(argv[1]), argv[2], argv[3], Path(argv[4]), argv[5]
    rows = []
    for cond, title in CONDITIONS:
        pair = []
        for name in (real, syn):
            path = work / "sheets" / f"{name}_{cond}.png"
            if not path.is_file():
                sys.exit(f"{path}: missing (run fidelity_sheets.sh {work} {name} first)")
            pair.append(Image.open(path).convert("L"))
        rows.append((title, pair))
    left = max(pair[0].width for _, pair in rows)
    right = max(pair[1].width for _, pair in rows)
    height = CAPTION + sum(CAPTION + max(im.height for im in pair) + GAP for _, pair in rows)
    sheet = Image.new("L", (left + GAP + right, height), 255)
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 2), "simulator (real)", fill=0)
    draw.text((left + GAP + 4, 2), syn_caption, fill=0)
    y = CAPTION
    for title, (a, b) in rows:
        draw.text((4, y + 2), title, fill=0)
        y += CAPTION
        sheet.paste(a, (0, y))
        sheet.paste(b, (left + GAP, y))
        draw.line([(left + GAP // 2, y), (left + GAP // 2, y + max(a.height, b.height))], fill=160)
        y += max(a.height, b.height) + GAP
    tmp = out.with_suffix(".tmp.png")
    sheet.save(tmp, optimize=True)
    tmp.replace(out)
    print(f"wrote {out} ({sheet.width} x {sheet.height})")


if __name__ == "__main__":
    main(sys.argv)
