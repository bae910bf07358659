"""End-to-end: Kafka's authorizer (authorizer.class.name = StandardAuthorizer, super.users = User:admin)
with SCRAM-SHA-512 users on a SASL_PLAINTEXT listener, driven by confluent-kafka 2.x (tests/e2e/pydeps)
and Kafka's own kafka-acls (org.apache.kafka.tools.AclCommand, run by main class).

1. The admin (CHRONIK_BOOTSTRAP_USER, a super user) creates the users alice, bob, carol, dave and
   erin with AlterUserScramCredentials (SCRAM-SHA-512) over SASL_PLAINTEXT. The matrix's ACLs are
   created partly with kafka-acls (--bootstrap-server, --command-config for the admin with
   SCRAM-SHA-512) and partly with AdminClient.create_acls; describe_acls and kafka-acls --list show
   exactly them. Scratch ACLs made with both tools are removed with delete_acls and kafka-acls
   --remove, and a user who is not a super user may neither create nor describe ACLs
   (CLUSTER_AUTHORIZATION_FAILED; for DescribeAcls seen through kafka-acls, as librdkafka drops
   that response's top-level error and returns an empty list).
2. An ACL matrix: each row an operation (produce, consume (fetch), group join, offset commit, create
   topic, delete topic, alter topic config), each column a case with its own user and its own
   topics and groups: allowed by a LITERAL ALLOW (alice); denied without any ACL (bob); denied by a
   DENY on the resource overriding ALLOW ALL on every topic and group "*" (carol); allowed by a
   PREFIXED ALLOW (dave); allowed by an ALLOW on the LITERAL wildcard "*" (erin). A case's ACLs
   cover every resource the row's operation needs (READ on topic and group for consume, join and
   commit); the DENY is on the row's resource under test (the topic for consume and commit, the
   group for join). Allowed cells are checked to have really worked (records read back, the member
   assigned in a stable group, the offset committed, the topic created, deleted or reconfigured);
   denied cells by the error code the client sees. The offset commit is a consumer's that neither
   joins nor fetches (no generation, as a simple consumer commits). The matrix is printed as a table.
3. Metadata: an all-topics request as alice lists only the topics she may DESCRIBE (READ, WRITE and
   DELETE imply it; CREATE and ALTER_CONFIGS do not); the admin sees every topic; bob, without any
   ACL, and the anonymous PLAINTEXT client see none; a named topic alice may not describe is
   TOPIC_AUTHORIZATION_FAILED.
4. The audit log (<data_dir>/audit/audit.log) holds a denial (principal, operation, resource type,
   resource, API, client, listener) for every denied cell, and admin entries for CreateAcls (success
   and a refused one), DeleteAcls, CreateTopics, DeleteTopics and IncrementalAlterConfigs with their
   outcomes and errors; no password is in it. The checks Kafka makes with logIfDenied=false leave
   no denial: CREATE on the cluster before the topic's (CreateTopics) and DESCRIBE of the topics an
   all-topics Metadata request leaves out.
5. allow.everyone.if.no.acl.found=true (a second broker): alice uses a topic without ACLs; once an
   ACL on it exists for bob only, alice is refused (TOPIC_AUTHORIZATION_FAILED) and bob is not.
6. Without authorizer.class.name (a third broker): CreateAcls and DeleteAcls answer
   SECURITY_DISABLED (the AdminClient raises it; kafka-acls --list and --add show
   SecurityDisabledException), and an anonymous client may do everything: create, produce, consume
   in a group, commit, alter a config, delete."""

import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)
from broker import Broker, java_classpath  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer,  # noqa: E402
                             TopicPartition)
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,  # noqa: E402
                                   AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourcePatternType, ResourceType, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialUpsertion)

VERSION = confluent_kafka.version() if isinstance(confluent_kafka.version(), str) else confluent_kafka.version()[0]
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
ADMIN, ADMIN_SECRET = "admin", "admin-secret"
USERS = ("alice", "bob", "carol", "dave", "erin")
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
LITERAL, PREFIXED = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
ALLOW, DENY = AclPermissionType.ALLOW, AclPermissionType.DENY
RECORDS = [b"record-%d" % i for i in range(5)]
RETENTION = "7777777"

TOPIC_DENIED = "TOPIC_AUTHORIZATION_FAILED"
GROUP_DENIED = "GROUP_AUTHORIZATION_FAILED"
AUTH_ERRORS = {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
               KafkaError.CLUSTER_AUTHORIZATION_FAILED}


def password(user):
    return ADMIN_SECRET if user == ADMIN else user + "-secret"


def sasl(bootstrap, user, **extra):
    return dict({"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
                 "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": password(user),
                 "log.connection.close": False}, **extra)


def error_name(e):
    """The Kafka error name of a KafkaException (or KafkaError)."""
    err = e.args[0] if isinstance(e, KafkaException) else e
    return err.name()


def key(b):
    """An ACL binding as a comparable tuple, with Kafka's names."""
    return (b.restype.name, b.name, b.resource_pattern_type.name, b.principal, b.host, b.operation.name,
            b.permission_type.name)


def create_users(admin, users):
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096)
    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(u, info, password(u).encode()) for u in users])
    for f in futures.values():
        f.result(15)


def create_topics(admin, names, partitions=1):
    for f in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
        f.result(15)


def read_all(bootstrap_conf, topic, count, group, deadline_s=30):
    """Reads `count` records from partition 0 of `topic` by assignment (no group membership)."""
    c = Consumer(dict(bootstrap_conf, **{"group.id": group, "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    got = []
    deadline = time.time() + deadline_s
    while len(got) < count and time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    return got


# ---------------------------------------------------------------------------------------------
# The matrix.

# Rows: the operation, the (resource type, operation) pairs it needs, and the one its DENY case
# denies (the row's resource under test).
ROWS = [
    ("produce", [(TOPIC, AclOperation.WRITE)], (TOPIC, AclOperation.WRITE)),
    ("consume", [(TOPIC, AclOperation.READ), (GROUP, AclOperation.READ)], (TOPIC, AclOperation.READ)),
    ("join", [(TOPIC, AclOperation.READ), (GROUP, AclOperation.READ)], (GROUP, AclOperation.READ)),
    ("commit", [(TOPIC, AclOperation.READ), (GROUP, AclOperation.READ)], (TOPIC, AclOperation.READ)),
    ("create", [(TOPIC, AclOperation.CREATE)], (TOPIC, AclOperation.CREATE)),
    ("delete", [(TOPIC, AclOperation.DELETE)], (TOPIC, AclOperation.DELETE)),
    ("alter-config", [(TOPIC, AclOperation.ALTER_CONFIGS)], (TOPIC, AclOperation.ALTER_CONFIGS)),
]
ROW_TITLES = {"produce": "produce", "consume": "consume (fetch)", "join": "group join", "commit": "offset commit",
              "create": "create topic", "delete": "delete topic", "alter-config": "alter topic config"}
# Columns: the case, its user, whether it is allowed.
CASES = [
    ("literal ALLOW", "alice", True),
    ("no ACL", "bob", False),
    ("DENY over ALLOW *", "carol", False),
    ("PREFIXED ALLOW", "dave", True),
    ("wildcard * ALLOW", "erin", True),
]
CASE_PREFIX = {"alice": "lit", "bob": "none", "carol": "deny", "dave": "pre", "erin": "any"}


def resource(row, user):
    """The topic (and group) a cell works on: its own, so that no two cells share one."""
    if user == "dave":
        return "pre-%s-x" % row  # under dave's PREFIXED "pre-<row>-"
    return "%s-%s" % (CASE_PREFIX[user], row)


# What the client sees in each denied cell, and the denial the audit log must hold for it:
# (error, (operation, resource type, API)). Without any ACL, the first request refused is the
# group's FindCoordinator (consume, join, commit: DESCRIBE, implied by READ) or the topic's
# Metadata (produce: the producer never sends a Produce), as Kafka refuses them.
DENIED = {
    ("produce", "bob"): (TOPIC_DENIED, ("DESCRIBE", "TOPIC", "Metadata")),
    ("produce", "carol"): (TOPIC_DENIED, ("WRITE", "TOPIC", "Produce")),
    ("consume", "bob"): (GROUP_DENIED, ("DESCRIBE", "GROUP", "FindCoordinator")),
    ("consume", "carol"): (TOPIC_DENIED, ("READ", "TOPIC", "Fetch")),
    ("join", "bob"): (GROUP_DENIED, ("DESCRIBE", "GROUP", "FindCoordinator")),
    ("join", "carol"): (GROUP_DENIED, ("READ", "GROUP", "JoinGroup")),
    ("commit", "bob"): (GROUP_DENIED, ("DESCRIBE", "GROUP", "FindCoordinator")),
    ("commit", "carol"): (TOPIC_DENIED, ("READ", "TOPIC", "OffsetCommit")),
    ("create", "bob"): (TOPIC_DENIED, ("CREATE", "TOPIC", "CreateTopics")),
    ("create", "carol"): (TOPIC_DENIED, ("CREATE", "TOPIC", "CreateTopics")),
    ("delete", "bob"): (TOPIC_DENIED, ("DELETE", "TOPIC", "DeleteTopics")),
    ("delete", "carol"): (TOPIC_DENIED, ("DELETE", "TOPIC", "DeleteTopics")),
    ("alter-config", "bob"): (TOPIC_DENIED, ("ALTER_CONFIGS", "TOPIC", "IncrementalAlterConfigs")),
    ("alter-config", "carol"): (TOPIC_DENIED, ("ALTER_CONFIGS", "TOPIC", "IncrementalAlterConfigs")),
}


def matrix_acls():
    """Every ACL of the matrix, as (binding, made with kafka-acls)."""
    acls = []

    def add(rtype, name, pattern, user, op, perm, by_tool):
        acls.append((AclBinding(rtype, name, pattern, "User:" + user, "*", op, perm), by_tool))

    # carol: ALLOW ALL on every topic and group, DENY on each row's resource under test.
    add(TOPIC, "*", LITERAL, "carol", AclOperation.ALL, ALLOW, False)
    add(GROUP, "*", LITERAL, "carol", AclOperation.ALL, ALLOW, False)
    wildcard = set()
    for row, needs, (deny_type, deny_op) in ROWS:
        for rtype, op in needs:
            add(rtype, resource(row, "alice"), LITERAL, "alice", op, ALLOW, True)  # kafka-acls
            add(rtype, "pre-%s-" % row, PREFIXED, "dave", op, ALLOW, False)
            wildcard.add((rtype, op))
        add(deny_type, resource(row, "carol"), LITERAL, "carol", deny_op, DENY, False)
    for rtype, op in sorted(wildcard, key=str):
        add(rtype, "*", LITERAL, "erin", op, ALLOW, True)  # kafka-acls
    return acls


# kafka-acls' names for the operations.
TOOL_OPS = {AclOperation.READ: "Read", AclOperation.WRITE: "Write", AclOperation.CREATE: "Create",
            AclOperation.DELETE: "Delete", AclOperation.ALTER_CONFIGS: "AlterConfigs", AclOperation.ALL: "All",
            AclOperation.DESCRIBE: "Describe"}


def tool_invocations(bindings):
    """kafka-acls --add argument lists for `bindings` (each run adds the cross product of its
    operations, topics and groups): one run per principal, pattern type, permission, set of
    operations and set of resource types, over every name that has exactly those."""
    by = {}
    for b in bindings:
        by.setdefault((b.principal, b.resource_pattern_type, b.permission_type, b.name), {}).setdefault(
            b.restype, set()).add(b.operation)
    runs = {}
    for (principal, pattern, perm, name), types in by.items():
        if len({frozenset(o) for o in types.values()}) == 1:  # the same operations on topic and group
            units = [(frozenset(next(iter(types.values()))), frozenset(types))]
        else:
            units = [(frozenset(o), frozenset([t])) for t, o in types.items()]
        for ops, rtypes in units:
            runs.setdefault((principal, pattern, perm, ops, rtypes), []).append(name)
    out = []
    for (principal, pattern, perm, ops, types), names in runs.items():
        args = ["--add", "--%s-principal" % ("allow" if perm == ALLOW else "deny"), principal,
                "--resource-pattern-type", pattern.name.lower()]
        for op in sorted(ops, key=lambda o: o.name):
            args += ["--operation", TOOL_OPS[op]]
        for rtype in sorted(types, key=lambda t: t.name):
            for name in sorted(names):
                args += ["--topic" if rtype == TOPIC else "--group", name]
        out.append(args)
    return out


def command_config(directory, user):
    """A kafka-acls --command-config for `user` with SCRAM-SHA-512 over SASL_PLAINTEXT."""
    path = os.path.join(directory, "%s.properties" % user)
    with open(path, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\n"
                "sasl.mechanism=SCRAM-SHA-512\n"
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                "username=\"%s\" password=\"%s\";\n" % (user, password(user)))
    return path


def acls_tool(classpath, bootstrap, args, config=None):
    """Kafka's kafka-acls (org.apache.kafka.tools.AclCommand) by main class; the finished process."""
    # C1 only and the serial collector: a short-lived JVM starts on less CPU.
    return subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                           "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
                           "org.apache.kafka.tools.AclCommand", "--bootstrap-server", bootstrap]
                          + (["--command-config", config] if config else []) + list(args),
                          capture_output=True, text=True, timeout=120)


def parse_tool_list(out):
    """kafka-acls --list output as a set of key() tuples."""
    acls = set()
    pattern = None
    for line in out.splitlines():
        m = re.match(r"Current ACLs for resource `ResourcePattern\(resourceType=(\w+), name=(.*), "
                     r"patternType=(\w+)\)`:", line)
        if m:
            pattern = m.groups()
            continue
        m = re.match(r"\s+\(principal=(.*), host=(.*), operation=(\w+), permissionType=(\w+)\)", line)
        if m and pattern:
            acls.add(pattern + m.groups())
    return acls


def timed(fn, *args):
    start = time.time()
    outcome, evidence = fn(*args)
    return outcome, "%s (%.1f s)" % (evidence, time.time() - start)


class Cells:
    """The matrix's operations, each returning (outcome, evidence): outcome "allowed" or the error."""

    def __init__(self, test):
        self.t = test
        self.b = test.sasl_address
        self.admin = test.admin

    def produce(self, user, topic):
        p = Producer(sasl(self.b, user, **{"message.timeout.ms": 15000}))
        errors = []
        for v in RECORDS:
            p.produce(topic, v, partition=0, on_delivery=lambda e, m: errors.append(e))
        left = p.flush(30)
        failed = [e for e in errors if e is not None]
        if failed:
            return failed[0].name(), "delivery report: %s" % failed[0].str()
        if left or len(errors) != len(RECORDS):
            return "undelivered", "%d left" % left
        got = read_all(sasl(self.b, ADMIN), topic, len(RECORDS), "admin-check-" + topic)
        if got != RECORDS:
            return "wrong records", repr(got)
        return "allowed", "%d records read back" % len(got)

    def consume(self, user, topic):
        c = Consumer(sasl(self.b, user, **{"group.id": topic, "enable.auto.commit": False,
                                           "auto.offset.reset": "earliest"}))
        c.subscribe([topic])
        got, errors = [], []
        deadline = time.time() + 30
        try:
            while len(got) < len(RECORDS) and time.time() < deadline:
                m = c.poll(0.2)
                if m is None:
                    continue
                if m.error() is not None:
                    errors.append(m.error())
                    if m.error().code() in AUTH_ERRORS:
                        return m.error().name(), m.error().str()
                else:
                    got.append(m.value())
        finally:
            c.close()
        if got != RECORDS:
            return "not consumed", "got %r, errors %s" % (got, errors)
        return "allowed", "%d records consumed" % len(got)

    def join(self, user, topic):
        assigned = []
        c = Consumer(sasl(self.b, user, **{"group.id": topic, "enable.auto.commit": False}))
        c.subscribe([topic], on_assign=lambda consumer, parts: assigned.extend(parts))
        deadline = time.time() + 30
        try:
            while not assigned and time.time() < deadline:
                m = c.poll(0.2)
                if m is not None and m.error() is not None and m.error().code() in AUTH_ERRORS:
                    return m.error().name(), m.error().str()
            if not assigned:
                return "not assigned", ""
            g = self.admin.describe_consumer_groups([topic])[topic].result(15)
            members = [(tp.topic, tp.partition) for m in g.members for tp in m.assignment.topic_partitions]
            if g.state.name != "STABLE" or len(g.members) != 1 or members != [(topic, 0)]:
                return "wrong group", "%s %s" % (g.state, members)
            return "allowed", "member of the stable group, assigned %s-0" % topic
        finally:
            c.close()

    def commit(self, user, topic):
        done = []
        # A consumer that neither joins nor is assigned anything (so it fetches nothing): its commit carries no
        # generation, as a simple consumer's. Closing it with a commit left waiting for a coordinator it may
        # not find waits out session.timeout.ms.
        c = Consumer(sasl(self.b, user, **{"group.id": topic, "enable.auto.commit": False,
                                           "session.timeout.ms": 3000,
                                           "on_commit": lambda err, parts: done.append((err, parts))}))
        c.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=True)
        deadline = time.time() + 30
        try:
            while not done and time.time() < deadline:
                m = c.poll(0.2)
                if m is not None and m.error() is not None and m.error().code() in AUTH_ERRORS:
                    return m.error().name(), "consumer error: " + m.error().str()
        finally:
            c.close()
        if not done:
            return "no commit", ""
        err, parts = done[0]
        errors = [err] + [p.error for p in parts or []]
        errors = [e for e in errors if e is not None]
        if errors:
            return errors[0].name(), "commit callback: " + errors[0].str()
        committed = self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(topic)])[topic].result(15)
        offsets = [(tp.topic, tp.partition, tp.offset) for tp in committed.topic_partitions]
        if offsets != [(topic, 0, 3)]:
            return "not committed", repr(offsets)
        return "allowed", "offset 3 committed"

    def create(self, user, topic):
        try:
            self.t.client(user).create_topics([NewTopic(topic, 1, 1)])[topic].result(15)
        except KafkaException as e:
            return error_name(e), e.args[0].str()
        if topic not in self.admin.list_topics(timeout=15).topics:
            return "not created", ""
        return "allowed", "topic created"

    def delete(self, user, topic):
        try:
            self.t.client(user).delete_topics([topic])[topic].result(15)
        except KafkaException as e:
            return error_name(e), e.args[0].str()
        if topic in self.admin.list_topics(timeout=15).topics:
            return "not deleted", ""
        return "allowed", "topic deleted"

    def alter_config(self, user, topic):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
            ConfigEntry("retention.ms", RETENTION, incremental_operation=AlterConfigOpType.SET)])
        try:
            list(self.t.client(user).incremental_alter_configs([res]).values())[0].result(15)
        except KafkaException as e:
            return error_name(e), e.args[0].str()
        check = ConfigResource(ConfigResource.Type.TOPIC, topic)
        value = self.admin.describe_configs([check])[check].result(15)["retention.ms"].value
        if value != RETENTION:
            return "not altered", value
        return "allowed", "retention.ms=%s" % value


class AuthorizerTest(unittest.TestCase):
    """One broker with the authorizer on PLAINTEXT and SASL_PLAINTEXT listeners."""

    @classmethod
    def setUpClass(cls):
        assert VERSION.startswith("2."), "confluent-kafka %s: run tests/run_all.sh (tests/e2e/pydeps)" % VERSION
        cls.classpath = java_classpath()
        cls.started = time.time()
        cls.broker = Broker(
            listeners=[("PLAINTEXT", "PLAINTEXT"), ("SASL_PLAINTEXT", "SASL_PLAINTEXT")],
            kafka_properties={"authorizer.class.name": AUTHORIZER, "super.users": "User:admin",
                              "group.initial.rebalance.delay.ms": 0},
            env={"CHRONIK_BOOTSTRAP_USER": "%s:%s" % (ADMIN, ADMIN_SECRET)}).start()
        cls.addClassCleanup(cls.broker.__exit__, None, None, None)  # kills it if setUpClass fails
        cls.sasl_address = cls.broker.address("SASL_PLAINTEXT")
        cls.audit_path = os.path.join(cls.broker.data_dir, "audit", "audit.log")
        cls.clients = {}
        cls.clients_lock = threading.Lock()
        cls.admin = cls.client(ADMIN)

        # 1. The users, by the admin over SASL_PLAINTEXT (SCRAM-SHA-512).
        create_users(cls.admin, USERS)
        described = cls.admin.describe_user_scram_credentials(list(USERS))
        for user, f in described.items():
            infos = f.result(15).scram_credential_infos
            assert [(i.mechanism, i.iterations) for i in infos] == [(ScramMechanism.SCRAM_SHA_512, 4096)], infos

        # The topics every cell but "create" works on; records in the ones consumed.
        topics = [resource(row, user) for row, _, _ in ROWS if row != "create" for _, user, _ in CASES]
        create_topics(cls.admin, topics)
        p = Producer(sasl(cls.sasl_address, ADMIN))
        for row in ("consume",):
            for _, user, _ in CASES:
                for v in RECORDS:
                    p.produce(resource(row, user), v, partition=0)
        assert p.flush(30) == 0

        # The matrix's ACLs: alice's and erin's with kafka-acls, the rest with create_acls.
        cls.expected_acls = matrix_acls()
        by_tool = [b for b, tool in cls.expected_acls if tool]
        with ThreadPoolExecutor(8) as pool:
            outs = list(pool.map(lambda args: cls.acls_tool(*args), tool_invocations(by_tool)))
        assert all("Adding ACLs for resource" in o for o in outs), outs
        futures = cls.admin.create_acls([b for b, tool in cls.expected_acls if not tool])
        for f in futures.values():
            assert f.result(15) is None
        cls.matrix_results = None
        cls.setup_seconds = time.time() - cls.started

    @classmethod
    def tearDownClass(cls):
        cls.clients.clear()
        del cls.admin
        code = cls.broker.stop()
        assert code == 0, "broker exited %s on SIGTERM:\n%s" % (code, cls.broker.read_log()[-5000:])

    @classmethod
    def client(cls, user):
        with cls.clients_lock:
            if user not in cls.clients:
                cls.clients[user] = AdminClient(sasl(cls.sasl_address, user))
            return cls.clients[user]

    @classmethod
    def acls_tool(cls, *args, user=ADMIN, check=True):
        """kafka-acls as `user` (SCRAM-SHA-512 over SASL_PLAINTEXT); stdout, or the process unless `check`."""
        p = acls_tool(cls.classpath, cls.sasl_address, args, command_config(cls.broker.tmp, user))
        if not check:
            return p
        assert p.returncode == 0 and "Exception" not in p.stdout + p.stderr, "kafka-acls %s:\n%s\n%s" % (
            args, p.stdout, p.stderr[-3000:])
        return p.stdout

    def all_acls(self, user=ADMIN):
        f = self.client(user).describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None,
                                                             None, AclOperation.ANY, AclPermissionType.ANY))
        return {key(b) for b in f.result(15)}

    @classmethod
    def matrix(cls):
        """Runs every cell once (for the matrix, metadata and audit tests), in parallel."""
        if cls.matrix_results is None:
            cells = Cells(cls)
            started = time.time()
            jobs = {}
            with ThreadPoolExecutor(12) as pool:
                for row, _, _ in ROWS:
                    for _, user, _ in CASES:
                        fn = getattr(cells, row.replace("-", "_"))
                        jobs[(row, user)] = pool.submit(timed, fn, user, resource(row, user))
            cls.matrix_results = {k: f.result() for k, f in jobs.items()}
            cls.matrix_seconds = time.time() - started
        return cls.matrix_results

    def test_1_acl_admin(self):
        """Users, and ACLs made, listed and removed with kafka-acls and the AdminClient."""
        expected = {key(b) for b, _ in self.expected_acls}
        self.assertEqual(self.all_acls(), expected)
        listed = parse_tool_list(self.acls_tool("--list"))
        self.assertEqual(listed, expected)
        prefixed = {k for k in listed if k[2] == "PREFIXED"}
        self.assertEqual({(k[0], k[1], k[3]) for k in prefixed},
                         {(t.name, "pre-%s-" % row, "User:dave") for row, needs, _ in ROWS for t, _ in needs})

        # Scratch ACLs (principal User:scratch) with both tools, then removed.
        self.acls_tool("--add", "--allow-principal", "User:scratch", "--allow-host", "127.0.0.1", "--operation",
                       "Describe", "--topic", "scratch-lit", "--group", "scratch-group")
        self.acls_tool("--add", "--deny-principal", "User:scratch", "--operation", "Write", "--resource-pattern-type",
                       "prefixed", "--topic", "scratch-")
        made = [AclBinding(TOPIC, "scratch-other", LITERAL, "User:scratch", "*", AclOperation.READ, ALLOW),
                AclBinding(ResourceType.BROKER, "kafka-cluster", LITERAL, "User:scratch", "*",
                           AclOperation.DESCRIBE, ALLOW),
                AclBinding(ResourceType.TRANSACTIONAL_ID, "scratch-txn", LITERAL, "User:scratch", "*",
                           AclOperation.WRITE, ALLOW)]
        for f in self.admin.create_acls(made).values():
            self.assertIsNone(f.result(15))
        scratch = {
            ("TOPIC", "scratch-lit", "LITERAL", "User:scratch", "127.0.0.1", "DESCRIBE", "ALLOW"),
            ("GROUP", "scratch-group", "LITERAL", "User:scratch", "127.0.0.1", "DESCRIBE", "ALLOW"),
            ("TOPIC", "scratch-", "PREFIXED", "User:scratch", "*", "WRITE", "DENY"),
            ("TOPIC", "scratch-other", "LITERAL", "User:scratch", "*", "READ", "ALLOW"),
            ("BROKER", "kafka-cluster", "LITERAL", "User:scratch", "*", "DESCRIBE", "ALLOW"),
            ("TRANSACTIONAL_ID", "scratch-txn", "LITERAL", "User:scratch", "*", "WRITE", "ALLOW"),
        }
        self.assertEqual(self.all_acls(), expected | scratch)
        listed = parse_tool_list(self.acls_tool("--list", "--principal", "User:scratch"))
        # kafka-acls says CLUSTER where the AdminClient says BROKER.
        self.assertEqual(listed, {(k[0].replace("BROKER", "CLUSTER"),) + k[1:] for k in scratch})
        # A filter: what applies to topic scratch-lit (MATCH: literal, "*" and prefixed patterns) for scratch.
        f = AclBindingFilter(TOPIC, "scratch-lit", ResourcePatternType.MATCH, "User:scratch", None, AclOperation.ANY,
                             AclPermissionType.ANY)
        self.assertEqual({key(b) for b in self.admin.describe_acls(f).result(15)},
                         {k for k in scratch if k[0] == "TOPIC" and k[1] in ("scratch-lit", "scratch-")})

        # Not a super user: neither creating nor describing ACLs (CLUSTER_AUTHORIZATION_FAILED).
        with self.assertRaises(KafkaException) as cm:
            list(self.client("alice").create_acls([AclBinding(TOPIC, "alice-own", LITERAL, "User:alice", "*",
                                                              AclOperation.ALL, ALLOW)]).values())[0].result(15)
        self.assertEqual(error_name(cm.exception), "CLUSTER_AUTHORIZATION_FAILED")
        # librdkafka drops DescribeAcls' top-level error (rd_kafka_DescribeAclsResponse_parse reads the
        # error code but never sets it on the result): alice gets no ACLs; kafka-acls shows the error.
        self.assertEqual(self.all_acls("alice"), set())
        p = self.acls_tool("--list", user="alice", check=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("ClusterAuthorizationException", p.stdout + p.stderr)

        # delete_acls: one exact binding, then everything of User:scratch; each filter returns what it removed.
        exact = AclBindingFilter(TOPIC, "scratch-other", LITERAL, "User:scratch", "*", AclOperation.READ, ALLOW)
        rest = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:scratch", None,
                                AclOperation.ANY, AclPermissionType.ANY)
        futures = self.admin.delete_acls([exact, rest])
        removed = [{key(b) for b in futures[f].result(15)} for f in (exact, rest)]
        self.assertEqual(removed[0], {("TOPIC", "scratch-other", "LITERAL", "User:scratch", "*", "READ", "ALLOW")})
        self.assertEqual(removed[0] | removed[1], scratch)
        self.assertEqual(self.all_acls(), expected)
        self.assertEqual(parse_tool_list(self.acls_tool("--list", "--principal", "User:scratch")), set())

        # kafka-acls --remove too.
        for f in self.admin.create_acls(made[:1]).values():
            f.result(15)
        self.assertIn(key(made[0]), self.all_acls())
        self.acls_tool("--remove", "--force", "--allow-principal", "User:scratch", "--operation", "Read", "--topic",
                       "scratch-other")
        self.assertEqual(self.all_acls(), expected)
        self.assertEqual(parse_tool_list(self.acls_tool("--list")), expected)
        print("acl admin: %d matrix ACLs (%d by kafka-acls, %d by create_acls) seen alike by describe_acls and "
              "kafka-acls --list; scratch ACLs added by both, removed by delete_acls and kafka-acls --remove; "
              "alice may not create or describe ACLs; setup %.1f s" % (
                  len(expected), sum(1 for _, t in self.expected_acls if t),
                  sum(1 for _, t in self.expected_acls if not t), self.setup_seconds))

    def test_2_matrix(self):
        results = self.matrix()
        width = max(len(t) for t in ROW_TITLES.values())
        col = 28
        lines = ["", "ACL matrix (%.1f s, cells in parallel): expected -> seen" % self.matrix_seconds,
                 " " * width + " | " + " | ".join("%-*s" % (col, "%s (%s)" % (c, u)) for c, u, _ in CASES)]
        lines.append("-" * len(lines[-1]))
        failures = []
        for row, _, _ in ROWS:
            cells = []
            for _, user, allowed in CASES:
                outcome, evidence = results[(row, user)]
                want = "allowed" if allowed else DENIED[(row, user)][0]
                mark = "ok" if outcome == want else "FAIL"
                if outcome != want:
                    failures.append("%s / %s: want %s, got %s (%s)" % (row, user, want, outcome, evidence))
                cells.append("%-*s" % (col, "%s %s" % (outcome if outcome == "allowed" else
                                                       outcome.replace("_AUTHORIZATION_FAILED", "_AUTHZ"), mark)))
            lines.append("%-*s | " % (width, ROW_TITLES[row]) + " | ".join(cells))
        lines.append("")
        for (row, user), (outcome, evidence) in sorted(results.items()):
            lines.append("  %s / %s (%s): %s: %s" % (row, user, resource(row, user), outcome, evidence))
        print("\n".join(lines))
        self.assertEqual(failures, [])

    def test_3_metadata(self):
        print(self.check_metadata())

    def check_metadata(self):
        self.matrix()  # so that the topics created and deleted by the matrix are there, or gone

        def topics(conf):
            a = AdminClient(conf)
            return set(a.list_topics(timeout=15).topics)

        everything = topics(sasl(self.sasl_address, ADMIN))
        deleted = {resource("delete", user) for _, user, allowed in CASES if allowed}
        refused = {resource("create", user) for _, user, allowed in CASES if not allowed}
        names = {resource(row, user) for row, _, _ in ROWS for _, user, _ in CASES}
        self.assertEqual(everything & names, names - deleted - refused)
        alice = topics(sasl(self.sasl_address, "alice"))
        # READ, WRITE (and DELETE) imply DESCRIBE; CREATE (lit-create) and ALTER_CONFIGS (lit-alter-config) do not.
        self.assertEqual(alice, {"lit-produce", "lit-consume", "lit-join", "lit-commit"})
        dave = topics(sasl(self.sasl_address, "dave"))
        self.assertEqual(dave, {"pre-produce-x", "pre-consume-x", "pre-join-x", "pre-commit-x"})
        # ALLOW ALL on "*" with DENYs of other operations: carol describes everything.
        self.assertEqual(topics(sasl(self.sasl_address, "carol")), everything)
        self.assertEqual(topics(sasl(self.sasl_address, "bob")), set())
        anonymous = topics({"bootstrap.servers": self.broker.address("PLAINTEXT")})
        self.assertEqual(anonymous, set())
        # A named topic alice may not describe.
        md = self.client("alice").list_topics(topic="none-produce", timeout=15)
        self.assertEqual(md.topics["none-produce"].error.name(), TOPIC_DENIED)
        md = self.client("alice").list_topics(topic="lit-produce", timeout=15)
        self.assertIsNone(md.topics["lit-produce"].error)
        return ("metadata (all topics): admin and carol see all %d, alice %s, dave %s, bob and the anonymous "
                "client none; a named topic alice may not describe: %s" % (len(everything), sorted(alice),
                                                                          sorted(dave), TOPIC_DENIED))

    def read_audit(self):
        with open(self.audit_path) as f:
            text = f.read()
        return text, [json.loads(line) for line in text.splitlines() if line.strip()]

    def test_4_audit_log(self):
        self.matrix()
        self.check_metadata()  # its all-topics requests must leave no denial behind
        # Admin changes of its own: a CreateAcls and DeleteAcls by the admin, a refused CreateAcls by alice.
        audited = AclBinding(TOPIC, "audited", LITERAL, "User:scratch", "*", AclOperation.READ, ALLOW)
        for f in self.admin.create_acls([audited]).values():
            f.result(15)
        for f in self.admin.delete_acls([AclBindingFilter(TOPIC, "audited", LITERAL, None, None, AclOperation.ANY,
                                                          AclPermissionType.ANY)]).values():
            self.assertEqual(len(f.result(15)), 1)
        with self.assertRaises(KafkaException):
            list(self.client("alice").create_acls([audited]).values())[0].result(15)

        denials = {(("User:" + user), op, rtype, resource(row, user), api): (row, user)
                   for (row, user), (_, (op, rtype, api)) in DENIED.items()}
        denials[("User:alice", "ALTER", "CLUSTER", "kafka-cluster", "CreateAcls")] = ("create ACLs", "alice")
        admin = {
            ("CreateAcls", "User:admin", "TOPIC", "audited", "success", None),
            ("CreateAcls", "User:alice", "TOPIC", "audited", "failure", "CLUSTER_AUTHORIZATION_FAILED"),
            ("DeleteAcls", "User:admin", "TOPIC", "audited", "success", None),
            ("CreateAcls", "User:admin", "TOPIC", "*", "success", None),  # carol's ALLOW ALL
            ("CreateTopics", "User:admin", "TOPIC", "lit-produce", "success", None),
            ("CreateTopics", "User:alice", "TOPIC", "lit-create", "success", None),
            ("CreateTopics", "User:bob", "TOPIC", "none-create", "failure", TOPIC_DENIED),
            ("CreateTopics", "User:carol", "TOPIC", "deny-create", "failure", TOPIC_DENIED),
            ("DeleteTopics", "User:erin", "TOPIC", "any-delete", "success", None),
            ("DeleteTopics", "User:carol", "TOPIC", "deny-delete", "failure", TOPIC_DENIED),
            ("IncrementalAlterConfigs", "User:dave", "TOPIC", "pre-alter-config-x", "success", None),
            ("IncrementalAlterConfigs", "User:bob", "TOPIC", "none-alter-config", "failure", TOPIC_DENIED),
        }
        deadline = time.time() + 15
        while True:  # the log is written and fsync'd in batches
            text, events = self.read_audit()
            seen_denials = {(e["principal"], e["operation"], e["resource_type"], e["resource"], e["api"])
                            for e in events if e.get("event") == "authorization" and e.get("outcome") == "denied"}
            seen_admin = {(e["action"], e["principal"], e["resource_type"], e["resource"], e["outcome"],
                           e.get("error")) for e in events if e.get("event") == "admin"}
            missing = [d for d in denials if d not in seen_denials] + [a for a in admin if a not in seen_admin]
            if not missing or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(missing, [], "missing from %s" % self.audit_path)
        for e in events:
            if e.get("event") == "authorization":
                self.assertEqual((e["listener"], e["client"].rsplit(":", 1)[0]), ("SASL_PLAINTEXT", "127.0.0.1"), e)
                self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        detail = [e for e in events if e.get("event") == "admin" and e["action"] == "CreateAcls"
                  and e["resource"] == "audited" and e["outcome"] == "success"]
        self.assertIn("User:scratch", detail[0].get("detail", ""))
        for user in USERS + (ADMIN,):
            self.assertNotIn(password(user), text)
        # No denial for what was allowed: no denied principal/resource pair belongs to an allowed cell, and
        # the probes Kafka makes with logIfDenied=false leave none: CREATE on the cluster before the topic's
        # (CreateTopics), and DESCRIBE of the topics an all-topics Metadata request leaves out (test_3 made
        # them as alice, bob, carol, dave and the anonymous client); only topics named in a request are.
        allowed = {("User:" + user, resource(row, user)) for row, _, _ in ROWS for _, user, ok in CASES if ok}
        self.assertEqual({d for d in seen_denials if (d[0], d[3]) in allowed}, set())
        self.assertEqual({d for d in seen_denials if d[2] == "CLUSTER" and d[4] == "CreateTopics"}, set())
        named = {("User:bob", resource(row, "bob")) for row in ("produce", "consume", "join", "commit")}
        named.add(("User:alice", "none-produce"))  # test_3's named request
        self.assertEqual({(d[0], d[3]) for d in seen_denials if d[4] == "Metadata"} - named, set())
        print("audit log: %d events; a denial for each of the %d denied cells, e.g. %s; admin entries: %s" % (
            len(events), len(denials), json.dumps(next(e for e in events if e.get("api") == "Produce")),
            ", ".join(sorted("%s %s %s" % (a[0], a[3], a[4]) for a in admin))))


class AllowEveryoneTest(unittest.TestCase):
    """allow.everyone.if.no.acl.found=true: a resource without ACLs is open to everyone, until it has one."""

    def test_allow_everyone_if_no_acl_found(self):
        broker = Broker(listeners=[("SASL_PLAINTEXT", "SASL_PLAINTEXT")],
                        kafka_properties={"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                                          "super.users": "User:admin", "allow.everyone.if.no.acl.found": "true",
                                          "group.initial.rebalance.delay.ms": 0},
                        env={"CHRONIK_BOOTSTRAP_USER": "%s:%s" % (ADMIN, ADMIN_SECRET)})
        with broker:
            b = broker.address("SASL_PLAINTEXT")
            admin = AdminClient(sasl(b, ADMIN))
            create_users(admin, ["alice", "bob"])
            create_topics(admin, ["open"])

            def produce(user, value):
                p = Producer(sasl(b, user, **{"message.timeout.ms": 15000}))
                errors = []
                p.produce("open", value, partition=0, on_delivery=lambda e, m: errors.append(e))
                p.flush(30)
                return errors[0].name() if errors[0] is not None else "allowed"

            # No ACL anywhere: alice produces, and reads back in a group of her own (no ACL on it either).
            self.assertEqual(produce("alice", b"from-alice"), "allowed")
            self.assertEqual(read_all(sasl(b, "alice"), "open", 1, "alice-group"), [b"from-alice"])
            alice_admin = AdminClient(sasl(b, "alice"))
            self.assertIn("open", alice_admin.list_topics(timeout=15).topics)
            for f in admin.create_acls([AclBinding(TOPIC, "open", LITERAL, "User:bob", "*", AclOperation.ALL,
                                                   ALLOW)]).values():
                f.result(15)
            # Now "open" has an ACL, for bob only.
            self.assertEqual(produce("alice", b"alice-again"), TOPIC_DENIED)
            self.assertEqual(produce("bob", b"from-bob"), "allowed")
            self.assertNotIn("open", AdminClient(sasl(b, "alice")).list_topics(timeout=15).topics)
            self.assertEqual(read_all(sasl(b, "bob"), "open", 2, "bob-group"), [b"from-alice", b"from-bob"])
            self.assertEqual(broker.stop(), 0)
        print("allow.everyone.if.no.acl.found=true: alice produced to and read \"open\" without any ACL; after an "
              "ACL for bob alone, alice is refused (%s) and bob is not" % TOPIC_DENIED)


class NoAuthorizerTest(unittest.TestCase):
    """Without authorizer.class.name: the ACL APIs answer SECURITY_DISABLED, and everything is allowed."""

    def test_no_authorizer(self):
        with Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0}) as broker:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            binding = AclBinding(TOPIC, "t", LITERAL, "User:alice", "*", AclOperation.READ, ALLOW)
            any_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                          AclOperation.ANY, AclPermissionType.ANY)
            errors = {}
            for name, call in (("create_acls", lambda: list(admin.create_acls([binding]).values())[0].result(15)),
                               ("delete_acls", lambda: list(admin.delete_acls([any_filter]).values())[0].result(15))):
                with self.assertRaises(KafkaException, msg=name) as cm:
                    call()
                errors[name] = error_name(cm.exception)
            self.assertEqual(errors, {"create_acls": "SECURITY_DISABLED", "delete_acls": "SECURITY_DISABLED"})
            # librdkafka drops DescribeAcls' error (see test_1_acl_admin): no ACLs; kafka-acls sees the error.
            self.assertEqual(admin.describe_acls(any_filter).result(15), [])
            classpath = java_classpath()
            for args in (["--list"], ["--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic",
                                      "t"]):
                p = acls_tool(classpath, broker.bootstrap, args)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn("SecurityDisabledException: No Authorizer is configured.", p.stdout + p.stderr)
            # Everything allowed to an anonymous client.
            create_topics(admin, ["free"])
            p = Producer({"bootstrap.servers": broker.bootstrap})
            for v in RECORDS:
                p.produce("free", v, partition=0)
            self.assertEqual(p.flush(30), 0)
            c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "free", "auto.offset.reset": "earliest",
                          "enable.auto.commit": False})
            c.subscribe(["free"])
            got = []
            deadline = time.time() + 30
            while len(got) < len(RECORDS) and time.time() < deadline:
                m = c.poll(0.2)
                if m is not None:
                    self.assertIsNone(m.error())
                    got.append(m.value())
            self.assertEqual(got, RECORDS)
            c.commit(asynchronous=False)
            c.close()
            committed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("free")])["free"].result(15)
            self.assertEqual([tp.offset for tp in committed.topic_partitions], [len(RECORDS)])
            res = ConfigResource(ConfigResource.Type.TOPIC, "free", incremental_configs=[
                ConfigEntry("retention.ms", RETENTION, incremental_operation=AlterConfigOpType.SET)])
            list(admin.incremental_alter_configs([res]).values())[0].result(15)
            check = ConfigResource(ConfigResource.Type.TOPIC, "free")
            self.assertEqual(admin.describe_configs([check])[check].result(15)["retention.ms"].value, RETENTION)
            admin.delete_topics(["free"])["free"].result(15)
            self.assertNotIn("free", admin.list_topics(timeout=15).topics)
            self.assertEqual(broker.stop(), 0)
        print("no authorizer: create_acls, delete_acls, kafka-acls --list and --add -> %s; an anonymous client "
              "created, produced, consumed, committed, altered and deleted" % errors["create_acls"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
