"""The live twin against a real mosquitto broker (docs/live.md): the broker runs on 127.0.0.1 on
a free port with the shipped configuration (docs/mosquitto/: TLS, password file, ACL) and a
test CA made here with openssl; sensors and operators are mosquitto_pub/mosquitto_sub and a
libmosquitto gateway (mqtt_publish). Usage: mqtt_checks.py CITYTWIN MQTT_PUBLISH CHECK."""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from live_common import MONACO, PASSWORDS, Broker, Lines, expect, iso

CITYTWIN, PUBLISHER, CHECK = sys.argv[1], sys.argv[2], sys.argv[3]
# The sanitizer build runs about ten times slower: the paced runs ask a fifth of the pace.
ASAN = "ASAN_OPTIONS" in os.environ
PACE = 3 if ASAN else 15


def at(seconds):
    """An RFC 3339 time `seconds` after the run's start."""
    return iso(round(seconds * 1000))


def messages(lines, subtopic):
    out = []
    for line in lines:
        topic, _, payload = line.partition(" ")
        if topic.endswith("/" + subtopic):
            out.append(json.loads(payload))
    return out


def write_scenario(tmp, broker, name, duration, credentials="twin"):
    cred = f"{tmp}/{name}.cred"
    with open(cred, "w") as f:
        f.write(f"twin:{PASSWORDS['twin'] if credentials == 'twin' else credentials}\n")
    os.chmod(cred, 0o600)
    path = f"{tmp}/{name}.toml"
    with open(path, "w") as f:
        f.write(f'''extends = "{MONACO}"
[scenario]
name = "{name}"
duration = "{duration}"
[output]
every = "10s"
flush_every = "10s"
[live]
twin = "drill"
broker = "{broker.url()}"
ca_file = "{broker.ca}"
credentials_file = "{cred}"
status_every = "5s"
[[sensors.datastream]]
id = "gauge-port"
kind = "water_depth"
at = [373200, 4843800]
unit = "cm"
range = [0, 500]
[[traffic.detector]]
name = "det1"
edge = "899"
[[sensors.datastream]]
id = "loop-1"
kind = "traffic_count"
entity = "det1"
range = [0, 200]
[[sensors.datastream]]
id = "meter-1"
kind = "active_power"
entity = "substation:0"
unit = "kW"
range = [0, 200000]
''')
    return path


def start_twin(toml, out, *extra):
    log = open(f"{out}.log", "w")
    p = subprocess.Popen([CITYTWIN, "run", toml, "--out", out, *extra], stdout=subprocess.PIPE,
                         stderr=log, text=True)
    return p


def finish_twin(p, out, timeout=900):
    stdout = p.communicate(timeout=timeout)[0]
    expect(p.returncode == 0, f"the twin's run ends well: {open(f'{out}.log').read()[-2000:]}")
    return stdout


def summary(stdout, domain, key):
    m = re.search(rf"^{domain}\s+{re.escape(key)}\s+(.+)$", stdout, re.M)
    expect(m is not None, f"the summary has `{domain} {key}`")
    return m.group(1).strip()


def security():
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(tmp)
        try:
            obs = json.dumps({"datastream": "gauge-port", "phenomenonTime": at(60), "result": 1})
            r = broker.pub(None, "citytwin/drill/obs/gauge-port", [obs])
            expect(r.returncode != 0 and "not authorised" in (r.stdout + r.stderr).lower(),
                   f"a client without a password cannot connect: {(r.stdout + r.stderr).strip()!r}")
            r = subprocess.run(["mosquitto_pub", *broker.client_args(None), "-u", "sensor", "-P",
                                "wrong", "-t", "citytwin/drill/obs/gauge-port", "-m", obs],
                               capture_output=True, text=True, timeout=30)
            expect(r.returncode != 0, "a wrong password cannot connect")
            r = broker.pub("sensor", "citytwin/drill/obs/gauge-port", [obs],
                           ca=f"{broker.dir}/other.crt")
            expect(r.returncode != 0, "a client that does not trust the broker's certificate "
                   f"does not connect: {(r.stdout + r.stderr).strip()!r}")
            r = broker.pub("sensor", "citytwin/drill/obs/gauge-port", [obs])
            expect(r.returncode == 0, f"a sensor publishes observations: {r.stderr!r}")

            # The twin with a wrong password stops before the run file is made, saying why,
            # and never prints the password.
            toml = write_scenario(tmp, broker, "badpass", "1min", credentials="not-the-password")
            r = subprocess.run([CITYTWIN, "run", toml, "--out", f"{tmp}/bad"], capture_output=True,
                               text=True, timeout=300)
            out = r.stdout + r.stderr
            expect(r.returncode == 2 and "refused the connection" in out and "not authorised" in out,
                   f"a twin the broker refuses stops with exit 2 and the reason: {out[-600:]!r}")
            expect("not-the-password" not in out and PASSWORDS["twin"] not in out,
                   "the password is not printed")
            expect(not os.path.exists(f"{tmp}/bad/run.h5"), "no run file is made")
            # A twin that does not trust the broker's certificate does not connect either.
            text = open(toml).read().replace(broker.ca, f"{broker.dir}/other.crt")
            text = text.replace("not-the-password", PASSWORDS["twin"])
            with open(f"{tmp}/badca.toml", "w") as f:
                f.write(text)
            with open(f"{tmp}/badpass.cred", "w") as f:
                f.write(f"twin:{PASSWORDS['twin']}\n")
            r = subprocess.run([CITYTWIN, "run", f"{tmp}/badca.toml", "--out", f"{tmp}/bad"],
                               capture_output=True, text=True, timeout=300)
            out = r.stdout + r.stderr
            expect(r.returncode == 2 and "certificate" in out,
                   f"a twin does not connect to a broker its CA did not sign: {out[-600:]!r}")
            # Credentials in the scenario are refused outright.
            with open(f"{tmp}/inline.toml", "w") as f:
                f.write(f'extends = "{toml}"\n[live]\npassword = "x"\n')
            r = subprocess.run([CITYTWIN, "validate", f"{tmp}/inline.toml"], capture_output=True,
                               text=True, timeout=300)
            expect(r.returncode == 2 and "never read from the scenario" in r.stdout + r.stderr,
                   "a password in the scenario is an error")
        finally:
            broker.stop()


def drill():
    import h5py
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(tmp)
        try:
            toml = write_scenario(tmp, broker, "drill", "5min")
            watch = Lines(broker.sub("operator", "citytwin/drill/ack", "citytwin/drill/status"))
            time.sleep(0.5)
            out = f"{tmp}/drill"
            twin = start_twin(toml, out, "--realtime", str(PACE))
            first = watch.wait(lambda l: "/status " in l, 300, "the twin publishes its status")
            t_now = json.loads(first.partition(" ")[2])["t_s"]
            # Valid observations well ahead of the clock (it moves PACE s per second).
            base = t_now + 60
            valid = []  # (datastream, message, phenomenon ms since the start, journaled value)

            def observe(ds, t, result, value=None, **extra):
                m = {"datastream": ds, "phenomenonTime": at(t), "result": result, **extra}
                valid.append((ds, m, int(round(t * 1000)), float(result if value is None else value)))

            for k in range(12):
                observe("gauge-port", base + k, 10 + k)
                observe("loop-1", base + k, k)
            observe("meter-1", base, 0.5, value=500.0, unit="MW")  # 0.5 MW is 500 kW
            for ds in ("gauge-port", "loop-1", "meter-1"):
                r = broker.pub("sensor", f"citytwin/drill/obs/{ds}",
                               [json.dumps(m) for d, m, _, _ in valid if d == ds])
                expect(r.returncode == 0, f"the sensor publishes on {ds}: {r.stderr!r}")
            # One of each malformed kind.
            bad = {
                "bad_json": ("gauge-port", "{not json"),
                "unknown_datastream": ("nope", json.dumps({"datastream": "nope", "phenomenonTime": at(base), "result": 1})),
                "wrong_unit": ("gauge-port", json.dumps({"datastream": "gauge-port", "phenomenonTime": at(base + 30), "result": 1, "unit": "kW"})),
                "out_of_range": ("gauge-port", json.dumps({"datastream": "gauge-port", "phenomenonTime": at(base + 31), "result": 900})),
                "late": ("gauge-port", json.dumps({"datastream": "gauge-port", "phenomenonTime": at(0), "result": 1})),
                "duplicate": ("gauge-port", json.dumps(valid[0][1])),
                "bad_schema": ("loop-1", json.dumps({"datastream": "gauge-port", "phenomenonTime": at(base + 32), "result": 1})),
            }
            for reason, (ds, payload) in bad.items():
                r = broker.pub("sensor", f"citytwin/drill/obs/{ds}", [payload])
                expect(r.returncode == 0, f"the sensor publishes a {reason} message")
            # Commands: an operator's load change (applied), a closure naming no road (refused
            # when it applies), an unknown type (refused when parsed); the same load change
            # from a sensor, which the ACL drops.
            # And a fork of two futures for 30 s (runs beside the twin), one with no members.
            cmds = [
                {"id": "c1", "type": "power.scale_load", "factor": 1.5},
                {"id": "c2", "type": "traffic.close", "edges": ["no-such-edge"]},
                {"id": "c3", "type": "power.explode"},
                {"id": "f1", "type": "fork", "members": 2, "until": "+30s"},
                {"id": "f2", "type": "fork", "members": 0},
            ]
            r = broker.pub("operator", "citytwin/drill/cmd", [json.dumps(c) for c in cmds])
            expect(r.returncode == 0, f"the operator sends commands: {r.stderr!r}")
            r = broker.pub("sensor", "citytwin/drill/cmd",
                           [json.dumps({"id": "evil", "type": "power.scale_load", "factor": 0.1})])
            for cid in ("c1", "c2", "c3", "f1", "f2"):
                watch.wait(lambda l, cid=cid: "/ack " in l and f'"id":"{cid}"' in l, 120,
                           f"command {cid} is acknowledged")
            stdout = finish_twin(twin, out)
            watch.wait(lambda l: "/ack " in l and '"status":"finished"' in l, 60,
                       "the fork's end is announced")
            all_acks = messages(watch.lines, "ack")
            acks = {a["id"]: a for a in all_acks if a["status"] in ("applied", "refused")}
            fork_acks = [a for a in all_acks if a["id"] == "f1"]
            expect([a["status"] for a in fork_acks] == ["applied", "finished"]
                   and fork_acks[1]["exit"] == 0 and fork_acks[0]["fork"] == fork_acks[1]["fork"],
                   f"the fork is acknowledged, then reported finished: {fork_acks}")
            expect(acks["f2"]["status"] == "refused" and "members" in acks["f2"]["error"],
                   f"a fork of no members is refused: {acks['f2']}")
            fork_dir = fork_acks[0]["fork"]
            with open(f"{fork_dir}/fork.csv") as f:
                rows = list(csv.DictReader(f))
            expect(len(rows) == 2 and all(r["status"] == "done" for r in rows),
                   f"the fork ran two members: {rows}")
            t_fork = fork_acks[0]["t_s"]
            for k in (0, 1):
                with h5py.File(f"{fork_dir}/member-{k}/run.h5", "r") as f:
                    t = f["/time"][:]
                    expect(abs(t[0] - t_fork) < 1e-6 and abs(t[-1] - (t_fork + 30)) < 1e-6,
                           f"member {k} runs from the fork at {t_fork} s for 30 s: {t[0]}..{t[-1]}")
            expect(acks["c1"]["status"] == "applied" and acks["c2"]["status"] == "refused"
                   and "no-such-edge" in acks["c2"]["error"] and acks["c3"]["status"] == "refused"
                   and "explode" in acks["c3"]["error"],
                   f"acks: c1 applied, c2 and c3 refused with the reason: {acks}")
            expect("evil" not in acks, "a command from a sensor never reaches the twin")

            with h5py.File(f"{out}/run.h5", "r") as f:
                o = f["/sensors/observations"]
                ids = [s.decode() for s in f["/sensors/datastreams/id"][:]]
                got = sorted((ids[d], int(p), float(v)) for d, p, v in
                             zip(o["datastream"][:], o["phenomenon_ms"][:], o["value"][:]))
                expect(len(got) == len(valid),
                       f"every valid observation is journaled once: {len(got)} of {len(valid)}")
                want = sorted((d, t, v) for d, _, t, v in valid)
                expect(got == want, "the journal holds what was sent, converted to the "
                       "datastreams' units (0.5 MW -> 500 kW)")
                attrs = dict(f["/sensors"].attrs)
                for reason in bad:
                    expect(attrs[f"rejected_{reason}"] == 1, f"one {reason} refusal counted")
                text = bytes(f["/live/commands/text"][:]).decode()
                ends = f["/live/commands/text_end"][:]
                begins = np.concatenate([[0], ends[:-1]])
                journal = [json.loads(text[b:e]) for b, e in zip(begins, ends)]
                status = f["/live/commands/status"][:]
                steps = f["/live/commands/step"][:]
                by_id = {j["id"]: (int(s), int(st)) for j, s, st in zip(journal, status, steps)}
                expect(sorted(by_id) == ["c1", "c2", "c3", "f1", "f2"], f"the journal holds the "
                       f"operator's commands, not the sensor's: {sorted(by_id)}")
                expect(by_id["c1"] == (1, acks["c1"]["step"]) and by_id["c2"][0] == 0,
                       f"journaled with their status and the step of the ack: {by_id}")
                # The effect: served load jumps by the factor at the ack's step.
                t = f["/time"][:]
                served = f["/power/served_mw"][:]
                t_ack = acks["c1"]["t_s"]
                before = served[t <= t_ack][-1]
                after = served[t >= t_ack + 10][0]
                expect(abs(after / before - 1.5) < 0.03,
                       f"the load change shows in the state: served {before:.2f} -> {after:.2f} MW")
                drill_served = served.copy()
            expect(summary(stdout, "live", "commands") == "5 (3 refused)", "the summary counts them")
            expect(summary(stdout, "live", "forks") == "1", "and the forks")
            drill_hash = re.search(r"state hash\s+([0-9a-f]{16})", stdout).group(1)

            # The drill replayed from its journal, offline: the same state and series.
            r = subprocess.run([CITYTWIN, "run", toml, "--out", f"{tmp}/replay", "--replay",
                                f"{out}/run.h5", "--quiet"], capture_output=True, text=True,
                               timeout=900)
            expect(r.returncode == 0, f"the journal replays: {r.stderr[-1500:]}")
            replay_hash = re.search(r"state hash\s+([0-9a-f]{16})", r.stdout).group(1)
            expect(replay_hash == drill_hash, f"the replay ends in the drill's state hash {drill_hash}")
            with h5py.File(f"{tmp}/replay/run.h5", "r") as f:
                expect(np.array_equal(f["/power/served_mw"][:], drill_served),
                       "and writes the same power series")
                expect(f["/sensors/observations/value"].shape[0] == len(valid),
                       "and journals the same observations")
        finally:
            broker.stop()


def broker_restart():
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(tmp)
        try:
            toml = write_scenario(tmp, broker, "restart", "12min")
            watch = Lines(broker.sub("operator", "citytwin/drill/status"))
            out = f"{tmp}/restart"
            twin = start_twin(toml, out, "--realtime", str(PACE))
            watch.wait(lambda l: "/status " in l, 300, "the twin publishes its status")
            # A gateway with a persistent session: 20 observations, then (once the test has
            # killed the broker) 20 more while it is down, which it queues and sends when the
            # restarted broker is back. Times near the run's end, ahead of the clock throughout.
            lines = []
            for k in range(40):
                if k == 20:
                    lines.append(f"#wait {tmp}/go")
                m = {"datastream": "gauge-port", "phenomenonTime": at(11 * 60 + k), "result": k}
                lines.append(f"citytwin/drill/obs/gauge-port\t{json.dumps(m)}")
            with open(f"{tmp}/gateway.txt", "w") as f:
                f.write("\n".join(lines) + "\n")
            env = dict(os.environ, CITYTWIN_MQTT_USERNAME="sensor",
                       CITYTWIN_MQTT_PASSWORD=PASSWORDS["sensor"])
            gateway = subprocess.Popen([PUBLISHER, "127.0.0.1", str(broker.port), broker.ca,
                                        "gateway-1", f"{tmp}/gateway.txt", "20"], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            watch.wait(lambda l: '"accepted":20' in l, 120, "the first 20 are accepted")
            time.sleep(1.5)  # the broker's autosave (every second) has the sessions
            broker.kill()
            open(f"{tmp}/go", "w").close()
            time.sleep(3)  # the twin and the gateway retry meanwhile
            broker.start()
            gout, gerr = gateway.communicate(timeout=180)
            expect(gateway.returncode == 0, f"the gateway's 40 messages were all acknowledged: {gout}{gerr}")
            watch2 = Lines(broker.sub("operator", "citytwin/drill/status"))
            watch2.wait(lambda l: '"accepted":40' in l, 120,
                        "the twin reconnects and accepts the 20 sent while the broker was down")
            stdout = finish_twin(twin, out)
            expect(int(summary(stdout, "live", "broker reconnects")) >= 1, "it counts the reconnect")
            import h5py

            with h5py.File(f"{out}/run.h5", "r") as f:
                values = sorted(f["/sensors/observations/value"][:].tolist())
                expect(values == list(range(40)),
                       f"each of the 40 is journaled exactly once: {len(values)} rows")
        finally:
            broker.stop()


{"security": security, "drill": drill, "broker_restart": broker_restart}[CHECK]()
