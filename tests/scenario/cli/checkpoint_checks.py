"""Checkpoints as a user takes them (docs/batch.md "Checkpoints"): `citytwin run
--checkpoint-every`, `citytwin resume`. Usage: checkpoint_checks.py CITYTWIN CHECK."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import cli_common
from cli_common import CHECK, run, state_hash

SCENARIO = "scenarios/monaco.toml"  # coupled: flood, traffic, power and the exchange
# The sanitizer build runs about ten times slower: there the checks run a fifth of the time
# (checkpoints at 2 and 4 of 6 minutes instead of 10 and 20 of 30).
LEG = 2 if "ASAN_OPTIONS" in os.environ else 10


def expect(cond, what):
    cli_common.expect(cond, what, verbose=True)


def ok(*args):
    return cli_common.ok(*args, quiet=True)


def datasets(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        meta = dict(f["/meta"].attrs)
    return out, meta


def same_file(a, b):
    """Every dataset of run file b equals a's, value for value (NaN equal to NaN)."""
    import numpy as np

    da, ma = datasets(a)
    db, mb = datasets(b)
    expect(sorted(da) == sorted(db), f"the same datasets ({len(da)} and {len(db)})")
    differ = []
    for k in da:
        x, y = np.asarray(da[k]), np.asarray(db[k])
        same = x.shape == y.shape and (
            np.array_equal(x, y, equal_nan=True) if x.dtype.kind in "fc" else np.array_equal(x, y))
        if not same:
            differ.append(k)
    expect(not differ, f"every dataset equal ({len(da)} compared); differ: {differ}")
    for key in ("state_hash", "complete", "steps", "end_s", "duration_s"):
        expect(str(ma[key]) == str(mb[key]), f"/meta {key} equal: {ma[key]} and {mb[key]}")
    return len(da)


def resume_equal():
    # 30 min uninterrupted against 10 min + checkpoint, resumed to 20 min (another thread count,
    # checkpointing again), resumed to 30 min (LEG): the same final hash and the same run file.
    with tempfile.TemporaryDirectory() as tmp:
        leg = f"{LEG}min"
        full = ok("run", SCENARIO, "--until", f"{3 * LEG}min", "--threads", "2", "--out", f"{tmp}/full")
        part = f"{tmp}/part"
        ok("run", SCENARIO, "--until", leg, "--threads", "2", "--out", part, "--checkpoint-every", leg)
        expect(os.path.exists(f"{part}/checkpoint.h5"), "checkpoint.h5 beside run.h5")
        expect(not os.path.exists(f"{part}/checkpoint.h5.tmp"), "no temporary file left")
        mid = ok("resume", part, "--until", f"{2 * LEG}min", "--threads", "1", "--checkpoint-every", leg)
        expect(re.search(rf"resumed at\s+{leg}", mid) is not None, "the summary says where it resumed")
        end = ok("resume", f"{part}/checkpoint.h5", "--until", f"{3 * LEG}min", "--threads", "2")
        expect(state_hash(end) == state_hash(full),
               f"resumed twice: final hash {state_hash(end)}, uninterrupted {state_hash(full)}")
        n = same_file(f"{tmp}/full/run.h5", f"{part}/run.h5")
        print(f"resume_equal: hash {state_hash(full)}, {n} datasets equal")


def killed_resume():
    # kill -9 mid-run, after a few checkpoints: the resume reaches the uninterrupted final state.
    with tempfile.TemporaryDirectory() as tmp:
        full = ok("run", SCENARIO, "--until", "12min", "--threads", "2", "--out", f"{tmp}/full")
        with open(f"{tmp}/flush.toml", "w") as f:
            f.write(f'extends = "{os.getcwd()}/{SCENARIO}"\n[output]\nflush_every = "1min"\n')
        out = f"{tmp}/out"
        # Killed once the log says 50 % (6 of 12 min: checkpoints at 2, 4 and 6 min), whatever
        # the build's speed.
        p = subprocess.Popen([sys.argv[1], "run", f"{tmp}/flush.toml", "--until", "12min",
                              "--out", out, "--checkpoint-every", "2min", "--threads", "2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 900
        for line in p.stderr:
            if " 50%" in line or time.time() > deadline:
                break
        time.sleep(0.3)  # into the middle of a later step
        expect(p.poll() is None, "the run is still going when it is killed")
        p.send_signal(signal.SIGKILL)
        p.wait()
        import h5py

        with h5py.File(f"{out}/checkpoint.h5", "r") as f:
            at = f["/meta"].attrs["duration_ms"]
        r = ok("resume", out)
        m = re.search(r"resumed at\s+(\S+)", r)
        expect(m is not None, "resumed")
        # The resumed run file against the uninterrupted one of the same scenario file's cut.
        expect(state_hash(r) == state_hash(full),
               f"killed at 50 %, resumed from {m.group(1)}: final hash {state_hash(r)}, "
               f"uninterrupted {state_hash(full)}")
        with h5py.File(f"{out}/run.h5", "r") as f:
            expect(f["/meta"].attrs["complete"] == 1, "the resumed run file is complete")
            times = list(f["/time"][:])
        with h5py.File(f"{tmp}/full/run.h5", "r") as f:
            expect(times == list(f["/time"][:]), f"the same frames: {len(times)}")
        print(f"killed_resume: resumed from {m.group(1)} (run to {at / 60000:.0f} min), "
              f"hash {state_hash(full)}")


def bad_checkpoints():
    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        r = run("resume", tmp)
        expect(r.returncode == 2 and "checkpoint.h5" in r.stderr,
               f"a folder without a checkpoint: exit 2 naming the file: {r.stderr.strip()}")
        scenario = f"{tmp}/s.toml"
        with open(scenario, "w") as f:
            f.write(f'extends = "{os.getcwd()}/{SCENARIO}"\n')
        out = f"{tmp}/out"
        ok("run", scenario, "--until", "2min", "--out", out, "--checkpoint-every", "2min")
        cp = f"{out}/checkpoint.h5"
        good = f"{tmp}/good.h5"
        shutil.copy(cp, good)
        r = run("resume", out, "--until", "1min")
        expect(r.returncode == 2 and "--until must be later" in r.stderr,
               f"--until before the checkpoint: exit 2: {r.stderr.strip()}")

        # A damaged state part: one byte flipped in the traffic state.
        with h5py.File(cp, "r+") as f:
            d = f["/state/traffic"]
            v = d[()]
            v[len(v) // 2] ^= 0xFF
            d[...] = v
        r = run("resume", out)
        expect(r.returncode == 2 and "hashes to" in r.stderr,
               f"a flipped byte: exit 2, the hash does not match: {r.stderr.strip()}")
        # A truncated part: the field that does not fit is named.
        shutil.copy(good, cp)
        with h5py.File(cp, "r+") as f:
            v = f["/state/flood"][()]
            del f["/state/flood"]
            f["/state/flood"] = v[: len(v) // 3]
        r = run("resume", out)
        expect(r.returncode == 2 and "state part flood: field" in r.stderr,
               f"a truncated part: exit 2 naming the part and field: {r.stderr.strip()}")
        # Not a checkpoint at all.
        shutil.copy(f"{out}/run.h5", cp)
        r = run("resume", out)
        expect(r.returncode == 2 and "not a CityTwin checkpoint" in r.stderr,
               f"a run file given as checkpoint: exit 2: {r.stderr.strip()}")
        # A file that is not HDF5.
        with open(cp, "w") as f:
            f.write("not hdf5\n")
        r = run("resume", out)
        expect(r.returncode == 2 and cp in r.stderr, f"not HDF5: exit 2 naming it: {r.stderr.strip()}")
        # The scenario changed since: refused, naming the scenario.
        shutil.copy(good, cp)
        with open(scenario, "a") as f:
            f.write('[output]\nevery = "2min"\n')
        r = run("resume", out)
        expect(r.returncode == 2 and "changed since the checkpoint" in r.stderr,
               f"an edited scenario: exit 2: {r.stderr.strip()}")
        r = run("run", SCENARIO, "--until", "2min", "--out", f"{tmp}/x", "--checkpoint-every", "0s")
        expect(r.returncode == 2 and "--checkpoint-every" in r.stderr,
               f"--checkpoint-every 0s: exit 2: {r.stderr.strip()}")
        print("bad_checkpoints: every damaged or foreign checkpoint refused with exit 2")


{"resume_equal": resume_equal, "killed_resume": killed_resume,
 "bad_checkpoints": bad_checkpoints}[CHECK]()
