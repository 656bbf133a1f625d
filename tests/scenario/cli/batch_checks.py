"""Batches as a researcher runs them (docs/batch.md): `citytwin batch`. Usage:
batch_checks.py CITYTWIN CHECK."""
import csv
import os
import subprocess
import sys
import tempfile

import cli_common
from cli_common import CHECK, run, state_hash

ROOT = os.getcwd()
# The sanitizer build runs about ten times slower: there the ensemble runs 1 minute, not 2.
UNTIL = "1min" if "ASAN_OPTIONS" in os.environ else "2min"


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def table(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def batch(*args, code=0):
    r = run("batch", *args, "--quiet")
    expect(r.returncode == code,
           f"citytwin batch {' '.join(args)}: exit {r.returncode} (expected {code}): {r.stderr[-2000:]}")
    return r


def without_wall(rows):
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def determinism():
    # The 8-member Monte Carlo example, cut to 2 minutes: the same table (every column but the
    # wall time) with 1 and 2 threads; a member re-run alone gives the hash its row holds.
    ens = "scenarios/batch/monaco-storm-ensemble.toml"
    with tempfile.TemporaryDirectory() as tmp:
        batch(ens, "--until", UNTIL, "--threads", "1", "--out", f"{tmp}/t1")
        batch(ens, "--until", UNTIL, "--threads", "2", "--out", f"{tmp}/t2")
        # The same batch across two processes (OpenMPI on localhost), one thread each.
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1")
        if "ASAN_OPTIONS" in env:
            # OpenMPI's components, loaded with dlopen and unloaded by MPI_Finalize, leave
            # allocations LeakSanitizer reports without a module to suppress them by. The leak
            # check stays on for every other run, the one-process batches above included.
            env["ASAN_OPTIONS"] += ":detect_leaks=0"
        p = subprocess.run(["mpirun", "-n", "2", "--oversubscribe", sys.argv[1], "batch", ens,
                            "--until", UNTIL, "--out", f"{tmp}/mpi", "--quiet"],
                           capture_output=True, text=True, timeout=1200, env=env)
        expect(p.returncode == 0 and "on 2 ranks" in p.stdout,
               f"mpirun -n 2: exit {p.returncode}: {p.stdout[-500:]} {p.stderr[-1500:]}")
        a, b = table(f"{tmp}/t1/batch.csv"), table(f"{tmp}/t2/batch.csv")
        c = table(f"{tmp}/mpi/batch.csv")
        expect(len(a) == 8 and all(r["status"] == "done" for r in a), f"8 members done: {len(a)}")
        expect(without_wall(a) == without_wall(b), "batch.csv equal for 1 and 2 threads")
        expect(without_wall(a) == without_wall(c), "batch.csv equal as one process and on 2 MPI ranks")
        hashes = [r["state_hash"] for r in a]
        expect(len(set(hashes)) == 8, "the members differ (their seeds and draws)")
        seeds = [r["seed"] for r in a]
        expect(len(set(seeds)) == 8, "each member has its own seed")
        rain = [float(r["flood.rain.intensity"].removesuffix("mm/h")) for r in a]
        expect(all(15 < x < 60 for x in rain), f"lognormal rain around 30 mm/h: {rain}")
        m = a[2]
        r = run("run", f"{tmp}/t1/members/{m['member']}/scenario.toml", "--until", UNTIL,
                "--seed", m["seed"], "--out", f"{tmp}/alone", "--quiet")
        expect(r.returncode == 0, f"the member's scenario runs alone: {r.stderr[-500:]}")
        alone = state_hash(r.stdout)
        expect(alone == m["state_hash"], f"{m['member']} alone {alone}, in the batch {m['state_hash']}")
        print(f"determinism: 8 members, hashes {hashes[:2]}..., rain {rain}")


def sweep():
    # The sweep example cut to 3 minutes: rain volume proportional to the intensity (the same
    # area and time), the deepest water growing with it.
    with tempfile.TemporaryDirectory() as tmp:
        batch("scenarios/batch/monaco-rain-sweep.toml", "--until", "3min", "--threads", "2",
              "--out", tmp)
        rows = table(f"{tmp}/batch.csv")
        expect([r["member"] for r in rows] == [f"sweep-{k:03}" for k in range(1, 7)], "six points")
        i = [float(r["flood.rain.intensity"].removesuffix("mm/h")) for r in rows]
        expect(i == [10, 20, 30, 40, 50, 60], f"the sweep's values in order: {i}")
        rain = [float(r["flood.rain_volume"]) for r in rows]
        per = [v / x for v, x in zip(rain, i)]
        expect(max(per) / min(per) - 1 < 1e-6, f"rain volume / intensity constant: {per}")
        depth = [float(r["flood.max_depth"]) for r in rows]
        expect(all(b > a for a, b in zip(depth, depth[1:])), f"max depth grows with rain: {depth}")
        print(f"sweep: rain m3 per mm/h {per[0]:.3f}, max depth {depth}")


def failing_and_resume():
    with tempfile.TemporaryDirectory() as tmp:
        variant = f"{tmp}/broken.toml"
        with open(variant, "w") as f:
            f.write(f'extends = "{ROOT}/scenarios/monaco.toml"\n[flood]\nmanning = -1\n')
        spec = f"{tmp}/b.toml"
        with open(spec, "w") as f:
            f.write(f'[batch]\nscenario = "{ROOT}/scenarios/monaco.toml"\nuntil = "1min"\n'
                    '[[batch.variant]]\nname = "broken"\nscenario = "broken.toml"\n'
                    '[batch.monte_carlo]\nmembers = 2\n')
        out = f"{tmp}/out"
        batch(spec, "--out", out, "--threads", "2", code=1)
        rows = {r["member"]: r for r in table(f"{out}/batch.csv")}
        expect(sorted(rows) == ["base", "broken", "mc-001", "mc-002"], f"every member has a row: {sorted(rows)}")
        expect(rows["broken"]["status"] == "failed" and "broken.toml:3" in rows["broken"]["error"]
               and "manning" in rows["broken"]["error"],
               f"the failing member's error names file:line and key: {rows['broken']['error']}")
        expect(all(rows[m]["status"] == "done" for m in ("base", "mc-001", "mc-002")),
               "the other members ran to the end")
        with open(variant, "w") as f:
            f.write(f'extends = "{ROOT}/scenarios/monaco.toml"\n[flood]\nmanning = 0.03\n')
        batch(spec, "--out", out, "--threads", "2", "--resume")
        again = {r["member"]: r for r in table(f"{out}/batch.csv")}
        expect(again["broken"]["status"] == "done", "the fixed member ran on --resume")
        expect(all(again[m] == rows[m] for m in ("base", "mc-001", "mc-002")),
               "the members done before were skipped (their rows unchanged, wall time included)")
        print("failing_and_resume: one failing member recorded, the batch went on; --resume ran only it")


def bad_batches():
    with tempfile.TemporaryDirectory() as tmp:
        def write(text):
            p = f"{tmp}/bad.toml"
            with open(p, "w") as f:
                f.write(text)
            return p

        base = f'[batch]\nscenario = "{ROOT}/scenarios/monaco.toml"\n'
        r = batch(write(base + '[batch.sweep]\n[[batch.sweep.parameter]]\nkey = "city.terrain_resolution"\n'
                        'values = [10, 20]\n'), code=2)
        expect("bad.toml:5" in r.stderr and "city" in r.stderr, f"a city key: {r.stderr.strip()}")
        r = batch(write(base + '[batch.sweep]\n[[batch.sweep.parameter]]\nkey = "flood.no_such_key"\n'
                        'values = [1]\n'), code=2)
        expect("no_such_key" in r.stderr and "do not make a valid scenario" in r.stderr,
               f"an unknown key: {r.stderr.strip()}")
        r = batch(write('[batch]\nuntil = "1min"\n'), code=2)
        expect('missing key "scenario"' in r.stderr, f"no base scenario: {r.stderr.strip()}")
        r = batch(write(base + '[batch.sweep]\n[[batch.sweep.parameter]]\nkey = "flood.manning"\n'
                        'range = [0.02, 0.01, 0.001]\n'), code=2)
        expect("range" in r.stderr, f"an empty range: {r.stderr.strip()}")
        print("bad_batches: refused with exit 2, located")


{"determinism": determinism, "sweep": sweep, "failing_and_resume": failing_and_resume,
 "bad_batches": bad_batches}[CHECK]()
