"""A run followed from outside (docs/hdf5-layout.md "Following a run"). Usage: live_checks.py
CITYTWIN CHECK."""
import os
import subprocess
import sys
import tempfile
import time

import cli_common
from cli_common import CHECK, state_hash

MONACO = f"{os.getcwd()}/scenarios/monaco.toml"  # coupled: flood, traffic, power, the exchange


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def scenario(tmp, name, duration, output=""):
    path = f"{tmp}/{name}.toml"
    with open(path, "w") as f:
        f.write(f'extends = "{MONACO}"\n[scenario]\nname = "{name}"\nduration = "{duration}"\n'
                f"[output]\n{output}")
    return path


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


{"follow": follow}[CHECK]()
