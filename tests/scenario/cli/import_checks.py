"""The city import as a user meets it on cities it was not tuned on: a bbox cutting main roads
keeps the trips, a city with no connected network warns, census totals are honoured.
Usage: import_checks.py CITYTWIN CHECK."""
import json
import os
import re
import tempfile

from cli_common import CHECK, expect, run

ROOT = os.getcwd()
MONACO = f"{ROOT}/assets/monaco/monaco-2025-02.osm.pbf"
GREENWICH = f"{ROOT}/tests/data/city/nyc_greenwich_2015.osm.pbf"
# docs/scenario-traffic.md: more than this share of the city's trips dropped is a warning.
MAX_DROPPED = 0.10


def traffic_scenario(d, osm, bbox=None, extra=""):
    path = f"{d}/city.toml"
    with open(path, "w") as f:
        f.write('[scenario]\nduration = "20min"\nstart = "2026-03-02T07:30:00+01:00"\n')
        f.write(f'[city]\nosm = "{osm}"\n')
        if bbox:
            f.write(f"bbox = {bbox}\n")
        f.write('[traffic]\nnetwork = "city"\n[traffic.demand]\ntrips_per_resident = 0.9\n')
        f.write(f'[output]\ndir = "{d}/out"\n{extra}')
    return path


def demand_counts(stdout):
    m = re.search(r"-> (\d+) trips \((\d+) within one link, (\d+) unreachable, dropped\)", stdout)
    expect(m is not None, f"the summary has the city demand row: {stdout}")
    return [int(g) for g in m.groups()]


def bbox_cuts():
    # Boxes drawn through the middle of each city, cutting its main roads (Monaco: the
    # Boulevard Princesse Charlotte and the tunnel roads; Greenwich Village: the avenues).
    cases = [(MONACO, [7.415, 43.725, 7.435, 43.745]), (MONACO, [7.41, 43.72, 7.425, 43.735]),
             (MONACO, [7.42, 43.73, 7.43, 43.74]), (GREENWICH, [-74.006, 40.728, -73.995, 40.738]),
             (GREENWICH, [-74.004, 40.730, -73.998, 40.736])]
    for osm, bbox in cases:
        with tempfile.TemporaryDirectory() as d:
            r = run("run", traffic_scenario(d, osm, bbox), "--quiet", "--strict")
            expect(r.returncode == 0, f"{os.path.basename(osm)} {bbox}: exit {r.returncode} {r.stderr}")
            expect("warning" not in r.stderr, f"no warning: {r.stderr}")
            trips, same, unreachable = demand_counts(r.stdout)
            expect(trips >= 50, f"{bbox}: {trips} trips sampled")
            share = (same + unreachable) / trips
            expect(share <= MAX_DROPPED, f"{os.path.basename(osm)} {bbox}: {share:.1%} of {trips} trips dropped")
            print(f"{os.path.basename(osm)} {bbox}: {trips} trips, {same + unreachable} dropped ({share:.1%})")


def disconnected():
    # Two one-way streets that meet nowhere: no trip has a route. validate and run warn with
    # the count and the cause; --strict makes it an error (exit 2) before anything runs.
    with tempfile.TemporaryDirectory() as d:
        scenario = traffic_scenario(d, f"{ROOT}/tests/data/city/disconnected.osm")
        r = run("validate", scenario)
        expect(r.returncode == 0 and "2 warnings" in r.stdout,
               f"validate is valid with warnings: {r.stdout} {r.stderr}")
        expect("warning: " in r.stderr and "traffic.demand" in r.stderr and "were dropped" in r.stderr
               and "largest strongly connected part holds 1 of 2 links" in r.stderr,
               f"dropped trips warned with the cause: {r.stderr}")
        expect("no vehicle to simulate" in r.stderr, f"the empty domain is warned: {r.stderr}")
        r = run("run", scenario, "--quiet")
        expect(r.returncode == 0 and "no vehicle to simulate" in r.stderr, f"run warns too: {r.stderr}")
        os.remove(f"{d}/out/run.h5")
        for cmd in ("validate", "run"):
            r = run(cmd, scenario, "--strict")
            expect(r.returncode == 2 and "error (--strict)" in r.stderr, f"{cmd} --strict: exit {r.returncode} {r.stderr}")
        expect(not os.path.exists(f"{d}/out/run.h5"), "run --strict stops before writing anything")


def broken_buildings():
    # One building of two has an outline that does not close: more than 1 % of the buildings
    # dropped, warned with the counts and the cause.
    with tempfile.TemporaryDirectory() as d:
        with open(f"{ROOT}/tests/data/city/disconnected.osm") as f:
            osm = f.read().replace('<nd ref="24"/><nd ref="21"/>', '<nd ref="24"/>')
        with open(f"{d}/broken.osm", "w") as f:
            f.write(osm)
        scenario = traffic_scenario(d, f"{d}/broken.osm")
        r = run("validate", scenario)
        expect("broken.osm: city.osm: 1 of 2 buildings have no usable outline and were dropped" in r.stderr,
               f"dropped buildings warned: {r.stderr}")
        r = run("info", "--json", scenario)
        j = json.loads(r.stdout)
        expect(j["buildings"] == 1 and j["buildings_without_geometry"] == 1, f"counted: {j['buildings']}")


def dry_flood():
    # A flood domain with no water (no rain, inflow, level boundary, lake or breach): warned,
    # an error under --strict. The city here is Monaco on the whole 1-degree SRTM tile: its
    # terrain is cropped to the city.
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/dry.toml"
        with open(path, "w") as f:
            f.write(f'[city]\nosm = "{MONACO}"\ndem = "{ROOT}/assets/monaco/N43E007.hgt.zip"\n[flood]\n'
                    f'[output]\ndir = "{d}/out"\n')
        r = run("validate", path)
        expect(r.returncode == 0 and "1 warning" in r.stdout and "dry.toml:4: flood: the flood domain has no water"
               in r.stderr, f"dry flood warned: {r.stdout} {r.stderr}")
        r = run("validate", path, "--strict")
        expect(r.returncode == 2, f"--strict: {r.returncode}")
        r = run("info", "--json", path)
        j = json.loads(r.stdout)
        expect(j["terrain_cells"] < 5000, f"the tile is cropped to the city: {j['terrain_cells']} cells")


def census():
    with tempfile.TemporaryDirectory() as d:
        plain = traffic_scenario(d, MONACO, "[7.405, 43.718, 7.445, 43.755]")
        r = run("info", "--json", plain)
        expect(r.returncode == 0, f"info: {r.stderr}")
        j = json.loads(r.stdout)
        expect(j["residents_source"] == "floor-area estimate" and j["residents"] > 0, f"estimate: {j['residents']}")
        base_trips = None
        for residents, jobs in ((38367, 52000), (12345, 6789)):
            s = traffic_scenario(d, MONACO, "[7.405, 43.718, 7.445, 43.755]",
                                 f"[demand]\nresidents = {residents}\njobs = {jobs}\n")
            r = run("info", "--json", s)
            j = json.loads(r.stdout)
            expect(j["residents"] == residents and j["jobs"] == jobs,
                   f"info reports the census totals exactly: {j['residents']} {j['jobs']}")
            r = run("run", s, "--quiet")
            expect(r.returncode == 0, f"run with census totals: {r.stderr}")
            expect(f"{residents} residents, {jobs} jobs" in r.stdout, f"traffic uses them: {r.stdout}")
            trips = demand_counts(r.stdout)[0]
            if base_trips is not None:  # trips follow residents (binomial noise aside)
                expect(abs(trips / base_trips - 12345 / 38367) < 0.1, f"trips {trips} vs {base_trips}")
            base_trips = trips
        # A total beside a floor area per person is a located error.
        s = traffic_scenario(d, MONACO, None, "[demand]\nresidents = 1000\nfloor_area_per_resident = \"30m2\"\n")
        r = run("validate", s)
        expect(r.returncode == 2 and "demand.floor_area_per_resident" in r.stderr and "city.toml:" in r.stderr,
               f"conflicting keys: {r.stderr}")


def sumo_signal_types():
    # A SUMO signal program of a type CityTwin does not model (delay_based) runs its durations
    # as fixed times and says so once, naming the type and the first signal; actuated is
    # modelled (no warning).
    import gzip
    import re
    acosta = f"{ROOT}/tests/data/traffic/bologna-acosta"
    with gzip.open(f"{acosta}/acosta_buslanes.net.xml.gz", "rt") as f:
        net = f.read()
    logic = re.search(r'<tlLogic id="209".*?state="([^"]+)"', net, re.S)
    expect(logic is not None, "acosta's signal 209 has a program")
    links = len(logic.group(1))
    with tempfile.TemporaryDirectory() as d:
        for kind, warned in (("delay_based", True), ("actuated", False)):
            with open(f"{d}/tls.add.xml", "w") as f:
                f.write(f'<additional>\n<tlLogic id="209" type="{kind}" programID="x" offset="0">\n'
                        f'<phase duration="30" minDur="10" maxDur="40" state="{"G" * links}"/>\n'
                        f'<phase duration="30" state="{"r" * links}"/>\n</tlLogic>\n</additional>\n')
            with open(f"{d}/s.toml", "w") as f:
                f.write(f'extends = "{ROOT}/scenarios/bologna-acosta.toml"\n[scenario]\nduration = "2min"\n'
                        f'[output]\ndir = "{d}/out"\n[traffic]\n'
                        f'additional = ["{d}/tls.add.xml", "{acosta}/acosta_vtypes.add.xml", '
                        f'"{acosta}/acosta_bus_stops.add.xml"]\n')
            r = run("validate", f"{d}/s.toml")
            expect(r.returncode == 0, f"{kind}: valid: {r.stderr}")
            said = (f"{d}/tls.add.xml" in r.stderr and "tlLogic.type" in r.stderr
                    and f'type "{kind}"' in r.stderr and "(first: '209')" in r.stderr)
            expect(said == warned, f"{kind}: warned {said}, expected {warned}: {r.stderr}")
            if warned:
                expect("1 signal program(s)" in r.stderr and "as fixed times" in r.stderr,
                       f"the warning says what happens: {r.stderr}")
                r = run("validate", f"{d}/s.toml", "--strict")
                expect(r.returncode == 2, f"--strict refuses it: {r.returncode}")


def tripinfo():
    # traffic.tripinfo writes SUMO's tripinfo XML: SUMO 1.15's attributes, one per arrived
    # vehicle by arrival time, the values of /traffic/trips (2 decimals, as SUMO writes them).
    import xml.etree.ElementTree as ET
    import h5py
    import numpy as np
    attrs = {"id", "depart", "departLane", "departPos", "departSpeed", "departDelay", "arrival",
             "arrivalLane", "arrivalPos", "arrivalSpeed", "duration", "routeLength", "waitingTime",
             "waitingCount", "stopTime", "timeLoss", "rerouteNo", "devices", "vType",
             "speedFactor", "vaporized"}
    with tempfile.TemporaryDirectory() as d:
        with open(f"{d}/s.toml", "w") as f:
            f.write(f'extends = "{ROOT}/scenarios/bologna-acosta.toml"\n[scenario]\nduration = "12min"\n'
                    f'[output]\ndir = "{d}/out"\n[traffic]\ntripinfo = true\n')
        r = run("run", f"{d}/s.toml", "--quiet")
        expect(r.returncode == 0, f"run: {r.stderr}")
        root = ET.parse(f"{d}/out/tripinfo.xml").getroot()
        expect(root.tag == "tripinfos", f"root <{root.tag}>")
        rows = list(root)
        with h5py.File(f"{d}/out/run.h5", "r") as h:
            t = h["/traffic/trips"]
            status = t["status"][:]
            cols = {k: t[k][:] for k in ("depart_s", "insert_s", "arrival_s", "route_length_m",
                                         "time_loss_s", "waiting_s", "stop_s")}
        arrived = np.flatnonzero(status == 2)
        expect(len(rows) == len(arrived) > 300, f"{len(rows)} tripinfos, {len(arrived)} arrived")
        expect(all(set(e.attrib) == attrs for e in rows), "every tripinfo has SUMO's attributes")
        times = [float(e.get("arrival")) for e in rows]
        expect(times == sorted(times), "by arrival time")
        # Vehicle ids to their row of /traffic/trips: the arrived vehicles by (arrival, index).
        order = sorted(arrived, key=lambda v: (cols["arrival_s"][v], v))
        bad = []
        for e, v in zip(rows, order):
            dep, arr = float(e.get("depart")), float(e.get("arrival"))
            checks = [abs(dep - cols["insert_s"][v]) <= 0.005, abs(arr - cols["arrival_s"][v]) <= 0.005,
                      abs(float(e.get("duration")) - (arr - dep)) <= 0.011,
                      abs(float(e.get("departDelay")) - (cols["insert_s"][v] - cols["depart_s"][v])) <= 0.006,
                      abs(float(e.get("routeLength")) - cols["route_length_m"][v]) <= 0.006,
                      abs(float(e.get("timeLoss")) - cols["time_loss_s"][v]) <= 0.006,
                      abs(float(e.get("waitingTime")) - cols["waiting_s"][v]) <= 0.006,
                      abs(float(e.get("stopTime")) - cols["stop_s"][v]) <= 0.006,
                      (int(e.get("waitingCount")) > 0) == (cols["waiting_s"][v] > 0),
                      e.get("departLane").rsplit("_", 1)[-1].isdigit(),
                      e.get("arrivalLane").rsplit("_", 1)[-1].isdigit(),
                      float(e.get("speedFactor")) > 0, e.get("devices") == f"tripinfo_{e.get('id')}"]
            if not all(checks):
                bad.append((e.get("id"), checks))
        expect(not bad, f"tripinfo equals /traffic/trips: {bad[:3]}")
        # acosta's buses stop 20 s at each of their bus stops; cars never stop.
        stops = {e.get("id"): float(e.get("stopTime")) for e in rows}
        bus = [t for i, t in stops.items() if i.startswith("bus_")]
        expect(bus and all(t >= 20 and t % 20 == 0 for t in bus),
               f"arrived buses stood 20 s per stop: {bus[:5]}")
        expect(all(t == 0 for i, t in stops.items() if not i.startswith("bus_")), "cars never stop")
        with open(f"{d}/out/traffic_trips.csv") as f:
            csv_ids = sorted(line.split(",")[0] for line in list(f)[1:])
        expect(csv_ids == sorted(e.get("id") for e in rows), "the same vehicles as traffic_trips.csv")
        print(f"tripinfo: {len(rows)} trips, mean duration "
              f"{np.mean([float(e.get('duration')) for e in rows]):.1f} s")


globals()[CHECK]()
print(f"import {CHECK}: ok")
