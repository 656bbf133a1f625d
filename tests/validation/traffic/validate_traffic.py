#!/usr/bin/env python3
"""Traffic validation set (issue 14, part 1): SUMO 1.15 and CityTwin side by side on the same
network and routes, on networks of different character (cases.py), each at two demand levels.

For each case and level: generate the network and the routes (fixed seeds), run
`sumo` (tripinfo, statistics, hourly edgeData) and `citytwin run` (tripinfo.xml, run.h5)
on them, compare, and check the acceptance criteria of issue 14:

  arrivals within 2 %, mean travel time within 10 %, p95 travel time within 20 %,
  GEH < 5 on at least 85 % of the edge-hours, teleports <= SUMO's + 1 per mille of vehicles.

    validate_traffic.py --binary build/release/engine/citytwin --outdir DIR [--case NAME ...]
    validate_traffic.py --outdir DIR --table-only --doc docs/traffic.md
    validate_traffic.py --list

Writes DIR/<case>/result.json (metrics of both, the checks, and where the time goes per
junction type: the diagnosis) and prints one line per level; exit 1 when a level misses a
criterion, 2 when a tool is missing or fails.  --doc replaces the table between the markers
in that file with the results found in DIR (every case, in cases.py order)."""
import argparse
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as C  # noqa: E402

SUMO_HOME = os.environ.get("SUMO_HOME", "/usr/share/sumo")
RANDOM_TRIPS = os.path.join(SUMO_HOME, "tools", "randomTrips.py")
PYTHON = "/usr/bin/python3"

# Issue 14's acceptance criteria (not to be loosened per case).
ARRIVALS_REL = 0.02
MEAN_TT_REL = 0.10
P95_TT_REL = 0.20
GEH_OK_FRACTION = 0.85
GEH_LIMIT = 5.0
TELEPORTS_PER_VEHICLE = 0.001

TABLE_BEGIN = "<!-- traffic-validation-table:begin (scripts/validate-traffic writes this) -->"
TABLE_END = "<!-- traffic-validation-table:end -->"


class ToolError(Exception):
    pass


def run(cmd, log, cwd=None):
    """Runs a command, its output into `log`; raises ToolError naming the log on failure."""
    env = dict(os.environ, SUMO_HOME=SUMO_HOME)
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd, env=env)
    if r.returncode != 0:
        raise ToolError(f"{cmd[0]} failed (exit {r.returncode}), see {log}")


def open_xml(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


# ---- inputs -----------------------------------------------------------------------------

def make_net(case, d):
    """The case's network in d (net.net.xml[.gz]); generated with a fixed seed."""
    kind, what = case.net
    if kind == "file":
        out = os.path.join(d, "net" + (".net.xml.gz" if what.endswith(".gz") else ".net.xml"))
        shutil.copyfile(what, out)
        return out
    out = os.path.join(d, "net.net.xml")
    if kind == "netgenerate":
        run(["netgenerate", *what, "--seed", str(C.SEED), "-o", out], os.path.join(d, "net.log"))
    elif kind == "netconvert-osm":
        # netconvert 1.15 reads OSM XML, not .pbf: osmium converts it first.
        osm = os.path.join(d, "city.osm")
        run(["osmium", "cat", what, "-o", osm, "-O"], os.path.join(d, "osmium.log"))
        # The usual import for cars (as SUMO's osmWebWizard does): passenger roads only,
        # ramps, roundabouts and joined junction clusters guessed, OSM's signals kept.
        # --no-internal-links: with internal links, SUMO 1.15 (Debian) aborts on Monaco within
        # minutes at every demand and every netconvert variant tried (assertion in
        # MSLane::resetPartialOccupation, vehicles spanning lanes of 0.1 m); without them it runs.
        run(["netconvert", "--osm-files", osm, "-o", out, "--no-internal-links",
             "--type-files", os.path.join(SUMO_HOME, "data", "typemap", "osmNetconvert.typ.xml"),
             "--keep-edges.by-vclass", "passenger", "--remove-edges.isolated",
             "--geometry.remove", "--ramps.guess", "--roundabouts.guess", "--junctions.join",
             "--tls.guess-signals", "--tls.discard-simple", "--tls.join",
             "--tls.default-type", "static", "--xml-validation", "never", "--seed", str(C.SEED)],
            os.path.join(d, "net.log"))
    else:
        raise ValueError(kind)
    return out


def make_routes(net, density, seed, d):
    """randomTrips.py --validate: trips over [0, 1 h), routed by duarouter on the empty network.
    departLane="best" as CityTwin inserts (SUMO's default would be "first")."""
    routes = os.path.join(d, "routes.rou.xml")
    run([PYTHON, RANDOM_TRIPS, "-n", net, "-o", os.path.join(d, "trips.trips.xml"),
         "-r", routes, "-b", str(C.BEGIN_S), "-e", str(C.DEPART_END_S),
         "--insertion-density", str(density), "--seed", str(seed), "--validate",
         "--trip-attributes", 'departLane="best"'], os.path.join(d, "randomTrips.log"), cwd=d)
    return [routes]


# ---- the two simulators -----------------------------------------------------------------

def read_tripinfo(path):
    """(duration, timeLoss, waitingTime, departDelay) per trip of a tripinfo XML: SUMO's, and
    CityTwin's (traffic.tripinfo), read by the same code."""
    trips = []
    with open(path, "rb") as f:
        for _, el in ET.iterparse(f):
            if el.tag == "tripinfo":
                trips.append((float(el.get("duration")), float(el.get("timeLoss")),
                              float(el.get("waitingTime")), float(el.get("departDelay"))))
                el.clear()
    return trips


def run_sumo(net, additional, routes, end_s, d):
    """SUMO with its defaults (step 1 s, Krauss, --time-to-teleport 300), seed 42."""
    os.makedirs(d, exist_ok=True)
    edgedata = os.path.join(d, "edgedata.add.xml")
    with open(edgedata, "w") as f:
        f.write(f'<additional><edgeData id="hourly" period="{C.HOUR_S}" file="edgedata.xml" '
                'excludeEmpty="true"/></additional>\n')
    t0 = time.time()
    run(["sumo", "-n", net, "-a", ",".join([*additional, edgedata]), "-r", ",".join(routes),
         "--begin", "0", "--end", str(end_s), "--step-length", "1", "--seed", str(C.SEED),
         "--time-to-teleport", "300", "--tripinfo-output", os.path.join(d, "tripinfo.xml"),
         "--statistic-output", os.path.join(d, "statistics.xml"), "--xml-validation", "never",
         "--no-step-log", "--duration-log.statistics"], os.path.join(d, "sumo.log"))
    wall = time.time() - t0
    trips = read_tripinfo(os.path.join(d, "tripinfo.xml"))
    stats = ET.parse(os.path.join(d, "statistics.xml")).getroot()
    veh = stats.find("vehicles")
    tel = stats.find("teleports")
    edges = {}  # (hour, edge) -> dict
    for iv in ET.parse(os.path.join(d, "edgedata.xml")).getroot().iter("interval"):
        hour = int(float(iv.get("begin")) // C.HOUR_S)
        for e in iv.iter("edge"):
            edges[(hour, e.get("id"))] = {
                "count": float(e.get("entered", 0)) + float(e.get("departed", 0)),
                "veh_seconds": float(e.get("sampledSeconds", 0)),
                "waiting": float(e.get("waitingTime", 0)),
                "time_loss": float(e.get("timeLoss", 0))}
    return {"trips": trips, "loaded": int(veh.get("loaded")), "inserted": int(veh.get("inserted")),
            "not_inserted": int(veh.get("waiting")), "running": int(veh.get("running")),
            "teleports": int(tel.get("total")), "removed": 0, "edges": edges, "wall_s": wall}


def toml_list(paths):
    return "[" + ", ".join(json.dumps(p) for p in paths) + "]"


def run_citytwin(binary, net, additional, routes, end_s, threads, d):
    """`citytwin run` on a scenario naming the same files; per-edge counts every hour."""
    import h5py  # the Debian python3-h5py: /usr/bin/python3
    os.makedirs(d, exist_ok=True)
    scenario = os.path.join(d, "scenario.toml")
    with open(scenario, "w") as f:
        f.write(f"""[scenario]
name = "validation"
duration = "{end_s}s"
step = "1s"
seed = {C.SEED}

[output]
dir = "out"
every = "10min"

[traffic]
net = {json.dumps(net)}
additional = {toml_list(additional)}
routes = {toml_list(routes)}
stats_interval = "{C.HOUR_S}s"
tripinfo = true
""")
    t0 = time.time()
    out = os.path.join(d, "out")
    run([binary, "run", scenario, "--quiet", "--overwrite", "--threads", str(threads), "--out",
         out], os.path.join(d, "citytwin.log"))
    wall = time.time() - t0
    trips = read_tripinfo(os.path.join(out, "tripinfo.xml"))
    with h5py.File(os.path.join(out, "run.h5"), "r") as h:
        t = h["traffic"]
        ids = [s.decode() if isinstance(s, bytes) else s for s in t["edge_id"][:]]
        begin = t["edges/begin_s"][:]
        entered, vs = t["edges/entered"][:], t["edges/veh_seconds"][:]
        edges = {}
        for k in range(len(begin)):
            hour = int(begin[k] // C.HOUR_S)
            for e, eid in enumerate(ids):
                if entered[k, e] or vs[k, e] > 0:
                    edges[(hour, eid)] = {"count": float(entered[k, e]),
                                          "veh_seconds": float(vs[k, e])}
        res = {"trips": trips, "loaded": int(t.attrs["vehicles"]),
               "inserted": int(t["inserted"][-1]), "not_inserted": int(t["pending"][-1]),
               "running": int(t["running"][-1]), "teleports": int(t.attrs["teleports"]),
               "removed": int(t.attrs["removed"]), "edges": edges, "wall_s": wall}
    return res


# ---- comparison -------------------------------------------------------------------------

def percentile(xs, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary(r):
    trips = r["trips"]
    n = len(trips)
    mean = (lambda k: sum(t[k] for t in trips) / n) if n else (lambda k: float("nan"))
    dur = [t[0] for t in trips]
    return {"vehicles": r["loaded"], "inserted": r["inserted"], "arrived": n,
            "not_inserted": r["not_inserted"], "running_at_end": r["running"],
            "mean_tt_s": mean(0), "p50_tt_s": percentile(dur, 0.5),
            "p95_tt_s": percentile(dur, 0.95), "time_loss_s": mean(1), "waiting_s": mean(2),
            "depart_delay_s": mean(3), "teleports": r["teleports"], "removed": r["removed"],
            "wall_s": r["wall_s"]}


def geh(sumo_edges, ct_edges):
    """GEH = sqrt(2 (M - C)^2 / (M + C)) per edge-hour with traffic in either simulation
    (M: CityTwin's vehicles entering or inserted on the edge, C: SUMO's entered + departed)."""
    keys = {k for k, v in sumo_edges.items() if v["count"] > 0}
    keys |= {k for k, v in ct_edges.items() if v["count"] > 0}
    ok = 0
    worst = []
    for k in keys:
        m = ct_edges.get(k, {}).get("count", 0.0)
        c = sumo_edges.get(k, {}).get("count", 0.0)
        g = math.sqrt(2 * (m - c) ** 2 / (m + c))
        ok += g < GEH_LIMIT
        worst.append((g, k[0], k[1], m, c))
    worst.sort(reverse=True)
    return {"edge_hours": len(keys), "ok": ok, "fraction": ok / len(keys) if keys else 0.0,
            "worst": [{"geh": round(g, 1), "hour": h, "edge": e, "citytwin": m, "sumo": c}
                      for g, h, e, m, c in worst[:5]]}


def rel(a, b):
    return a / b - 1 if b else (0.0 if a == b else float("inf"))


def checks(s, c, g):
    """Issue 14's criteria: name -> (passed, measured, limit)."""
    tel_limit = c["teleports"] + TELEPORTS_PER_VEHICLE * c["vehicles"]
    return {
        "arrivals": (abs(rel(s["arrived"], c["arrived"])) <= ARRIVALS_REL,
                     rel(s["arrived"], c["arrived"]), ARRIVALS_REL),
        "mean_tt": (abs(rel(s["mean_tt_s"], c["mean_tt_s"])) <= MEAN_TT_REL,
                    rel(s["mean_tt_s"], c["mean_tt_s"]), MEAN_TT_REL),
        "p95_tt": (abs(rel(s["p95_tt_s"], c["p95_tt_s"])) <= P95_TT_REL,
                   rel(s["p95_tt_s"], c["p95_tt_s"]), P95_TT_REL),
        "geh": (g["fraction"] >= GEH_OK_FRACTION, g["fraction"], GEH_OK_FRACTION),
        # CityTwin's teleports include the vehicles it removed (no edge ahead had room).
        "teleports": (s["teleports"] <= tel_limit, s["teleports"], tel_limit),
    }


def read_net_topology(net):
    """Three maps of the normal edges: the junction at the edge's end, the free-flow time (s)
    of its first lane, and its approach kind: the type of that junction, and at an
    unsignalised junction whether the
    edge is a minor approach there (most of its connections must yield: state m, =, s, w; a
    major road's left turn yields too) or a major one."""
    edge_to, edge_t0, jtype, links, yields = {}, {}, {}, {}, {}
    with open_xml(net) as f:
        for _, el in ET.iterparse(f):
            if el.tag == "edge" and el.get("function") != "internal" and el.get("to"):
                lane = el.find("lane")
                if lane is not None:
                    edge_to[el.get("id")] = el.get("to")
                    edge_t0[el.get("id")] = float(lane.get("length")) / float(lane.get("speed"))
                el.clear()
            elif el.tag == "junction" and el.get("type") != "internal":
                jtype[el.get("id")] = el.get("type")
                el.clear()
            elif el.tag == "connection" and not el.get("from", ":").startswith(":"):
                e = el.get("from")
                links[e] = links.get(e, 0) + 1
                yields[e] = yields.get(e, 0) + (el.get("state") in ("m", "=", "s", "w"))
    minor = {e for e in links if 2 * yields[e] > links[e]}
    kind = {}
    for e, j in edge_to.items():
        t = jtype.get(j, "?")
        kind[e] = t if t in ("traffic_light", "dead_end") or t.startswith("traffic_light") \
            else f"{t} ({'minor' if e in minor else 'major'} approach)"
    return edge_to, edge_t0, kind


def diagnose(net, sumo_edges, ct_edges):
    """Where the time goes: per edge, delay = vehicle-seconds on it - vehicles x free-flow time
    (the time spent queueing or slowed on the approach to the junction at its end), summed per
    kind of approach (junction type; minor or major at unsignalised ones) and per junction.
    SUMO's waiting time (edgeData waitingTime) per kind too."""
    edge_to, edge_t0, kind = read_net_topology(net)

    def delays(edges):
        per_edge = {}
        for (_, e), v in edges.items():
            if e in edge_to:
                per_edge[e] = per_edge.get(e, 0.0) + v["veh_seconds"] - v["count"] * edge_t0[e]
        return per_edge
    ds, dc = delays(sumo_edges), delays(ct_edges)
    wait = {}
    for (_, e), v in sumo_edges.items():
        if e in edge_to:
            wait[e] = wait.get(e, 0.0) + v.get("waiting", 0.0)
    by_type, by_junction = {}, {}
    for e in set(ds) | set(dc):
        j = edge_to[e]
        t = kind[e]
        row = by_type.setdefault(t, {"junctions": set(), "sumo_delay_h": 0.0,
                                     "citytwin_delay_h": 0.0, "sumo_waiting_h": 0.0})
        row["junctions"].add(j)
        row["sumo_delay_h"] += ds.get(e, 0.0) / 3600
        row["citytwin_delay_h"] += dc.get(e, 0.0) / 3600
        row["sumo_waiting_h"] += wait.get(e, 0.0) / 3600
        jr = by_junction.setdefault(j, [t.split(" ")[0], 0.0, 0.0])
        jr[1] += ds.get(e, 0.0) / 3600
        jr[2] += dc.get(e, 0.0) / 3600
    for row in by_type.values():
        row["junctions"] = len(row["junctions"])
    top = sorted(by_junction.items(), key=lambda kv: -abs(kv[1][1] - kv[1][2]))[:8]
    return {"by_approach": by_type,
            "junctions_most_different": [{"junction": j, "type": t, "sumo_delay_h": round(a, 2),
                                          "citytwin_delay_h": round(b, 2)}
                                         for j, (t, a, b) in top]}


# ---- one case ---------------------------------------------------------------------------

def sumo_without_sigma(net, additional, routes, d):
    """Diagnostic (--sumo-sigma0, not a criterion): SUMO with the default vehicle type's driver
    imperfection off (Krauss sigma = 0), which CityTwin's IDM has no counterpart of; tells how
    much of a difference is car following rather than junction logic."""
    os.makedirs(d, exist_ok=True)
    vtype = os.path.join(d, "sigma0.add.xml")
    with open(vtype, "w") as f:
        f.write('<additional><vType id="DEFAULT_VEHTYPE" sigma="0"/></additional>\n')
    return summary(run_sumo(net, [*additional, vtype], routes, C.END_S, d))


def run_case(case, binary, outdir, threads, sigma0=False):
    d = os.path.join(outdir, case.name)
    os.makedirs(d, exist_ok=True)
    net = make_net(case, d)
    result = {"case": case.name, "what": case.what, "note": case.note, "levels": {}}
    for k, level in enumerate(case.level_names()):
        ld = os.path.join(d, level)
        os.makedirs(ld, exist_ok=True)
        if level == "scenario":
            routes, density = case.scenario_routes, None
        else:
            density = case.levels[level]
            routes = make_routes(net, density, C.SEED + k, ld)
        sumo = run_sumo(net, case.additional, routes, C.END_S, os.path.join(ld, "sumo"))
        ct = run_citytwin(binary, net, case.additional, routes, C.END_S, threads,
                          os.path.join(ld, "citytwin"))
        s, c = summary(ct), summary(sumo)
        g = geh(sumo["edges"], ct["edges"])
        chk = checks(s, c, g)
        result["levels"][level] = {
            "density_veh_h_km": density, "citytwin": s, "sumo": c, "geh": g,
            "checks": {n: {"passed": bool(p), "measured": m, "limit": lim}
                       for n, (p, m, lim) in chk.items()},
            "passed": all(p for p, _, _ in chk.values()),
            "diagnosis": diagnose(net, sumo["edges"], ct["edges"])}
        print(line(case.name, level, result["levels"][level]), flush=True)
        if sigma0 and level != "scenario":  # the scenario's own vTypes set their sigma
            z = sumo_without_sigma(net, case.additional, routes, os.path.join(ld, "sumo_sigma0"))
            result["levels"][level]["sumo_sigma0"] = z
            print(f"  SUMO with sigma 0: mean tt {z['mean_tt_s']:.1f} s, time loss "
                  f"{z['time_loss_s']:.1f} s, waiting {z['waiting_s']:.1f} s", flush=True)
    with open(os.path.join(d, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


def line(name, level, r):
    s, c, g = r["citytwin"], r["sumo"], r["geh"]
    failed = [n for n, v in r["checks"].items() if not v["passed"]]
    return (f"{name} {level}: arrived {s['arrived']} (SUMO {c['arrived']}), mean tt "
            f"{s['mean_tt_s']:.1f} s (SUMO {c['mean_tt_s']:.1f}), p95 {s['p95_tt_s']:.0f} s "
            f"(SUMO {c['p95_tt_s']:.0f}), GEH<5 {100 * g['fraction']:.1f} % of "
            f"{g['edge_hours']}, teleports {s['teleports']} ({s['removed']} removed; SUMO "
            f"{c['teleports']}): " + ("PASS" if not failed else "FAIL " + ", ".join(failed)))


# ---- the table --------------------------------------------------------------------------

def pct(a, b):
    return f"{100 * rel(a, b):+.1f} %" if b else "–"


def cell(s, c, key, fmt="{:.0f}", show_rel=True):
    text = f"{fmt.format(s[key])} ({fmt.format(c[key])})"
    return text + (f" {pct(s[key], c[key])}" if show_rel else "")


def table(results):
    def miss(name, v):
        m, lim = v["measured"], v["limit"]
        if name == "geh":
            return f"GEH {100 * m:.1f} % < {100 * lim:.0f} %"
        if name == "teleports":
            return f"teleports {m} > {lim:.1f}"
        label = {"arrivals": "arrivals", "mean_tt": "mean", "p95_tt": "p95"}[name]
        return f"{label} {100 * m:+.1f} % (±{100 * lim:.0f} %)"
    rows = ["| case | level (veh/h/km) | vehicles | arrived | mean travel time s | p50 s | p95 s | "
            "time loss s | waiting s | depart delay s | teleports | GEH < 5 | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    n_pass = n_all = 0
    for res in results:
        for level, r in res["levels"].items():
            s, c, g = r["citytwin"], r["sumo"], r["geh"]
            failed = [miss(n, v) for n, v in r["checks"].items() if not v["passed"]]
            n_all += 1
            n_pass += not failed
            tel = f"{s['teleports']}" + (f" ({s['removed']} removed)" if s["removed"] else "")
            rows.append(" | ".join([
                f"| {res['case']}",
                level + (f" ({r['density_veh_h_km']:g})" if r["density_veh_h_km"] else ""),
                f"{c['vehicles']:,}",
                cell(s, c, "arrived", "{:,}"), cell(s, c, "mean_tt_s", "{:.1f}"),
                cell(s, c, "p50_tt_s", "{:.0f}"), cell(s, c, "p95_tt_s", "{:.0f}"),
                cell(s, c, "time_loss_s", "{:.1f}"), cell(s, c, "waiting_s", "{:.1f}"),
                cell(s, c, "depart_delay_s", "{:.1f}", False),
                f"{tel} [{c['teleports']}]",
                f"{100 * g['fraction']:.1f} % of {g['edge_hours']:,}",
                "pass" if not failed else "**fail**: " + "; ".join(failed)]) + " |")
    return rows, n_pass, n_all


def write_doc(doc, outdir):
    results = []
    for case in C.CASES:
        p = os.path.join(outdir, case.name, "result.json")
        if os.path.exists(p):
            with open(p) as f:
                results.append(json.load(f))
    if not results:
        raise ToolError(f"no results in {outdir}: run the cases first")
    rows, n_pass, n_all = table(results)
    version = subprocess.run(["sumo", "--version"], capture_output=True, text=True).stdout
    sumo_version = "SUMO " + version.split("Version", 1)[1].split()[0] \
        if "Version" in version else "SUMO"
    head = [TABLE_BEGIN, "",
            f"{n_pass} of {n_all} case-levels meet every criterion ({sumo_version}; "
            f"{time.strftime('%Y-%m-%d')}). CityTwin first, SUMO in brackets, then the "
            "difference; times are means over the arrived vehicles unless named; the verdict "
            "names each criterion missed, by how much.", ""]
    text = open(doc).read()
    a, b = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if a < 0 or b < a:
        raise ToolError(f"{doc}: the table markers are missing ({TABLE_BEGIN} ... {TABLE_END})")
    with open(doc, "w") as f:
        f.write(text[:a] + "\n".join(head + rows) + "\n\n" + text[b:])
    print(f"wrote the table of {n_all} case-levels to {doc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="the citytwin executable")
    ap.add_argument("--outdir", help="work folder (networks, routes, outputs, result.json)")
    ap.add_argument("--case", action="append", help="run only this case (repeatable)")
    ap.add_argument("--threads", type=int, default=2, help="CityTwin threads (default 2)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("--table-only", action="store_true", help="run nothing; only --doc")
    ap.add_argument("--doc", help="markdown file whose table (between markers) is replaced")
    ap.add_argument("--sumo-sigma0", action="store_true",
                    help="diagnostic: also run SUMO without driver imperfection (sigma 0)")
    a = ap.parse_args()
    if a.list:
        print("\n".join(c.name for c in C.CASES))
        return 0
    if not a.outdir:
        ap.error("--outdir is required")
    selected = [C.BY_NAME[n] for n in a.case] if a.case else C.CASES
    failed = []
    try:
        if not a.table_only:
            if not a.binary:
                ap.error("--binary is required to run cases")
            for tool in ("sumo", "netgenerate", "netconvert", "duarouter", "osmium"):
                if not shutil.which(tool):
                    raise ToolError(f"{tool} not found: run scripts/install-deps --validate")
            if not os.path.exists(RANDOM_TRIPS):
                raise ToolError(f"{RANDOM_TRIPS} not found: run scripts/install-deps --validate")
            for case in selected:
                res = run_case(case, os.path.abspath(a.binary), os.path.abspath(a.outdir),
                               a.threads, a.sumo_sigma0)
                failed += [f"{case.name} {lv}" for lv, r in res["levels"].items()
                           if not r["passed"]]
        if a.doc:
            write_doc(a.doc, os.path.abspath(a.outdir))
    except ToolError as e:
        print(f"validate_traffic: {e}", file=sys.stderr)
        return 2
    if failed:
        print("outside issue 14's criteria: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
