"""What the live twin's check scripts share: the scenario they extend, its start, stopping at
the first failed expectation, and observation times."""
import datetime
import os
import sys

MONACO = f"{os.getcwd()}/scenarios/monaco.toml"
START = datetime.datetime(2026, 6, 15, 5, tzinfo=datetime.timezone.utc)  # monaco.toml's start


def expect(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def iso(t_ms):
    """The RFC 3339 time (UTC, milliseconds) `t_ms` after the run's start."""
    t = START + datetime.timedelta(milliseconds=int(t_ms))
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
