"""End-to-end: Kafka security with the Python clients and kcat against one broker with PLAINTEXT,
SASL_PLAINTEXT, SASL_SSL and SSL listeners (ssl.client.auth=required on SSL, principal mapping rule
RULE:^CN=([^,]*),.*$/$1/L,DEFAULT; certificates made with openssl by certs.py) and a bootstrap admin
user from CHRONIK_BOOTSTRAP_USER.

1. A matrix of client x security protocol x mechanism. confluent-kafka 2.x (tests/e2e/pydeps):
   SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN over SASL_SSL, SCRAM-SHA-512 and PLAIN over SASL_PLAINTEXT,
   mTLS on SSL; kafka-python 2.0.2 (SaslHandshake v0 and bare tokens): PLAIN, SCRAM-SHA-256 and
   SCRAM-SHA-512 over SASL_SSL, PLAIN over SASL_PLAINTEXT, mTLS; kcat 1.7.1 (librdkafka 2.0.2) and
   Debian's confluent-kafka 1.7.0 (librdkafka 2.0.2, in a subprocess: it cannot share a process with
   2.x): PLAIN over SASL_SSL (and SASL_PLAINTEXT for kcat) and mTLS. librdkafka before 2.6.1 cannot
   do SCRAM against a broker with RFC 5802's strict nonce check (Apache Kafka 4.x, and this one), so
   those two have no SCRAM cells. Each cell creates a topic through the admin API (kcat has none:
   confluent-kafka 2.x with the cell's listener and credentials does it), produces N records with
   acks=all, consumes them back in a consumer group and commits; the committed offsets are read back
   through the PLAINTEXT listener. The user eve is made with confluent-kafka 2.x's
   alter_user_scram_credentials (SCRAM-SHA-256 and -512, different iterations) and
   describe_user_scram_credentials shows them; eve and the admin share the SASL cells, and the mTLS
   cells use certificates whose subjects the mapping rule turns into lower-case names (and one it
   does not match, which gets the DEFAULT principal: the whole RFC 2253 subject).
2. Bad input, each refused cleanly: a wrong password (confluent-kafka 2.x SCRAM-SHA-512, kafka-python
   PLAIN and a raw SaslAuthenticate: SASL_AUTHENTICATION_FAILED, then the connection closes), an
   unknown user (confluent-kafka 2.x SCRAM-SHA-256 and raw PLAIN over TLS), an unsupported mechanism
   (raw SaslHandshake v1 for GSSAPI: UNSUPPORTED_SASL_MECHANISM with the enabled list, then closed), a
   Metadata request before authentication on SASL_PLAINTEXT (closed without an answer),
   SaslAuthenticate before SaslHandshake (ILLEGAL_SASL_STATE, then closed), a 600000-byte frame before
   authentication (closed: over sasl.server.max.receive.size), plaintext Kafka bytes on the SSL port
   (no Kafka answer, closed), a TLS client on the PLAINTEXT port (its handshake fails), expired, untrusted
   and missing client certificates on the SSL listener (refused; a good one gets an ApiVersions answer
   the same way), and a TCP connection to the SASL_SSL port that never sends a byte (closed by the
   broker's 10 s authentication deadline). The broker log names why each raw connection was closed.
3. The audit log (<data_dir>/audit) records the matrix's authentications (principal, mechanism,
   listener) and the failures of part 2; then, after a PLAINTEXT metadata request still answers and
   the broker stops on SIGTERM with 0, no password used by this test (the admin's, eve's, the wrong
   ones) appears in the broker log or the audit log files.

The three tests run in order on one broker: the third reads what the first two left behind."""

import base64
import glob
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# The child process for Debian's confluent-kafka 1.7.0 (a matrix cell) runs this file with this flag;
# everything else gets confluent-kafka 2.x from tests/e2e/pydeps.
CHILD_FLAG = "--debian-confluent-cell"
IS_CHILD = __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG
if not IS_CHILD:
    sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)

import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

CONFLUENT_VERSION = (confluent_kafka.version() if isinstance(confluent_kafka.version(), str)
                     else confluent_kafka.version()[0])

N = 300  # records per matrix cell
PARTITIONS = 2
ADMIN, ADMIN_SECRET = "admin", "adm1n-Pw-7Hq2xZ"
EVE, EVE_SECRET = "eve", "eve-Pw-K9mV3rT"
WRONG_SECRETS = {"admin-scram": "wr0ng-Pw-Zt81Lq", "admin-kafka-python": "wr0ng-Pw-Bn62Ws",
                 "admin-raw": "wr0ng-Pw-Hd47Xe", "mallory-scram": "m4llory-Pw-Qc55Nd",
                 "mallory-raw": "m4llory-Pw-Ru93Fa"}
ALL_SECRETS = [ADMIN_SECRET, EVE_SECRET] + list(WRONG_SECRETS.values())
ENABLED_MECHANISMS = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}


def values(cell_id):
    return ["%s-%d" % (cell_id, i) for i in range(N)]


# --- the matrix cells, one function per client ------------------------------------------------------

def librdkafka_conf(cell):
    """librdkafka properties (confluent-kafka 1.x/2.x, kcat) for a cell's listener and credentials."""
    conf = {"bootstrap.servers": cell["address"], "security.protocol": cell["protocol"]}
    if cell["protocol"] in ("SASL_SSL", "SSL"):
        conf["ssl.ca.location"] = cell["ca"]
    if cell["protocol"] == "SSL":
        conf["ssl.certificate.location"] = cell["cert"]
        conf["ssl.key.location"] = cell["key"]
    else:
        conf.update({"sasl.mechanisms": cell["mechanism"], "sasl.username": cell["user"],
                     "sasl.password": cell["password"]})
    return conf


def create_topic_librdkafka(conf, topic):
    admin = AdminClient(conf)  # kept referenced until the result arrives: destroying it fails the future
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(20)


def produce_and_consume_librdkafka(conf, topic, group, records):
    """Produces `records` (acks=all) and consumes them back in `group` with a synchronous commit;
    returns the values consumed."""
    failures = []
    producer = Producer(dict(conf, acks="all", **{"linger.ms": 5}))
    for i, v in enumerate(records):
        producer.produce(topic, v.encode(), partition=i % PARTITIONS,
                         on_delivery=lambda err, msg: err and failures.append(str(err)))
        producer.poll(0)
    left = producer.flush(30)
    if left or failures:
        raise AssertionError("produce: %d not delivered, failures %s" % (left, failures[:3]))
    consumer = Consumer(dict(conf, **{"group.id": group, "auto.offset.reset": "earliest",
                                      "enable.auto.commit": False}))
    consumer.subscribe([topic])
    got = []
    deadline = time.time() + 40
    try:
        while len(got) < len(records) and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise AssertionError("consume: %s" % m.error())
            got.append(m.value().decode())
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return got


def cell_librdkafka(cell):
    conf = librdkafka_conf(cell)
    create_topic_librdkafka(conf, cell["topic"])
    return produce_and_consume_librdkafka(conf, cell["topic"], cell["group"], values(cell["id"]))


def cell_debian_confluent(cell):
    """Debian's confluent-kafka 1.7.0 in a child process (this file with CHILD_FLAG)."""
    p = subprocess.run([sys.executable, os.path.abspath(__file__), CHILD_FLAG, json.dumps(cell)],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("Debian confluent-kafka child exited %d: %s" % (p.returncode, p.stderr[-3000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])["consumed"]


def child_main(cell):
    assert CONFLUENT_VERSION == "1.7.0", "the child should have Debian's confluent-kafka, not %s" % CONFLUENT_VERSION
    got = cell_librdkafka(cell)
    print(json.dumps({"consumed": got, "version": CONFLUENT_VERSION, "librdkafka": confluent_kafka.libversion()[0]}))


def cell_kafka_python(cell):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic as KNewTopic
    kw = {"bootstrap_servers": cell["address"], "security_protocol": cell["protocol"]}
    if cell["protocol"] in ("SASL_SSL", "SSL"):
        kw.update(ssl_cafile=cell["ca"], ssl_check_hostname=True)
    if cell["protocol"] == "SSL":
        kw.update(ssl_certfile=cell["cert"], ssl_keyfile=cell["key"])
    else:
        kw.update(sasl_mechanism=cell["mechanism"], sasl_plain_username=cell["user"],
                  sasl_plain_password=cell["password"])
    admin = KafkaAdminClient(**kw)
    try:
        admin.create_topics([KNewTopic(cell["topic"], PARTITIONS, 1)], timeout_ms=20000)
    finally:
        admin.close()
    producer = KafkaProducer(acks="all", linger_ms=5, **kw)
    try:
        futures = [producer.send(cell["topic"], v.encode(), partition=i % PARTITIONS)
                   for i, v in enumerate(values(cell["id"]))]
        producer.flush(30)
        for f in futures:
            f.get(10)
    finally:
        producer.close()
    consumer = KafkaConsumer(cell["topic"], group_id=cell["group"], auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=20000, **kw)
    got = []
    try:
        for m in consumer:
            got.append(m.value.decode())
            if len(got) == N:
                break
        consumer.commit()
    finally:
        consumer.close(autocommit=False)
    return got


def cell_kcat(cell):
    conf = librdkafka_conf(cell)
    # kcat has no admin API: confluent-kafka 2.x creates the topic through the same listener and credentials.
    create_topic_librdkafka(conf, cell["topic"])
    x = []
    for k, v in conf.items():
        if k != "bootstrap.servers":
            x += ["-X", "%s=%s" % (k, v)]
    produce = subprocess.run(["kcat", "-P", "-b", cell["address"], "-t", cell["topic"], "-X", "acks=all"] + x,
                             input="".join(v + "\n" for v in values(cell["id"])), capture_output=True, text=True,
                             timeout=60)
    if produce.returncode != 0:
        raise AssertionError("kcat -P exited %d: %s" % (produce.returncode, produce.stderr[-2000:]))
    # A balanced consumer that exits at the end of its partitions; it commits (auto commit) as it closes.
    consume = subprocess.run(["kcat", "-b", cell["address"], "-G", cell["group"], "-e", "-q", "-f", "%s\n",
                              "-X", "auto.offset.reset=earliest"] + x + [cell["topic"]],
                             capture_output=True, text=True, timeout=60)
    if consume.returncode != 0:
        raise AssertionError("kcat -G exited %d: %s" % (consume.returncode, consume.stderr[-2000:]))
    return consume.stdout.splitlines()


CLIENTS = {
    "confluent-kafka 2.x": cell_librdkafka,
    "kafka-python 2.0.2": cell_kafka_python,
    "kcat 1.7.1": cell_kcat,
    "confluent-kafka 1.7.0": cell_debian_confluent,
}


# --- the Kafka wire format over raw sockets ------------------------------------------------------------

def kstring(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def kbytes(b):
    return struct.pack(">i", len(b)) + b


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        (v,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.at:self.at + n].decode()
        self.at += n
        return s


class Raw:
    """A client connection (TCP, or TLS over it) that speaks the Kafka wire format by hand."""

    def __init__(self, address, tls=False, cert=None, timeout=15):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.client = "%s:%d" % self.sock.getsockname()[:2]
        self.correlation = 0
        if tls:
            ctx = ssl.create_default_context(cafile=tls)
            if cert:
                ctx.load_cert_chain(cert[1], cert[0])
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")

    def send_request(self, api_key, version, body):
        self.correlation += 1
        header = struct.pack(">hhi", api_key, version, self.correlation) + kstring("security-test")
        self.sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        return self.correlation

    def exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("closed after %d of %d bytes" % (len(data), n))
            data += chunk
        return data

    def response(self, correlation):
        (size,) = struct.unpack(">i", self.exact(4))
        r = Reader(self.exact(size))
        got = r.take(">i")
        if got != correlation:
            raise AssertionError("correlation id %d, expected %d" % (got, correlation))
        return r

    def until_closed(self, timeout=15):
        """Whatever arrives until the peer closes the connection (EOF, a reset or a TLS alert), and how
        it ended; fails if the connection is still open after `timeout` seconds."""
        data = b""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("the connection from %s is still open after %ss" % (self.client, timeout))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except ssl.SSLError as e:
                return data, "TLS error: %s" % e.reason
            except ConnectionError as e:
                return data, type(e).__name__
            if not chunk:
                return data, "EOF"
            data += chunk

    def close(self):
        self.sock.close()


def is_kafka_answer(data, correlation):
    return len(data) >= 8 and struct.unpack_from(">i", data, 4)[0] == correlation


def sasl_handshake(raw, mechanism):
    r = raw.response(raw.send_request(17, 1, kstring(mechanism)))
    error = r.take(">h")
    return error, [r.string() for _ in range(r.take(">i"))]


def sasl_authenticate(raw, token):
    r = raw.response(raw.send_request(36, 0, kbytes(token)))
    return r.take(">h"), r.string()


def wait_until(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


class SecurityTest(unittest.TestCase):
    matrix = []        # test_1's cells: client, protocol, mechanism, principal, result, records
    bad_clients = {}   # case -> the raw connection's client address (host:port), for the audit and broker logs

    @classmethod
    def setUpClass(cls):
        from broker import Broker
        from certs import Certs
        assert CONFLUENT_VERSION.startswith("2."), \
            "confluent-kafka %s: run tests/run_all.sh (tests/e2e/pydeps)" % CONFLUENT_VERSION
        cls.started = time.time()
        cls.tmp = tempfile.mkdtemp(prefix="chronik-security-", dir=os.environ.get("TEST_TMPDIR"))
        cls.certs = Certs(os.path.join(cls.tmp, "certs"))
        c = cls.certs
        # RFC 2253 writes the last RDN first: "/O=Example/CN=Alice" is "CN=Alice,O=Example", which the rule
        # maps to "alice"; "/CN=Dave/O=Example" is "O=Example,CN=Dave", which it does not match (DEFAULT).
        cls.client_certs = {name: c.issue(name, subject) for name, subject in [
            ("alice", "/O=Example/CN=Alice"), ("bob", "/O=Example/CN=Bob"), ("carol", "/O=Example/CN=Carol"),
            ("dave", "/CN=Dave/O=Example")]}
        cls.expired = c.issue("expired", "/O=Example/CN=Old", days="-1")
        cls.untrusted = c.issue("stranger", "/O=Elsewhere/CN=Mallory", ca=(c.other_ca_key, c.other_ca))
        cls.broker = Broker(
            listeners=[("PLAINTEXT", "PLAINTEXT"), ("SASL_PLAINTEXT", "SASL_PLAINTEXT"), ("SASL_SSL", "SASL_SSL"),
                       ("SSL", "SSL")],
            kafka_properties={
                "ssl.keystore.location": c.server,
                # PLAIN is off by default (a password in the clear on SASL_PLAINTEXT); this test uses it.
                "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                "ssl.truststore.location": c.ca,
                "listener.name.ssl.ssl.client.auth": "required",
                "listener.name.ssl.ssl.principal.mapping.rules": "RULE:^CN=([^,]*),.*$/$1/L,DEFAULT",
                "group.initial.rebalance.delay.ms": 0,
            },
            env={"CHRONIK_BOOTSTRAP_USER": "%s:%s" % (ADMIN, ADMIN_SECRET)}).start()
        cls.plain_admin = AdminClient({"bootstrap.servers": cls.broker.address("PLAINTEXT")})

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        log = cls.broker.read_log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        print("security_test: %.1f s in all" % (time.time() - cls.started))
        assert code == 0, "broker exited %s on SIGTERM:\n%s" % (code, log[-5000:])

    def sasl_conf(self, listener, mechanism, user, password):
        return librdkafka_conf({"address": self.broker.address(listener), "protocol": listener, "ca": self.certs.ca,
                                "mechanism": mechanism, "user": user, "password": password})

    def committed(self, group):
        from confluent_kafka import ConsumerGroupTopicPartitions
        res = self.plain_admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(15)
        return sum(tp.offset for tp in res.topic_partitions if tp.offset >= 0)

    # --- 1 ---------------------------------------------------------------------------------------------

    def test_1_client_matrix(self):
        from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion)
        admin = AdminClient(self.sasl_conf("SASL_SSL", "SCRAM-SHA-512", ADMIN, ADMIN_SECRET))
        futures = admin.alter_user_scram_credentials([
            UserScramCredentialUpsertion(EVE, ScramCredentialInfo(mechanism, iterations), EVE_SECRET.encode())
            for mechanism, iterations in [(ScramMechanism.SCRAM_SHA_256, 8192), (ScramMechanism.SCRAM_SHA_512, 4096)]])
        for f in futures.values():
            f.result(15)
        described = admin.describe_user_scram_credentials([EVE, ADMIN])
        eve = {(i.mechanism, i.iterations) for i in described[EVE].result(15).scram_credential_infos}
        self.assertEqual(eve, {(ScramMechanism.SCRAM_SHA_256, 8192), (ScramMechanism.SCRAM_SHA_512, 4096)})
        admin_mechanisms = {i.mechanism for i in described[ADMIN].result(15).scram_credential_infos}
        self.assertEqual(admin_mechanisms, {ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512})
        print("describe_user_scram_credentials: eve %s" % sorted("%s iterations=%d" % (m.name, it) for m, it in eve))

        users = {ADMIN: ADMIN_SECRET, EVE: EVE_SECRET}
        plan = [
            ("confluent-kafka 2.x", "SASL_SSL", "SCRAM-SHA-512", ADMIN),
            ("confluent-kafka 2.x", "SASL_SSL", "SCRAM-SHA-256", EVE),
            ("confluent-kafka 2.x", "SASL_SSL", "PLAIN", EVE),
            ("confluent-kafka 2.x", "SASL_PLAINTEXT", "SCRAM-SHA-512", EVE),
            ("confluent-kafka 2.x", "SASL_PLAINTEXT", "PLAIN", ADMIN),
            ("confluent-kafka 2.x", "SSL", "mTLS", "alice"),
            ("kafka-python 2.0.2", "SASL_SSL", "PLAIN", ADMIN),
            ("kafka-python 2.0.2", "SASL_SSL", "SCRAM-SHA-256", EVE),
            ("kafka-python 2.0.2", "SASL_SSL", "SCRAM-SHA-512", ADMIN),
            ("kafka-python 2.0.2", "SASL_PLAINTEXT", "PLAIN", EVE),
            ("kafka-python 2.0.2", "SSL", "mTLS", "bob"),
            ("kcat 1.7.1", "SASL_SSL", "PLAIN", EVE),
            ("kcat 1.7.1", "SASL_PLAINTEXT", "PLAIN", ADMIN),
            ("kcat 1.7.1", "SSL", "mTLS", "carol"),
            ("confluent-kafka 1.7.0", "SASL_SSL", "PLAIN", EVE),
            ("confluent-kafka 1.7.0", "SSL", "mTLS", "dave"),
        ]
        type(self).matrix = []
        for n, (client, protocol, mechanism, who) in enumerate(plan):
            cell_id = "m%02d" % n
            cell = {"id": cell_id, "topic": "sec-%s" % cell_id, "group": "sec-group-%s" % cell_id,
                    "address": self.broker.address(protocol), "protocol": protocol, "ca": self.certs.ca,
                    "mechanism": mechanism}
            if protocol == "SSL":
                cell["key"], cell["cert"] = self.client_certs[who]
                principal = "User:" + (who if who != "dave" else "O=Example,CN=Dave")
            else:
                cell.update(user=who, password=users[who])
                principal = "User:" + who
            with self.subTest(client=client, protocol=protocol, mechanism=mechanism):
                started = time.time()
                result, consumed, committed = "FAILED", 0, 0
                try:
                    got = CLIENTS[client](cell)
                    consumed = len(got)
                    committed = self.committed(cell["group"])
                    self.assertEqual(sorted(got), sorted(values(cell_id)), "records consumed back")
                    self.assertEqual(committed, N, "offsets committed by the group")
                    result = "ok"
                except Exception as e:
                    result = "FAILED: %s" % ("%s" % e).splitlines()[0][:120]
                    raise
                finally:
                    self.matrix.append({"client": client, "protocol": protocol, "mechanism": mechanism,
                                        "principal": principal, "result": result, "consumed": consumed,
                                        "committed": committed, "seconds": time.time() - started})
        rows = [("client", "protocol", "mechanism", "principal", "result", "records (produced/consumed/committed)",
                 "s")]
        for m in self.matrix:
            rows.append((m["client"], m["protocol"], m["mechanism"], m["principal"], m["result"],
                         "%d/%d/%d" % (N, m["consumed"], m["committed"]), "%.1f" % m["seconds"]))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        print()
        for r in rows:
            print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)))

    # --- 2 ---------------------------------------------------------------------------------------------

    def test_2_bad_input(self):
        b, ca = self.broker, self.certs.ca
        outcomes = []

        def note(case, what):
            outcomes.append((case, what))

        # Opened first and checked last: the authentication deadline takes about 10 s.
        idle = Raw(b.address("SASL_SSL"))
        idle_opened = time.time()
        type(self).bad_clients["idle"] = idle.client

        with self.subTest("wrong password, confluent-kafka 2.x SCRAM-SHA-512 over SASL_SSL"):
            errors = self.librdkafka_auth_errors(
                self.sasl_conf("SASL_SSL", "SCRAM-SHA-512", ADMIN, WRONG_SECRETS["admin-scram"]))
            note("wrong password (confluent-kafka 2.x, SCRAM-SHA-512, SASL_SSL)", errors[0])

        with self.subTest("unknown user, confluent-kafka 2.x SCRAM-SHA-256 over SASL_PLAINTEXT"):
            errors = self.librdkafka_auth_errors(
                self.sasl_conf("SASL_PLAINTEXT", "SCRAM-SHA-256", "mallory", WRONG_SECRETS["mallory-scram"]))
            note("unknown user (confluent-kafka 2.x, SCRAM-SHA-256, SASL_PLAINTEXT)", errors[0])

        with self.subTest("wrong password, kafka-python PLAIN over SASL_SSL"):
            from kafka import KafkaAdminClient
            from kafka.errors import KafkaError as KPError
            with self.assertRaises(KPError) as raised:
                KafkaAdminClient(bootstrap_servers=b.address("SASL_SSL"), security_protocol="SASL_SSL", ssl_cafile=ca,
                                 sasl_mechanism="PLAIN", sasl_plain_username=ADMIN,
                                 sasl_plain_password=WRONG_SECRETS["admin-kafka-python"], request_timeout_ms=5000,
                                 api_version_auto_timeout_ms=5000)
            note("wrong password (kafka-python, PLAIN, SASL_SSL)", "%s" % type(raised.exception).__name__)

        with self.subTest("wrong password, raw SaslAuthenticate PLAIN over SASL_PLAINTEXT"):
            raw = Raw(b.address("SASL_PLAINTEXT"))
            type(self).bad_clients["wrong password"] = raw.client
            error, mechanisms = sasl_handshake(raw, "PLAIN")
            self.assertEqual(error, 0)
            self.assertEqual(set(mechanisms), ENABLED_MECHANISMS)
            asked = time.time()
            token = b"\0" + ADMIN.encode() + b"\0" + WRONG_SECRETS["admin-raw"].encode()
            error, message = sasl_authenticate(raw, token)
            answered = time.time()
            self.assertEqual(error, 58, message)
            rest, how = raw.until_closed()
            self.assertEqual(rest, b"")
            note("wrong password (raw SaslAuthenticate v0, PLAIN, SASL_PLAINTEXT)",
                 "error 58 (%s) after %.0f ms, then closed (%s) %.0f ms later" %
                 (message, 1000 * (answered - asked), how, 1000 * (time.time() - answered)))
            raw.close()

        with self.subTest("unknown user, raw SaslAuthenticate PLAIN over SASL_SSL"):
            raw = Raw(b.address("SASL_SSL"), tls=ca)
            type(self).bad_clients["unknown user"] = raw.client
            self.assertEqual(sasl_handshake(raw, "PLAIN")[0], 0)
            error, message = sasl_authenticate(raw, b"\0mallory\0" + WRONG_SECRETS["mallory-raw"].encode())
            self.assertEqual(error, 58, message)
            rest, how = raw.until_closed()
            self.assertEqual(rest, b"")
            note("unknown user (raw SaslAuthenticate v0, PLAIN, SASL_SSL)", "error 58 (%s), then closed (%s)" %
                 (message, how))
            raw.close()

        with self.subTest("unsupported mechanism"):
            raw = Raw(b.address("SASL_PLAINTEXT"))
            type(self).bad_clients["unsupported mechanism"] = raw.client
            error, mechanisms = sasl_handshake(raw, "GSSAPI")
            self.assertEqual(error, 33)
            self.assertEqual(set(mechanisms), ENABLED_MECHANISMS)
            rest, how = raw.until_closed()
            self.assertEqual(rest, b"")
            note("unsupported mechanism (raw SaslHandshake v1 GSSAPI, SASL_PLAINTEXT)",
                 "error 33, enabled %s, then closed (%s)" % (",".join(mechanisms), how))
            raw.close()

        with self.subTest("Metadata before authentication"):
            raw = Raw(b.address("SASL_PLAINTEXT"))
            type(self).bad_clients["metadata first"] = raw.client
            raw.send_request(3, 1, struct.pack(">i", -1))
            rest, how = raw.until_closed()
            self.assertEqual(rest, b"", "an answer to Metadata before authentication")
            note("Metadata v1 before authentication (raw, SASL_PLAINTEXT)", "closed without an answer (%s)" % how)
            raw.close()

        with self.subTest("SaslAuthenticate before SaslHandshake"):
            raw = Raw(b.address("SASL_PLAINTEXT"))
            type(self).bad_clients["authenticate first"] = raw.client
            error, message = sasl_authenticate(raw, b"n,,n=admin,r=fyko+d2lbbFgONRv9qkxdawL")
            self.assertEqual(error, 34, message)
            rest, how = raw.until_closed()
            self.assertEqual(rest, b"")
            note("SaslAuthenticate v0 before SaslHandshake (raw, SASL_PLAINTEXT)",
                 "error 34 (%s), then closed (%s)" % (message, how))
            raw.close()

        with self.subTest("600000-byte frame before authentication"):
            raw = Raw(b.address("SASL_PLAINTEXT"))
            type(self).bad_clients["large frame"] = raw.client
            header = struct.pack(">hhi", 17, 1, 1) + kstring("security-test")
            sent = 0
            try:
                raw.sock.sendall(struct.pack(">i", 600000) + header)
                sent = 4 + len(header)
                chunk = b"\0" * 65536
                while sent < 4 + 600000:
                    n = min(len(chunk), 4 + 600000 - sent)
                    raw.sock.sendall(chunk[:n])
                    sent += n
            except (BrokenPipeError, ConnectionResetError):
                pass
            rest, how = raw.until_closed()
            self.assertEqual(rest, b"")
            note("600000-byte frame before authentication (raw, SASL_PLAINTEXT)",
                 "closed after %d bytes were sent (%s)" % (sent, how))
            raw.close()

        with self.subTest("plaintext Kafka client on the SSL port"):
            raw = Raw(b.address("SSL"))
            type(self).bad_clients["plaintext on SSL"] = raw.client
            corr = raw.send_request(18, 0, b"")
            rest, how = raw.until_closed()
            self.assertFalse(is_kafka_answer(rest, corr), "a Kafka answer to plaintext bytes on the SSL port")
            note("ApiVersions v0 in plaintext on the SSL port (raw)",
                 "no Kafka answer (%d bytes: %s), closed (%s)" % (len(rest), rest[:8].hex(), how))
            raw.close()

        with self.subTest("TLS client on the PLAINTEXT port"):
            sock = socket.create_connection(("127.0.0.1", b.ports["PLAINTEXT"]), timeout=15)
            type(self).bad_clients["TLS on PLAINTEXT"] = "%s:%d" % sock.getsockname()[:2]
            tls = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname="localhost",
                                                                    do_handshake_on_connect=False)
            with self.assertRaises((ssl.SSLError, ConnectionError)) as raised:
                tls.do_handshake()
            note("TLS ClientHello on the PLAINTEXT port", "handshake failed: %r" % raised.exception)
            tls.close()

        for case, cert in [("good client certificate (control)", self.client_certs["alice"]),
                           ("expired client certificate", self.expired),
                           ("client certificate from an untrusted CA", self.untrusted),
                           ("no client certificate", None)]:
            with self.subTest(case):
                what = self.mtls_attempt(case, cert)
                note("%s on the SSL listener" % case, what)

        with self.subTest("a TCP connection that never sends a byte, on SASL_SSL"):
            rest, how = idle.until_closed(timeout=max(1.0, 30 - (time.time() - idle_opened)))
            self.assertEqual(rest, b"")
            note("an idle TCP connection to the SASL_SSL port", "closed by the broker %.1f s after it was opened (%s)" %
                 (time.time() - idle_opened, how))
            idle.close()

        # The broker log says why each raw connection was closed. It logs after closing the socket,
        # so the idle connection's line may follow the EOF this test saw by a moment.
        deadline = time.time() + 10
        while time.time() < deadline and "closed connection from %s:" % self.bad_clients["idle"] not in b.read_log():
            time.sleep(0.05)
        log = b.read_log()
        reasons = {}
        for case, client in self.bad_clients.items():
            lines = [l for l in log.splitlines() if "closed connection from %s:" % client in l]
            reasons[case] = lines[-1].split("closed connection from %s: " % client, 1)[1] if lines else None
        self.assertIn("sasl.server.max.receive.size", reasons["large frame"] or "", reasons)
        self.assertIn("TLS handshake not completed", reasons["idle"] or "", reasons)
        print()
        for case, what in outcomes:
            print("  %s: %s" % (case, what))
        print("  broker's reasons for closing the raw connections:")
        for case, reason in reasons.items():
            print("    %s (%s): %s" % (case, self.bad_clients[case], reason))

    def librdkafka_auth_errors(self, conf):
        """A confluent-kafka 2.x admin client with bad credentials: its error callback reports an
        authentication failure and it never gets metadata."""
        errors = []
        admin = AdminClient(dict(conf, error_cb=lambda e: errors.append(e), log_level=0))
        deadline = time.time() + 15
        while time.time() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
            admin.poll(0.2)
        auth = [e.str() for e in errors if e.code() == KafkaError._AUTHENTICATION]
        self.assertTrue(auth, "no authentication error, only %s" % errors)
        with self.assertRaises(KafkaException):
            admin.list_topics(timeout=1)
        return auth

    def mtls_attempt(self, case, cert):
        """A raw TLS connection to the SSL listener with `cert` (None: none) that sends ApiVersions; a
        refused one never gets the answer."""
        raw = Raw(self.broker.address("SSL"), tls=self.certs.ca, cert=cert)
        type(self).bad_clients[case] = raw.client
        try:
            # With TLS 1.3 the client finishes its side of the handshake before the server has looked
            # at its certificate: the refusal arrives as an alert on the first read.
            corr = raw.send_request(18, 0, b"")
            if cert is self.client_certs["alice"]:
                r = raw.response(corr)
                self.assertEqual(r.take(">h"), 0)
                return "ApiVersions answered"
            rest, how = raw.until_closed()
            self.assertFalse(is_kafka_answer(rest, corr), "%s: answered" % case)
            return "refused, no Kafka answer (%s)" % how
        except (ssl.SSLError, ConnectionError) as e:
            self.assertIsNot(cert, self.client_certs["alice"], "the good certificate was refused: %r" % e)
            return "refused: %r" % e
        finally:
            raw.close()

    # --- 3 ---------------------------------------------------------------------------------------------

    def audit_events(self):
        events = []
        for path in sorted(glob.glob(os.path.join(self.broker.data_dir, "audit", "*"))):
            with open(path, "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if line.strip():
                        events.append(json.loads(line))
        return events

    def test_3_audit_log_and_no_passwords(self):
        self.assertTrue(self.matrix, "test_1 (the matrix) did not run before test_3")
        self.assertTrue(self.bad_clients, "test_2 (bad input) did not run before test_3")
        # Still serving: a Metadata request on the PLAINTEXT listener.
        md = self.plain_admin.list_topics(timeout=10)
        self.assertEqual(len(md.brokers), 1)
        self.assertIn("sec-m00", md.topics)

        successes = lambda: [e for e in self.audit_events()  # noqa: E731
                             if e.get("event") == "authentication" and e.get("outcome") == "success"]
        expected = {(m["principal"], "SSL" if m["mechanism"] == "mTLS" else m["mechanism"], m["protocol"])
                    for m in self.matrix}

        def have_all():
            seen = {(e.get("principal"), e.get("mechanism"), e.get("listener")) for e in successes()}
            return expected <= seen
        wait_until(have_all, 15, "the matrix's authentications in the audit log")

        def failure_for(case):
            client = self.bad_clients[case]
            return [e for e in self.audit_events() if e.get("event") == "authentication" and
                    e.get("outcome") == "failure" and e.get("client") == client]
        raw_failures = {"wrong password": ("PLAIN", "SASL_PLAINTEXT"), "unknown user": ("PLAIN", "SASL_SSL"),
                        "unsupported mechanism": ("GSSAPI", "SASL_PLAINTEXT"),
                        "expired client certificate": ("SSL", "SSL"),
                        "client certificate from an untrusted CA": ("SSL", "SSL"),
                        "no client certificate": ("SSL", "SSL"),
                        "plaintext on SSL": ("SSL", "SSL")}
        wait_until(lambda: all(failure_for(c) for c in raw_failures), 15, "the raw failures in the audit log")
        for case, (mechanism, listener) in raw_failures.items():
            (e,) = failure_for(case)
            self.assertEqual((e["mechanism"], e["listener"]), (mechanism, listener), e)
            self.assertNotIn("principal", e)
        failures = [e for e in self.audit_events()
                    if e.get("event") == "authentication" and e.get("outcome") == "failure"]
        # The client-level ones (ports unknown): confluent-kafka 2.x SCRAM-SHA-512 and SCRAM-SHA-256, and
        # kafka-python's PLAIN on SASL_SSL (besides the raw unknown user's).
        raw_clients = set(self.bad_clients.values())
        for mechanism, listener in [("SCRAM-SHA-512", "SASL_SSL"), ("SCRAM-SHA-256", "SASL_PLAINTEXT"),
                                    ("PLAIN", "SASL_SSL")]:
            self.assertTrue([e for e in failures if e["mechanism"] == mechanism and e["listener"] == listener and
                             e["client"] not in raw_clients], "no %s failure on %s" % (mechanism, listener))
        # Every matrix topic was created by the cell's principal (kcat's through confluent-kafka 2.x).
        admin_events = [e for e in self.audit_events() if e.get("event") == "admin"]
        created = {(e["resource"], e["principal"]) for e in admin_events
                   if e.get("action") == "CreateTopics" and e.get("outcome") == "success"}
        for n, m in enumerate(self.matrix):
            self.assertIn(("sec-m%02d" % n, m["principal"]), created)
        print("\n  audit log: %d authentication successes, %d failures; e.g." % (len(successes()), len(failures)))
        for e in [e for e in successes() if e["listener"] == "SSL"][:1] + successes()[:1] + \
                failure_for("wrong password") + failure_for("unknown user") + failure_for("unsupported mechanism") + \
                failure_for("expired client certificate") + failure_for("plaintext on SSL") + \
                [e for e in admin_events if e.get("resource") == EVE][:1] + \
                [e for e in admin_events if e.get("action") == "CreateTopics"][:1]:
            print("    " + json.dumps(e))

        self.assertEqual(self.broker.stop(), 0, self.broker.read_log()[-5000:])
        texts = {"broker log": self.broker.read_log()}
        for path in glob.glob(os.path.join(self.broker.data_dir, "audit", "*")):
            with open(path, "rb") as f:
                texts[path] = f.read().decode("utf-8", "replace")
        self.assertGreater(len(texts), 1, "no audit log file")
        for secret in ALL_SECRETS:
            for name, text in texts.items():
                self.assertNotIn(secret, text, "a password in %s" % name)
                self.assertNotIn(base64.b64encode(secret.encode()).decode(), text, "a base64 password in %s" % name)
        print("  no password (%d) in the broker log or the %d audit log file(s)" % (len(ALL_SECRETS), len(texts) - 1))


if __name__ == "__main__":
    if IS_CHILD:
        child_main(json.loads(sys.argv[2]))
    else:
        unittest.main(verbosity=2)
