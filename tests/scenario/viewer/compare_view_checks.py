"""citytwin-view BASE.h5 VARIANT.h5 (docs/viewer.md, compare mode) under Xvfb: Monaco against
heavier rain. A screenshot at a given time shows both halves; a click on a building reports its
water depth in both runs, as the run files record it; runs of different cities are refused.
Usage: compare_view_checks.py CITYTWIN CITYTWIN_VIEW."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from PIL import Image

CITYTWIN, VIEW = sys.argv[1], sys.argv[2]
UNTIL = "6min" if "ASAN_OPTIONS" in os.environ else "10min"
BASE = "scenarios/monaco.toml"
RAIN = "scenarios/whatif/monaco-heavier-rain.toml"  # 30 -> 36 mm/h
W, H = 960, 540


def expect(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def make_runs(tmp):
    """Both runs at once, one thread each (two cores)."""
    procs = [(s, f"{tmp}/{name}", subprocess.Popen(
        [CITYTWIN, "run", s, "--until", UNTIL, "--threads", "1", "--out", f"{tmp}/{name}", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        for name, s in (("base", BASE), ("rain", RAIN))]
    for s, _, p in procs:
        _, err = p.communicate(timeout=600)
        expect(p.returncode == 0, f"run {s}: exit {p.returncode} {err[-1000:]}")
    return [f"{d}/run.h5" for _, d, _ in procs]


def view(*args):
    return subprocess.run([VIEW, *args], capture_output=True, text=True, timeout=300)


def main():
    tmp = tempfile.mkdtemp(prefix="citytwin_compare_view_")
    try:
        base, rain = make_runs(tmp)
        fb, fv = h5py.File(base), h5py.File(rain)
        t_end = float(fb["/time"][-1])
        k = len(fb["/time"]) - 1
        depth_b = fb["/exchange/building_depth_m"][k]
        depth_v = fv["/exchange/building_depth_m"][k]
        # The building deeper in the variant nearest the middle of the city: the top camera looks
        # straight down at it.
        b = fb["/city/buildings"]
        x, y = b["centroid_x"][:], b["centroid_y"][:]
        roof = b["ground_m"][:] + b["height_m"][:]
        ext = fb["/city/extent"][:]
        deeper = np.flatnonzero(depth_v > depth_b + 0.02)
        expect(len(deeper) > 0, f"heavier rain floods some building deeper ({len(deeper)})")
        d2 = (x[deeper] - 0.5 * (ext[0] + ext[2])) ** 2 + (y[deeper] - 0.5 * (ext[1] + ext[3])) ** 2
        i = int(deeper[np.argmin(d2)])

        shot = f"{tmp}/split.png"
        r = view(base, rain, "--at", f"{t_end:g}", "--frames", "6", "--size", f"{W}x{H}",
                 "--camera", "top", "--click-at", f"{x[i]:.2f},{y[i]:.2f},{roof[i] - 0.05:.2f}",
                 "--screenshot", shot)
        print(r.stdout, r.stderr[-2000:])
        expect(r.returncode == 0, f"citytwin-view BASE VARIANT: exit {r.returncode}")

        # The click: building, its depth in both runs as recorded at the clock's frame.
        m = re.search(r"picked at t = (\d+) s: building (\d+) .*\n\s+water: base ([-\d.]+) m, "
                      r"variant ([-\d.]+) m \(([-+\d.]+) m\)", r.stdout)
        expect(m is not None, "the click on a building is printed with its water in both runs")
        t, j = int(m.group(1)), int(m.group(2))
        expect(t == round(t_end), f"at the clock's time ({t} s)")
        expect(j == i, f"the clicked building is the one under the pixel ({j}, aimed at {i})")
        expect(abs(float(m.group(3)) - depth_b[j]) <= 0.006,
               f"base depth {m.group(3)} m is the base run's ({depth_b[j]:.3f} m)")
        expect(abs(float(m.group(4)) - depth_v[j]) <= 0.006,
               f"variant depth {m.group(4)} m is the variant run's ({depth_v[j]:.3f} m)")

        # Both halves: a city picture each (below the HUD, above the time slider), and not the
        # same picture (the variant's water).
        img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
        expect(img.shape == (H, W, 3), f"the screenshot is the window ({img.shape})")
        rows = slice(H // 4, H * 3 // 4)
        left, right = img[rows, : W // 2], img[rows, W // 2: W // 2 * 2]
        for name, half in (("left", left), ("right", right)):
            n = len(np.unique(half.reshape(-1, 3), axis=0))
            expect(n > 200, f"the {name} half is a picture of the city ({n} colours)")
        changed = np.mean(np.any(np.abs(left - right) > 30, axis=2))
        expect(0.001 < changed < 0.5, f"the halves show different runs ({100 * changed:.2f} % of pixels)")

        # The difference layer: red where the variant is deeper.
        diff = f"{tmp}/difference.png"
        r = view(base, rain, "--at", f"{t_end:g}", "--frames", "4", "--size", f"{W}x{H}",
                 "--camera", "top", "--difference", "--screenshot", diff)
        expect(r.returncode == 0, f"--difference: exit {r.returncode} {r.stderr[-1000:]}")
        d = np.asarray(Image.open(diff).convert("RGB")).astype(int)[rows]
        red = np.mean((d[..., 0] > 180) & (d[..., 0] - d[..., 1] > 60) & (d[..., 0] - d[..., 2] > 80))
        expect(red > 0.0005, f"the difference layer shows where the variant is deeper in red ({100 * red:.2f} %)")

        # Incomparable runs are refused with the rules of citytwin compare (one owner).
        with open(f"{tmp}/small.toml", "w") as f:
            f.write(f'extends = "{os.path.abspath("scenarios/monaco-uncoupled.toml")}"\n'
                    '[scenario]\nname = "monaco-small"\n[city]\nbbox = [7.415, 43.725, 7.435, 43.745]\n')
        r = subprocess.run([CITYTWIN, "run", f"{tmp}/small.toml", "--until", "1min", "--out", f"{tmp}/small",
                            "--quiet"], capture_output=True, text=True, timeout=300)
        expect(r.returncode == 0, f"run the small city: {r.stderr[-500:]}")
        r = view(base, f"{tmp}/small/run.h5")
        expect(r.returncode == 2 and "different cities" in r.stderr,
               f"runs of different cities: exit 2 naming the difference ({r.stderr.strip()[:300]})")
        r = view(base, f"{tmp}/nothing.h5")
        expect(r.returncode == 2 and "nothing.h5" in r.stderr,
               f"a missing variant: exit 2 naming it ({r.stderr.strip()[:300]})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
