"""The coupled Monaco storyline as a user runs it (scenarios/monaco.toml against
scenarios/monaco-uncoupled.toml). Usage: coupled_checks.py CITYTWIN CHECK."""
import csv
import os
import tempfile

import cli_common
from cli_common import CHECK, run, state_hash


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def run_scenario(path, out, *extra):
    r = run("run", path, "--out", out, "--quiet", *extra)
    expect(r.returncode == 0, f"{path} exit {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout


def durations(path):
    with open(path) as f:
        return {row["id"]: float(row["duration"]) for row in csv.DictReader(f)}


def demo():
    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        coupled, base = os.path.join(tmp, "coupled"), os.path.join(tmp, "base")
        out = run_scenario("scenarios/monaco.toml", coupled, "--threads", "2")
        run_scenario("scenarios/monaco-uncoupled.toml", base, "--threads", "2")
        print(out)
        with h5py.File(f"{coupled}/run.h5", "r") as f:
            a = f["/coupling"].attrs
            log = f["/coupling/log"]
            rule_names = log["rule"].attrs["rule_names"].split(",")
            rules = [rule_names[r] for r in log["rule"][:]]
            state = log["new_state"][:]
            n = {r: sum(1 for k, x in enumerate(rules) if x == r and state[k] == 0) for r in set(rules)}
            expect(a["links_closed"] > 0, f"links closed: {a['links_closed']}")
            expect(a["links_closed"] == n.get("flood_roads", 0), "every closure is in the log")
            expect(a["elements_failed"] > 0, f"elements failed: {a['elements_failed']}")
            expect(a["elements_failed"] == n.get("flood_power", 0), "every failure is in the log")
            expect(a["signals_dark"] > 0, f"signals dark: {a['signals_dark']}")
            expect(a["signals_dark"] == n.get("power_signals", 0), "every dark signal is in the log")
            expect(a["customer_hours_unpowered"] > 0 and a["max_customers_unpowered"] > 0,
                   f"customers without power: {a['max_customers_unpowered']}")
            expect(f["/traffic"].attrs["flood_reroutes"] > 0,
                   f"vehicles re-routed by closures: {f['/traffic'].attrs['flood_reroutes']}")
            # Each link of the chain happens within the first 40 minutes.
            t = log["time_s"][:]
            for r in ["flood_roads", "flood_power", "power_signals"]:
                first = min(t[k] for k, x in enumerate(rules) if x == r and state[k] == 0)
                expect(first <= 2400, f"first {r} change at {first:.0f} s, within 40 min")
            with open(f"{coupled}/coupling_log.csv") as c:
                expect(sum(1 for _ in c) - 1 == len(t), "coupling_log.csv holds every log row")
            expect(f["/meta"].attrs["coupled"] == 1, "/meta says the run is coupled")
            # The viewer's series: the exchange at every frame.
            expect(f["/exchange/link_closed"].shape == (61, f["/city/roads/link_from"].shape[0]),
                   "/exchange/link_closed every minute")
            expect(int(f["/exchange/link_closed"][-1].sum()) > 0, "closures in the last frame")
        with h5py.File(f"{base}/run.h5", "r") as f:
            expect(f["/meta"].attrs["coupled"] == 0, "the baseline is not coupled")
            expect(f["/coupling/log/time_s"].shape[0] == 0, "the baseline logs no change")
            expect(int(f["/exchange/link_closed"][:].sum()) == 0, "the baseline closes no road")
        # Travel times: the trips that completed in both runs take longer when the city is coupled.
        a, b = durations(f"{base}/traffic_trips.csv"), durations(f"{coupled}/traffic_trips.csv")
        both = [k for k in b if k in a]
        expect(len(both) > 1000, f"{len(both)} trips completed in both runs")
        mean_a = sum(a[k] for k in both) / len(both)
        mean_b = sum(b[k] for k in both) / len(both)
        print(f"paired mean trip duration: baseline {mean_a:.1f} s, coupled {mean_b:.1f} s")
        expect(mean_b > 1.05 * mean_a, "the coupled city's trips take more than 5 % longer")


def determinism():
    with tempfile.TemporaryDirectory() as tmp:
        one = state_hash(run_scenario("scenarios/monaco.toml", f"{tmp}/1", "--threads", "1", "--until", "35min"))
        two = state_hash(run_scenario("scenarios/monaco.toml", f"{tmp}/2", "--threads", "2", "--until", "35min"))
        again = state_hash(run_scenario("scenarios/monaco.toml", f"{tmp}/3", "--threads", "2", "--until", "35min"))
        expect(one == two, f"1 and 2 threads give the same state hash ({one}, {two})")
        expect(two == again, f"twice in a row gives the same state hash ({two}, {again})")


{"demo": demo, "determinism": determinism}[CHECK]()
