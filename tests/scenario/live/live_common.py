"""What the live twin's check scripts share (and the viewer's drill check): the scenario they
extend, its start, stopping at the first failed expectation, observation times, and a real
mosquitto broker with the shipped configuration (docs/mosquitto/: TLS, password file, ACL) and a
test CA made here with openssl."""
import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.getcwd()
MONACO = f"{ROOT}/scenarios/monaco.toml"
PASSWORDS = {"twin": "twin-secret-1", "sensor": "sensor-secret-2", "operator": "operator-secret-3"}
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


class Broker:
    """mosquitto with docs/mosquitto/citytwin.conf, its paths and port replaced."""

    def __init__(self, tmp):
        self.dir = f"{tmp}/broker"
        os.makedirs(f"{self.dir}/db")
        sh = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=self.dir)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        sh("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
           "-subj", "/CN=CityTwin test CA")
        sh("openssl", "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj",
           "/CN=127.0.0.1")
        with open(f"{self.dir}/san.ext", "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
           "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
        # Another CA, which did not sign the broker's certificate.
        sh("openssl", "req", "-x509", *ec, "-keyout", "other.key", "-out", "other.crt", "-days",
           "2", "-subj", "/CN=Someone else")
        open(f"{self.dir}/passwd", "w").close()
        for user, password in PASSWORDS.items():
            sh("mosquitto_passwd", "-b", "passwd", user, password)
        shutil.copy(f"{ROOT}/docs/mosquitto/citytwin.acl", self.dir)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = open(f"{ROOT}/docs/mosquitto/citytwin.conf").read()
        conf = conf.replace("/etc/mosquitto/citytwin", self.dir)
        conf = conf.replace("/var/lib/mosquitto/", f"{self.dir}/db/")
        conf = conf.replace("listener 8883", f"listener {self.port}")
        if os.geteuid() == 0:  # mosquitto drops root for the `mosquitto` user otherwise
            conf += "user root\n"
        with open(f"{self.dir}/mosquitto.conf", "w") as f:
            f.write(conf)
        self.ca = f"{self.dir}/ca.crt"
        self.proc = None
        self.start()

    def start(self):
        self.log = open(f"{self.dir}/mosquitto.log", "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", f"{self.dir}/mosquitto.conf"],
                                     stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        expect(False, f"mosquitto listens on 127.0.0.1:{self.port}: {open(f'{self.dir}/mosquitto.log').read()}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()

    def url(self):
        return f"mqtts://127.0.0.1:{self.port}"

    def client_args(self, user, ca=None):
        args = ["-h", "127.0.0.1", "-p", str(self.port), "--cafile", ca or self.ca, "-q", "1"]
        if user:
            args += ["-u", user, "-P", PASSWORDS[user]]
        return args

    def pub(self, user, topic, payloads, ca=None):
        """Publishes each payload (one per line) on `topic`; returns the finished process."""
        if len(payloads) == 1:  # -m: exits on a connection error (-l keeps retrying)
            return subprocess.run(["mosquitto_pub", *self.client_args(user, ca), "-t", topic,
                                   "-m", payloads[0]], capture_output=True, text=True, timeout=60)
        return subprocess.run(["mosquitto_pub", *self.client_args(user, ca), "-t", topic, "-l"],
                              input="\n".join(payloads) + "\n", capture_output=True, text=True,
                              timeout=60)

    def sub(self, user, *topics):
        """A subscriber printing "topic payload" lines (a Popen)."""
        args = ["mosquitto_sub", *self.client_args(user), "-v"]
        for t in topics:
            args += ["-t", t]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Lines:
    """Collects a subprocess's stdout lines on a thread, for waiting on a message."""

    def __init__(self, proc):
        import threading

        self.lines = []
        self.proc = proc
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait(self, pred, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in list(self.lines):
                if pred(line):
                    return line
            time.sleep(0.05)
        expect(False, f"{what} within {timeout} s; got {self.lines[-5:]}")
