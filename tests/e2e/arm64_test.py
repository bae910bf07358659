"""End-to-end on arm64: chronik_server built for arm64 (bazel/arm64.bzl) runs under qemu-aarch64
and serves real clients on this (amd64) machine: kcat produces and consumes 10 000 records with
each codec, and the crash check (kill -9 under an acks=all producer, restart, nothing acknowledged
lost) runs one cycle, plain and idempotent.

CHRONIK_SERVER names the launcher that starts the arm64 binary under qemu; a SIGKILL to it kills
the emulated broker, since the launcher execs qemu."""

import os
import subprocess
import sys
import unittest

# One kill -9 cycle per crash test: the check is that the arm64 build keeps what it acknowledged,
# which crash_test's twenty cycles on amd64 cover in depth.
os.environ.setdefault("CHRONIK_CRASH_CYCLES", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crash_test  # noqa: E402
from broker import Broker, server_binary  # noqa: E402
from data_path_test import check_kcat_every_codec  # noqa: E402

ARM64_MESSAGES = 10_000


class Arm64ServerTest(unittest.TestCase):
    def test_the_broker_is_the_arm64_build(self):
        out = subprocess.run([server_binary(), "version"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("\narchitecture: linux-arm64\n", out.stdout)

    def test_kcat_every_codec(self):
        with Broker() as broker:
            check_kcat_every_codec(self, broker.bootstrap, ARM64_MESSAGES)
            self.assertEqual(broker.stop(), 0, broker.read_log())


class Arm64CrashTest(crash_test.CrashTest):
    pass


if __name__ == "__main__":
    unittest.main(verbosity=2)
