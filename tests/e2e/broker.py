"""Starts the built chronik_server on a free loopback port with a fresh data dir, for tests."""

import atexit
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


_given_ports = set()


def free_port():
    """A port free now and not handed out before by this process: the kernel gives a just-closed
    port again, and one broker's ports must differ (a restart once got the same port twice)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def server_binary():
    path = os.environ.get("CHRONIK_SERVER")
    if not path:
        raise RuntimeError("CHRONIK_SERVER must name the chronik_server binary")
    return os.path.abspath(path)


class Broker:
    """A chronik_server process; use as a context manager."""

    def __init__(self, extra_args=(), data_dir=None, port=None, kafka_properties=None, listeners=None, env=None,
                 mode="standalone"):
        """kafka_properties: Kafka broker configs, written to the [kafka] table of a config file.
        listeners: (name, security protocol) pairs, each given a free port on 127.0.0.1 (self.ports);
        the first is self.port. env: extra environment variables (CHRONIK_BOOTSTRAP_USER). mode: the
        server's mode (standalone, all, ingest, search; a search node has no Kafka port, and is
        started once its search port listens)."""
        self.mode = mode
        self.tmp = tempfile.mkdtemp(prefix="chronik-e2e-", dir=os.environ.get("TEST_TMPDIR"))
        # Bazel empties TEST_TMPDIR; a benchmark or a test run by hand leaves nothing in /tmp. At exit,
        # not at stop: tests read and restore into a stopped broker's directory.
        atexit.register(shutil.rmtree, self.tmp, True)
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port = port or free_port()
        # The HTTP ports (metrics; health and the admin API) on free ports too, unless given.
        self.metrics_port = free_port()
        self.admin_port = free_port()
        self.search_port = free_port()
        self.extra_args = list(extra_args)
        if "--metrics-port" not in self.extra_args:
            self.extra_args += ["--metrics-port", str(self.metrics_port)]
        if "--admin-port" not in self.extra_args:
            self.extra_args += ["--admin-port", str(self.admin_port)]
        if "--search-port" not in self.extra_args:
            self.extra_args += ["--search-port", str(self.search_port)]
        self.env = dict(os.environ, **(env or {}))
        self.ports = {}
        if listeners:
            kafka_properties = dict(kafka_properties or {})
            for i, (name, _) in enumerate(listeners):
                self.ports[name] = self.port if i == 0 else free_port()
            kafka_properties["listeners"] = ",".join("%s://127.0.0.1:%d" % (n, self.ports[n]) for n, _ in listeners)
            kafka_properties["listener.security.protocol.map"] = ",".join("%s:%s" % l for l in listeners)
        if kafka_properties:
            path = os.path.join(self.tmp, "chronik.toml")
            with open(path, "w") as f:
                f.write("[kafka]\n")
                for k, v in kafka_properties.items():
                    f.write('"%s" = %s\n' % (k, v if isinstance(v, int) else json.dumps(v)))
            self.extra_args += ["--config", path]
        self.proc = None
        self.log_path = os.path.join(self.tmp, "broker-%d.log" % self.port)

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def address(self, listener):
        return "127.0.0.1:%d" % self.ports[listener]

    def start(self, timeout=20):
        args = [server_binary(), "--kafka-port", str(self.port), "--bind-addr", "127.0.0.1",
                "--data-dir", self.data_dir] + self.extra_args + [self.mode]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                port = self.search_port if self.mode == "search" else self.port
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("broker did not listen within %ss:\n%s" % (timeout, self.read_log()))

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            self.check_not_crashed()
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            self.log.close()
        self.check_not_crashed()
        return code

    def check_not_crashed(self):
        """Raises if the broker died of a fatal signal (its crash report, main.cc): a crash while
        stopping, or in a test that ends by SIGKILL, would otherwise go unseen."""
        if self.proc is not None and os.path.exists(self.log_path):
            log = self.read_log()
            at = log.find("chronik_server: fatal signal")
            if at >= 0:
                raise RuntimeError("the broker crashed:\n" + log[max(0, at - 4000):])

    def metrics(self, prefix=""):
        """The unlabelled series of /metrics whose names start with `prefix`, by name."""
        out = {}
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port, timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(prefix) and not line.startswith("#") and "{" not in line.split(" ", 1)[0]:
                    name, value = line.split()[:2]
                    out[name] = float(value)
        return out

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None and not self.log.closed:
            self.log.close()
        if exc_type is None:
            self.check_not_crashed()


def java_classpath():
    """The classpath of tests/java's jar (the Java checks, the Java client and Kafka's tools) and its
    dependencies, as tests/run_all.sh builds them with Maven; an error if they are not built."""
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "java", "target")
    jar = os.path.join(target, "java-clients-1.jar")
    if not os.path.exists(jar):
        raise RuntimeError("the Java client is not built: run tests/run_all.sh (mvn package in tests/java)")
    return ":".join([jar] + sorted(glob.glob(os.path.join(target, "lib", "*.jar"))))


def run_server(args, timeout=15, env=None):
    """Runs chronik_server to completion (for configuration errors); returns (code, stdout, stderr)."""
    p = subprocess.run([server_binary()] + list(args), capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr
