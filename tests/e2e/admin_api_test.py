"""End-to-end: the admin REST API (/api/v1 on --admin-port), driven with Python's own HTTP client
and cross-checked with confluent-kafka 2.x (tests/e2e/pydeps).

1. An open broker (loopback, no authentication: requests run as User:ANONYMOUS):
   - cluster and brokers: the cluster id, controller and broker address confluent's AdminClient
     reports;
   - topics: created through REST (partitions, a config) and seen by AdminClient list_topics and
     describe_configs; created by AdminClient and listed by REST with the same topic id; described
     with the log start offsets and high watermarks of what a confluent Producer wrote; configs set,
     deleted and validated through PATCH as AdminClient then sees them; partitions added; records
     deleted (log_start_offset moves, a consumer at OFFSET_BEGINNING starts there; offset -1 is the
     high watermark); deleted; and the errors: duplicate (409), unknown topic (404 on every topic
     route), bad counts, bad configs, bad JSON, a body that is no object, wrong field types (400);
   - groups: a confluent consumer in a group with committed offsets is listed, described with its
     member and assignment, and its offsets and lag match committed() and the watermarks; reset and
     delete are refused while it is active (409 NON_EMPTY_GROUP); once it has left, resets to
     earliest, an offset (and one clamped to the end), a timestamp and latest (dry_run changing
     nothing) are seen by a new consumer's committed() and where it starts reading; deleted, the
     group is 404;
   - HTTP itself: unknown routes (404 JSON), wrong methods (405 with Allow), a body over 1 MiB
     (413 or the connection closed, and the server still serves), and a few hundred idle
     connections held open while a Kafka round trip, /health and the API (also on one of the idle
     connections) still answer.
2. A broker with --admin-auth-required, CHRONIK_ADMIN_TOKEN, CHRONIK_BOOTSTRAP_USER (a super user)
   and the authorizer on, with a SASL_PLAINTEXT listener: 401 with WWW-Authenticate without or with
   wrong credentials; Basic and Bearer accepted; a SCRAM user made with PUT /users/{u} (GET /users
   shows its mechanism and iterations, never its password) is refused topic creation (403) until
   POST /acls grants it, is listed by GET /acls with filters, works for a confluent SASL/SCRAM-SHA-256
   client, loses the ACLs to DELETE /acls (which returns them) and its credentials to
   DELETE /users/{u}, after which Basic as that user is 401.
3. Every route of the OpenAPI document (served at /api/v1/openapi.json, the file in chronik_admin)
   has been answered with success at least once (checked after all the tests); every broker stops
   with exit code 0.
"""

import base64
import gc
import http.client
import json
import os
import re
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic, ResourceType  # noqa: E402

OPENAPI_FILE = os.path.join(HERE, "..", "..", "chronik_admin", "openapi.json")
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
ADMIN, ADMIN_SECRET = "admin", "admin-secret"
TOKEN_USER, TOKEN = "operator", "0perator-t0ken-for-the-admin-api"
HTTP_ERRORS = {"not_found", "method_not_allowed", "bad_request", "unauthorized", "payload_too_large"}

# (method, concrete path) of every request answered with a 2xx, and the OpenAPI document served.
EXERCISED = set()
DOCUMENT = {}
# The tests that ran: the route coverage is only checked when all of them did.
RAN = set()


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    @property
    def error(self):
        return self.json.get("error") if isinstance(self.json, dict) else None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.raw[:2000].decode("utf-8", "replace"))


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def bearer(token):
    return "Bearer " + token


class Api:
    """The admin port of a broker, one HTTP/1.1 connection per request."""

    def __init__(self, port, auth=None):
        self.port = port
        self.auth = auth

    def __call__(self, method, path, body=None, raw=None, auth=None, conn=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {}
        if data is not None:
            headers["Content-Type"] = "application/json"
        auth = auth if auth is not None else self.auth
        if auth:
            headers["Authorization"] = auth
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            response = Response(r.status, r.headers, r.read())
        finally:
            if own:
                conn.close()
        if 200 <= response.status < 300 and path.startswith("/api/v1/"):
            EXERCISED.add((method, path.split("?")[0]))
        return response


def route_matches(template, path):
    pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
    return re.match(pattern, path) is not None


def documented_routes(document):
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {(m.upper(), p) for p, item in document["paths"].items() for m in item if m in methods}


def wait_until(check, what, timeout=20, interval=0.05):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def wait_ready(broker):
    api = Api(broker.admin_port)

    def ready():
        try:
            return api("GET", "/health").status == 200
        except OSError:
            return False
    wait_until(ready, "the admin port to answer /health")


def stop_broker(broker):
    code = broker.stop()
    log = broker.read_log()
    assert code == 0, "broker exited %s on SIGTERM:\n%s" % (code, log[-5000:])


class ApiTestCase(unittest.TestCase):
    def setUp(self):
        RAN.add(self.id())

    def expect(self, response, status, error=None):
        """Asserts the status (one or a set) and, for an error, the JSON error body."""
        statuses = status if isinstance(status, (set, tuple)) else {status}
        self.assertIn(response.status, statuses, response)
        self.assertTrue(response.headers.get("Content-Type", "").startswith("application/json"), response)
        self.assertIsInstance(response.json, dict, response)
        if response.status >= 400:
            self.assertIsInstance(response.json.get("message"), str, response)
            self.assertIsInstance(response.error, str, response)
            if error is not None:
                errors = error if isinstance(error, (set, tuple)) else {error}
                self.assertIn(response.error, errors, response)
        return response.json

    def expect_kafka_error(self, response, status):
        """An error by a Kafka error name (not one of HTTP's)."""
        self.expect(response, status)
        self.assertRegex(response.error, r"^[A-Z][A-Z0-9_]+$", response)
        self.assertNotIn(response.error, HTTP_ERRORS, response)


def describe_configs(admin, topic):
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result(15)


def is_topic_config(entry):
    """Whether a ConfigEntry of describe_configs is set on the topic itself."""
    return entry.source in (ConfigSource.DYNAMIC_TOPIC_CONFIG, ConfigSource.DYNAMIC_TOPIC_CONFIG.value)


def produce(bootstrap, topic, values_by_partition, timestamps=None):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    errors = []
    for partition, values in values_by_partition.items():
        for i, v in enumerate(values):
            kw = {"timestamp": timestamps[i]} if timestamps else {}
            p.produce(topic, v, partition=partition, on_delivery=lambda e, m: e and errors.append(e), **kw)
    assert p.flush(15) == 0, "records left unsent"
    assert not errors, errors


def first_offsets(bootstrap, group, topic, partitions, start=None, timeout=15):
    """The offset of the first record a consumer of `group` reads from each partition, assigned at
    `start` (default: the group's committed offsets); None where nothing is read."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, p) if start is None else TopicPartition(topic, p, start)
                  for p in partitions])
        first = {}
        deadline = time.time() + timeout
        while len(first) < len(partitions) and time.time() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is None and m.partition() not in first:
                first[m.partition()] = m.offset()
        return first
    finally:
        c.close()


def committed(bootstrap, group, topic, partitions):
    """The committed offsets of `group` as a new confluent consumer (not a member) sees them."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in partitions], 15)}
    finally:
        c.close()


# ------------------------------------------------------------------------------------------------
# 1. An open broker.


class OpenAdminApiTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0})
        cls.addClassCleanup(cls.broker.__exit__, None, None, None)  # killed if still running
        cls.broker.start()
        wait_ready(cls.broker)
        cls.api = Api(cls.broker.admin_port)
        cls.kafka_admin = AdminClient({"bootstrap.servers": cls.broker.bootstrap})

    @classmethod
    def tearDownClass(cls):
        del cls.kafka_admin  # its connections closed before the broker goes
        gc.collect()
        stop_broker(cls.broker)

    # --- The document, cluster and brokers -------------------------------------------------------

    def test_openapi_document(self):
        document = self.expect(self.api("GET", "/api/v1/openapi.json"), 200)
        self.assertTrue(document["paths"])
        if os.path.exists(OPENAPI_FILE):  # run from the repository (not in Bazel's sandbox)
            with open(OPENAPI_FILE) as f:
                self.assertEqual(document, json.load(f))
        DOCUMENT.update(document)
        self.assertEqual(self.expect(self.api("GET", "/health"), 200), {"status": "ok"})
        self.assertEqual(self.expect(self.api("GET", "/ready"), 200), {"status": "ready"})

    def test_cluster_and_brokers(self):
        md = self.kafka_admin.list_topics(timeout=15)
        cluster = self.expect(self.api("GET", "/api/v1/cluster"), 200)
        self.assertEqual(cluster["cluster_id"], md.cluster_id)
        self.assertEqual(cluster["controller_id"], md.controller_id)
        self.assertIsInstance(cluster["version"], str)
        self.assertTrue(cluster["version"])
        host, port = self.broker.bootstrap.split(":")
        self.assertEqual(len(md.brokers), 1)
        (node_id, b), = md.brokers.items()
        self.assertEqual((b.host, b.port), (host, int(port)))
        expected = [{"node_id": node_id, "host": host, "port": int(port), "rack": None}]
        self.assertEqual(cluster["brokers"], expected)
        self.assertEqual(self.expect(self.api("GET", "/api/v1/brokers"), 200), {"brokers": expected})

    # --- Topics ------------------------------------------------------------------------------------

    def test_topics_lifecycle(self):
        api, admin, bootstrap = self.api, self.kafka_admin, self.broker.bootstrap

        # Created through REST, with partitions and a config: AdminClient sees both.
        made = self.expect(api("POST", "/api/v1/topics", {"name": "rest-made", "partitions": 3, "replication_factor": 1,
                                                          "configs": {"retention.ms": "86400000"}}), 201)
        self.assertEqual((made["name"], made["partitions"], made["replication_factor"], made["validate_only"]),
                         ("rest-made", 3, 1, False))
        self.assertTrue(made["topic_id"])
        md = admin.list_topics(timeout=15)
        self.assertIn("rest-made", md.topics)
        self.assertEqual(sorted(md.topics["rest-made"].partitions), [0, 1, 2])
        configs = describe_configs(admin, "rest-made")
        self.assertEqual(configs["retention.ms"].value, "86400000")
        self.assertTrue(is_topic_config(configs["retention.ms"]))
        rest_configs = self.expect(api("GET", "/api/v1/topics/rest-made/configs"), 200)
        self.assertEqual(rest_configs["name"], "rest-made")
        by_name = {c["name"]: c for c in rest_configs["configs"]}
        self.assertEqual(by_name["retention.ms"],
                         {"name": "retention.ms", "value": "86400000", "source": "DYNAMIC_TOPIC_CONFIG",
                          "read_only": False, "sensitive": False})
        self.assertEqual(set(by_name), set(configs))  # the same configs as DescribeConfigs through librdkafka
        for name, entry in configs.items():
            self.assertEqual(by_name[name]["value"], entry.value, name)

        # validate_only creates nothing.
        v = self.expect(api("POST", "/api/v1/topics", {"name": "never-made", "partitions": 2, "validate_only": True}),
                        201)
        self.assertEqual((v["name"], v["partitions"], v["validate_only"]), ("never-made", 2, True))
        self.assertNotIn("never-made", admin.list_topics(timeout=15).topics)
        self.expect(api("GET", "/api/v1/topics/never-made"), 404, "UNKNOWN_TOPIC_OR_PARTITION")

        # Created by AdminClient: listed by REST, with the topic id AdminClient describes.
        admin.create_topics([NewTopic("client-made", 2, 1)])["client-made"].result(15)
        topics = {t["name"]: t for t in self.expect(api("GET", "/api/v1/topics"), 200)["topics"]}
        self.assertEqual({k: v for k, v in topics["client-made"].items() if k != "topic_id"},
                         {"name": "client-made", "partitions": 2, "internal": False})
        self.assertEqual(topics["rest-made"]["partitions"], 3)
        self.assertEqual(topics["rest-made"]["topic_id"], made["topic_id"])
        described = admin.describe_topics(
            confluent_kafka.TopicCollection(["client-made"]))["client-made"].result(15)
        # Kafka writes a topic id in URL-safe base64 (Uuid.toString); librdkafka in standard base64.
        self.assertEqual(topics["client-made"]["topic_id"],
                         str(described.topic_id).translate(str.maketrans("+/", "-_")))
        self.assertEqual(self.expect(api("GET", "/api/v1/topics/client-made"), 200)["topic_id"],
                         topics["client-made"]["topic_id"])

        # Described with the offsets of what was produced: 7 records to partition 1, 3 to partition 2.
        produce(bootstrap, "rest-made", {1: [b"one-%d" % i for i in range(7)], 2: [b"two-%d" % i for i in range(3)]})
        topic = self.expect(api("GET", "/api/v1/topics/rest-made"), 200)
        self.assertEqual((topic["name"], topic["topic_id"], topic["internal"]), ("rest-made", made["topic_id"], False))
        node = next(iter(admin.list_topics(timeout=15).brokers))
        self.assertEqual([p["partition"] for p in topic["partitions"]], [0, 1, 2])
        offsets = {p["partition"]: (p["log_start_offset"], p["high_watermark"]) for p in topic["partitions"]}
        self.assertEqual(offsets, {0: (0, 0), 1: (0, 7), 2: (0, 3)})
        for p in topic["partitions"]:
            self.assertEqual((p["leader"], p["replicas"], p["isr"]), (node, [node], [node]))
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
        for partition in range(3):
            self.assertEqual(c.get_watermark_offsets(TopicPartition("rest-made", partition), 15), offsets[partition])
        c.close()

        # Configs set, then deleted, then validated only: AdminClient sees each change.
        changed = self.expect(api("PATCH", "/api/v1/topics/rest-made/configs",
                                  {"set": {"retention.ms": "3600000", "max.message.bytes": "200000"}}), 200)
        changed = {c["name"]: c for c in changed["configs"]}
        self.assertEqual((changed["retention.ms"]["value"], changed["max.message.bytes"]["value"]),
                         ("3600000", "200000"))
        configs = describe_configs(admin, "rest-made")
        self.assertEqual((configs["retention.ms"].value, configs["max.message.bytes"].value), ("3600000", "200000"))
        default_retention = describe_configs(admin, "client-made")["retention.ms"].value
        changed = self.expect(api("PATCH", "/api/v1/topics/rest-made/configs", {"delete": ["retention.ms"]}), 200)
        changed = {c["name"]: c for c in changed["configs"]}
        self.assertEqual(changed["retention.ms"]["value"], default_retention)
        self.assertNotEqual(changed["retention.ms"]["source"], "DYNAMIC_TOPIC_CONFIG")
        configs = describe_configs(admin, "rest-made")
        self.assertEqual(configs["retention.ms"].value, default_retention)
        self.assertFalse(is_topic_config(configs["retention.ms"]))
        self.assertEqual(configs["max.message.bytes"].value, "200000")
        self.expect(api("PATCH", "/api/v1/topics/rest-made/configs",
                        {"set": {"max.message.bytes": "300000"}, "validate_only": True}), 200)
        self.assertEqual(describe_configs(admin, "rest-made")["max.message.bytes"].value, "200000")

        # Partitions added: AdminClient sees the new count; fewer is refused.
        grown = self.expect(api("POST", "/api/v1/topics/rest-made/partitions", {"count": 5}), 200)
        self.assertEqual(grown, {"name": "rest-made", "partitions": 5})
        self.assertEqual(sorted(admin.list_topics(timeout=15).topics["rest-made"].partitions), [0, 1, 2, 3, 4])
        self.assertEqual(len(self.expect(api("GET", "/api/v1/topics/rest-made"), 200)["partitions"]), 5)
        self.expect_kafka_error(api("POST", "/api/v1/topics/rest-made/partitions", {"count": 2}), 400)
        self.expect(api("POST", "/api/v1/topics/rest-made/partitions", {"count": 6, "validate_only": True}), 200)
        self.assertEqual(len(admin.list_topics(timeout=15).topics["rest-made"].partitions), 5)

        # Records deleted below offset 4 of partition 1, and all of partition 2 (offset -1).
        deleted = self.expect(api("POST", "/api/v1/topics/rest-made/delete-records",
                                  {"partitions": [{"partition": 1, "offset": 4}, {"partition": 2, "offset": -1}]}), 200)
        self.assertEqual(deleted["name"], "rest-made")
        self.assertEqual(sorted((p["partition"], p["low_watermark"]) for p in deleted["partitions"]), [(1, 4), (2, 3)])
        offsets = {p["partition"]: (p["log_start_offset"], p["high_watermark"])
                   for p in self.expect(api("GET", "/api/v1/topics/rest-made"), 200)["partitions"]}
        self.assertEqual(offsets, {0: (0, 0), 1: (4, 7), 2: (3, 3), 3: (0, 0), 4: (0, 0)})
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
        self.assertEqual(c.get_watermark_offsets(TopicPartition("rest-made", 1), 15), (4, 7))
        c.close()
        self.assertEqual(first_offsets(bootstrap, "from-start", "rest-made", [1], confluent_kafka.OFFSET_BEGINNING),
                         {1: 4})
        self.expect_kafka_error(api("POST", "/api/v1/topics/rest-made/delete-records",
                                    {"partitions": [{"partition": 1, "offset": 99}]}), 400)

        # Deleted: gone for AdminClient and for REST.
        self.assertEqual(self.expect(api("DELETE", "/api/v1/topics/rest-made"), 200),
                         {"name": "rest-made", "deleted": True})
        self.assertNotIn("rest-made", admin.list_topics(timeout=15).topics)
        self.expect(api("GET", "/api/v1/topics/rest-made"), 404, "UNKNOWN_TOPIC_OR_PARTITION")
        names = [t["name"] for t in self.expect(api("GET", "/api/v1/topics"), 200)["topics"]]
        self.assertNotIn("rest-made", names)
        self.assertIn("client-made", names)

    def test_topic_errors(self):
        api, admin = self.api, self.kafka_admin
        self.expect(api("POST", "/api/v1/topics", {"name": "twice", "partitions": 1}), 201)
        self.expect(api("POST", "/api/v1/topics", {"name": "twice", "partitions": 1}), 409, "TOPIC_ALREADY_EXISTS")

        # An unknown topic on every route that names one.
        for method, path, body in [
                ("GET", "/api/v1/topics/ghost", None),
                ("DELETE", "/api/v1/topics/ghost", None),
                ("GET", "/api/v1/topics/ghost/configs", None),
                ("PATCH", "/api/v1/topics/ghost/configs", {"set": {"retention.ms": "1000"}}),
                ("POST", "/api/v1/topics/ghost/partitions", {"count": 3}),
                ("POST", "/api/v1/topics/ghost/delete-records", {"partitions": [{"partition": 0, "offset": 0}]})]:
            with self.subTest(method=method, path=path):
                self.expect(api(method, path, body), 404, "UNKNOWN_TOPIC_OR_PARTITION")

        # Bad counts and fields: refused before Kafka is asked.
        for body in [{"name": "bad-count", "partitions": 0}, {"name": "bad-count", "partitions": -5},
                     {"name": "bad-count", "partitions": 1 << 40}, {"name": "bad-count", "partitions": "3"},
                     {"name": "bad-count", "partitions": 2.5}, {"name": "bad-count", "replication_factor": 0},
                     {"name": 42}, {"partitions": 1}, {"name": "bad-count", "configs": {"retention.ms": 5}},
                     {"name": "bad-count", "configs": ["retention.ms"]}, {"name": "bad-count", "validate_only": "yes"}]:
            with self.subTest(body=body):
                self.expect(api("POST", "/api/v1/topics", body), 400, "INVALID_REQUEST")
        # Refused by Kafka's checks: by their Kafka names.
        for body in [{"name": "bad-config", "configs": {"no.such.config": "1"}},
                     {"name": "bad-config", "configs": {"retention.ms": "soon"}},
                     {"name": "bad-config", "configs": {"cleanup.policy": "sometimes"}},
                     {"name": "bad name!", "partitions": 1},
                     {"name": "bad-replicas", "partitions": 1, "replication_factor": 3}]:
            with self.subTest(body=body):
                self.expect_kafka_error(api("POST", "/api/v1/topics", body), 400)
        self.assertEqual(api("POST", "/api/v1/topics", {"name": "bad-config", "configs": {"retention.ms": "soon"}})
                         .error, "INVALID_CONFIG")
        md = admin.list_topics(timeout=15).topics
        for name in ("bad-count", "bad-config", "bad name!", "bad-replicas"):
            self.assertNotIn(name, md)

        # Malformed bodies.
        for raw in [b'{"name": ', b"not json", b"[1, 2]", b'"twice"', b"42", b"null"]:
            with self.subTest(raw=raw):
                self.expect(api("POST", "/api/v1/topics", raw=raw), 400, "INVALID_REQUEST")
        self.expect(api("POST", "/api/v1/topics", raw=b""), 400, "INVALID_REQUEST")  # no name
        for body in [{}, {"set": {"retention.ms": 1000}}, {"delete": "retention.ms"}, {"set": []},
                     {"delete": ["retention.ms"], "validate_only": 1}]:
            with self.subTest(body=body):
                self.expect(api("PATCH", "/api/v1/topics/twice/configs", body), 400, "INVALID_REQUEST")
        for body in [{"set": {"retention.ms": "soon"}}, {"set": {"no.such.config": "1"}}]:
            with self.subTest(body=body):
                self.expect_kafka_error(api("PATCH", "/api/v1/topics/twice/configs", body), 400)
        for body in [{}, {"count": 0}, {"count": "3"}, {"count": 3, "validate_only": "no"}]:
            with self.subTest(body=body):
                self.expect(api("POST", "/api/v1/topics/twice/partitions", body), 400, "INVALID_REQUEST")
        for body in [{}, {"partitions": []}, {"partitions": {"0": 1}}, {"partitions": [1]},
                     {"partitions": [{"partition": 0}]}, {"partitions": [{"partition": "0", "offset": 0}]},
                     {"partitions": [{"partition": -1, "offset": 0}]}]:
            with self.subTest(body=body):
                self.expect(api("POST", "/api/v1/topics/twice/delete-records", body), 400, "INVALID_REQUEST")
        self.expect(api("POST", "/api/v1/topics/twice/delete-records",
                        {"partitions": [{"partition": 7, "offset": 0}]}), 404, "UNKNOWN_TOPIC_OR_PARTITION")
        # Nothing of that changed the topic.
        topic = self.expect(api("GET", "/api/v1/topics/twice"), 200)
        self.assertEqual([(p["partition"], p["log_start_offset"], p["high_watermark"]) for p in topic["partitions"]],
                         [(0, 0, 0)])

    # --- Groups -----------------------------------------------------------------------------------

    def test_groups(self):
        api, admin, bootstrap = self.api, self.kafka_admin, self.broker.bootstrap
        admin.create_topics([NewTopic("orders", 2, 1)])["orders"].result(15)
        base = int(time.time() * 1000) - 600000  # CreateTime 10 minutes ago, one second apart
        timestamps = [base + i * 1000 for i in range(10)]
        produce(bootstrap, "orders", {0: [b"p0-%d" % i for i in range(10)], 1: [b"p1-%d" % i for i in range(10)]},
                timestamps)

        # A member of group "billing" with offsets 3 and 6 committed.
        member = Consumer({"bootstrap.servers": bootstrap, "group.id": "billing", "client.id": "billing-client",
                           "enable.auto.commit": False, "auto.offset.reset": "earliest",
                           "partition.assignment.strategy": "range"})
        try:
            member.subscribe(["orders"])

            def assigned():
                member.poll(0.1)
                return len(member.assignment()) == 2
            wait_until(assigned, "the member to be assigned both partitions")
            member.commit(offsets=[TopicPartition("orders", 0, 3), TopicPartition("orders", 1, 6)], asynchronous=False)

            groups = self.expect(api("GET", "/api/v1/groups"), 200)["groups"]
            self.assertIn({"group_id": "billing", "protocol_type": "consumer", "state": "Stable"}, groups)
            group = self.expect(api("GET", "/api/v1/groups/billing"), 200)
            self.assertEqual((group["group_id"], group["state"], group["protocol_type"], group["protocol"]),
                             ("billing", "Stable", "consumer", "range"))
            self.assertEqual(len(group["members"]), 1, group)
            m = group["members"][0]
            self.assertTrue(m["member_id"].startswith("billing-client"), m)
            self.assertEqual((m["client_id"], m["group_instance_id"]), ("billing-client", None))
            self.assertIn("127.0.0.1", m["client_host"])
            self.assertEqual(m["assignment"], [{"topic": "orders", "partitions": [0, 1]}])

            offsets = self.expect(api("GET", "/api/v1/groups/billing/offsets"), 200)
            self.assertEqual(offsets["group_id"], "billing")
            rows = {(o["topic"], o["partition"]): o for o in offsets["offsets"]}
            self.assertEqual(sorted(rows), [("orders", 0), ("orders", 1)])
            total = 0
            for tp in member.committed([TopicPartition("orders", 0), TopicPartition("orders", 1)], 15):
                low, high = member.get_watermark_offsets(tp, 15)
                row = rows[("orders", tp.partition)]
                self.assertEqual((row["committed_offset"], row["log_end_offset"], row["lag"]),
                                 (tp.offset, high, high - tp.offset))
                self.assertIn(row["metadata"], ("", None))
                total += high - tp.offset
            self.assertEqual((rows[("orders", 0)]["lag"], rows[("orders", 1)]["lag"], offsets["total_lag"]),
                             (7, 4, total))
            self.assertEqual(total, 11)

            # While it is active: neither reset nor delete.
            self.expect(api("POST", "/api/v1/groups/billing/offsets/reset", {"to": "earliest"}), 409, "NON_EMPTY_GROUP")
            self.expect(api("POST", "/api/v1/groups/billing/offsets/reset", {"to": "earliest", "dry_run": True}), 409,
                        "NON_EMPTY_GROUP")
            self.expect(api("DELETE", "/api/v1/groups/billing"), 409, "NON_EMPTY_GROUP")
            self.assertEqual(committed(bootstrap, "billing", "orders", [0, 1]), {0: 3, 1: 6})
        finally:
            member.close()

        # Once it has left: Empty, without members.
        wait_until(lambda: api("GET", "/api/v1/groups/billing").json.get("state") == "Empty",
                   "the group to be empty")
        group = self.expect(api("GET", "/api/v1/groups/billing"), 200)
        self.assertEqual(group["members"], [])

        def reset(body, expected):
            r = self.expect(api("POST", "/api/v1/groups/billing/offsets/reset", body), 200)
            self.assertEqual(r["group_id"], "billing")
            self.assertEqual(r["dry_run"], bool(body.get("dry_run")))
            self.assertEqual(sorted((o["topic"], o["partition"], o["offset"]) for o in r["offsets"]),
                             [("orders", p, o) for p, o in sorted(expected.items())], body)

        def check(expected, what):
            self.assertEqual(committed(bootstrap, "billing", "orders", [0, 1]), expected, what)
            rows = {o["partition"]: o["committed_offset"]
                    for o in self.expect(api("GET", "/api/v1/groups/billing/offsets"), 200)["offsets"]}
            self.assertEqual(rows, expected, what)
            readable = {p: o for p, o in expected.items() if o < 10}
            self.assertEqual(first_offsets(bootstrap, "billing", "orders", sorted(readable)), readable, what)

        # dry_run: the offsets it would set, nothing committed.
        reset({"to": "earliest", "dry_run": True}, {0: 0, 1: 0})
        reset({"to": "latest", "dry_run": True, "topics": ["orders"]}, {0: 10, 1: 10})
        check({0: 3, 1: 6}, "after dry runs")
        reset({"to": "earliest"}, {0: 0, 1: 0})
        check({0: 0, 1: 0}, "to earliest")
        reset({"to": "offset", "offset": 5, "topics": ["orders"]}, {0: 5, 1: 5})
        check({0: 5, 1: 5}, "to offset 5")
        reset({"to": "offset", "offset": 1000}, {0: 10, 1: 10})  # clamped to the end
        check({0: 10, 1: 10}, "to offset 1000")
        reset({"to": "timestamp", "timestamp": timestamps[6] + 500}, {0: 7, 1: 7})
        check({0: 7, 1: 7}, "to a timestamp")
        reset({"to": "timestamp", "timestamp": timestamps[0]}, {0: 0, 1: 0})
        check({0: 0, 1: 0}, "to the first timestamp")
        reset({"to": "timestamp", "timestamp": int(time.time() * 1000) + 3600000}, {0: 10, 1: 10})  # none later
        check({0: 10, 1: 10}, "to a timestamp after every record")
        reset({"to": "earliest"}, {0: 0, 1: 0})
        reset({"to": "latest"}, {0: 10, 1: 10})
        produce(bootstrap, "orders", {0: [b"late"]})
        self.assertEqual(committed(bootstrap, "billing", "orders", [0, 1]), {0: 10, 1: 10})
        self.assertEqual(first_offsets(bootstrap, "billing", "orders", [0]), {0: 10})  # the new record, only
        rows = {o["partition"]: (o["committed_offset"], o["log_end_offset"], o["lag"])
                for o in self.expect(api("GET", "/api/v1/groups/billing/offsets"), 200)["offsets"]}
        self.assertEqual(rows, {0: (10, 11, 1), 1: (10, 10, 0)})

        # A group that never existed: its offsets set for the topics named.
        r = self.expect(api("POST", "/api/v1/groups/newcomer/offsets/reset",
                            {"to": "offset", "offset": 4, "topics": ["orders"]}), 200)
        self.assertEqual(sorted((o["partition"], o["offset"]) for o in r["offsets"]), [(0, 4), (1, 4)])
        self.assertEqual(committed(bootstrap, "newcomer", "orders", [0, 1]), {0: 4, 1: 4})
        self.expect(api("POST", "/api/v1/groups/never-was/offsets/reset", {"to": "earliest"}), 400, "INVALID_REQUEST")

        # Bad resets.
        for body in [{}, {"to": "middle"}, {"to": "timestamp"}, {"to": "offset"}, {"to": 3},
                     {"to": "offset", "offset": "5"}, {"to": "earliest", "topics": "orders"},
                     {"to": "earliest", "dry_run": "true"}]:
            with self.subTest(body=body):
                self.expect(api("POST", "/api/v1/groups/billing/offsets/reset", body), 400, "INVALID_REQUEST")
        self.expect(api("POST", "/api/v1/groups/billing/offsets/reset", {"to": "earliest", "topics": ["ghost"]}), 404,
                    "UNKNOWN_TOPIC_OR_PARTITION")

        # Deleted: gone.
        self.assertEqual(self.expect(api("DELETE", "/api/v1/groups/billing"), 200),
                         {"group_id": "billing", "deleted": True})
        self.expect(api("GET", "/api/v1/groups/billing"), 404, "GROUP_ID_NOT_FOUND")
        self.expect(api("GET", "/api/v1/groups/billing/offsets"), 404, "GROUP_ID_NOT_FOUND")
        self.expect(api("DELETE", "/api/v1/groups/billing"), 404, "GROUP_ID_NOT_FOUND")
        self.assertNotIn("billing", [g["group_id"] for g in self.expect(api("GET", "/api/v1/groups"), 200)["groups"]])
        self.assertEqual(committed(bootstrap, "billing", "orders", [0, 1]),
                         {0: confluent_kafka.OFFSET_INVALID, 1: confluent_kafka.OFFSET_INVALID})
        self.expect(api("GET", "/api/v1/groups/never-was"), 404, "GROUP_ID_NOT_FOUND")

    # --- HTTP itself ----------------------------------------------------------------------------

    def test_http_layer(self):
        api = self.api
        for path in ["/api/v1/nothing", "/api/v1/topics/a/b/c", "/api/v2/topics", "/api/v1/topics/t/nothing",
                     "/api/v1/topics/"]:
            with self.subTest(path=path):
                self.expect(api("GET", path), 404, "not_found")
        for method, path, allowed in [("PUT", "/api/v1/topics", {"GET", "POST"}),
                                      ("DELETE", "/api/v1/cluster", {"GET"}),
                                      ("POST", "/api/v1/topics/t", {"GET", "DELETE"}),
                                      ("GET", "/api/v1/users/u", {"PUT", "DELETE"}),
                                      ("PUT", "/api/v1/acls", {"GET", "POST", "DELETE"})]:
            with self.subTest(method=method, path=path):
                r = api(method, path, {} if method in ("PUT", "POST") else None)
                self.expect(r, 405, "method_not_allowed")
                self.assertEqual({m.strip() for m in r.headers.get("Allow", "").split(",")}, allowed, r)

        # A body over 1 MiB: 413, or the connection closed; the server serves on.
        body = b'{"name": "huge", "configs": {"x": "' + b"x" * (1 << 20) + b'"}}'
        status = None
        with socket.create_connection(("127.0.0.1", self.broker.admin_port), timeout=15) as s:
            try:
                s.sendall(b"POST /api/v1/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(body))
                s.sendall(body)
            except OSError:
                pass
            try:
                answer = b""
                while b"\r\n\r\n" not in answer:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                if answer:
                    status = int(answer.split(b" ", 2)[1])
            except OSError:
                pass
        self.assertIn(status, (413, None))
        print("\n  a body over 1 MiB: %s" % ("HTTP 413" if status else "connection closed"), file=sys.stderr)
        self.expect(api("GET", "/health"), 200)
        self.expect(api("GET", "/api/v1/cluster"), 200)
        self.assertNotIn("huge", self.kafka_admin.list_topics(timeout=15).topics)

        # A few hundred idle connections held open: the Kafka port and the admin port still serve.
        idle = []
        try:
            for _ in range(300):
                idle.append(socket.create_connection(("127.0.0.1", self.broker.admin_port), timeout=15))
            self.kafka_admin.create_topics([NewTopic("idle-check", 1, 1)])["idle-check"].result(15)
            produce(self.broker.bootstrap, "idle-check", {0: [b"through", b"the", b"crowd"]})
            c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "idle-check",
                          "enable.auto.commit": False})
            c.assign([TopicPartition("idle-check", 0, confluent_kafka.OFFSET_BEGINNING)])
            got = []
            deadline = time.time() + 15
            while len(got) < 3 and time.time() < deadline:
                m = c.poll(0.2)
                if m is not None and m.error() is None:
                    got.append(m.value())
            c.close()
            self.assertEqual(got, [b"through", b"the", b"crowd"])
            self.assertEqual(self.expect(api("GET", "/health"), 200), {"status": "ok"})
            topic = self.expect(api("GET", "/api/v1/topics/idle-check"), 200)
            self.assertEqual(topic["partitions"][0]["high_watermark"], 3)
            # The first and the last idle connection still answer, each two requests in a row.
            for s in (idle[0], idle[-1]):
                conn = http.client.HTTPConnection("127.0.0.1", self.broker.admin_port, timeout=15)
                conn.sock = s
                self.expect(api("GET", "/api/v1/brokers", conn=conn), 200)
                self.expect(api("GET", "/ready", conn=conn), 200)
        finally:
            for s in idle:
                s.close()
        self.expect(api("GET", "/api/v1/topics"), 200)


# ------------------------------------------------------------------------------------------------
# 2. Authentication and authorization.


class SecuredAdminApiTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(
            extra_args=["--admin-auth-required"],
            listeners=[("PLAINTEXT", "PLAINTEXT"), ("SASL_PLAINTEXT", "SASL_PLAINTEXT")],
            kafka_properties={"authorizer.class.name": AUTHORIZER,
                              "super.users": "User:%s;User:%s" % (ADMIN, TOKEN_USER),
                              "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
                              "group.initial.rebalance.delay.ms": 0},
            env={"CHRONIK_BOOTSTRAP_USER": "%s:%s" % (ADMIN, ADMIN_SECRET),
                 "CHRONIK_ADMIN_TOKEN": "%s:%s" % (TOKEN_USER, TOKEN)})
        cls.addClassCleanup(cls.broker.__exit__, None, None, None)  # killed if still running
        cls.broker.start()
        wait_ready(cls.broker)
        cls.anonymous = Api(cls.broker.admin_port)
        cls.admin = Api(cls.broker.admin_port, basic(ADMIN, ADMIN_SECRET))
        cls.operator = Api(cls.broker.admin_port, bearer(TOKEN))

    @classmethod
    def tearDownClass(cls):
        stop_broker(cls.broker)

    def expect_unauthorized(self, response):
        self.expect(response, 401, "SASL_AUTHENTICATION_FAILED")
        self.assertTrue(response.headers.get("WWW-Authenticate", "").startswith("Basic "), response)

    def sasl_admin(self, user, password, mechanism="SCRAM-SHA-256"):
        return AdminClient({"bootstrap.servers": self.broker.address("SASL_PLAINTEXT"),
                            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
                            "sasl.username": user, "sasl.password": password})

    def test_authentication(self):
        port = self.broker.admin_port
        for method, path in [("GET", "/api/v1/topics"), ("GET", "/api/v1/cluster"), ("POST", "/api/v1/topics"),
                             ("GET", "/api/v1/users"), ("GET", "/api/v1/acls")]:
            with self.subTest(method=method, path=path):
                self.expect_unauthorized(self.anonymous(method, path, {"name": "anon"} if method == "POST" else None))
        for auth in [basic(ADMIN, "wrong"), basic(ADMIN, ""), basic("nobody", ADMIN_SECRET), basic(TOKEN_USER, TOKEN),
                     bearer("wrong"), bearer(TOKEN[:-1] + "X"), bearer(TOKEN + "X"), bearer(ADMIN_SECRET),
                     "Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode(), "Digest abc"]:
            with self.subTest(auth=auth):
                self.expect_unauthorized(Api(port, auth)("GET", "/api/v1/topics"))
        # The document is public; health is not under the API.
        self.expect(self.anonymous("GET", "/api/v1/openapi.json"), 200)
        self.expect(self.anonymous("GET", "/health"), 200)
        # Basic with the bootstrap user, Bearer with the token: both super users.
        cluster = self.expect(self.admin("GET", "/api/v1/cluster"), 200)
        self.assertEqual(cluster["brokers"][0]["port"], self.broker.port)
        self.expect(self.operator("GET", "/api/v1/brokers"), 200)
        self.expect(self.operator("POST", "/api/v1/topics", {"name": "by-token", "partitions": 1}), 201)
        names = [t["name"] for t in self.expect(self.admin("GET", "/api/v1/topics"), 200)["topics"]]
        self.assertIn("by-token", names)
        self.assertNotIn("anon", names)
        self.assertEqual(self.expect(self.operator("DELETE", "/api/v1/topics/by-token"), 200),
                         {"name": "by-token", "deleted": True})

    def test_users_and_acls(self):
        admin, port = self.admin, self.broker.admin_port
        self.expect(admin("POST", "/api/v1/topics", {"name": "admins-only", "partitions": 1}), 201)

        # A SCRAM user made over REST: listed with its mechanism and iterations, never its password.
        secret = "carl-s3cret-pw"
        made = self.expect(admin("PUT", "/api/v1/users/carl",
                                 {"password": secret, "mechanism": "SCRAM-SHA-256", "iterations": 8192}), 200)
        self.assertEqual(made, {"name": "carl", "mechanism": "SCRAM-SHA-256", "iterations": 8192})
        r = admin("GET", "/api/v1/users")
        users = {u["name"]: u for u in self.expect(r, 200)["users"]}
        self.assertEqual(users["carl"], {"name": "carl", "credentials": [{"mechanism": "SCRAM-SHA-256",
                                                                          "iterations": 8192}]})
        self.assertIn(ADMIN, users)
        for u in users.values():
            self.assertEqual(set(u), {"name", "credentials"})
            for c in u["credentials"]:
                self.assertEqual(set(c), {"mechanism", "iterations"})
        self.assertNotIn(secret.encode(), r.raw)
        self.assertNotIn(ADMIN_SECRET.encode(), r.raw)
        self.expect(admin("PUT", "/api/v1/users/carl", {"mechanism": "SCRAM-SHA-256"}), 400, "INVALID_REQUEST")
        self.expect(admin("PUT", "/api/v1/users/carl", {"password": secret, "mechanism": "MD5"}), 400,
                    "INVALID_REQUEST")
        self.expect_kafka_error(admin("PUT", "/api/v1/users/carl", {"password": secret, "iterations": 100}), 400)
        self.assertEqual({u["name"]: u for u in self.expect(admin("GET", "/api/v1/users"), 200)["users"]}["carl"],
                         users["carl"])

        # As carl, without ACLs: no topic to see, no topic to create, no ACLs, no users.
        carl = Api(port, basic("carl", secret))
        self.assertEqual(self.expect(carl("GET", "/api/v1/topics"), 200)["topics"], [])
        self.expect(carl("POST", "/api/v1/topics", {"name": "carls", "partitions": 2}), 403,
                    {"TOPIC_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED"})
        self.expect(carl("GET", "/api/v1/topics/admins-only"), 403, "TOPIC_AUTHORIZATION_FAILED")
        acl = {"resource_type": "TOPIC", "resource_name": "carls", "principal": "User:carl", "operation": "CREATE",
               "permission": "ALLOW"}
        self.expect(carl("POST", "/api/v1/acls", {"acls": [acl]}), 403, "CLUSTER_AUTHORIZATION_FAILED")
        self.expect(carl("PUT", "/api/v1/users/carl", {"password": "another-pw"}), 403, "CLUSTER_AUTHORIZATION_FAILED")
        self.assertNotIn("carls", self.sasl_admin(ADMIN, ADMIN_SECRET, "SCRAM-SHA-512").list_topics(timeout=15).topics)

        # Granted CREATE and DESCRIBE on the topic's name: the create succeeds.
        describe = dict(acl, operation="DESCRIBE")
        self.assertEqual(self.expect(admin("POST", "/api/v1/acls", {"acls": [acl, describe]}), 201), {"created": 2})
        made = self.expect(carl("POST", "/api/v1/topics", {"name": "carls", "partitions": 2}), 201)
        self.assertEqual((made["name"], made["partitions"]), ("carls", 2))
        self.assertEqual([t["name"] for t in self.expect(carl("GET", "/api/v1/topics"), 200)["topics"]], ["carls"])
        # carl's SCRAM-SHA-256 credential works for a real Kafka client on the SASL listener.
        md = self.sasl_admin("carl", secret).list_topics(timeout=15)
        self.assertEqual(list(md.topics), ["carls"])
        self.assertEqual(sorted(md.topics["carls"].partitions), [0, 1])

        # Listed with filters.
        full = lambda a: dict(a, pattern_type="LITERAL", host="*")  # noqa: E731
        expected = sorted([full(acl), full(describe)], key=lambda a: a["operation"])
        listed = self.expect(admin("GET", "/api/v1/acls?principal=User:carl"), 200)["acls"]
        self.assertEqual(sorted(listed, key=lambda a: a["operation"]), expected)
        listed = self.expect(admin("GET", "/api/v1/acls?resource_type=TOPIC&resource_name=carls&operation=CREATE"
                                   "&permission=ALLOW&pattern_type=LITERAL&host=*"), 200)["acls"]
        self.assertEqual(listed, [full(acl)])
        self.assertEqual(self.expect(admin("GET", "/api/v1/acls?principal=User:carl&pattern_type=PREFIXED"), 200),
                         {"acls": []})
        self.assertEqual(self.expect(admin("GET", "/api/v1/acls?resource_type=GROUP"), 200), {"acls": []})
        self.assertEqual(sorted(self.expect(admin("GET", "/api/v1/acls"), 200)["acls"], key=lambda a: a["operation"]),
                         expected)
        self.expect(admin("GET", "/api/v1/acls?resource_type=TABLE"), 400, "INVALID_REQUEST")
        self.expect(admin("GET", "/api/v1/acls?colour=red"), 400, "INVALID_REQUEST")
        for bad in [{}, {"acls": []}, {"acls": [dict(acl, operation="EAT")]},
                    {"acls": [{k: v for k, v in acl.items() if k != "principal"}]}, {"acls": [dict(acl, host=1)]}]:
            with self.subTest(body=bad):
                self.expect(admin("POST", "/api/v1/acls", bad), 400, "INVALID_REQUEST")

        # Deleted: returned, and gone; carl is refused again.
        self.expect(admin("DELETE", "/api/v1/acls?resource_name=carls"), 400, "INVALID_REQUEST")
        deleted = self.expect(admin("DELETE", "/api/v1/acls?resource_type=TOPIC&resource_name=carls"
                                    "&principal=User:carl"), 200)["deleted"]
        self.assertEqual(sorted(deleted, key=lambda a: a["operation"]), expected)
        self.assertEqual(self.expect(admin("GET", "/api/v1/acls?principal=User:carl"), 200), {"acls": []})
        self.assertEqual(self.expect(admin("DELETE", "/api/v1/acls?resource_type=TOPIC&resource_name=carls"), 200),
                         {"deleted": []})
        self.expect(carl("DELETE", "/api/v1/topics/carls"), 403, "TOPIC_AUTHORIZATION_FAILED")
        self.expect(carl("POST", "/api/v1/topics", {"name": "carls-2"}), 403,
                    {"TOPIC_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED"})
        self.assertEqual(self.expect(carl("GET", "/api/v1/topics"), 200)["topics"], [])

        # The user deleted: Basic as carl is 401.
        self.assertEqual(self.expect(admin("DELETE", "/api/v1/users/carl"), 200),
                         {"name": "carl", "deleted": ["SCRAM-SHA-256"]})
        self.assertNotIn("carl", [u["name"] for u in self.expect(admin("GET", "/api/v1/users"), 200)["users"]])
        self.expect_unauthorized(carl("GET", "/api/v1/topics"))
        self.expect(admin("DELETE", "/api/v1/users/carl"), 404, "RESOURCE_NOT_FOUND")
        self.assertEqual(self.expect(admin("DELETE", "/api/v1/topics/carls"), 200), {"name": "carls", "deleted": True})


# ------------------------------------------------------------------------------------------------
# 3. Every documented route answered with success.


def tearDownModule():
    loader = unittest.TestLoader()
    every = {t.id() for cls in (OpenAdminApiTest, SecuredAdminApiTest) for t in loader.loadTestsFromTestCase(cls)}
    if RAN != every:
        print("admin_api_test: not every test ran; the route coverage is not checked", file=sys.stderr)
        return
    document = DOCUMENT
    if not document:
        with open(OPENAPI_FILE) as f:
            document = json.load(f)
    missing = sorted((m, p) for m, p in documented_routes(document)
                     if not any(em == m and route_matches(p, ep) for em, ep in EXERCISED))
    undocumented = sorted((m, p) for m, p in EXERCISED
                          if not any(dm == m and route_matches(dp, p) for dm, dp in documented_routes(document)))
    print("admin_api_test: %d documented routes, %d exercised with success" %
          (len(documented_routes(document)), len(documented_routes(document)) - len(missing)), file=sys.stderr)
    assert not missing, "documented routes never answered with success: %s" % missing
    assert not undocumented, "routes answered with success that the document lacks: %s" % undocumented


if __name__ == "__main__":
    unittest.main()
