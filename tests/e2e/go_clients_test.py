"""End-to-end: the Go clients. franz-go (kgo, kadm), which negotiates the newest versions both
sides know and checks answers strictly, and Sarama with its defaults: admin, produce with every
codec (acks=all), consume and commit in a group, delete records and topics, transactions (commit,
abort) read back with read_committed. The checks are in
tests/go/franzcheck and tests/go/saramacheck, built by tests/run_all.sh."""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402

BIN = os.path.join(HERE, "..", "go", "bin")


class GoClientsTest(unittest.TestCase):
    def run_check(self, name):
        path = os.path.join(BIN, name)
        self.assertTrue(os.path.exists(path), "%s is not built: run tests/run_all.sh (go build in tests/go)" % name)
        with Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0}) as broker:
            p = subprocess.run([path, broker.bootstrap], capture_output=True, text=True, timeout=240)
            print(p.stdout, end="")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr + "\nbroker log:\n" + broker.read_log()[-3000:])

    def test_franz_go(self):
        self.run_check("franzcheck")

    def test_sarama(self):
        self.run_check("saramacheck")


if __name__ == "__main__":
    unittest.main(verbosity=2)
