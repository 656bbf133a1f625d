"""citytwin-view attached to a live drill (docs/viewer.md "A live drill") under Xvfb, with a real
mosquitto broker (live_common.Broker): a sensor publishes an observation; a scripted click picks
the flood gauge's marker and prints its observed value (what was sent) and simulated value (what
a run of the same scenario without the broker reads there at that time); a second click picks a
road link and the Drill panel's "close link" button, pressed by --press, sends the closure as the
operator: the twin acks it applied with a step and the link then shows CLOSED. A screenshot shows
the sensors' magenta markers. Usage: drill_view_checks.py CITYTWIN CITYTWIN_VIEW."""
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "live"))
from live_common import MONACO, PASSWORDS, Broker, Lines, expect, iso  # noqa: E402

CITYTWIN, VIEW = sys.argv[1], sys.argv[2]
GAUGE = (373200.0, 4843800.0)
UNTIL_S = 150  # the reference run; the viewer's clock stays below it
W, H = 800, 600


def scenario(path, extra=""):
    with open(path, "w") as f:
        f.write(f'''extends = "{MONACO}"
[scenario]
name = "drill-view"
duration = "10min"
[live]
twin = "drill"
status_every = "1s"
{extra}
[[sensors.datastream]]
id = "gauge-port"
kind = "water_depth"
at = [{GAUGE[0]}, {GAUGE[1]}]
unit = "cm"
range = [0, 500]
[[sensors.datastream]]
id = "meter-1"
kind = "active_power"
entity = "substation:0"
unit = "kW"
range = [0, 200000]
''')
    return path


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # The reference: the same scenario without the broker, fed the observation the sensor
        # will send (assimilated at the step of its time, 60 s, in both), its sensors' readings
        # every 1 s.
        sent = 42.5
        obs = {"datastream": "gauge-port", "phenomenonTime": iso(60_000), "result": sent}
        with open(f"{tmp}/obs.jsonl", "w") as f:
            f.write(json.dumps(obs) + "\n")
        ref = scenario(f"{tmp}/ref.toml")
        r = subprocess.run([CITYTWIN, "run", ref, "--until", f"{UNTIL_S}s", "--out", f"{tmp}/ref",
                            "--replay", f"{tmp}/obs.jsonl", "--quiet"],
                           capture_output=True, text=True, timeout=300)
        expect(r.returncode == 0, f"the reference run: {r.stderr[-1000:]}")
        with h5py.File(f"{tmp}/ref/run.h5") as f:
            ref_t = f["/sensors/readings/t_ms"][:]
            ref_gauge = f["/sensors/readings/value"][:, 0]
            roads = f["/city/roads"]
            nx, ny = roads["node_x"][:], roads["node_y"][:]
            a, b = roads["link_from"][:], roads["link_to"][:]
            bx, by = f["/city/buildings/centroid_x"][:], f["/city/buildings/centroid_y"][:]
            t = f["/city/terrain"]
            tz, x0, y0, dx, dy = t["z"][:], t.attrs["x0"], t.attrs["y0"], t.attrs["dx"], t.attrs["dy"]

        def ground(x, y):
            return float(tz[int((y - y0) / dy), int((x - x0) / dx)])

        # A road link near the gauge in the open (its midpoint the farthest from any building's
        # centroid), clicked at its midpoint from the top camera.
        mx, my = (nx[a] + nx[b]) / 2, (ny[a] + ny[b]) / 2
        near = np.hypot(mx - GAUGE[0], my - GAUGE[1])
        candidates = np.flatnonzero((near > 100) & (near < 600))
        clear = [np.min(np.hypot(bx - mx[i], by - my[i])) for i in candidates]
        link = int(candidates[int(np.argmax(clear))])
        link_at = (mx[link], my[link], ground(mx[link], my[link]))

        broker = Broker(tmp)
        try:
            cred = f"{tmp}/twin.cred"
            with open(cred, "w") as f:
                f.write(f"twin:{PASSWORDS['twin']}\n")
            drill = scenario(f"{tmp}/drill.toml", f'broker = "{broker.url()}"\n'
                             f'ca_file = "{broker.ca}"\ncredentials_file = "{cred}"')
            env = dict(os.environ, CITYTWIN_OPERATOR_USERNAME="operator",
                       CITYTWIN_OPERATOR_PASSWORD=PASSWORDS["operator"])
            gauge_head = (GAUGE[0], GAUGE[1], ground(*GAUGE) + 60)
            shot = f"{tmp}/drill.png"
            view = subprocess.Popen(
                [VIEW, drill, "--frames", "500", "--size", f"{W}x{H}", "--speed", "8", "--camera",
                 "top", "--click-at", ",".join(map(str, gauge_head)), "--click-at",
                 ",".join(map(str, link_at)), "--press", "close-link@60", "--screenshot", shot],
                stdout=subprocess.PIPE, stderr=open(f"{tmp}/view.err", "w"), text=True, env=env)
            out = Lines(view)
            out.wait(lambda l: l.startswith("drill: connected"), 60,
                     "the viewer connects to the broker as the operator")
            p = broker.pub("sensor", "citytwin/drill/obs/gauge-port", [json.dumps(obs)])
            expect(p.returncode == 0, f"the sensor publishes: {p.stderr!r}")
            view.wait(timeout=120)
            out.reader.join(timeout=10)  # the last lines
            err = open(f"{tmp}/view.err").read()
            lines = out.lines
            expect(view.returncode == 0, f"the viewer ends well: {err[-1500:]}")

            # The gauge's pick: observed as sent, simulated as the state reads it.
            picks = [re.match(r"picked sensor gauge-port .*: observed (\S+) cm at t = 60 s, "
                              r"simulated (\S+) cm at t = (\d+) s", l) for l in lines]
            picks = [m for m in picks if m]
            expect(picks, f"the gauge's pick prints the observation: {lines[-8:]}")
            expect(all(float(m.group(1)) == sent for m in picks), f"observed {sent} cm, as sent")
            compared, worst = 0, 0.0
            for m in picks:
                t_ms = int(m.group(3)) * 1000
                # At 60 s the viewer may show the state before or after the observation was
                # assimilated (the run file's readings are before it): compared from 61 s.
                if t_ms == 60_000:
                    continue
                k = np.searchsorted(ref_t, t_ms)
                if k < len(ref_t) and ref_t[k] == t_ms:
                    worst = max(worst, abs(float(m.group(2)) - ref_gauge[k]) / max(1, abs(ref_gauge[k])))
                    compared += 1
            # Printed to 6 significant digits.
            expect(compared >= 10 and worst <= 1e-5,
                   f"simulated as the state reads it at {compared} times (worst {worst:.1e})")

            # The command from the panel: sent, acked applied with its step, and its effect.
            send = [l for l in lines if l.startswith("drill: sent ")]
            expect(len(send) == 1 and '"traffic.close"' in send[0] and f'["{link}"]' in send[0],
                   f"the panel sends the closure of the picked link {link}: {send} {err[-600:]}")
            ack = [re.match(r"drill: ack (\S+) applied at step (\d+)", l) for l in lines]
            ack = [m for m in ack if m]
            expect(len(ack) == 1 and ack[0].group(1) == json.loads(send[0][12:])["id"],
                   f"the twin acks it applied: {[l for l in lines if 'ack' in l]}")
            step = int(ack[0].group(2))
            road = [(int(m.group(1)), "CLOSED" in l) for l in lines
                    if (m := re.match(rf"picked at t = (\d+) s: road link {link} ", l))]
            expect(road and not road[0][1] and road[-1][1] and
                   all(closed == (t > step) for t, closed in road),  # 1 s steps: t_s == step
                   f"the picked link shows CLOSED from the step after {step} on: {road}")

            # The markers: magenta (no layer draws it) at the gauge.
            img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
            magenta = (img[..., 0] > 180) & (img[..., 1] < 80) & (img[..., 2] > 170)
            expect(magenta.sum() >= 50, f"the screenshot shows the sensor markers "
                   f"({magenta.sum()} magenta pixels)")
        finally:
            broker.stop()


main()
