#!/usr/bin/python3
"""One sheet of the same five validation scans over each autoencoder's reconstructions
(expected counts), from the sheets `autoencoder train` writes at its last step
(NAME/samples/step_NNNNNN.png: validation scans in the top half, reconstructions below).
Usage: ae_sheet.py WORKDIR OUT.png NAME... (every NAME trained on the same data and seed, so
their sheets show the same validation scans; checked)."""
import glob
import os
import sys

from PIL import Image, ImageDraw


def last_sheet(work, name):
    sheets = sorted(glob.glob(os.path.join(work, name, "samples", "step_*.png")))
    if not sheets:
        sys.exit("ae_sheet.py: %s has no samples/step_*.png" % os.path.join(work, name))
    return Image.open(sheets[-1]).convert("L")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    work, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    sheets = [last_sheet(work, n) for n in names]
    w, h = sheets[0].size
    half = h // 2
    top = sheets[0].crop((0, 0, w, half))
    for n, s in zip(names[1:], sheets[1:]):
        if s.size != (w, h) or list(s.crop((0, 0, w, half)).getdata()) != list(top.getdata()):
            sys.exit("ae_sheet.py: %s's validation scans differ from %s's" % (n, names[0]))
    label_w = 60
    canvas = Image.new("L", (label_w + w, half * (1 + len(names))), 255)
    draw = ImageDraw.Draw(canvas)
    canvas.paste(top, (label_w, 0))
    draw.text((4, half // 2), "scans", fill=0)
    for k, (n, s) in enumerate(zip(names, sheets)):
        canvas.paste(s.crop((0, half, w, 2 * half)), (label_w, half * (k + 1)))
        draw.text((4, half * (k + 1) + half // 2), n, fill=0)
    canvas.save(out, optimize=True)


if __name__ == "__main__":
    main()
