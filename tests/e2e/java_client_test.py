"""End-to-end: the Java client (org.apache.kafka:kafka-clients 4.x, the reference client) with
its defaults but idempotence: the AdminClient (cluster, topics, configs, partitions, list offsets,
delete records, groups), the producer with acks=all, the consumer by assignment (offsets, keys,
values, headers, offsetsForTimes, seek) and in groups (eager pair, cooperative-sticky join, auto
commit, a static member restarted), and transactions (consume-transform-produce with
read_committed, an aborted transaction, zombie fencing). The checks themselves are in
tests/java/src/main/java/io/chronik/tests/JavaClientCheck.java, built by tests/run_all.sh."""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from broker import Broker, java_classpath  # noqa: E402



class JavaClientTest(unittest.TestCase):
    def test_java_client(self):
        classpath = java_classpath()
        with Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0}) as broker:
            for scenario in ("admin", "produce-consume", "groups", "transactions"):
                with self.subTest(scenario):
                    p = subprocess.run(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
                                        "io.chronik.tests.JavaClientCheck", broker.bootstrap, scenario],
                                       capture_output=True, text=True, timeout=240)
                    print(p.stdout, end="")
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr[-5000:] + "\nbroker log:\n" +
                                     broker.read_log()[-3000:])
                    self.assertIn("java: all checks passed", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
