"""KPIs of a run (docs/kpi.md): `citytwin kpi RUN --json` against values computed here from the
run file with h5py/numpy (and its CSV files) by their documented definitions.
Usage: kpi_checks.py CITYTWIN CHECK."""
import csv
import heapq
import json
import math
import os
import shutil
import tempfile

import cli_common
from cli_common import CHECK, run, ok

# The flash flood (80 mm/h): water, closures, failed kiosks and unpowered buildings early on.
SCENARIO = "scenarios/monaco-flash-flood.toml"
ASAN = "ASAN_OPTIONS" in os.environ
# Under the sanitizers a shorter run: the same code paths, too little water yet for the depth
# thresholds (those are checked by the release run).
UNTIL = "6min" if ASAN else "15min"


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def close(a, b, tol, what):
    expect(a is not None and abs(a - b) <= tol, f"{what}: citytwin {a}, here {b} (tolerance {tol:g})")


def kpis(path):
    j = json.loads(ok("kpi", path, "--json"))
    return {r["id"]: r["value"] for r in j["kpis"]}


def nearest(nx, ny, qx, qy):
    import numpy as np

    out = np.empty(len(qx), dtype=np.int64)
    for s in range(0, len(qx), 512):
        d = (qx[s:s + 512, None] - nx[None, :]) ** 2 + (qy[s:s + 512, None] - ny[None, :]) ** 2
        out[s:s + 512] = np.argmin(d, axis=1)
    return out


def dijkstra(n, links, sources):
    t = [math.inf] * n
    heap = [(0.0, s) for s in sources]
    for s in sources:
        t[s] = 0.0
    while heap:
        d, u = heapq.heappop(heap)
        if d > t[u]:
            continue
        for v, w in links[u]:
            if d + w < t[v]:
                t[v] = d + w
                heapq.heappush(heap, (d + w, v))
    return t


def p95(values, weights):
    pairs = sorted(zip(values, weights))
    total = sum(w for _, w in pairs)
    acc = 0.0
    for v, w in pairs:
        acc += w
        if acc >= 0.95 * total:
            return v
    return pairs[-1][0]


def values():
    import h5py
    import numpy as np

    tmp = tempfile.mkdtemp(prefix="citytwin_kpi_")
    try:
        ok("run", SCENARIO, "--until", UNTIL, "--threads", "2", "--out", tmp, "--quiet")
        k = kpis(tmp)
        with h5py.File(f"{tmp}/run.h5", "r") as f:
            t = f["/time"][:]
            span = np.append(np.diff(t), 0.0)
            # Flood: areas from the max-depth raster, buildings from their max depths.
            dx = float(f["/flood"].attrs["dx"])
            md = f["/flood/max_depth"][:]
            for thr, kid in ((0.1, "flood.area_over_0_1m"), (0.3, "flood.area_over_0_3m"),
                             (1.0, "flood.area_over_1m")):
                close(k[kid], float((md > thr).sum()) * dx * dx / 1e4, 1e-9, kid)
            expect(ASAN or k["flood.area_over_0_3m"] > 0, "the flash flood floods more than 0.3 m deep")
            bmd = f["/flood/building_max_depth"][:]
            res = f["/city/buildings/residents"][:]
            close(k["flood.buildings_over_0_3m"], float((bmd > 0.3).sum()), 0, "buildings > 0.3 m")
            people = float(res[bmd > 0.3].astype(np.float64).sum())
            close(k["flood.residents_flooded"], people, 1e-6 * max(1.0, people),
                  "residents in flooded buildings")
            # Power: energy not supplied, step-accurate, and the frames' integral beside it.
            unserved = f["/power/unserved_mw"][:]
            ens = float(f["/power"].attrs["unserved_mwh"])
            close(k["power.unserved_energy"], ens, 1e-12, "energy not supplied = /power unserved_mwh")
            expect(ASAN or ens > 0, "the flash flood leaves load unserved")
            frames = float((unserved * span).sum()) / 3600.0
            every = float(np.max(np.diff(t)))
            close(ens, frames, float(unserved.max()) * every / 3600.0 + 1e-9,
                  "energy not supplied against the frames' integral (one frame of the peak)")
            cu = f["/power/customers_unserved"][:]
            close(k["power.customer_minutes_lost"], float((cu * span).sum()) / 60.0, 1e-6,
                  "customer-minutes lost")
            # Traffic: delay and distance over inserted vehicles; travel times of arrivals.
            st = f["/traffic/trips/status"][:]
            ins = f["/traffic/trips/insert_s"][:]
            arr = f["/traffic/trips/arrival_s"][:]
            inserted = ~np.isnan(ins)
            delay = float(f["/traffic/trips/time_loss_s"][:][inserted].astype(np.float64).sum()) / 3600.0
            close(k["traffic.delay"], delay, 1e-9 * max(1.0, delay), "total delay (vehicle-hours)")
            expect(k["traffic.delay"] > 0, "vehicles lose time")
            tt = (arr - ins)[st == 2]
            close(k["traffic.trips_completed"], float(len(tt)), 0, "trips completed")
            close(k["traffic.travel_time_p95"], float(np.sort(tt)[math.ceil(0.95 * len(tt)) - 1]), 1e-9,
                  "p95 travel time (nearest rank)")
            # The trips CSV is written by other code: its durations must agree.
            with open(f"{tmp}/traffic_trips.csv") as fh:
                durations = [float(r["duration"]) for r in csv.DictReader(fh)]
            close(len(durations), len(tt), 0, "traffic_trips.csv has a row per completed trip")
            close(k["traffic.travel_time_mean"], sum(durations) / len(durations), 0.006,
                  "mean travel time against traffic_trips.csv (2 decimals)")
            closed = f["/traffic/link_closed"][:]
            lh = float((closed.sum(axis=1) * span).sum()) / 3600.0
            close(k["traffic.link_hours_closed"], lh, 1e-9, "link-hours closed at frame resolution")
            ever = float(closed.any(axis=0).sum())
            close(lh, float(f["/coupling"].attrs["link_hours_closed"]), ever * every / 3600.0 + 1e-9,
                  "link-hours closed against the coupling's per-step count (one frame per link)")
            # Access: drive times from the nearest fire station, every road open.
            nx, ny = f["/city/roads/node_x"][:], f["/city/roads/node_y"][:]
            lf, lt = f["/city/roads/link_from"][:], f["/city/roads/link_to"][:]
            tl = f["/city/roads/link_length_m"][:].astype(np.float64) / \
                np.maximum(f["/city/roads/link_speed_mps"][:].astype(np.float64), 0.1)
            links = [[] for _ in range(len(nx))]
            for a, b, w in zip(lf, lt, tl):
                links[a].append((b, w))
            kind = f["/city/facilities/kind"][:]
            fire = np.flatnonzero(kind == 1)
            expect(len(fire) > 0, "Monaco's fire stations are imported")
            src = set(nearest(nx, ny, f["/city/facilities/x"][:][fire], f["/city/facilities/y"][:][fire]))
            tn = dijkstra(len(nx), links, sorted(src))
            bn = nearest(nx, ny, f["/city/buildings/centroid_x"][:], f["/city/buildings/centroid_y"][:])
            vals = [tn[n] / 60.0 for n, r in zip(bn, res) if r > 0 and math.isfinite(tn[n])]
            wts = [float(r) for n, r in zip(bn, res) if r > 0 and math.isfinite(tn[n])]
            close(k["coupled.fire_access_p95_open"], p95(vals, wts), 1e-9,
                  "fire access p95 with every road open (Dijkstra here)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bad_input():
    import h5py

    tmp = tempfile.mkdtemp(prefix="citytwin_kpi_bad_")
    try:
        r = run("kpi", "scenarios/monaco.toml")
        expect(r.returncode == 2 and "scenarios/monaco.toml" in r.stderr,
               f"a non-HDF5 file: exit 2 naming it ({r.returncode}: {r.stderr.strip()})")
        r = run("kpi", f"{tmp}/missing.h5")
        expect(r.returncode == 2 and "missing.h5" in r.stderr, f"a missing file: exit 2 ({r.stderr.strip()})")
        ok("run", "scenarios/monaco-uncoupled.toml", "--until", "1min", "--out", f"{tmp}/u", "--quiet")
        with h5py.File(f"{tmp}/u/run.h5", "r+") as f:
            f["/meta"].attrs["complete"] = 0
        r = run("kpi", f"{tmp}/u")
        expect(r.returncode == 2 and "did not finish" in r.stderr,
               f"an unfinished run: exit 2 saying so ({r.stderr.strip()})")
        # Every KPI is documented, by its id, in docs/kpi.md.
        with open("docs/kpi.md") as fh:
            doc = fh.read()
        ids = [d["id"] for d in json.loads(ok("kpi", "--list", "--json"))]
        missing = [i for i in ids if f"`{i}`" not in doc]
        expect(not missing, f"docs/kpi.md documents every KPI (missing: {missing})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


{"values": values, "bad_input": bad_input}[CHECK]()
