"""Forks as a user makes them (docs/batch.md "Fork"): `citytwin fork CHECKPOINT` runs several
futures from one saved state. Usage: fork_checks.py CITYTWIN CHECK."""
import os
import re
import shutil
import tempfile

import cli_common
from cli_common import CHECK, run, state_hash

SCENARIO = "scenarios/monaco.toml"  # coupled: flood, traffic, power and the exchange; 30 mm/h
RAIN = ["0mm/h", "30mm/h", "60mm/h", "90mm/h"]


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def ok(*args):
    return cli_common.ok(*args, quiet=True)


def parent_run(tmp):
    """Monaco to 4 min with a checkpoint there: the parent every fork starts from."""
    out = ok("run", SCENARIO, "--until", "4min", "--checkpoint-every", "4min", "--threads", "2",
             "--out", f"{tmp}/parent")
    return f"{tmp}/parent", state_hash(out)


def fork_table(stdout):
    """The parent's hash at the fork and the members' rows: (seed, value or None, hash, file)."""
    print(stdout, end="")
    m = re.search(r"parent state hash at \S+\s+([0-9a-f]{16})", stdout)
    expect(m is not None, "the fork prints the parent's hash")
    rows = {}
    for line in stdout.splitlines():
        f = line.split()
        if f and f[0].isdigit():
            expect(len(f) in (4, 5), f"a member row: {line}")
            rows[int(f[0])] = (int(f[1]), f[2] if len(f) == 5 else None, f[-2], f[-1])
    expect(len(rows) > 0 and sorted(rows) == list(range(len(rows))),
           f"a row per member 0..{len(rows) - 1}")
    return m.group(1), [rows[k] for k in sorted(rows)]


def frame_rows(path):
    """Every per-frame dataset of a run file as {name: array of rows}, and the vehicles of each
    frame (the ragged /traffic/vehicles arrays cut by offset and count)."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        n = f["/time"].shape[0]
        ragged = [k for k in f["/traffic/vehicles"] if k not in ("offset", "count")]

        def visit(name, o):
            if isinstance(o, h5py.Dataset) and o.ndim >= 1 and o.shape[0] == n and \
                    not name.startswith("traffic/vehicles/"):
                out[name] = o[()]

        f.visititems(visit)
        offset, count = f["/traffic/vehicles/offset"][()], f["/traffic/vehicles/count"][()]
        for k in ragged:
            flat = f["/traffic/vehicles/" + k][()]
            out["traffic/vehicles/" + k] = [flat[o:o + c] for o, c in zip(offset, count)]
        out["traffic/vehicles/count"] = count
    return out


def same_rows(a, b):
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and (np.array_equal(a, b, equal_nan=True) if a.dtype.kind in "fc"
                                   else np.array_equal(a, b))


def compare_frames(a, i, b, j):
    """Frame i of run file a against frame j of run file b, in every dataset that is per-frame in
    both (first dimension = the file's frames): the names compared and those that differ."""
    ra, rb = frame_rows(a), frame_rows(b)
    names = sorted(set(ra) & set(rb) - {"time"})
    for must in ("flood/depth", "flood/volume/stored", "traffic/running", "traffic/vehicles/x",
                 "power/served_mw", "exchange/link_closed"):
        expect(must in names, f"{must} is among the per-frame datasets compared")
    return names, [d for d in names if not same_rows(ra[d][i], rb[d][j])]


def vary():
    import h5py
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        parent, parent_end = parent_run(tmp)
        out = ok("fork", parent, "--vary", "flood.rain.intensity=" + ",".join(RAIN),
                 "--until", "+3min", "--threads", "2")
        at_fork, members = fork_table(out)
        expect(len(members) == 4, f"one member per value: {len(members)}")
        expect([m[1] for m in members] == RAIN, f"the values in order: {[m[1] for m in members]}")
        expect(len({m[0] for m in members}) == 1, "varied members keep the parent's seed")

        # (a) The fork's frame is the parent's last: the state hash, and every per-frame dataset.
        with h5py.File(f"{parent}/checkpoint.h5", "r") as f:
            stored = f["/meta"].attrs["state_hash"]
            stored = stored.decode() if isinstance(stored, bytes) else str(stored)
        expect(at_fork == stored == parent_end,
               f"the parent's hash at the fork {at_fork} = the checkpoint's {stored} = the "
               f"parent run's final {parent_end}")
        for k, (_, rain, _, h5) in enumerate(members):
            expect(h5 == f"{parent}/fork/member-{k}/run.h5", f"member {k} writes {h5}")
            times = list(frame_rows(h5)["time"])
            expect(times == [240.0, 300.0, 360.0, 420.0],
                   f"member {k}: frames from the fork at 240 s to 420 s: {times}")
            names, differ = compare_frames(h5, 0, f"{parent}/run.h5", -1)
            expect(not differ, f"member {k} ({rain}): the fork's frame equals the parent's last in "
                               f"all {len(names)} per-frame datasets; differ: {differ}")
            with h5py.File(h5, "r") as f:
                meta = {n: (v.decode() if isinstance(v, bytes) else v)
                        for n, v in f["/meta"].attrs.items() if n.startswith("fork_")}
            expect(meta.get("fork_parent") == os.path.abspath(f"{parent}/checkpoint.h5")
                   and meta.get("fork_parent_state_hash") == stored
                   and meta.get("fork_at_s") == 240.0 and meta.get("fork_member") == k,
                   f"member {k}'s run file names its parent: {meta}")

        # (b) Other futures: different hashes, and water that orders with the rain.
        hashes = [m[2] for m in members]
        # fork.csv: the batch table's columns, a row per member with its hash and KPIs.
        import csv

        with open(f"{parent}/fork/fork.csv") as fh:
            rows = list(csv.DictReader(fh))
        expect([r["member"] for r in rows] == [f"member-{k}" for k in range(4)], "fork.csv has a row per member")
        expect([r["state_hash"] for r in rows] == hashes, "fork.csv's hashes are the table's")
        expect([r["flood.rain.intensity"] for r in rows] == RAIN, "fork.csv names the varied values")
        depths = [float(r["flood.max_depth"]) for r in rows]
        expect(depths == sorted(depths) and depths[0] < depths[-1],
               f"fork.csv's flood.max_depth rises with the rain: {depths}")
        expect(len(set(hashes)) == 4, f"four different final hashes: {hashes}")
        figures = []
        for k, m in enumerate(members):
            with h5py.File(m[3], "r") as f:
                expect(f["/meta"].attrs["complete"] == 1, f"member {k}'s run file is complete")
                h = f["/meta"].attrs["state_hash"]
                expect((h.decode() if isinstance(h, bytes) else str(h)) == m[2],
                       f"member {k}: /meta state_hash = the table's {m[2]}")
                rain = f["/flood/volume/rain"][()]
                figures.append((rain[-1] - rain[0], f["/flood/volume/stored"][-1],
                                float(np.nanmax(f["/flood/max_depth"][()]))))
        for k, (rain, stored_m3, depth) in enumerate(figures):
            print(f"  {RAIN[k]:>7}: rain after the fork {rain:9.1f} m3, stored {stored_m3:9.1f} m3, "
                  f"max depth {depth:.4f} m, hash {hashes[k]}")
        # Rain falls on every active cell alike, so the volume after the fork is the intensity
        # times the active area times 3 min: 0 for no rain, proportional to the intensity (the
        # relative tolerance covers the double sums' rounding, about 1e-8 here).
        expect(figures[0][0] == 0, f"no rain after the fork at 0 mm/h: {figures[0][0]} m3")
        for k in (2, 3):
            ratio = figures[k][0] / figures[1][0]
            expect(abs(ratio - k) < 1e-6, f"{RAIN[k]} rains {k} times 30 mm/h's volume: {ratio}")
        for k in range(3):
            expect(figures[k][1] < figures[k + 1][1] and figures[k][2] < figures[k + 1][2],
                   f"more rain, more water: {RAIN[k]} {figures[k][1]:.1f} m3, "
                   f"{figures[k][2]:.4f} m < {RAIN[k + 1]} {figures[k + 1][1]:.1f} m3, "
                   f"{figures[k + 1][2]:.4f} m")

        # (c) The scenario's own rain (30 mm/h) continues the parent exactly: `resume` to the
        # same time (on a copy, so the parent's run file stays as the fork saw it).
        shutil.copytree(parent, f"{tmp}/resumed", ignore=shutil.ignore_patterns("fork"))
        resumed = state_hash(ok("resume", f"{tmp}/resumed", "--until", "7min", "--threads", "1"))
        expect(members[1][2] == resumed,
               f"the 30 mm/h member {members[1][2]} = the resumed parent {resumed}")
        names, differ = compare_frames(members[1][3], -1, f"{tmp}/resumed/run.h5", -1)
        expect(not differ, f"its last frame equals the resumed run's in {len(names)} per-frame "
                           f"datasets; differ: {differ}")
        print(f"vary: parent {at_fork} at 4 min; 30 mm/h member = resume = {resumed}")


def seeds():
    import h5py
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        parent, _ = parent_run(tmp)
        out = ok("fork", parent, "--members", "3", "--until", "+3min", "--threads", "2",
                 "--out", f"{tmp}/a")
        at_fork, members = fork_table(out)
        expect(len(members) == 3, f"three members: {len(members)}")
        seeds_ = [m[0] for m in members]
        expect(seeds_[0] == 42 and len(set(seeds_)) == 3,
               f"member 0 keeps the parent's seed (monaco: 42), the others their own: {seeds_}")
        hashes = [m[2] for m in members]
        expect(len(set(hashes)) == 3, f"three different final hashes: {hashes}")
        shutil.copytree(parent, f"{tmp}/resumed", ignore=shutil.ignore_patterns("fork"))
        resumed = state_hash(ok("resume", f"{tmp}/resumed", "--until", "7min"))
        expect(hashes[0] == resumed, f"member 0 {hashes[0]} = the resumed parent {resumed}")

        # The seeds differ in what is still to draw (the drivers of vehicles not yet on the road)
        # and in nothing else: the traffic differs after the fork, the flood does not.
        runs = []
        for m in members:
            with h5py.File(m[3], "r") as f:
                expect(int(f["/meta"].attrs["state_seed"]) == m[0], f"/meta state_seed {m[0]}")
                runs.append({k: f[k][()] for k in ("/traffic/mean_speed", "/traffic/arrived",
                                                   "/flood/depth", "/flood/volume/stored")})
        for k in (1, 2):
            expect(same_rows(runs[k]["/traffic/mean_speed"][0], runs[0]["/traffic/mean_speed"][0]),
                   f"member {k}: the same traffic at the fork")
            expect(not same_rows(runs[k]["/traffic/mean_speed"], runs[0]["/traffic/mean_speed"]),
                   f"member {k}: other drivers, other mean speeds: "
                   f"{runs[k]['/traffic/mean_speed']} vs {runs[0]['/traffic/mean_speed']}")
            expect(same_rows(runs[k]["/flood/depth"], runs[0]["/flood/depth"]) and
                   same_rows(runs[k]["/flood/volume/stored"], runs[0]["/flood/volume/stored"]),
                   f"member {k}: the same flood (no draw of the flood depends on the seed)")

        # Determinism: the same fork on one thread gives the same table.
        again = ok("fork", f"{parent}/checkpoint.h5", "--members", "3", "--until", "7min",
                   "--threads", "1", "--out", f"{tmp}/b")
        _, members_b = fork_table(again)
        expect([m[:3] for m in members_b] == [m[:3] for m in members],
               f"1 thread and 2 threads: the same seeds and hashes: {members_b}")
        print(f"seeds: parent {at_fork}; members {list(zip(seeds_, hashes))}; "
              f"mean speed at 7 min {[round(float(r['/traffic/mean_speed'][-1]), 3) for r in runs]}")


def bad_input():
    with tempfile.TemporaryDirectory() as tmp:
        parent, _ = parent_run(tmp)
        out = f"{tmp}/bad"

        def refused(args, *needles):
            r = run("fork", parent, "--out", out, "--quiet", *args)
            msg = r.stderr.strip()
            expect(r.returncode == 2 and all(n in msg for n in needles),
                   f"fork {' '.join(args)}: exit 2 ({r.returncode}) saying {needles}: {msg}")
            expect(not os.path.exists(f"{out}/member-0/run.h5"), "nothing ran")

        refused(["--until", "2min"], "--until", "not after the fork at 4min")
        refused(["--until", "+0s"], "not after the fork")
        refused(["--until", "+2h"], "past the scenario's duration 1h00min", "monaco.toml")
        refused(["--until", "soon"], "--until", "\"soon\" is not a duration")
        refused(["--vary", "flood.rain.intensty=10mm/h,20mm/h"], "flood.rain.intensty",
                "unknown key", "member-0/scenario.toml")
        refused(["--vary", "flood.rain.intensity"], "--vary", "no '='")
        refused(["--vary", "flood.rain.intensity=10mm/h,,20mm/h"], "an empty value")
        refused(["--vary", "flood.rain.intensity=lots"], "\"lots\" is not a number")
        refused(["--vary", "city.bbox=1,2"], "does not vary city")
        refused(["--members", "3", "--vary", "flood.rain.intensity=10mm/h,20mm/h"],
                "--members 3 but --vary gives 2 values")
        # A key that changes the state's layout: the checkpoint cannot be restored into it.
        refused(["--vary", "flood.resolution=10m", "--until", "+1min"],
                "flood.resolution = 10m", "does not fit", "part flood")
        r = run("fork", tmp, "--quiet")
        expect(r.returncode == 2 and f"{tmp}/checkpoint.h5" in r.stderr,
               f"no checkpoint: exit 2 naming the file: {r.stderr.strip()}")
        print("bad_input: each refused with exit 2 and a message naming the problem")


{"vary": vary, "seeds": seeds, "bad_input": bad_input}[CHECK]()
