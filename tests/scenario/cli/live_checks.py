"""A run followed from outside and paced by the wall clock (docs/hdf5-layout.md "Following a
run", docs/cli.md "Real-time pacing"). Usage: live_checks.py CITYTWIN CHECK."""
import os
import re
import subprocess
import sys
import tempfile
import time

import cli_common
from cli_common import CHECK, run, state_hash

MONACO = f"{os.getcwd()}/scenarios/monaco.toml"  # coupled: flood, traffic, power, the exchange
# The sanitizer build runs about ten times slower: there the paced check asks a tenth of the
# pace (the same wall time).
ASAN = "ASAN_OPTIONS" in os.environ


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def scenario(tmp, name, duration, output=""):
    path = f"{tmp}/{name}.toml"
    with open(path, "w") as f:
        f.write(f'extends = "{MONACO}"\n[scenario]\nname = "{name}"\nduration = "{duration}"\n'
                f"[output]\n{output}")
    return path


def summary(stdout, key):
    m = re.search(rf"^run\s+{key}\s+(.+)$", stdout, re.M)
    expect(m is not None, f"the summary has `{key}`: {stdout[-800:]}")
    return m.group(1).strip()


def follow():
    # While Monaco runs (10 simulated minutes, a frame and a flush every 10 s), h5py opens its
    # run file with SWMR read access and reads /time and per-frame series as they grow; after
    # the end, the finished file holds exactly what was read, and more.
    import h5py
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        toml = scenario(tmp, "follow", "10min", 'every = "10s"\nflush_every = "10s"\n')
        h5 = f"{tmp}/out/run.h5"
        log = open(f"{tmp}/log", "w")
        p = subprocess.Popen([sys.argv[1], "run", toml, "--out", f"{tmp}/out"],
                             stdout=subprocess.PIPE, stderr=log, text=True)
        f = None
        deadline = time.time() + 900
        while f is None and p.poll() is None and time.time() < deadline:
            try:  # refused until the first frame is written
                f = h5py.File(h5, "r", libver="latest", swmr=True)
            except (OSError, FileNotFoundError):
                time.sleep(0.05)
        expect(f is not None, "the run file opens for SWMR reading while the run goes on")
        series = ("/time", "/flood/volume/stored", "/traffic/running", "/power/served_mw",
                  "/flood/depth")
        # A second run into the same folder meanwhile is refused, and leaves the file alone.
        second = run("run", toml, "--out", f"{tmp}/out", "--until", "1min", "--quiet")
        expect(second.returncode == 1 and "in use by another process" in second.stderr,
               f"a second run cannot replace the file being written: {second.stderr.strip()!r}")
        reads = []  # (frames, {dataset: rows read})
        while p.poll() is None and time.time() < deadline:
            for name in series:
                f[name].refresh()
            n = min(f[name].shape[0] for name in series)
            if n > 0 and (not reads or n > reads[-1][0]):
                reads.append((n, {name: f[name][:n] if name != "/flood/depth" else f[name][n - 1]
                                  for name in series}))
            time.sleep(0.1)
        stdout = p.communicate()[0]
        log.close()
        expect(p.returncode == 0, f"the run ends well with a reader open: {open(f'{tmp}/log').read()[-2000:]}")
        f.close()
        counts = [n for n, _ in reads]
        expect(len(counts) >= 3, f"several reads while the run went on, each with more frames: {counts}")
        expect(all(a < b for a, b in zip(counts, counts[1:])), f"frame counts grow: {counts}")
        for n, got in reads:
            expect(list(got["/time"]) == [10.0 * k for k in range(n)],
                   f"{n} frames read: /time is every 10 s from 0")
        with h5py.File(h5, "r") as done:
            expect(done["/meta"].attrs["complete"] == 1, "the finished file is complete")
            expect(done["/meta"].attrs["state_hash"] == state_hash(stdout),
                   "the finished file's hash is the summary's")
            expect(done["/time"].shape[0] == 61 and "/flood/max_depth" in done,
                   f"the finished file: 61 frames and the end-of-run results ({done['/time'].shape})")
            for n, got in reads:
                for name in series:
                    final = done[name][:n] if name != "/flood/depth" else done[name][n - 1]
                    expect(np.array_equal(got[name], final),
                           f"{name}: what was read at {n} frames is what the finished file holds")
        print(f"follow: {len(reads)} reads while running, frames {counts}; the finished file "
              f"holds them all ({state_hash(stdout)})")


def realtime():
    # --realtime 60 over 10 simulated minutes: 10 s of wall time (at least 10 s, since each step
    # waits for its due time; 13 s leaves room for a shared machine), the lag below one macro
    # step (1 s) throughout, and the same state hash and frames as the run without pacing.
    # Keeping pace needs spare CPU: the timing checks need the unpaced runs before and after it
    # to have gone at least twice the pace (Monaco runs about 200x real time on two idle cores);
    # on a machine too busy for that (other builds and runs) they are skipped, and the test says
    # so (ctest: skipped).
    import h5py
    import numpy as np

    factor = 6 if ASAN else 60
    with tempfile.TemporaryDirectory() as tmp:
        toml = scenario(tmp, "paced", "1min" if ASAN else "10min")
        free = run("run", toml, "--out", f"{tmp}/free", "--quiet")
        expect(free.returncode == 0, f"the unpaced run: {free.stderr[-2000:]}")
        paced = run("run", toml, "--out", f"{tmp}/paced", "--realtime", str(factor))
        expect(paced.returncode == 0, f"the paced run: {paced.stderr[-2000:]}")
        wall = float(summary(paced.stdout, "simulation wall time").split()[0])
        expect(wall >= 9.5, f"--realtime {factor}: {wall:.2f} s of wall time, 10 s due")
        max_lag = float(summary(paced.stdout, "max lag").split()[0])
        late = int(summary(paced.stdout, "late steps").split()[0])
        expect("lag" in paced.stderr, "the progress lines show the lag")
        expect(state_hash(paced.stdout) == state_hash(free.stdout),
               f"pacing changes nothing: {state_hash(paced.stdout)} and {state_hash(free.stdout)}")
        with h5py.File(f"{tmp}/paced/run.h5", "r") as p, h5py.File(f"{tmp}/free/run.h5", "r") as q:
            lag = p["/run/lag_s"][:]
            expect(lag.shape == p["/time"].shape, "a lag per frame")
            # The summary prints the max lag to the millisecond: compare within its rounding.
            expect(np.all(np.isfinite(lag)) and np.all(lag >= 0) and lag.max() <= max_lag + 5e-4,
                   f"the recorded lags are at most the summary's max ({max_lag:.3f} s): {lag}")
            expect(np.all(np.isnan(q["/run/lag_s"][:])), "an unpaced run records NaN lags")
            for name in ("/time", "/flood/depth", "/traffic/vehicles/x", "/power/bus_vm"):
                expect(np.array_equal(p[name][:], q[name][:], equal_nan=True),
                       f"{name} equal with and without pacing")
        # The machine's spare CPU before and after the paced run (other tests come and go).
        again = run("run", toml, "--out", f"{tmp}/again", "--quiet")
        expect(again.returncode == 0, f"the second unpaced run: {again.stderr[-2000:]}")
        speed = min(float(summary(r.stdout, "speed").split("x")[0]) for r in (free, again))
        timing = (f"--realtime {factor}: {wall:.2f} s wall, max lag {max_lag:.3f} s, {late} late "
                  f"steps; unpaced {speed:.0f}x real time (the slower of two runs)")
        if speed < 2 * factor:
            print(f"realtime: SKIPPED the timing checks, the machine is too busy: {timing}")
            sys.exit(77)
        expect(wall < 13, f"{timing}: within 13 s")
        expect(max_lag < 1.0 and late == 0, f"{timing}: the lag stays below the 1 s macro step")
        print(f"realtime: {timing}; hash {state_hash(free.stdout)} as unpaced")


def realtime_input():
    # --realtime alone is real time, for run and resume: a 4 s scenario run to 2 s with a
    # checkpoint there, resumed paced (2 s of wall time, the checkpoint's time mapped to the
    # wall clock at the resume), ends with the unpaced run's hash; bad factors are bad input.
    import h5py
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        toml = scenario(tmp, "alone", "4s")
        for bad in ("0", "-2", "fast", "nan"):
            r = run("run", toml, "--out", f"{tmp}/bad", f"--realtime={bad}")
            expect(r.returncode == 2 and "--realtime" in r.stderr and f'"{bad}"' in r.stderr,
                   f"--realtime={bad} is refused: exit {r.returncode}, {r.stderr.strip()!r}")
        free = run("run", toml, "--out", f"{tmp}/free", "--quiet")
        expect(free.returncode == 0, f"the unpaced run: {free.stderr[-2000:]}")
        part = f"{tmp}/part"
        r = run("run", toml, "--out", part, "--quiet", "--until", "2s", "--checkpoint-every", "2s")
        expect(r.returncode == 0, f"the first half: {r.stderr[-2000:]}")
        r = run("resume", part, "--realtime", "x")
        expect(r.returncode == 2 and '--realtime: "x"' in r.stderr,
               f"resume refuses a bad factor: {r.stderr.strip()!r}")
        r = run("resume", part, "--quiet", "--until", "4s", "--realtime")
        expect(r.returncode == 0, f"resume --realtime without a factor: {r.stderr[-2000:]}")
        wall = float(summary(r.stdout, "simulation wall time").split()[0])
        expect(summary(r.stdout, "realtime").startswith("1x") and 1.9 <= wall < 5,
               f"--realtime alone is 1x: 2 simulated seconds resumed in {wall:.2f} s")
        expect(state_hash(r.stdout) == state_hash(free.stdout),
               f"the paced resume ends as the unpaced run: {state_hash(r.stdout)}")
        with h5py.File(f"{part}/run.h5", "r") as f:
            lag = f["/run/lag_s"][:]
            expect(list(f["/time"][:]) == [0.0, 4.0] and np.isnan(lag[0]) and 0 <= lag[1] < 1,
                   f"the unpaced first frame has no lag, the paced last one has: {lag}")
        print(f"realtime_input: bad factors refused; resume --realtime: 1x, {wall:.2f} s wall, "
              f"hash {state_hash(free.stdout)} as unpaced")


{"follow": follow, "realtime": realtime, "realtime_input": realtime_input}[CHECK]()
