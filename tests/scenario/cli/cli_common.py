"""What the CLI check scripts share: run the citytwin command named on their command line, and
stop at the first failed expectation."""
import subprocess
import sys

CITYTWIN, CHECK = sys.argv[1], sys.argv[2]


def run(*args, timeout=1200):
    return subprocess.run([CITYTWIN, *args], capture_output=True, text=True, timeout=timeout)


def expect(cond, what, verbose=False):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    if verbose:
        print("ok:", what)


def ok(*args, quiet=False):
    """Runs `citytwin ARGS` (with --quiet at the end when asked), expects exit 0 and returns its
    standard output."""
    r = run(*args, *(("--quiet",) if quiet else ()))
    expect(r.returncode == 0, f"citytwin {' '.join(args)}: exit {r.returncode}: {r.stderr[-2000:]}",
           verbose=True)
    return r.stdout


def state_hash(stdout):
    """The state hash a run's summary prints."""
    import re

    m = re.search(r"state hash\s+([0-9a-f]{16})", stdout)
    expect(m is not None, f"the summary prints the state hash: {stdout[-500:]}")
    return m.group(1)
