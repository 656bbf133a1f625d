"""Assimilation (docs/live.md "Assimilation"): synthetic truths -- Monaco with 30 % more load,
the flash flood with 20 % more rain, Monaco's traffic with 30 % more demand and roadworks,
Bologna's with 30 % less demand -- give the readings of substation meters, flood gauges and
traffic detectors; the twin (the unperturbed scenario) fed with them ends closer to the truth
than the unfed twin; a status observation switches its substation.
Usage: assimilation_checks.py CITYTWIN CHECK."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from live_common import MONACO, expect, iso

CITYTWIN, CHECK = sys.argv[1], sys.argv[2]


def scenario(tmp, name, duration, extra=""):
    path = f"{tmp}/{name}.toml"
    with open(path, "w") as f:
        f.write(f'''extends = "{MONACO}"
[scenario]
name = "{name}"
duration = "{duration}"
[live]
status_every = "60s"
[[sensors.datastream]]
id = "meter-0"
kind = "active_power"
entity = "substation:0"
unit = "kW"
range = [0, 200000]
[[sensors.datastream]]
id = "meter-1"
kind = "active_power"
entity = "substation:1"
unit = "kW"
range = [0, 200000]
[[sensors.datastream]]
id = "breaker-1"
kind = "status"
entity = "substation:1"
{extra}''')
    return path


def run(toml, out, *extra):
    r = subprocess.run([CITYTWIN, "run", toml, "--out", out, "--quiet", *extra],
                       capture_output=True, text=True, timeout=1200)
    expect(r.returncode == 0, f"{os.path.basename(out)} runs: {r.stderr[-1500:]}")
    return r.stdout


def readings(out):
    with h5py.File(f"{out}/run.h5", "r") as f:
        return f["/sensors/readings/t_ms"][:], f["/sensors/readings/value"][:]


def write_scenario(tmp, name, base, scenario_keys, rest):
    """tmp/name.toml: `base` extended, with [scenario] name and `scenario_keys`, then `rest`."""
    with open(f"{tmp}/{name}.toml", "w") as f:
        f.write(f'extends = "{base}"\n[scenario]\nname = "{name}"\n{scenario_keys}{rest}')
    return f"{tmp}/{name}.toml"


def feed(toml, tmp, name, lines):
    """Runs the twin unfed and fed with `lines` (a replay file); the fed run's summary and
    both runs' readings."""
    with open(f"{tmp}/{name}.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")
    run(toml, f"{tmp}/unfed")
    stdout = run(toml, f"{tmp}/fed", "--replay", f"{tmp}/{name}.jsonl")
    return stdout, readings(f"{tmp}/unfed"), readings(f"{tmp}/fed")


def expect_replays(toml, tmp, stdout):
    """The fed run's journal replays to its state hash."""
    h_fed = [l for l in stdout.splitlines() if "state hash" in l][0].split()[-1]
    out = run(toml, f"{tmp}/again", "--replay", f"{tmp}/fed/run.h5")
    h_again = [l for l in out.splitlines() if "state hash" in l][0].split()[-1]
    expect(h_again == h_fed, f"the fed run's journal replays to its state hash {h_fed}")


def meters():
    with tempfile.TemporaryDirectory() as tmp:
        # The truth: every load 30 % higher from the start (an event the twin does not know).
        truth_toml = scenario(tmp, "truth", "20min",
                              '[[event]]\nat = "0s"\ntype = "power.scale_load"\nfactor = 1.3\n')
        twin_toml = scenario(tmp, "twin", "20min")
        run(truth_toml, f"{tmp}/truth")
        t, truth = readings(f"{tmp}/truth")
        expect(truth.shape[1] == 3 and np.all(np.isnan(truth[:, 2])),
               "the truth reads both meters (the status datastream has no reading)")
        # The meters' readings every minute, as a substation SCADA would send them, in MW.
        # (The last, at the run's end, falls in no step: a replay offers it to no one.)
        lines = []
        sent = [k for k in range(1, len(t)) if t[k] < 20 * 60_000]
        for k in sent:
            for d in (0, 1):
                lines.append(json.dumps({"datastream": f"meter-{d}", "phenomenonTime": iso(int(t[k])),
                                         "result": truth[k, d] / 1000.0, "unit": "MW"}))
        stdout, (tu, unfed), (tf, fed) = feed(twin_toml, tmp, "meters", lines)
        expect(np.array_equal(tu, t) and np.array_equal(tf, t), "readings at the same times")
        # Misfit at the sensors against the truth, after the first reading was assimilated.
        later = t > 60_000
        rmse_unfed = np.sqrt(np.mean((unfed[later, :2] - truth[later, :2]) ** 2))
        rmse_fed = np.sqrt(np.mean((fed[later, :2] - truth[later, :2]) ** 2))
        expect(rmse_fed <= 0.5 * rmse_unfed,
               f"fed with the meters, the twin's RMSE at the sensors falls by at least half: "
               f"{rmse_fed:.1f} kW against {rmse_unfed:.1f} kW unfed")
        with h5py.File(f"{tmp}/fed/run.h5", "r") as f:
            use = f["/sensors/observations/use"][:]
            expect(len(use) == len(lines) and np.all(use == 2),
                   f"every reading is journaled as assimilated: {len(use)} of {len(lines)}")
            n = f["/sensors/fit/n"][:]
            before, after = f["/sensors/fit/rmse_before"][:], f["/sensors/fit/rmse_after"][:]
            expect(list(n) == [len(sent), len(sent), 0], f"fit counts per datastream: {list(n)}")
            # live.gain = 0.5 corrects half of each misfit (in the log of the ratio).
            expect(np.all(after[:2] < 0.6 * before[:2]) and np.all(after[:2] > 0.4 * before[:2]),
                   f"each update corrects about half of the misfit (gain 0.5): RMSE "
                   f"{before[:2]} -> {after[:2]} kW")
        expect("fit meter-0" in stdout, "the summary reports the fit")

        expect_replays(twin_toml, tmp, stdout)


def gauges():
    flash = f"{os.path.dirname(MONACO)}/monaco-flash-flood.toml"
    rain_gauge = ('[live]\nstatus_every = "60s"\n[[sensors.datastream]]\nid = "rain-0"\n'
                  'kind = "rain_intensity"\nat = [373200, 4843800]\nunit = "mm/h"\n'
                  'range = [0, 500]\n')
    with tempfile.TemporaryDirectory() as tmp:
        # The truth: the flash flood's rain 20 % heavier (96 mm/h for 80), 15 minutes; a rain
        # gauge reads it.
        with open(f"{tmp}/truth.toml", "w") as f:
            f.write(f'extends = "{flash}"\n[scenario]\nname = "truth"\nduration = "15min"\n'
                    f'[flood.rain]\nintensity = "96mm/h"\n{rain_gauge}')
        run(f"{tmp}/truth.toml", f"{tmp}/truth")
        with h5py.File(f"{tmp}/truth/run.h5", "r") as f:
            a = f["/flood"].attrs
            x0, y0, dx = float(a["x0"]), float(a["y0"]), float(a["dx"])
            t = f["/time"][:]
            depth = f["/flood/depth"][:]
            rain_t = f["/sensors/readings/t_ms"][:]
            rain = f["/sensors/readings/value"][:, 0]
        expect(np.allclose(rain, 96.0), f"the truth's rain gauge reads 96 mm/h: {set(rain)}")
        # Three water gauges where the truth ponds deepest, at least 100 m apart.
        cells = []
        for c in np.argsort(depth[-1], axis=None)[::-1]:
            j, i = np.unravel_index(c, depth[-1].shape)
            if all((i - a) ** 2 + (j - b) ** 2 >= (100 / dx) ** 2 for a, b in cells):
                cells.append((int(i), int(j)))
            if len(cells) == 3:
                break
        streams = "".join(
            f'[[sensors.datastream]]\nid = "gauge-{k}"\nkind = "water_depth"\n'
            f"at = [{x0 + (i + 0.5) * dx}, {y0 + (j + 0.5) * dx}]\n"
            f'unit = "m"\nrange = [0, 20]\nradius = "30m"\n'
            for k, (i, j) in enumerate(cells))
        with open(f"{tmp}/twin.toml", "w") as f:
            f.write(f'extends = "{flash}"\n[scenario]\nname = "twin"\nduration = "15min"\n'
                    f'{rain_gauge}{streams}')
        truth_at = {int(round(tk * 1000)): [float(depth[k, j, i]) for i, j in cells]
                    for k, tk in enumerate(t)}
        lines = [json.dumps({"datastream": f"gauge-{g}", "phenomenonTime": iso(ms), "result": v[g]})
                 for ms, v in sorted(truth_at.items()) if 0 < ms < 15 * 60_000 for g in range(3)]
        lines += [json.dumps({"datastream": "rain-0", "phenomenonTime": iso(int(ms)), "result": r})
                  for ms, r in zip(rain_t, rain) if ms < 15 * 60_000]
        stdout, (tu, unfed), (tf, fed) = feed(f"{tmp}/twin.toml", tmp, "gauges", lines)
        truth = np.array([truth_at[int(ms)] for ms in tf])
        later = tf > 60_000
        rmse_unfed = np.sqrt(np.mean((unfed[later, 1:] - truth[later]) ** 2))
        rmse_fed = np.sqrt(np.mean((fed[later, 1:] - truth[later]) ** 2))
        expect(np.allclose(fed[-1, 0], 96.0, rtol=0.02),
               f"the twin's rain follows its gauge: {fed[-1, 0]:.1f} mm/h at the end (80 unfed)")
        expect(rmse_fed <= 0.5 * rmse_unfed,
               f"fed with the rain and water gauges, the twin's RMSE at the water gauges falls by "
               f"at least half: "
               f"{rmse_fed:.3f} m against {rmse_unfed:.3f} m unfed")
        with h5py.File(f"{tmp}/fed/run.h5", "r") as f:
            expect(np.all(f["/sensors/observations/use"][:] == 2), "journaled as assimilated")
            added = f["/flood/volume/assimilated"][:]
            err = f["/flood/volume/error"][-1]
            stored = f["/flood/volume/stored"][-1]
        expect(added[-1] != 0 and abs(err) < 1e-6 * stored,
               f"the volume nudging added ({added[-1]:.1f} m3) is in the balance, which closes "
               f"(error {err:.2e} m3 of {stored:.0f} m3 stored)")
        expect("fit gauge-0" in stdout, "the summary reports the fit")


def status():
    with tempfile.TemporaryDirectory() as tmp:
        toml = scenario(tmp, "status", "5min", '[output]\nevery = "30s"\n')
        with open(f"{tmp}/breaker.jsonl", "w") as f:
            f.write(json.dumps({"datastream": "breaker-1", "phenomenonTime": iso(120_000),
                                "result": False}) + "\n")
            f.write(json.dumps({"datastream": "breaker-1", "phenomenonTime": iso(240_000),
                                "result": 1}) + "\n")
        run(toml, f"{tmp}/out", "--replay", f"{tmp}/breaker.jsonl")
        with h5py.File(f"{tmp}/out/run.h5", "r") as f:
            t = f["/time"][:]
            out = f["/power/customers_unserved"][:]
            use = f["/sensors/observations/use"][:]
        expect(np.all(out[t < 120] == 0) and np.all(out[(t > 120) & (t < 240)] > 0)
               and np.all(out[t > 240] == 0),
               f"the breaker reading takes substation 1 out at 2 min and back at 4 min: {list(out)}")
        expect(list(use) == [1, 1], "journaled as switched")


def detectors():
    # Monaco's traffic alone (no flood closing streets), 15 minutes. The truth: 30 % more
    # demand and roadworks limiting link 899 (302 m) to 5 m/s; loops on links 899 and 244
    # count the vehicles and their mean speed each minute.
    uncoupled = f"{os.path.dirname(MONACO)}/monaco-uncoupled.toml"
    sensors = '[live]\nstatus_every = "60s"\n'
    for link in (899, 244):
        sensors += (f'[[traffic.detector]]\nname = "loop{link}"\nedge = "{link}"\n'
                    f'[[sensors.datastream]]\nid = "count-{link}"\nkind = "traffic_count"\n'
                    f'entity = "loop{link}"\nrange = [0, 500]\n'
                    f'[[sensors.datastream]]\nid = "speed-{link}"\nkind = "traffic_speed"\n'
                    f'entity = "loop{link}"\nunit = "km/h"\nrange = [0, 200]\n')
    with tempfile.TemporaryDirectory() as tmp:
        keys = 'duration = "15min"\n'
        truth_toml = write_scenario(
            tmp, "truth", uncoupled, keys,
            '[[event]]\nat = "0s"\ntype = "traffic.scale_demand"\nfactor = 1.3\n[[event]]\n'
            'at = "0s"\ntype = "traffic.speed_limit"\nedges = ["899"]\nspeed = "5m/s"\n' + sensors)
        twin_toml = write_scenario(tmp, "twin", uncoupled, keys, sensors)
        run(truth_toml, f"{tmp}/truth")
        t, truth = readings(f"{tmp}/truth")
        ids = ["count-899", "speed-899", "count-244", "speed-244"]
        # Each minute's count and mean speed (km/h, the readings' unit) as an interval
        # observation (a minute with no vehicle has no mean speed: no observation).
        lines = [json.dumps({"datastream": ids[d], "phenomenonTime": f"{iso(t[k] - 60_000)}/"
                             f"{iso(t[k])}", "result": float(truth[k, d]),
                             "unit": "km/h" if d % 2 else "veh"})
                 for k in range(1, len(t)) if t[k] < 15 * 60_000
                 for d in range(4) if not np.isnan(truth[k, d])]
        stdout, (_, unfed), (_, fed) = feed(twin_toml, tmp, "loops", lines)
        later = t > 120_000
        def rmse(x, d):
            return np.sqrt(np.nanmean((x[later, d] - truth[later, d]) ** 2))
        expect(rmse(fed, 1) <= 0.5 * rmse(unfed, 1),
               f"fed with the loop's speeds, the twin's speed RMSE at the roadworks falls by at "
               f"least half: {rmse(fed, 1):.1f} km/h against {rmse(unfed, 1):.1f} km/h unfed")
        with h5py.File(f"{tmp}/fed/run.h5", "r") as f:
            use = f["/sensors/observations/use"][:]
            ds = f["/sensors/observations/datastream"][:]
            when = f["/sensors/observations/phenomenon_ms"][:]
            inserted = int(f["/traffic"].attrs["calibrator_inserted"])
            removed = int(f["/traffic"].attrs["calibrator_removed"])
            reserve = int(f["/traffic"].attrs["calibrator_reserve"])
            status = f["/traffic/trips/status"][:]
        expect(len(use) == len(lines), f"every observation journaled: {len(use)} of {len(lines)}")
        # The first minutes' counts find nothing passed yet in the twin: nothing to scale.
        # A count scales the calibrator by observed / simulated: it moves the twin whenever the
        # twin's own count over that minute (its reading then) is not zero, and cannot when
        # nothing passed there (the demand has minutes without traffic at these loops).
        counts = (ds % 2 == 0) & (when > 120_000)
        row = {int(tk): k for k, tk in enumerate(t)}
        passed = np.array([fed[row[int(w)], int(d)] > 0 for w, d in zip(when[counts], ds[counts])])
        expect(np.all((use[counts] == 2) == passed) and passed.sum() >= 10,
               f"the counts from the third minute on are assimilated whenever the twin counted "
               f"a vehicle in that minute: {int((use[counts] == 2).sum())} of "
               f"{int(counts.sum())}, {int(passed.sum())} with vehicles")
        expect(reserve == 400 and inserted <= reserve and inserted + removed > 0 and
               np.sum(status == 6) == removed,
               f"the count calibrators act: {inserted} inserted from their reserve (200 each), "
               f"{removed} removed (trip status 6)")
        expect(np.sum(status[-reserve:] == 0) == reserve - inserted - np.sum(status[-reserve:] == 5),
               "the reserve vehicles not taken stay pending")
        expect("live-count calibrators" in stdout and "fit speed-899" in stdout,
               "the summary reports the calibrators and the fit")
        expect_replays(twin_toml, tmp, stdout)


def counts():
    # SUMO's Bologna "Andrea Costa" scenario (routes, traffic only), 30 minutes. The truth:
    # 30 % fewer vehicles than the twin plans (its network is saturated at the planned demand:
    # more vehicles would not show in the counts). Loops on six busy edges send their 5-minute
    # counts; the twin's calibrators remove vehicles to meet them.
    bologna = f"{os.path.dirname(MONACO)}/bologna-acosta.toml"
    edges = ["204a[0]", "210", "85", "203[0]", "114", "209"]
    sensors = '[live]\nstatus_every = "60s"\n'
    for k, e in enumerate(edges):
        sensors += (f'[[traffic.detector]]\nname = "loop{k}"\nedge = "{e}"\n'
                    f'[[sensors.datastream]]\nid = "count-{k}"\nkind = "traffic_count"\n'
                    f'entity = "loop{k}"\nrange = [0, 2000]\nperiod = "5min"\n')
    with tempfile.TemporaryDirectory() as tmp:
        keys = f'duration = "30min"\nstart = "{iso(0)}"\n'
        truth_toml = write_scenario(
            tmp, "truth", bologna, keys,
            '[[event]]\nat = "0s"\ntype = "traffic.scale_demand"\nfactor = 0.7\n' + sensors)
        twin_toml = write_scenario(tmp, "twin", bologna, keys, sensors)
        run(truth_toml, f"{tmp}/truth")
        t, truth = readings(f"{tmp}/truth")
        five = (t % 300_000 == 0) & (t > 0) & (t < 30 * 60_000)
        lines = [json.dumps({"datastream": f"count-{d}", "phenomenonTime":
                             f"{iso(t[k] - 300_000)}/{iso(t[k])}", "result": float(truth[k, d])})
                 for k in np.flatnonzero(five) for d in range(len(edges))]
        stdout, _, (tf, fed) = feed(twin_toml, tmp, "counts", lines)
        _, unfed = readings(f"{tmp}/unfed")
        # The 5-minute counts from 10 minutes on (after the first count was assimilated).
        later = (tf % 300_000 == 0) & (tf >= 600_000)
        rmse_unfed = np.sqrt(np.mean((unfed[later] - truth[later]) ** 2))
        rmse_fed = np.sqrt(np.mean((fed[later] - truth[later]) ** 2))
        expect(rmse_fed <= 0.5 * rmse_unfed,
               f"fed with the loops' counts, the twin's RMSE at the loops falls by at least half: "
               f"{rmse_fed:.1f} against {rmse_unfed:.1f} vehicles per 5 min unfed")
        with h5py.File(f"{tmp}/fed/run.h5", "r") as f:
            expect(np.all(f["/sensors/observations/use"][:] == 2), "journaled as assimilated")
            removed = int(f["/traffic"].attrs["calibrator_removed"])
            expect(removed > 0 and np.sum(f["/traffic/trips/status"][:] == 6) == removed,
                   f"the calibrators removed {removed} vehicles (trip status 6)")
        expect("fit count-0" in stdout, "the summary reports the fit")


{"meters": meters, "gauges": gauges, "status": status, "detectors": detectors,
 "counts": counts}[CHECK]()
