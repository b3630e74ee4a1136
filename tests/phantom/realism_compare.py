#!/usr/bin/python3
"""Compares simulated normal scans with the real NM1 scan using the same statistics.

usage: realism_compare.py NM1.dcm normals.f32 N H W PIXEL_MM
Prints a markdown table (docs/SIMULATOR.md). Statistics, all on the anterior view:
  max, total counts; bone/soft = P90 / P25 of body pixels after 5x5 box smoothing (body: smoothed
  > 10% of its 99th percentile); noise = var(horizontal neighbour difference) / mean(pair sum)
  over body pixels (1 for Poisson counts on a smooth image); width (mm) of the body at fractions
  of its length (top = vertex, bottom = soles; body rows: row sum > 2% of the largest).
"""
import sys
import numpy as np
import pydicom


def box5(a):
    k = np.ones(5) / 5
    s = np.apply_along_axis(lambda r: np.convolve(r, k, 'same'), 1, a)
    return np.apply_along_axis(lambda r: np.convolve(r, k, 'same'), 0, s)


FRACS = [0.12, 0.22, 0.32, 0.45, 0.6, 0.8]


def stats(a, pix):
    s = box5(a)
    body = s > 0.10 * np.percentile(s[s > 0], 99)
    vals = s[body]
    d = a[:, 1:] - a[:, :-1]
    m = body[:, 1:] & body[:, :-1]
    noise = (d[m] ** 2).mean() / (a[:, 1:][m] + a[:, :-1][m]).mean()
    rows = np.nonzero(s.sum(1) > 0.02 * s.sum(1).max())[0]
    top, bot = rows.min(), rows.max()
    widths = []
    for f in FRACS:
        r = int(top + f * (bot - top))
        cols = np.nonzero(body[r])[0]
        widths.append((cols.max() - cols.min() + 1) * pix if len(cols) else 0)
    return dict(max=a.max(), total=a.sum(), ratio=np.percentile(vals, 90) / np.percentile(vals, 25), noise=noise,
                length=(bot - top) * pix, widths=widths)


def main():
    nm1, raw, n, h, w, pix = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    d = pydicom.dcmread(nm1)
    real = stats(d.pixel_array.astype(float), float(d.PixelSpacing[0]))
    sims = [stats(x.astype(float), pix) for x in np.fromfile(raw, dtype=np.float32).reshape(n, h, w)]
    def rng(key, fmt):
        v = np.array([s[key] for s in sims])
        return (fmt % np.median(v)) + ' (' + (fmt % v.min()) + '-' + (fmt % v.max()) + ')'
    print('| statistic (anterior view) | real NM1 | simulated normals, median (min-max), n=%d |' % n)
    print('|---|---|---|')
    print('| max counts/pixel | %d | %s |' % (real['max'], rng('max', '%.0f')))
    for s in sims:
        s['total_m'] = s['total'] / 1e6
    print('| total counts (millions) | %.2f | %s |' % (real['total'] / 1e6, rng('total_m', '%.2f')))
    print('| bone/soft ratio (P90/P25, 5x5) | %.2f | %s |' % (real['ratio'], rng('ratio', '%.2f')))
    print('| noise index var(diff)/mean(sum) | %.2f | %s |' % (real['noise'], rng('noise', '%.2f')))
    print('| body length mm | %.0f | %s |' % (real['length'], rng('length', '%.0f')))
    for i, f in enumerate(FRACS):
        v = np.array([s['widths'][i] for s in sims])
        print('| width at %d%% of length, mm | %.0f | %.0f (%.0f-%.0f) |' % (f * 100, real['widths'][i], np.median(v), v.min(), v.max()))


main()
