"""End-to-end: security with the Java client (org.apache.kafka:kafka-clients 4.x) and Kafka's own
kafka-configs, against one broker with PLAINTEXT, SASL_PLAINTEXT, SASL_SSL and SSL listeners (mTLS
required on SSL, certificates made by certs.py) and a bootstrap admin user from
CHRONIK_BOOTSTRAP_USER. The scenarios, in tests/java/src/main/java/io/chronik/tests/SecurityCheck.java:
SCRAM users made, described and removed through Describe/AlterUserScramCredentials (and the
refused cases: too few or too many iterations, unknown users and credentials), then used with
SCRAM-SHA-512 over SASL_SSL and SCRAM-SHA-256 over SASL_PLAINTEXT to create a topic, produce
with acks=all and consume in a group; wrong passwords and deleted credentials refused with
SaslAuthenticationException; PLAIN over both SASL listeners; mutual TLS with PEM key and trust
stores (a client without a certificate, with an expired one or one from an untrusted CA refused);
KIP-368 re-authentication (connections.max.reauth.ms=5000) under a producer that never stops.
Then kafka-configs adds a SCRAM-SHA-512 user over SASL_SSL, describes it, and the user lists
topics with kafka-topics. Built by tests/run_all.sh (mvn package in tests/java)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from broker import Broker, java_classpath  # noqa: E402
from certs import Certs  # noqa: E402

ADMIN, ADMIN_SECRET = "admin", "admin-secret"


class JavaSecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.classpath = java_classpath()
        cls.tmp = tempfile.mkdtemp(prefix="chronik-security-", dir=os.environ.get("TEST_TMPDIR"))
        cls.certs = Certs(os.path.join(cls.tmp, "certs"))
        cls.alice = cls.certs.issue("alice", "/CN=alice/O=Example")
        cls.expired = cls.certs.issue("expired", "/CN=old/O=Example", days="-1")
        cls.stranger = cls.certs.issue("stranger", "/CN=mallory/O=Elsewhere",
                                       ca=(cls.certs.other_ca_key, cls.certs.other_ca))
        cls.broker = Broker(
            listeners=[("PLAINTEXT", "PLAINTEXT"), ("SASL_PLAINTEXT", "SASL_PLAINTEXT"), ("SASL_SSL", "SASL_SSL"),
                       ("SSL", "SSL")],
            kafka_properties={
                "ssl.keystore.location": cls.certs.server,
                "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                "ssl.truststore.location": cls.certs.ca,
                "listener.name.ssl.ssl.client.auth": "required",
                "listener.name.ssl.ssl.principal.mapping.rules": "RULE:^CN=([^,]*),.*$/$1/L,DEFAULT",
                "connections.max.reauth.ms": 5000,
                "group.initial.rebalance.delay.ms": 0,
            },
            env={"CHRONIK_BOOTSTRAP_USER": "%s:%s" % (ADMIN, ADMIN_SECRET)}).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        log = cls.broker.read_log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, "broker exited %s on SIGTERM:\n%s" % (code, log[-5000:])

    def java(self, main_class, *args, timeout=240):
        start = time.time()
        p = subprocess.run(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", self.classpath, main_class]
                           + list(args), capture_output=True, text=True, timeout=timeout)
        return p, time.time() - start

    def check(self, scenario, **args):
        p, took = self.java("io.chronik.tests.SecurityCheck", scenario, *("%s=%s" % kv for kv in args.items()))
        print(p.stdout, end="")
        print("(%s: %.1f s)" % (scenario, took))
        self.assertEqual(p.returncode, 0, "%s:\n%s\n%s\nbroker log:\n%s" % (
            scenario, p.stdout, p.stderr[-5000:], self.broker.read_log()[-5000:]))
        self.assertIn("java security: %s passed" % scenario, p.stdout)

    def test_java_client_security(self):
        b = self.broker
        sasl = {"sasl_ssl": b.address("SASL_SSL"), "sasl_plaintext": b.address("SASL_PLAINTEXT"),
                "ca": self.certs.ca, "user": ADMIN, "password": ADMIN_SECRET}
        with self.subTest("scram-admin"):
            self.check("scram-admin", **sasl)
        with self.subTest("plain"):
            self.check("plain", **sasl)
        with self.subTest("mtls"):
            self.check("mtls", ssl=b.address("SSL"), ca=self.certs.ca, key=self.alice[0], cert=self.alice[1],
                       expired_key=self.expired[0], expired_cert=self.expired[1], untrusted_key=self.stranger[0],
                       untrusted_cert=self.stranger[1])
        with self.subTest("reauth"):
            self.check("reauth", sasl_ssl=b.address("SASL_SSL"), ca=self.certs.ca, user=ADMIN, password=ADMIN_SECRET,
                       seconds=15)

    def command_config(self, name, user, password):
        path = os.path.join(self.tmp, name + ".properties")
        with open(path, "w") as f:
            f.write("security.protocol=SASL_SSL\n"
                    "sasl.mechanism=SCRAM-SHA-512\n"
                    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                    "username=\"%s\" password=\"%s\";\n"
                    "ssl.truststore.type=PEM\n"
                    "ssl.truststore.location=%s\n" % (user, password, self.certs.ca))
        return path

    def tool(self, main_class, *args):
        p, _ = self.java("org.apache.kafka.tools." + main_class, *args, timeout=180)
        self.assertEqual(p.returncode, 0, "%s %s:\n%s\n%s\nbroker log:\n%s" % (
            main_class, args, p.stdout, p.stderr[-3000:], self.broker.read_log()[-3000:]))
        return p.stdout

    def test_kafka_configs_scram_user(self):
        bootstrap = self.broker.address("SASL_SSL")
        admin = self.command_config("admin", ADMIN, ADMIN_SECRET)
        out = self.tool("ConfigCommand", "--bootstrap-server", bootstrap, "--command-config", admin, "--alter",
                        "--add-config", "SCRAM-SHA-512=[iterations=4096,password=carol-secret]",
                        "--entity-type", "users", "--entity-name", "carol")
        self.assertIn("Completed updating config for user carol.", out)
        with self.subTest("kafka-configs --describe"):
            # Describing users also describes their client quotas (DescribeClientQuotas).
            out = self.tool("ConfigCommand", "--bootstrap-server", bootstrap, "--command-config", admin, "--describe",
                            "--entity-type", "users", "--entity-name", "carol")
            self.assertIn("SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-512=iterations=4096", out)
            self.assertNotIn("SCRAM-SHA-256", out)

        with self.subTest("carol with kafka-topics"):
            carol = self.command_config("carol", "carol", "carol-secret")
            out = self.tool("TopicCommand", "--bootstrap-server", bootstrap, "--command-config", carol, "--create",
                            "--topic", "carol-topic", "--partitions", "2", "--replication-factor", "1")
            self.assertIn("Created topic carol-topic.", out)
            out = self.tool("TopicCommand", "--bootstrap-server", bootstrap, "--command-config", carol, "--list")
            self.assertIn("carol-topic", out.split())
            wrong = self.command_config("carol-wrong", "carol", "not-carols")
            p, _ = self.java("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", bootstrap, "--command-config",
                             wrong, "--list", timeout=180)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("SaslAuthenticationException", p.stdout + p.stderr)
        print("kafka-configs: SCRAM-SHA-512 user carol added over SASL_SSL; carol creates and lists topics with "
              "kafka-topics, a wrong password is refused")

if __name__ == "__main__":
    unittest.main(verbosity=2)
