"""The traffic validation set (issue 14, part 1): networks of different character and the
demand levels each runs at.  Everything is generated from SUMO 1.15's own tools with fixed
seeds into the output folder, so nothing generated is kept in git:

- a network: `netgenerate` (grids, spiders, random networks), `netconvert` (Monaco's OSM
  extract in assets/), or a network shipped in tests/data/traffic (copied);
- per demand level: `randomTrips.py --validate` (duarouter's routes on the empty network,
  so SUMO and CityTwin read the same routes file) with a fixed seed; departures over the
  first hour, the run lasts two (the second hour lets the network drain).

`density` is randomTrips' `--insertion-density`: departures per hour per km of lane (so a
level means about the same load per lane on a small and on a large network).  The two levels
were chosen by looking at SUMO's results only (free: time loss well under half the travel
time and no backlog; congested: queues at the junctions that SUMO still clears within the
run), never at CityTwin's."""
import os

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DATA = os.path.join(SOURCE, "tests", "data", "traffic")
ASSETS = os.path.join(SOURCE, "assets")

BEGIN_S = 0      # departures in [BEGIN_S, DEPART_END_S)
DEPART_END_S = 3600
END_S = 7200     # SUMO --end and CityTwin's scenario.duration
HOUR_S = 3600    # GEH interval (SUMO edgeData period, CityTwin stats_interval)
SEED = 42        # SUMO --seed, CityTwin scenario.seed, randomTrips --seed (+ level offset)


class Case:
    """One network and its demand levels.

    name:     short id (the ctest name is `validate: traffic <name>`)
    what:     one line for the table
    net:      ("netgenerate", [args]) | ("netconvert-osm", pbf path) | ("file", path)
    levels:   {level name: insertion density (veh/h/km of lane)}
    additional: files read by both (signal programs), paths
    scenario_routes: optional extra level "scenario": route files shipped with the case
    note:     what CityTwin does not support in the case's inputs"""

    def __init__(self, name, what, net, levels, additional=(), scenario_routes=(), note=""):
        self.name = name
        self.what = what
        self.net = net
        self.levels = dict(levels)
        self.additional = list(additional)
        self.scenario_routes = list(scenario_routes)
        self.note = note

    def level_names(self):
        names = list(self.levels)
        if self.scenario_routes:
            names.append("scenario")
        return names


def grid(number, length, lanes, junctions, *extra):
    return ("netgenerate", ["--grid", "--grid.number", str(number), "--grid.length",
                            str(length), "--default.lanenumber", str(lanes),
                            "--default-junction-type", junctions, *extra])


ACOSTA = os.path.join(DATA, "bologna-acosta")

CASES = [
    Case("grid-1lane-100m", "7x7 grid, 1 lane, 100 m blocks, fixed-time signals",
         grid(7, 100, 1, "traffic_light"), {"free": 40, "congested": 350}),
    Case("grid-2lane-200m", "6x6 grid, 2 lanes, 200 m blocks, fixed-time signals",
         grid(6, 200, 2, "traffic_light"), {"free": 40, "congested": 250}),
    Case("grid-3lane-300m", "5x5 grid, 3 lanes, 300 m blocks, fixed-time signals",
         grid(5, 300, 3, "traffic_light"), {"free": 40, "congested": 140}),
    Case("grid-priority-1lane-150m", "7x7 grid, 1 lane, 150 m blocks, priority junctions only",
         grid(7, 150, 1, "priority"), {"free": 50, "congested": 200}),
    Case("grid-actuated-2lane-200m",
         "6x6 grid, 2 lanes, 200 m blocks, actuated signals (gap-based, SUMO's defaults)",
         grid(6, 200, 2, "traffic_light", "--tls.default-type", "actuated"),
         {"free": 40, "congested": 250}),
    Case("spider-6x5-100m", "spider, 6 arms, 5 rings 100 m apart, priority (signal at the centre)",
         ("netgenerate", ["--spider", "--spider.arm-number", "6", "--spider.circle-number", "5",
                          "--spider.space-radius", "100", "--default.lanenumber", "1",
                          "--tls.guess"]),
         {"free": 50, "congested": 100}),
    Case("rand-1lane-priority", "random network (150 iterations), 1 lane, priority junctions",
         ("netgenerate", ["--rand", "--rand.iterations", "150", "--default.lanenumber", "1",
                          "--default-junction-type", "priority"]),
         {"free": 20, "congested": 45}),
    Case("rand-2lane-signals", "random network (100 iterations), 2 lanes, fixed-time signals",
         ("netgenerate", ["--rand", "--rand.iterations", "100", "--default.lanenumber", "2",
                          "--default-junction-type", "traffic_light"]),
         {"free": 15, "congested": 40}),
    Case("monaco-osm", "Monaco from OSM by netconvert (mostly priority junctions, few signals)",
         ("netconvert-osm", os.path.join(ASSETS, "monaco", "monaco-2025-02.osm.pbf")),
         {"free": 20, "congested": 40},
         note="built without internal links (netconvert --no-internal-links): with them SUMO "
              "1.15 aborts on this network"),
    Case("grid20", "tests/data grid20: 20x20, 2 lanes, 200 m, signals",
         ("file", os.path.join(DATA, "grid20", "grid20.net.xml.gz")),
         {"free": 15, "congested": 45}),
    Case("acosta", "tests/data Bologna acosta: real city, split edges, bus lanes, 7 signals",
         ("file", os.path.join(ACOSTA, "acosta_buslanes.net.xml.gz")),
         {"free": 50},
         additional=[os.path.join(ACOSTA, "acosta_tls.add.xml"),
                     os.path.join(ACOSTA, "acosta_bus_stops.add.xml")],
         # Congested: the scenario's own calibrated demand (8,622 cars and 157 buses that stop
         # 20 s at each of their bus stops; SUMO's mean depart delay 190 s). Random trips at
         # 150 veh/h/km already lock SUMO up on this network.
         scenario_routes=[os.path.join(ACOSTA, "acosta_vtypes.add.xml"),
                          os.path.join(ACOSTA, "acosta.rou.xml.gz"),
                          os.path.join(ACOSTA, "acosta_busses.rou.xml")]),
]

BY_NAME = {c.name: c for c in CASES}
