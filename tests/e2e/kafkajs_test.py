"""End-to-end: kafkajs (a pure JavaScript client, run with the machine's node) creates a topic,
produces to it and consumes it in a consumer group; and its transactions (commit, abort, sendOffsets,
read_committed). Its node_modules come from tests/e2e/js/package-lock.json, installed by
tests/run_all.sh."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker  # noqa: E402

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


class KafkajsTest(unittest.TestCase):
    def test_kafkajs_admin_produce_and_group_consume(self):
        self.assertTrue(os.path.isdir(os.path.join(JS_DIR, "node_modules", "kafkajs")),
                        "kafkajs is not installed: run tests/run_all.sh (npm ci in tests/e2e/js)")
        with Broker() as broker:
            out = subprocess.run(["node", os.path.join(JS_DIR, "produce.js"), broker.bootstrap],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertIn("kafkajs: produced 1000 messages, high watermarks 500,500", out.stdout)
            out = subprocess.run(["node", os.path.join(JS_DIR, "consume.js"), broker.bootstrap],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertIn("kafkajs: consumed 1000 messages in a group, committed 500,500", out.stdout)
            print(out.stdout.strip())

    def test_kafkajs_transactions(self):
        with Broker() as broker:
            out = subprocess.run(["node", os.path.join(JS_DIR, "transactions.js"), broker.bootstrap],
                                 capture_output=True, text=True, timeout=180)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr + broker.read_log()[-3000:])
            self.assertIn("read_committed saw 22, read_uncommitted 23; group offset 20", out.stdout)
            print(out.stdout.strip())


if __name__ == "__main__":
    unittest.main(verbosity=2)
