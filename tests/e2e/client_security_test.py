"""End-to-end: real clients on secured listeners of one broker (PLAINTEXT, SASL_PLAINTEXT, SASL_SSL,
and SSL with ssl.client.auth=required), the bootstrap user from CHRONIK_BOOTSTRAP_USER.

kafkajs (tests/e2e/js/security.js): SCRAM-SHA-512 and SCRAM-SHA-256 over SASL_SSL, PLAIN over
SASL_PLAINTEXT and a client certificate (mTLS) on the SSL listener, each listing topics, producing
with acks=-1 and consuming back in a consumer group with its offsets committed; a wrong password
(SCRAM and PLAIN) is refused with a SASL authentication error.

franz-go and Sarama (tests/go/securitycheck, built by tests/run_all.sh): franz-go with SCRAM-SHA-512
over SASL_SSL, PLAIN and SCRAM-SHA-256 over SASL_PLAINTEXT and mTLS, producing, consuming in a group
and committing; kadm creates a SCRAM-SHA-256 user with AlterUserScramCredentials, sees it with
DescribeUserScramCredentials, and that user authenticates (and is refused for a mechanism it has no
credential for, as is a wrong password). Sarama with a SyncProducer and a consumer group: SCRAM-SHA-512
over SASL_SSL and PLAIN over SASL_PLAINTEXT with SaslHandshake v1, and PLAIN and SCRAM-SHA-256 with
SaslHandshake v0 (bare SASL tokens). Finally the broker stops cleanly on SIGTERM."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402
from certs import Certs  # noqa: E402

JS_DIR = os.path.join(HERE, "js")
GO_BIN = os.path.join(HERE, "..", "go", "bin", "securitycheck")
USER, PASSWORD = "admin", "admin-secret"


class ClientSecurityTest(unittest.TestCase):
    def test_clients_on_secured_listeners(self):
        self.assertTrue(os.path.isdir(os.path.join(JS_DIR, "node_modules", "kafkajs")),
                        "kafkajs is not installed: run tests/run_all.sh (npm ci in tests/e2e/js)")
        self.assertTrue(os.path.exists(GO_BIN), "securitycheck is not built: run tests/run_all.sh (go build in tests/go)")
        certs = Certs(tempfile.mkdtemp(prefix="chronik-certs-", dir=os.environ.get("TEST_TMPDIR")))
        key, crt = certs.issue("alice", "/CN=alice/O=Example")
        broker = Broker(
            listeners=[("PLAINTEXT", "PLAINTEXT"), ("SASL_PLAINTEXT", "SASL_PLAINTEXT"), ("SASL_SSL", "SASL_SSL"),
                       ("SSL", "SSL")],
            kafka_properties={"ssl.keystore.location": certs.server, "ssl.truststore.location": certs.ca,
                              "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                              "listener.name.ssl.ssl.client.auth": "required",
                              "group.initial.rebalance.delay.ms": 0},
            env={"CHRONIK_BOOTSTRAP_USER": "%s:%s" % (USER, PASSWORD)})
        with broker:
            runs = {
                "kafkajs": ["node", os.path.join(JS_DIR, "security.js"), broker.address("SASL_SSL"),
                            broker.address("SASL_PLAINTEXT"), broker.address("SSL"), certs.ca, key, crt, USER,
                            PASSWORD],
                "franz-go and Sarama": [GO_BIN, "-sasl-ssl", broker.address("SASL_SSL"),
                                        "-sasl-plaintext", broker.address("SASL_PLAINTEXT"),
                                        "-ssl", broker.address("SSL"), "-ca", certs.ca, "-key", key, "-cert", crt,
                                        "-user", USER, "-password", PASSWORD],
            }
            for name, args in runs.items():
                with self.subTest(name):
                    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
                    print(p.stdout, end="")
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr + "\nbroker log:\n" + broker.read_log()[-4000:])
            self.assertEqual(broker.stop(), 0, broker.read_log()[-4000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
