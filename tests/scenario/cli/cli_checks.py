"""End-to-end checks of the citytwin command. Usage: cli_checks.py CITYTWIN CHECK."""
import json
import os
import tempfile

from cli_common import CHECK, expect, run


def version():
    r = run("--version")
    expect(r.returncode == 0 and r.stdout.startswith("citytwin "), f"--version: {r.stdout!r}")
    r = run("--help")
    expect(r.returncode == 0 and "Examples:" in r.stdout and "run" in r.stdout, "--help lists examples")


def info_json():
    r = run("info", "--json", "scenarios/monaco.toml")
    expect(r.returncode == 0, f"info exit {r.returncode}: {r.stderr}")
    j = json.loads(r.stdout)
    for key in ["buildings", "road_links", "lane_km", "signals", "terrain_min_m", "terrain_max_m", "crs"]:
        expect(key in j, f"info --json has {key}")
    expect(j["buildings"] >= 1500, f"buildings {j['buildings']} >= 1500")
    expect(j["road_links"] >= 2000, f"road_links {j['road_links']} >= 2000")
    expect(j["terrain_min_m"] <= 0 and j["terrain_max_m"] >= 150, "terrain spans 0-150 m")
    expect(j["crs"] == "EPSG:32632", f"UTM CRS, got {j['crs']}")
    expect(100 < j["lane_km"] < 400, f"lane_km {j['lane_km']}")
    # The run's resources: the flood grid (660 x 836 cells) dominates one state.
    expect(20e6 < j["state_bytes"] < 40e6 and j["memory_bytes"] > j["state_bytes"], f"state {j['state_bytes']}")
    expect(j["frames"] == 62 and j["run_file_bytes"] > 1e8, f"run file {j['run_file_bytes']} over {j['frames']}")


def run_h5():
    import h5py

    with tempfile.TemporaryDirectory() as out:
        r = run("run", "scenarios/monaco.toml", "--until", "5min", "--out", out, "--threads", "2", "--quiet")
        expect(r.returncode == 0, f"run exit {r.returncode}: {r.stderr}")
        expect("state hash" in r.stdout and f"{out}/run.h5" in r.stdout, "summary table names the output")
        with h5py.File(f"{out}/run.h5", "r") as f:
            for path in ["/meta", "/city/buildings", "/city/roads", "/city/terrain/z", "/time"]:
                expect(path in f, f"{path} in run.h5")
            expect(list(f["/time"][:]) == [0.0, 60.0, 120.0, 180.0, 240.0, 300.0], "frames every minute")
            expect(f["/city/buildings/height_m"].shape[0] >= 1500, "buildings written")
            expect(f["/city/buildings/height_m"].attrs["units"] == "m", "units attribute")
            expect(f["/meta"].attrs["seed"] == 42, "seed in /meta")
            expect(f["/meta"].attrs["complete"] == 1, "a finished run is marked complete")
            expect("EPSG" in f["/meta"].attrs["crs_wkt"] or "UTM" in f["/meta"].attrs["crs_wkt"], "CRS WKT")
            expect(b"monaco" in f["/meta/scenario"][0], "scenario text stored")
        # render --at past the end: an error, not the last frame drawn silently. The check comes
        # before any drawing, so it needs no display.
        r = run("render", f"{out}/run.h5", "--at", "30min", "--out", f"{out}/late.png")
        expect(r.returncode == 2 and "after the end of the recorded run (5min" in r.stderr,
               f"render --at 30min on a 5-minute run: {r.returncode} {r.stderr!r}")
        r = run("render", "scenarios/monaco.toml", "--at", "2h", "--out", f"{out}/late.png")
        expect(r.returncode == 2 and "after the end of the scenario (1h" in r.stderr,
               f"render --at 2h on a 1-hour scenario: {r.returncode} {r.stderr!r}")
        # The run file of another scenario is not replaced without --overwrite; the same
        # scenario's is (as make demo does); a run.h5 symlink is never followed.
        r = run("run", "scenarios/monaco-uncoupled.toml", "--until", "1min", "--out", out, "--quiet")
        expect(r.returncode == 2 and "holds the run of another scenario" in r.stderr
               and "scenarios/monaco.toml" in r.stderr, f"another scenario's run is kept: {r.stderr!r}")
        r = run("run", "scenarios/monaco-uncoupled.toml", "--until", "1min", "--out", out, "--quiet",
                "--overwrite")
        expect(r.returncode == 0, f"--overwrite replaces it: {r.stderr!r}")
        r = run("run", "scenarios/monaco-uncoupled.toml", "--until", "1min", "--out", out, "--quiet")
        expect(r.returncode == 0, f"the same scenario replaces its own run: {r.stderr!r}")
        os.makedirs(f"{out}/linked")
        with open(f"{out}/precious.txt", "w") as p:
            p.write("keep me")
        os.symlink(f"{out}/precious.txt", f"{out}/linked/run.h5")
        r = run("run", "scenarios/monaco.toml", "--until", "1min", "--out", f"{out}/linked", "--quiet")
        expect(r.returncode == 2 and "symbolic link" in r.stderr, f"a run.h5 link is refused: {r.stderr!r}")
        expect(open(f"{out}/precious.txt").read() == "keep me", "the link's target is untouched")


def bad_input():
    r = run("run", "tests/data/spec/typo.toml")
    expect(r.returncode == 2, f"bad scenario exits 2, got {r.returncode}")
    expect("tests/data/spec/typo.toml:6:1: output.evrey: unknown key" in r.stderr, f"located message: {r.stderr!r}")
    expect('"every" (did you mean it?)' in r.stderr, "suggestion")
    r = run("run", "does/not/exist.toml")
    expect(r.returncode == 2 and "does/not/exist.toml" in r.stderr, "missing scenario file")
    r = run("run", "scenarios/monaco.toml", "--until", "3 weeks")
    expect(r.returncode == 2 and "--until" in r.stderr, "bad --until")
    r = run("frobnicate")
    expect(r.returncode == 2, "unknown subcommand exits 2")
    # An output folder that cannot be written (even as root: /proc): exit 1, as docs/cli.md says.
    r = run("run", "scenarios/monaco.toml", "--until", "1min", "--out", "/proc/citytwin-out", "--quiet")
    expect(r.returncode == 1 and "cannot write the run file" in r.stderr,
           f"an unwritable output folder exits 1: {r.returncode} {r.stderr!r}")
    # Not scenarios: a directory, an empty file, /dev/null, a FIFO (once: blocked forever), a
    # file of a million unknown keys (once: millions of error lines).
    with tempfile.TemporaryDirectory() as tmp:
        empty, fifo, garbage = f"{tmp}/empty.toml", f"{tmp}/pipe.toml", f"{tmp}/garbage.toml"
        open(empty, "w").close()
        os.mkfifo(fifo)
        with open(garbage, "w") as g:
            g.write("".join(f"key{k} = {k}\n" for k in range(200000)))
        for path, what in [(tmp, "a directory"), (empty, "nothing to simulate"),
                           ("/dev/null", "not a regular file"), (fifo, "not a regular file")]:
            r = run("validate", path)
            expect(r.returncode == 2 and what in r.stderr, f"{path}: exit 2, '{what}': {r.stderr!r}")
        # A grid too big for the machine is refused before it is allocated (once: a silent hang).
        for cmd in ("validate", "run"):
            r = run(cmd, "tests/data/spec/monaco_fine_grid.toml")
            expect(r.returncode == 2 and "monaco_fine_grid.toml:6: flood.resolution: a 16500 x 20900 grid"
                   in r.stderr and "need about" in r.stderr, f"{cmd}: 0.2 m refused: {r.stderr!r}")
        r = run("validate", "scenarios/monaco.toml", "--max-memory", "40MiB")
        expect(r.returncode == 2 and "is allowed (--max-memory)" in r.stderr and "resolution >= 5.4" in r.stderr,
               f"--max-memory 40MiB refuses the 5 m grid: {r.stderr!r}")
        r = run("validate", "scenarios/monaco.toml", "--max-memory", "1GiB")
        expect(r.returncode == 0, f"--max-memory 1GiB fits the 5 m grid: {r.stderr!r}")
        # A thousand-year run: the city's trips and the flood's per-step logs are sized before
        # anything is made (once: std::bad_alloc, exit 1).
        long_run = f"{tmp}/long.toml"
        with open(long_run, "w") as f:
            f.write(f'extends = "{os.getcwd()}/scenarios/monaco.toml"\n[scenario]\nduration = "8766000h"\n')
        r = run("validate", long_run)
        expect(r.returncode == 2 and "scenario.duration" in r.stderr and "logs alone need" in r.stderr,
               f"a 1000-year flood is refused: {r.stderr!r}")
        traffic_only = f"{tmp}/long_traffic.toml"
        with open(traffic_only, "w") as f:
            f.write(f'[scenario]\nduration = "8766000h"\n[city]\nosm = "{os.getcwd()}/assets/monaco/'
                    'monaco-2025-02.osm.pbf"\nbbox = [7.405, 43.718, 7.445, 43.755]\n'
                    '[traffic]\nnetwork = "city"\n')
        r = run("validate", traffic_only)
        expect(r.returncode == 2 and "traffic.demand" in r.stderr and "trips" in r.stderr,
               f"a 1000-year demand is refused: {r.stderr!r}")
        r = run("validate", "tests/data/spec/dem_elsewhere.toml")
        expect(r.returncode == 2 and "city.dem: the elevation raster does not overlap the city's OSM data"
               in r.stderr, f"a DEM of another place is refused: {r.stderr!r}")
        with open(f"{tmp}/elsewhere_bbox.toml", "w") as f:
            f.write(f'extends = "{os.getcwd()}/tests/data/spec/dem_elsewhere.toml"\n'
                    '[city]\nbbox = [7.405, 43.718, 7.445, 43.755]\n')
        r = run("validate", f"{tmp}/elsewhere_bbox.toml")
        expect(r.returncode == 2 and "does not overlap the city's OSM data" in r.stderr,
               f"... and with a bbox: {r.stderr!r}")
        # A case beyond its loadability limit: the diagnosis and exit 2 (once exit 1, "internal").
        with open("tests/data/power/cases/cascade3.m") as c:
            heavy = c.read().replace("\t2\t1\t100\t0", "\t2\t1\t100000\t0")
        with open(f"{tmp}/heavy.m", "w") as h:
            h.write(heavy)
        r = run("powerflow", f"{tmp}/heavy.m")
        expect(r.returncode == 2 and "largest mismatch" in r.stderr,
               f"a diverging power flow exits 2 with its diagnosis: {r.returncode} {r.stderr!r}")
        r = run("validate", garbage)
        lines = r.stderr.count("\n")
        expect(r.returncode == 2 and lines <= 102 and "199900 more problems not shown" in r.stderr,
               f"200,000 unknown keys: exit 2 and {lines} lines")


def validate():
    r = run("validate", "scenarios/monaco.toml")
    expect(r.returncode == 0 and "valid" in r.stdout, f"validate monaco: {r.stdout} {r.stderr}")
    expect("coupled" in r.stdout, f"validate says the scenario is coupled: {r.stdout}")
    expect("memory about" in r.stdout and "run file up to" in r.stdout, f"validate prints the resources: {r.stdout}")
    r = run("validate", "tests/data/spec/typo.toml")
    expect(r.returncode == 2, "validate of a bad file exits 2")
    # Bad coupling configurations: located, exit code 2, for validate and run alike.
    for cmd in ("validate", "run"):
        r = run(cmd, "tests/data/spec/bad_coupling.toml")
        expect(r.returncode == 2, f"{cmd}: a rising curve exits 2, got {r.returncode}")
        expect("bad_coupling.toml:6:" in r.stderr and "coupling.flood_roads.curve" in r.stderr
               and "monotone" in r.stderr, f"{cmd}: located curve error: {r.stderr!r}")
    # Setup errors of every domain at once, not one domain per attempt.
    r = run("validate", "tests/data/spec/two_domain_errors.toml")
    expect(r.returncode == 2 and "traffic.network" in r.stderr and "power.grid" in r.stderr,
           f"both domains' setup errors reported together: {r.stderr!r}")
    # A state that does not fit: refused before it is made, naming the domain.
    r = run("validate", "scenarios/bologna-acosta.toml", "--max-memory", "1MB")
    expect(r.returncode == 2 and "the run needs about" in r.stderr and "traffic needs" in r.stderr,
           f"a run too big for --max-memory: {r.stderr!r}")
    r = run("validate", "tests/data/spec/pump_off_grid.toml")
    expect(r.returncode == 2 and "pump_off_grid.toml:" in r.stderr and "outside the flood grid" in r.stderr,
           f"a pump off the grid is located: {r.stderr!r}")


def killed():
    # kill -9 in the middle of a run: the file opens, holds the frames up to its last flush and
    # says it is unfinished.
    import signal
    import subprocess
    import sys
    import time

    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/flush.toml", "w") as f:
            f.write(f'extends = "{os.getcwd()}/scenarios/monaco.toml"\n[output]\nflush_every = "1min"\n')
        # Killed once its log says 10 % (6 simulated minutes: several flushes) are done, at
        # whatever speed this build runs (the sanitizer build is several times slower).
        p = subprocess.Popen([sys.argv[1], "run", f"{tmp}/flush.toml", "--out", f"{tmp}/out"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 600
        for line in p.stderr:
            if " 10%" in line or time.time() > deadline:
                break
        expect(p.poll() is None, "the run is still going at 10 %")
        p.send_signal(signal.SIGKILL)
        p.wait()
        # The file is left marked open for writing (SWMR, docs/hdf5-layout.md "Following a
        # run"): it opens for SWMR reading.
        with h5py.File(f"{tmp}/out/run.h5", "r", libver="latest", swmr=True) as f:
            times = list(f["/time"][:])
            expect(len(times) >= 2 and times == [60.0 * k for k in range(len(times))],
                   f"the frames up to the last flush: {times}")
            expect(f["/meta"].attrs["complete"] == 0, "marked unfinished")
            for ds in ("/flood/depth", "/traffic/running", "/power/unserved_mw"):
                expect(ds not in f or f[ds].shape[0] >= len(times), f"{ds} has every flushed frame")
        # The engine's reader (the viewer's, render's) opens it too; the check of --at comes
        # before any drawing, so it needs no display.
        r = run("render", f"{tmp}/out/run.h5", "--at", "2h", "--out", f"{tmp}/late.png")
        expect(r.returncode == 2 and "after the end of the recorded run" in r.stderr,
               f"render reads the killed run's frames: {r.returncode} {r.stderr!r}")
        print(f"killed: {len(times)} frames readable up to {times[-1]:.0f} s, complete = 0")


def full_disk():
    # A run that fills its disk mid-run: a 5 MB tmpfs (the static city data is about 3 MB, a
    # frame of the coupled Monaco about 0.3 MB). Mounted in a private user and mount namespace
    # (unshare -rm), so no privilege is needed and nothing is left mounted.
    import subprocess
    import sys

    inner = ["/usr/bin/python3", __file__, sys.argv[1], "full_disk_inner"]
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        # No user namespaces here: root can mount the tmpfs itself (full_disk_inner unmounts it).
        expect(os.geteuid() == 0, "full_disk needs user namespaces (unshare -rm) or root to mount a tmpfs")
    else:
        inner = ["unshare", "-rm"] + inner
    r = subprocess.run(inner, capture_output=True, text=True, timeout=600)
    expect(r.returncode == 0, f"full disk checks: {r.stdout} {r.stderr}")
    print(r.stdout.strip())


def full_disk_inner():
    import subprocess

    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        mnt = f"{tmp}/small"
        os.mkdir(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", mnt], check=True)
        with open(f"{tmp}/flush.toml", "w") as f:
            f.write(f'extends = "{os.getcwd()}/scenarios/monaco.toml"\n[output]\nflush_every = "2min"\n')
        r = run("run", f"{tmp}/flush.toml", "--until", "30min", "--out", f"{mnt}/out", "--quiet")
        expect(r.returncode == 1, f"a full disk exits 1: {r.returncode} {r.stderr!r}")
        expect("No space left on device" in r.stderr and "the run stopped" in r.stderr
               and "internal error" not in r.stderr and "H5" not in r.stderr.replace("HDF5", ""),
               f"a clear message, no HDF5 noise: {r.stderr!r}")
        expect("the file holds the frames up to" in r.stderr, f"says what is readable: {r.stderr!r}")
        expect("output.dir: the run file may grow to" in r.stderr, f"the disk was too small, and it said so first: {r.stderr!r}")
        # Left marked open for writing (SWMR), as after kill -9: it opens for SWMR reading.
        with h5py.File(f"{mnt}/out/run.h5", "r", libver="latest", swmr=True) as f:
            times = list(f["/time"][:])
            expect(len(times) >= 2 and times == [60.0 * k for k in range(len(times))],
                   f"the frames up to the last flush are readable: {times}")
            expect(f["/meta"].attrs["complete"] == 0, "marked unfinished")
            expect(f["/flood/depth"].shape[0] >= len(times), "flood frames readable")
            print(f"full disk: {len(times)} frames readable up to {times[-1]:.0f} s, complete = 0")
        subprocess.run(["umount", mnt], check=True)


globals()[CHECK]()
print(f"cli {CHECK}: ok")
