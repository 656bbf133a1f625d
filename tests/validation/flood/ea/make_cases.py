#!/usr/bin/env python3
"""Write the Environment Agency 2D benchmark cases (Neelz & Pender 2013, SC120002) as
LISFLOOD-FP inputs: ESRI ASCII DEM, .par (one per solver), .bci, .bdy, .stage and, where
the case starts wet, a start-depth grid.  Sources and what is exact or reconstructed:
README.md next to this file.

    python3 make_cases.py [OUTDIR]          (default build/validation/ea)

Each case goes to OUTDIR/<case>/.  Pure Python (no numpy)."""
import math
import os
import sys

SOLVERS = {"acc": "acceleration", "fv1": "fv1"}  # CityTwin: inertial, godunov


def write_asc(path, grid, x0, y0, dx, nodata=-9999.0):
    """grid[r][c], row 0 = north."""
    with open(path, "w") as f:
        f.write(f"ncols {len(grid[0])}\nnrows {len(grid)}\nxllcorner {x0}\n"
                f"yllcorner {y0}\ncellsize {dx}\nNODATA_value {nodata}\n")
        for row in grid:
            f.write(" ".join(f"{v:.4f}" for v in row) + "\n")


def make_grid(nx, ny, dx, z):
    """Cell-centre sampling of z(x, y), rows north first."""
    return [[z((c + 0.5) * dx, (ny - r - 0.5) * dx) for c in range(nx)] for r in range(ny)]


def write_case(out, name, grid, dx, bci, series, points, sim_time, massint, saveint,
               tstep, n, start=None):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    write_asc(os.path.join(d, f"{name}.asc"), grid, 0.0, 0.0, dx)
    with open(os.path.join(d, f"{name}.bci"), "w") as f:
        f.write("".join(line + "\n" for line in bci))
    with open(os.path.join(d, f"{name}.bdy"), "w") as f:
        f.write(f"{name} boundary series (value time; discharges in m2/s per unit width)\n")
        for sname, rows in series.items():
            f.write(f"{sname}\n{len(rows)} seconds\n")
            f.write("".join(f"{v:g} {t:g}\n" for t, v in rows))
    with open(os.path.join(d, f"{name}.stage"), "w") as f:
        f.write(f"{len(points)}\n" + "".join(f"{x:g} {y:g}\n" for x, y in points))
    if start is not None:
        write_asc(os.path.join(d, f"{name}.start"), start, 0.0, 0.0, dx)
    for tag, key in SOLVERS.items():
        lines = [f"DEMfile {name}.asc", f"resroot {name}", f"dirroot results-{tag}",
                 f"sim_time {sim_time:g}", f"initial_tstep {tstep:g}", f"massint {massint:g}",
                 f"saveint {saveint:g}", f"fpfric {n:g}", f"bcifile {name}.bci",
                 f"bdyfile {name}.bdy", f"stagefile {name}.stage"]
        if start is not None:
            lines.append(f"startfile {name}.start")
        lines.append(key)
        with open(os.path.join(d, f"{name}-{tag}.par"), "w") as f:
            f.write("\n".join(lines) + "\n")


def profile(points, x):
    """Piecewise-linear interpolation through (x, z) points."""
    for (xa, za), (xb, zb) in zip(points, points[1:]):
        if x <= xb:
            return za + (zb - za) * (x - xa) / (xb - xa)
    return points[-1][1]


# Test 1 (reconstructed, see README): 700 m x 100 m, uniform across y.
EA1_PROFILE = [(0, 9.0), (150, 9.0), (300, 10.1), (350, 10.1), (450, 9.0), (600, 9.0), (700, 10.5)]
EA1_CREST = 10.1


def ea1(out):
    dx = 10.0
    grid = make_grid(70, 10, dx, lambda x, y: profile(EA1_PROFILE, x))
    start = [[max(0.0, 9.7 - z) if (c + 0.5) * dx < 300 else 0.0 for c, z in enumerate(row)]
             for row in grid]
    levels = [(0, 9.7), (3600, 10.35), (10800, 10.35), (14400, 9.7), (72000, 9.7)]
    write_case(out, "ea1", grid, dx, ["W 0 100 HVAR test1"], {"test1": levels},
               [(75, 50), (525, 50)], 72000, 300, 3600, 1.0, 0.03, start)


# Test 2 (synthetic egg box, see README): 2000 m square, 20 m cells.
def ea2_bed(x, y):
    plane = 2.0 * (1.0 - (x + (2000.0 - y)) / 4000.0)  # 2 m fall NW -> SE
    s = lambda u: math.sin(math.pi * (u % 500.0) / 500.0)
    return plane - 0.5 * s(x) * s(y)


EA2_POINTS = [(x, y) for y in (1750, 1250, 750, 250) for x in (250, 750, 1250, 1750)]


def ea2(out):
    dx = 20.0
    grid = make_grid(100, 100, dx, ea2_bed)
    q = 20.0 / 100.0  # 20 m3/s over the 100 m inflow line
    hyd = [(0, 0), (300, 0), (600, q), (5160, q), (5460, 0), (172800, 0)]
    write_case(out, "ea2", grid, dx, ["W 1900 2000 QVAR test2"], {"test2": hyd},
               EA2_POINTS, 172800, 600, 3600, 1.0, 0.03)


# Test 4 (exact, from ea4.bci/.bdy/.stage of Shaw et al. 2021): flat 1000 m x 2000 m.
EA4_POINTS = [(50, 1000), (100, 1000), (200, 1000), (300, 1000), (400, 1000), (300, 1300)]


def ea4(out):
    dx = 5.0
    grid = make_grid(200, 400, dx, lambda x, y: 0.0)
    q = 20.0 / 20.0  # peak 20 m3/s over the 20 m opening
    hyd = [(0, 0), (300, 0), (3600, q), (14400, q), (18000, 0)]
    write_case(out, "ea4", grid, dx, ["W 990 1010 QVAR test4"], {"test4": hyd},
               EA4_POINTS, 18000, 60, 3600, 1.0, 0.05)


# Test 6A (Soares-Frazao & Zech 2007 flume, geometry as in GeoscienceAustralia/ptha SWALS).
EA6A_BUILDING = [(10.99, 1.75), (11.340697, 2.469035), (11.700215, 2.293687),
                 (11.349518, 1.574652)]
EA6A_POINTS = [(10.20, 2.95), (10.20, 1.20), (11.55, 2.95), (11.55, 1.00), (12.75, 2.10),
               (5.68, 2.90)]


def inside(poly, x, y):
    k = False
    for (xa, ya), (xb, yb) in zip(poly, poly[1:] + poly[:1]):
        if (ya > y) != (yb > y) and x < xa + (xb - xa) * (y - ya) / (yb - ya):
            k = not k
    return k


def ea6a_bed(x, y):
    if 6.75 <= x <= 7.55 and not (1.3 <= y <= 2.3):
        return 1.0  # dam wall either side of the 1 m gate
    if inside(EA6A_BUILDING, x, y):
        return 1.0
    if y < 0.34:
        return 0.155 / 0.34 * (0.34 - y)  # side slopes, as in the SWALS setup
    if y > 3.26:
        return 0.155 / 0.34 * (y - 3.26)
    return 0.0


def ea6a(out):
    dx = 0.1
    nx, ny = 358, 36
    grid = make_grid(nx, ny, dx, ea6a_bed)
    start = [[max(0.0, (0.40 if (c + 0.5) * dx < 6.75 else 0.02) - z) if z < 1.0 else 0.0
              for c, z in enumerate(row)] for row in grid]
    write_case(out, "ea6a", grid, dx, ["E 0 3.6 FREE"], {}, EA6A_POINTS,
               40, 0.1, 5, 0.01, 0.01, start)


CASES = {"ea1": ea1, "ea2": ea2, "ea4": ea4, "ea6a": ea6a}

if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "build/validation/ea"
    for case, make in CASES.items():
        make(outdir)
        print(f"wrote {os.path.join(outdir, case)}")
