"""What-if comparison as a planner uses it (docs/compare.md): Monaco against heavier rain and
against a closed bridge, the report opened in a real browser (headless Chromium, no network),
and runs of different cities refused. Usage: compare_checks.py CITYTWIN CHECK."""
import csv
import json
import os
import re
import shutil
import subprocess
import tempfile

import cli_common
from cli_common import CHECK, run, ok

ASAN = "ASAN_OPTIONS" in os.environ
UNTIL = "8min" if ASAN else "20min"
BASE = "scenarios/monaco.toml"
RAIN = "scenarios/whatif/monaco-heavier-rain.toml"      # 30 -> 36 mm/h
BRIDGE = "scenarios/whatif/monaco-bridge-closed.toml"   # links 350-353 closed all run
BRIDGE_LINKS = [350, 351, 352, 353]


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def runs(tmp, *scenarios, until=UNTIL):
    """Runs the scenarios two at a time, one thread each (the machine has two cores)."""
    out = []
    procs = []
    for i, s in enumerate(scenarios):
        d = f"{tmp}/run{i}"
        procs.append((s, subprocess.Popen([cli_common.CITYTWIN, "run", s, "--until", until, "--threads", "1",
                                           "--out", d, "--quiet"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True)))
        out.append(d)
        if len(procs) == 2 or i == len(scenarios) - 1:
            for name, p in procs:
                _, err = p.communicate(timeout=1800)
                expect(p.returncode == 0, f"run {name}: exit {p.returncode}: {err[-2000:]}")
            procs = []
    return out


def kpis(folder):
    with open(f"{folder}/kpi.json") as f:
        return {r["id"]: r for r in json.load(f)["kpis"]}


def heavier_rain(tmp, base, rain):
    out = f"{tmp}/cmp_rain"
    print(ok("compare", base, rain, "--out", out))
    k = kpis(out)
    for kid in ("flood.area_over_0_1m", "flood.buildings_over_0_1m", "flood.rain_volume"):
        expect(k[kid]["variant"] > k[kid]["base"],
               f"20 % more rain: {kid} rises ({k[kid]['base']} -> {k[kid]['variant']})")
    close = abs(k["flood.rain_volume"]["variant"] / k["flood.rain_volume"]["base"] - 1.2) < 1e-3
    expect(close, "the rain volume grows by 20 %")
    for f in ("kpi.csv", "kpi.json", "series.csv", "max_depth_difference.tif", "flood_extent_change.tif",
              "links.csv", "links.geojson", "buildings.geojson", "report.html"):
        expect(os.path.getsize(f"{out}/{f}") > 0, f"compare wrote {f}")
    # The difference raster is the variant's max depth minus the base's where either is flooded.
    import h5py
    import numpy as np
    from osgeo import gdal

    ds = gdal.Open(f"{out}/max_depth_difference.tif")
    diff = ds.GetRasterBand(1).ReadAsArray()[::-1]  # the file runs north to south
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    with h5py.File(f"{base}/run.h5") as fb, h5py.File(f"{rain}/run.h5") as fv:
        mb, mv = fb["/flood/max_depth"][:], fv["/flood/max_depth"][:]
        bed = fb["/flood/bed"][:]
    wet = (np.maximum(mb, mv) > 0.1) & ~np.isnan(bed)
    expect(np.array_equal(diff != nodata, wet), "the difference raster has data exactly where a run is flooded")
    expect(np.allclose(diff[wet], (mv - mb)[wet], atol=1e-6), "difference = variant - base max depth")
    expect(float(diff[wet].sum()) > 0, "more rain, deeper water overall")
    with open(f"{out}/buildings.geojson") as f:
        gj = json.load(f)
    newly = [ft for ft in gj["features"] if "newly flooded" in ft["properties"]["change"]]
    # Under the sanitizers the runs are too short for buildings to flood 0.3 m deep.
    expect(ASAN or len(newly) > 0, f"buildings.geojson lists newly flooded buildings ({len(newly)})")
    for feature in (newly or gj["features"])[:1]:
        lon, lat = feature["geometry"]["coordinates"][0][0]
        expect(7.40 < lon < 7.45 and 43.71 < lat < 43.76, f"GeoJSON in WGS84 longitude/latitude ({lon}, {lat})")
    return out


def closed_bridge(tmp, base, bridge):
    out = f"{tmp}/cmp_bridge"
    print(ok("compare", base, bridge, "--out", out))
    with open(f"{out}/links.csv") as f:
        rows = {int(r["link"]): r for r in csv.DictReader(f)}
    num = lambda s: float(s) if s else None  # noqa: E731
    for link in BRIDGE_LINKS:
        r = rows[link]
        expect(num(r["variant_volume"]) == 0, f"no vehicle crosses the closed bridge link {link}")
        expect(num(r["variant_closed_h"]) > 0, f"link {link} closed in the variant")
        vt, bt = num(r["variant_time_s"]), num(r["base_time_s"])
        expect(vt is None or bt is None or vt >= bt, f"no lower travel time on bridge link {link}")
    base_bridge = sum(num(rows[link]["base_volume"]) for link in BRIDGE_LINKS)
    expect(base_bridge > 20, f"the base run uses the bridge ({base_bridge} vehicles)")
    # The detour: links that carry clearly more vehicles without the bridge.
    detour = [r for k, r in rows.items() if k not in BRIDGE_LINKS and num(r["volume_change"]) is not None
              and num(r["volume_change"]) >= 10 and num(r["time_change_s"]) is not None]
    expect(len(detour) >= 3, f"traffic moves to a detour ({len(detour)} links gain >= 10 vehicles)")
    wb = sum(num(r["base_time_s"]) * num(r["variant_volume"]) for r in detour)
    wv = sum(num(r["variant_time_s"]) * num(r["variant_volume"]) for r in detour)
    # (In the sanitizers' 8 minutes the streets are still light: checked by the 20-minute run.)
    expect(ASAN or wv > wb, f"travel times on the detour links rise ({wb:.0f} -> {wv:.0f} vehicle-seconds)")
    k = kpis(out)
    expect(k["traffic.link_hours_closed"]["variant"] > k["traffic.link_hours_closed"]["base"],
           "the closure shows in link-hours closed")
    return out


def browser(report_dir):
    """Headless Chromium opens report.html from disk with every host unresolvable."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    expect(chromium is not None, "chromium is installed (scripts/install-deps)")
    profile = tempfile.mkdtemp(prefix="citytwin_chromium_")
    url = "file://" + os.path.abspath(f"{report_dir}/report.html")
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
              "--proxy-server=127.0.0.1:9", "--enable-logging=stderr", "--v=0",
              "--virtual-time-budget=10000", "--window-size=1200,4000"]
    try:
        dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=300)
        expect(dom.returncode == 0, f"chromium loads the report: {dom.stderr[-1500:]}")
        console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
        expect(not console, f"no console messages: {console}")
        body = re.search(r"<body([^>]*)>", dom.stdout)
        expect(body is not None, "the DOM has a body")
        expect("data-errors" not in body.group(1), f"no script errors: {body.group(1)}")
        charts = re.search(r'data-charts="(\d+)"', body.group(1))
        n_series = dom.stdout.count('class="chart"')
        expect(charts and int(charts.group(1)) == n_series and n_series >= 5,
               f"every chart rendered on a canvas of non-zero size ({charts and charts.group(1)} of {n_series})")
        for kid in ("flood.area_over_0_1m", "flood.buildings_over_0_1m", "traffic.delay",
                    "power.unserved_energy", "coupled.residents_cut_off_fire"):
            expect(f'data-kpi="{kid}"' in dom.stdout, f"the KPI table has a row for {kid}")
        expect(dom.stdout.count("data:image/png;base64,") >= 4, "the maps are embedded in the page")
        shot = f"{report_dir}/report.png"
        s = subprocess.run(common + [f"--screenshot={shot}", url], capture_output=True, text=True, timeout=300)
        expect(s.returncode == 0 and os.path.exists(shot), f"chromium saves a screenshot: {s.stderr[-800:]}")
        from PIL import Image

        img = Image.open(shot).convert("RGB")
        colours = img.getcolors(maxcolors=1 << 20)
        expect(colours is not None and len(colours) > 200, f"the screenshot is not blank ({len(colours or [])} colours)")
        white = sum(c for c, rgb in colours if rgb == (255, 255, 255))
        expect(white < 0.9 * img.width * img.height, f"the screenshot has content ({white} white pixels)")
        # The chart canvases drew lines in the two series colours (#4e79a7, #e15759).
        pixels = set(rgb for _, rgb in colours)
        expect((0x4e, 0x79, 0xa7) in pixels and (0xe1, 0x57, 0x59) in pixels, "the charts drew both runs")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def whatif():
    tmp = tempfile.mkdtemp(prefix="citytwin_compare_")
    try:
        base, rain, bridge = runs(tmp, BASE, RAIN, BRIDGE)
        report = heavier_rain(tmp, base, rain)
        closed_bridge(tmp, base, bridge)
        browser(report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def different_cities():
    tmp = tempfile.mkdtemp(prefix="citytwin_compare_bad_")
    try:
        with open(f"{tmp}/small.toml", "w") as f:
            f.write(f'extends = "{os.path.abspath("scenarios/monaco-uncoupled.toml")}"\n'
                    '[scenario]\nname = "monaco-small"\n[city]\nbbox = [7.415, 43.725, 7.435, 43.745]\n')
        ok("run", "scenarios/monaco-uncoupled.toml", "--until", "1min", "--out", f"{tmp}/a", "--quiet")
        ok("run", f"{tmp}/small.toml", "--until", "1min", "--out", f"{tmp}/b", "--quiet")
        r = run("compare", f"{tmp}/a", f"{tmp}/b", "--out", f"{tmp}/c")
        expect(r.returncode == 2 and "different cities" in r.stderr and "buildings" in r.stderr,
               f"runs of different cities: exit 2 naming the difference ({r.returncode}: {r.stderr.strip()})")
        expect(not os.path.exists(f"{tmp}/c/report.html"), "no report for incomparable runs")
        r = run("compare", f"{tmp}/a", f"{tmp}/nothing", "--out", f"{tmp}/c")
        expect(r.returncode == 2 and "nothing" in r.stderr, f"a missing run: exit 2 naming it ({r.stderr.strip()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensemble():
    """A batch's members compared as an ensemble: KPI distributions and exceedance maps."""
    import h5py
    import numpy as np
    from osgeo import gdal

    tmp = tempfile.mkdtemp(prefix="citytwin_ensemble_")
    try:
        with open(f"{tmp}/ens.toml", "w") as f:
            f.write(f'[batch]\nscenario = "{os.path.abspath("scenarios/monaco-flash-flood.toml")}"\n'
                    f'until = "{"4min" if ASAN else "8min"}"\nseed = 3\nbase_member = false\n'
                    '[batch.monte_carlo]\nmembers = 4\n[[batch.monte_carlo.parameter]]\n'
                    'key = "flood.rain.intensity"\nunit = "mm/h"\ndistribution = "uniform"\n'
                    'min = 60\nmax = 120\n')
        ok("batch", f"{tmp}/ens.toml", "--threads", "2", "--out", f"{tmp}/b")
        print(ok("compare", f"{tmp}/b", "--out", f"{tmp}/c"))
        with open(f"{tmp}/c/ensemble_kpi.csv") as f:
            rows = list(csv.DictReader(f))
        expect([r["member"] for r in rows] == [f"members/mc-00{k}" for k in range(1, 5)],
               f"a row per member, in order: {[r['member'] for r in rows]}")
        areas, depths = [], []
        for r in rows:
            with h5py.File(f"{tmp}/b/{r['member']}/run.h5") as h:
                md = h["/flood/max_depth"][:]
                dx = float(h["/flood"].attrs["dx"])
                bed = h["/flood/bed"][:]
            areas.append(float((md > 0.1).sum()) * dx * dx / 1e4)
            depths.append(md)
            expect(abs(float(r["flood.area_over_0_1m"]) - areas[-1]) < 1e-9,
                   f"{r['member']}: flooded area as h5py computes it ({areas[-1]} ha)")
        with open(f"{tmp}/c/ensemble_stats.csv") as f:
            stats = {r["id"]: r for r in csv.DictReader(f)}
        a = stats["flood.area_over_0_1m"]
        for col, want in (("mean", np.mean(areas)), ("min", min(areas)), ("max", max(areas)),
                          ("p50", np.percentile(areas, 50)), ("p95", np.percentile(areas, 95)),
                          ("sd", np.std(areas, ddof=1))):
            expect(abs(float(a[col]) - want) <= 1e-9 * max(1, abs(want)), f"area {col} = {want:.6g}")
        expect(max(areas) > min(areas), f"members differ: {areas}")
        ds = gdal.Open(f"{tmp}/c/exceedance_0_3m.tif")
        p = ds.GetRasterBand(1).ReadAsArray()[::-1]
        nodata = ds.GetRasterBand(1).GetNoDataValue()
        want = np.mean([d > 0.3 for d in depths], axis=0)
        active = ~np.isnan(bed)
        expect(np.array_equal(p != nodata, active), "the exceedance map has data on the active cells")
        expect(np.allclose(p[active], want[active]), "exceedance = fraction of members over 0.3 m")
        expect(ASAN or (float(p[active].max()) == 1.0 and 0 < float(want[active].mean()) < 1),
               "some cells flood over 0.3 m in every member, most in none")
        os.makedirs(f"{tmp}/one/a")
        shutil.copy(f"{tmp}/b/members/mc-001/run.h5", f"{tmp}/one/a/run.h5")
        r = run("compare", f"{tmp}/one", "--out", f"{tmp}/c1")
        expect(r.returncode == 2 and "at least two" in r.stderr, f"one run is no ensemble: {r.stderr.strip()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def whatif_keys():
    """Every example variant is valid; the keys planners write are checked with a location."""
    for f in sorted(x for x in os.listdir("scenarios/whatif") if x.endswith(".toml")):
        r = run("validate", f"scenarios/whatif/{f}")
        expect(r.returncode == 0, f"scenarios/whatif/{f} is valid: {r.stdout}{r.stderr}")
    tmp = tempfile.mkdtemp(prefix="citytwin_whatif_keys_")
    base = os.path.abspath("scenarios/monaco.toml")
    bad = {
        "off_city.toml": ("[[power.substation]]\nat = [100.0, 200.0]\n", "lies outside the city", 5),
        "no_such.toml": ("[[power.substation]]\nat = [373700.0, 4844700.0]\nreplaces = 7\n",
                         "no such substation", 5),
        "wall_off.toml": ("[[flood.wall]]\nline = [[0.0, 0.0], [10.0, 0.0]]\nheight = \"1m\"\n",
                          "the wall raises no active cell", 5),
    }
    try:
        for name, (body, message, line) in bad.items():
            with open(f"{tmp}/{name}", "w") as f:
                f.write(f'extends = "{base}"\n[scenario]\nname = "bad"\n{body}')
            r = run("validate", f"{tmp}/{name}")
            expect(r.returncode == 2 and message in r.stderr and f"{name}:{line}" in r.stderr,
                   f"{name}: exit 2, '{message}' at line {line} ({r.returncode}: {r.stderr.strip()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def district():
    """A new development from GeoJSON: appended after OSM's buildings, comparable with the base."""
    import h5py
    import numpy as np

    tmp = tempfile.mkdtemp(prefix="citytwin_district_")
    try:
        base, dist = runs(tmp, BASE, "scenarios/whatif/monaco-new-district.toml", until="2min")
        with h5py.File(f"{base}/run.h5") as fb, h5py.File(f"{dist}/run.h5") as fd:
            ob, od = fb["/city/buildings/osm_id"][:], fd["/city/buildings/osm_id"][:]
            n = len(ob)
            expect(np.array_equal(od[:n], ob) and list(od[n:]) == [-1, -2, -3],
                   f"the three new buildings come after the city's own, ids -1..-3 ({od[n:]})")
            h = fd["/city/buildings/height_m"][n:]
            expect(abs(h[0] - 62) < 1e-4 and abs(h[1] - 50) < 1e-4, f"tagged heights kept: {h}")
            expect(abs(h[2] - 8 * 3.0) < 1e-4, f"untagged height = levels x level height: {h[2]}")
            use = fd["/city/buildings/use"][n:]
            names = fd["/city/buildings/use"].attrs["use_names"]
            names = (names.decode() if isinstance(names, bytes) else names).split(",")
            expect([names[u] for u in use] == ["residential", "residential", "office"],
                   f"use classes from the building property: {[names[u] for u in use]}")
            res = fd["/city/buildings/residents"][n:]
            expect(res[0] > 100 and res[1] > 100 and res[2] == 0, f"the towers house residents: {res}")
        print(ok("compare", base, dist, "--out", f"{tmp}/c"))
        with open(f"{tmp}/bad.geojson", "w") as f:
            f.write('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {}, "geometry": {"type": "Point", "coordinates": [7.42, 43.73]}}]}')
        with open(f"{tmp}/bad.toml", "w") as f:
            f.write(f'extends = "{os.path.abspath(BASE)}"\n[city]\nadd_buildings = "bad.geojson"\n')
        r = run("validate", f"{tmp}/bad.toml")
        expect(r.returncode == 2 and "bad.geojson" in r.stderr and "feature 1" in r.stderr and
               "Polygon" in r.stderr, f"a point is no building: exit 2 naming file and feature ({r.stderr.strip()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render():
    """compare --render: both runs drawn by the viewer (under Xvfb) and put in the report."""
    from PIL import Image

    tmp = tempfile.mkdtemp(prefix="citytwin_compare_render_")
    try:
        base, rain = runs(tmp, BASE, RAIN, until="4min")
        out = ok("compare", base, rain, "--out", f"{tmp}/c", "--render")
        print(out)
        pngs = [f"render_{who}_{when}.png" for when in ("peak", "end") for who in ("base", "variant")]
        for p in pngs:
            expect(os.path.exists(f"{tmp}/c/{p}"), f"compare --render wrote {p}")
            img = Image.open(f"{tmp}/c/{p}").convert("RGB")
            colours = img.getcolors(maxcolors=1 << 20)
            expect(colours is not None and len(colours) > 100, f"{p} is a picture, not a blank ({len(colours or [])} colours)")
        with open(f"{tmp}/c/report.html") as f:
            html = f.read()
        expect(html.count("data:image/png;base64,") >= 8, "the report embeds the renders beside the maps")
        expect("variant run at" in html and "base run at" in html, "the renders are captioned")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


{"whatif": whatif, "different_cities": different_cities, "ensemble": ensemble,
 "whatif_keys": whatif_keys, "district": district, "render": render}[CHECK]()
