#!/usr/bin/python3
"""Captures Kafka request frames written by real, independent client libraries.

Chronik's codec is tested against bytes that Chronik did not produce. This script starts a
tiny fake Kafka endpoint on loopback, points a real client at it (kcat, confluent-kafka-python,
librdkafka's C admin API through ctypes, kafka-python), and records every request frame the
client sends. The fake answers only what a client needs before it sends the interesting
request: ApiVersions, Metadata, FindCoordinator and SaslHandshake. Every other request is
recorded and left unanswered; the client times out, which is fine because only its bytes
matter.

Standard library only. Run from the repository root with the system interpreter (the Debian
client libraries live in its dist-packages):

    /usr/bin/python3 tests/golden/capture.py                 # all scenarios, rewrite testdata
    /usr/bin/python3 tests/golden/capture.py --list          # show scenarios
    /usr/bin/python3 tests/golden/capture.py --only 'kcat/*' --out /tmp/g  # a subset
    /usr/bin/python3 tests/golden/capture.py serve --port 9092   # just the fake, logs frames

Output: chronik_protocol/testdata/golden/<client>/<seq>_<api>_v<version>.bin holding the exact
frame after the 4-byte size prefix, plus <client>/MANIFEST.tsv describing each file.
"""

import argparse
import concurrent.futures
import fnmatch
import hashlib
import os
import re
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / "chronik_protocol" / "schema"
DEFAULT_OUT = REPO_ROOT / "chronik_protocol" / "testdata" / "golden"

NODE_ID = 1
CLUSTER_ID = "chronik-golden-cluster"
TOPIC = "golden"
GROUP = "golden-group"

# Advertised (min, max) per API key. The maxima are chosen so every client negotiates a
# version it implements and Chronik supports; a scenario or --max-version can lower one when a
# client misbehaves with it.
DEFAULT_API_VERSIONS = {
    0: (0, 9),    # Produce (librdkafka 2.0.2 and kafka-python stop at v7 on their own)
    1: (0, 13),   # Fetch
    2: (0, 7),    # ListOffsets
    3: (0, 12),   # Metadata
    8: (0, 8),    # OffsetCommit
    9: (0, 8),    # OffsetFetch
    10: (0, 4),   # FindCoordinator
    11: (0, 9),   # JoinGroup
    12: (0, 4),   # Heartbeat
    13: (0, 5),   # LeaveGroup
    14: (0, 5),   # SyncGroup
    15: (0, 5),   # DescribeGroups
    16: (0, 4),   # ListGroups
    17: (0, 1),   # SaslHandshake
    18: (0, 3),   # ApiVersions
    19: (0, 7),   # CreateTopics
    20: (0, 6),   # DeleteTopics
    21: (0, 2),   # DeleteRecords
    22: (0, 4),   # InitProducerId
    23: (0, 4),   # OffsetForLeaderEpoch
    32: (0, 4),   # DescribeConfigs
    33: (0, 2),   # AlterConfigs
    36: (0, 2),   # SaslAuthenticate
    37: (0, 3),   # CreatePartitions
    42: (0, 2),   # DeleteGroups
    44: (0, 1),   # IncrementalAlterConfigs
    47: (0, 0),   # OffsetDelete
    60: (0, 0),   # DescribeCluster
}

# ACL APIs are advertised only in the scenarios that exercise them: kafka-python infers its
# "broker version" from the advertised set, and we keep that inference stable elsewhere.
ACL_API_VERSIONS = {29: (0, 3), 30: (0, 3), 31: (0, 3)}

API_VERSIONS_KEY = 18
METADATA_KEY = 3
FIND_COORDINATOR_KEY = 10
PRODUCE_KEY = 0
SASL_HANDSHAKE_KEY = 17
SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

UNSUPPORTED_SASL_MECHANISM = 33
UNSUPPORTED_VERSION = 35
MAX_FRAME = 16 << 20


# --------------------------------------------------------------------------------------------
# API table, read from Chronik's own schema files (names for file naming, flexible versions for
# header parsing), so the script does not keep a second copy of those facts.


def load_api_table(schema_dir=SCHEMA_DIR):
    """Returns {api_key: (snake_name, first_flexible_version or None, newest_version)}."""
    table = {}
    for path in sorted(Path(schema_dir).glob("*.schema")):
        key = flexible = newest = None
        for line in path.read_text().splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "key":
                key = int(words[1])
            elif len(words) == 2 and words[0] == "flexible":
                flexible = None if words[1] == "none" else int(words[1].rstrip("+"))
            elif len(words) == 2 and words[0] == "versions":
                newest = int(words[1].split("-")[-1])
        if key is not None:
            table[key] = (path.stem, flexible, newest)
    return table


API_TABLE = load_api_table()


def api_name(key):
    return API_TABLE.get(key, ("key%d" % key, None, None))[0]


def decodable(key, version):
    """Whether Chronik's codec knows this API and version (a client's first ApiVersions may not be)."""
    return key in API_TABLE and version <= API_TABLE[key][2]


def is_flexible(key, version):
    flexible = API_TABLE.get(key, (None, None, None))[1]
    return flexible is not None and version >= flexible


# --------------------------------------------------------------------------------------------
# Wire encoding.


class Writer:
    def __init__(self, flexible=False):
        self.flexible = flexible
        self.buf = bytearray()

    def int8(self, v):
        self.buf += struct.pack(">b", v)

    def int16(self, v):
        self.buf += struct.pack(">h", v)

    def int32(self, v):
        self.buf += struct.pack(">i", v)

    def int64(self, v):
        self.buf += struct.pack(">q", v)

    def boolean(self, v):
        self.buf += b"\x01" if v else b"\x00"

    def uvarint(self, v):
        while v >= 0x80:
            self.buf.append((v & 0x7F) | 0x80)
            v >>= 7
        self.buf.append(v)

    def raw(self, b):
        self.buf += b

    def string(self, s):
        """Compact in flexible versions; None encodes as null."""
        if s is None:
            self.uvarint(0) if self.flexible else self.int16(-1)
            return
        data = s.encode()
        if self.flexible:
            self.uvarint(len(data) + 1)
        else:
            self.int16(len(data))
        self.buf += data

    def array(self, items, encode_item):
        if items is None:
            self.uvarint(0) if self.flexible else self.int32(-1)
            return
        if self.flexible:
            self.uvarint(len(items) + 1)
        else:
            self.int32(len(items))
        for item in items:
            encode_item(item)

    def tagged_fields(self):
        """An empty tagged-field section; only flexible versions have one."""
        if self.flexible:
            self.uvarint(0)


class Reader:
    def __init__(self, data, pos=0, flexible=False):
        self.data = data
        self.pos = pos
        self.flexible = flexible

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated frame")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int8(self):
        return struct.unpack(">b", self._take(1))[0]

    def int16(self):
        return struct.unpack(">h", self._take(2))[0]

    def int32(self):
        return struct.unpack(">i", self._take(4))[0]

    def uvarint(self):
        value = shift = 0
        while True:
            b = self._take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")

    def classic_string(self):
        n = self.int16()
        return None if n < 0 else self._take(n).decode("utf-8", "replace")

    def string(self):
        if not self.flexible:
            return self.classic_string()
        n = self.uvarint()
        return None if n == 0 else self._take(n - 1).decode("utf-8", "replace")

    def array(self, read_item):
        n = (self.uvarint() - 1) if self.flexible else self.int32()
        if n < 0:
            return None
        return [read_item() for _ in range(n)]

    def uuid(self):
        return self._take(16)

    def skip_tagged_fields(self):
        if not self.flexible:
            return
        for _ in range(self.uvarint()):
            self.uvarint()                 # tag
            self._take(self.uvarint())     # size, then the value


def parse_request_header(frame):
    """Returns (api_key, api_version, correlation_id, client_id, body_offset).

    Header v1: key, version, correlation id, classic nullable client_id. Header v2 (flexible
    versions) adds a tagged-field section; client_id stays a classic string there too.
    """
    r = Reader(frame)
    key, version, correlation_id = r.int16(), r.int16(), r.int32()
    client_id = r.classic_string()
    if is_flexible(key, version):
        r.flexible = True
        r.skip_tagged_fields()
    return key, version, correlation_id, client_id, r.pos


# --------------------------------------------------------------------------------------------
# The fake endpoint.


class FakeKafka:
    """A loopback listener that records request frames and answers the bootstrap APIs."""

    def __init__(self, api_versions=None, topics=(TOPIC,), partitions=3, host="127.0.0.1",
                 port=0, log=None):
        self.api_versions = dict(DEFAULT_API_VERSIONS if api_versions is None else api_versions)
        self.topics = list(topics)
        self.partitions = partitions
        self.log = log
        self.frames = []          # dicts: conn, time, data
        self._lock = threading.Lock()
        self._conns = set()
        self._next_conn = 0
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                fake._serve_connection(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, port), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def bootstrap(self):
        return "%s:%d" % (self.host, self.port)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def recorded(self):
        with self._lock:
            return list(self.frames)

    # -- connection loop ---------------------------------------------------------------------

    def _serve_connection(self, sock):
        with self._lock:
            conn_id = self._next_conn
            self._next_conn += 1
            self._conns.add(sock)
        # Kafka answers in request order. Once we leave a request unanswered, answering a later
        # one on the same connection would break that order (kafka-python treats it as a fatal
        # correlation mismatch), so the connection only records from then on.
        silent = False
        # After SaslHandshake v0 the client sends bare SASL tokens (size-prefixed, but no
        # request header) until authentication ends; such a frame is recorded as "raw".
        raw_next = False
        try:
            while True:
                size_bytes = _recv_exact(sock, 4)
                if size_bytes is None:
                    return
                size = struct.unpack(">i", size_bytes)[0]
                if size < 0 or size > MAX_FRAME:
                    return
                frame = _recv_exact(sock, size)
                if frame is None:
                    return
                with self._lock:
                    self.frames.append({"conn": conn_id, "time": time.monotonic(),
                                        "data": frame, "raw_sasl": raw_next})
                if raw_next:
                    # Leave the token unanswered: the client's bytes are all we want.
                    response, expects_response, raw_next = None, True, False
                else:
                    response, expects_response = self._respond(frame)
                    raw_next = (response is not None and not silent
                                and frame[:4] == struct.pack(">hh", SASL_HANDSHAKE_KEY, 0))
                if self.log:
                    self.log(conn_id, frame, response is not None and not silent)
                if response is not None and not silent:
                    sock.sendall(struct.pack(">i", len(response)) + response)
                elif expects_response:
                    silent = True
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._conns.discard(sock)
            sock.close()

    def _respond(self, frame):
        """Returns (response frame or None, whether the client expects a response)."""
        try:
            key, version, correlation_id, _, pos = parse_request_header(frame)
        except ValueError:
            return None, True
        try:
            if key == API_VERSIONS_KEY:
                return self._api_versions(version, correlation_id), True
            lo_hi = self.api_versions.get(key)
            if lo_hi is None or not lo_hi[0] <= version <= lo_hi[1]:
                return None, True
            if key == METADATA_KEY and version <= 12:
                return self._metadata(frame, pos, version, correlation_id), True
            if key == FIND_COORDINATOR_KEY and version <= 4:
                return self._find_coordinator(frame, pos, version, correlation_id), True
            if key == SASL_HANDSHAKE_KEY and version <= 1:
                return self._sasl_handshake(frame, pos, correlation_id), True
            if key == PRODUCE_KEY:
                return None, _produce_acks(frame, pos, version) != 0
        except ValueError:
            pass
        return None, True

    # -- responses ---------------------------------------------------------------------------

    def _header(self, correlation_id, flexible_header):
        w = Writer(flexible=flexible_header)
        w.int32(correlation_id)
        w.tagged_fields()
        return w

    def _api_versions(self, version, correlation_id):
        # ApiVersions responses always use header v0, even when the body is flexible, so that a
        # client can parse the reply to a version it guessed before knowing what we support.
        own = self.api_versions.get(API_VERSIONS_KEY, (0, 3))
        if version > min(own[1], 3):
            # Kafka's answer to a too-new ApiVersions request: a v0 body with
            # UNSUPPORTED_VERSION listing ApiVersions' own range, so the client can downgrade.
            w = self._header(correlation_id, False)
            w.int16(UNSUPPORTED_VERSION)
            w.array([(API_VERSIONS_KEY, own[0], min(own[1], 3))], lambda a: _api_entry(w, a))
            return bytes(w.buf)
        w = self._header(correlation_id, False)
        w.flexible = version >= 3
        w.int16(0)
        entries = [(k, lo, hi) for k, (lo, hi) in sorted(self.api_versions.items())]

        def entry(a):
            _api_entry(w, a)
            w.tagged_fields()

        w.array(entries, entry)
        if version >= 1:
            w.int32(0)  # throttle_time_ms
        w.tagged_fields()
        return bytes(w.buf)

    def _metadata(self, frame, pos, version, correlation_id):
        flexible = version >= 9
        r = Reader(frame, pos, flexible)

        def topic():
            if version >= 10:
                r.uuid()
            name = r.string()
            r.skip_tagged_fields()
            return name

        requested = r.array(topic)
        if requested is None or (version == 0 and not requested):
            names = list(self.topics)          # "all topics"
        else:
            names = [n for n in requested if n is not None]

        w = self._header(correlation_id, flexible)
        if version >= 3:
            w.int32(0)  # throttle_time_ms

        def broker(_):
            w.int32(NODE_ID)
            w.string(self.host)
            w.int32(self.port)
            if version >= 1:
                w.string(None)  # rack
            w.tagged_fields()

        w.array([NODE_ID], broker)
        if version >= 2:
            w.string(CLUSTER_ID)
        if version >= 1:
            w.int32(NODE_ID)  # controller_id

        def int32_item(v):
            w.int32(v)

        def partition(index):
            w.int16(0)
            w.int32(index)
            w.int32(NODE_ID)  # leader_id
            if version >= 7:
                w.int32(0)  # leader_epoch
            w.array([NODE_ID], int32_item)  # replica_nodes
            w.array([NODE_ID], int32_item)  # isr_nodes
            if version >= 5:
                w.array([], int32_item)  # offline_replicas
            w.tagged_fields()

        def topic_out(name):
            w.int16(0)
            w.string(name)
            if version >= 10:
                w.raw(hashlib.md5(name.encode()).digest())  # a stable, non-zero topic id
            if version >= 1:
                w.boolean(False)  # is_internal
            w.array(list(range(self.partitions)), partition)
            if version >= 8:
                w.int32(-2147483648)  # topic_authorized_operations: not requested
            w.tagged_fields()

        w.array(names, topic_out)
        if 8 <= version <= 10:
            w.int32(-2147483648)  # cluster_authorized_operations
        w.tagged_fields()
        return bytes(w.buf)

    def _find_coordinator(self, frame, pos, version, correlation_id):
        flexible = version >= 3
        r = Reader(frame, pos, flexible)
        if version <= 3:
            keys = [r.string()]
        else:
            r.int8()  # key_type
            keys = r.array(r.string) or []
        w = self._header(correlation_id, flexible)
        if version >= 1:
            w.int32(0)  # throttle_time_ms
        if version <= 3:
            w.int16(0)
            if version >= 1:
                w.string(None)  # error_message
            w.int32(NODE_ID)
            w.string(self.host)
            w.int32(self.port)
        else:
            def coordinator(key):
                w.string(key)
                w.int32(NODE_ID)
                w.string(self.host)
                w.int32(self.port)
                w.int16(0)
                w.string(None)  # error_message
                w.tagged_fields()

            w.array(keys, coordinator)
        w.tagged_fields()
        return bytes(w.buf)


    def _sasl_handshake(self, frame, pos, correlation_id):
        # Accepting the mechanism lets the client send its first SASL token (SaslAuthenticate
        # after handshake v1, a bare token after v0), which is the frame worth recording.
        mechanism = Reader(frame, pos).string()
        w = self._header(correlation_id, False)
        w.int16(0 if mechanism in SASL_MECHANISMS else UNSUPPORTED_SASL_MECHANISM)
        w.array(SASL_MECHANISMS, w.string)
        return bytes(w.buf)


def _api_entry(w, a):
    w.int16(a[0])
    w.int16(a[1])
    w.int16(a[2])


def _produce_acks(frame, pos, version):
    """acks=0 produce requests get no response, so they must not silence the connection."""
    r = Reader(frame, pos, version >= 9)
    if version >= 3:
        r.string()  # transactional_id
    return r.int16()


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


# --------------------------------------------------------------------------------------------
# Scenarios. Each runs one client process against a fresh fake endpoint.
#
# focus: API keys this scenario exists to capture; their frames are capped per scenario, so
# e.g. each compression codec keeps its own Produce frames. Other APIs (the bootstrap chatter)
# are capped per client.


class Scenario:
    def __init__(self, client, name, argv=None, stdin=None, focus=(), timeout=7.0,
                 apis=None):
        self.client = client
        self.name = name
        self.argv = argv          # kcat arguments; None for Python scenarios
        self.stdin = stdin
        self.focus = set(focus)
        self.timeout = timeout
        self.apis = apis or {}    # {key: (min, max)} added to / overriding the defaults

    @property
    def id(self):
        return "%s/%s" % (self.client, self.name)


KCAT_COMMON = ["-X", "socket.timeout.ms=3000", "-X", "message.timeout.ms=3000"]
KCAT_MESSAGES = "".join("key-%d:%s\n" % (i, ("chronik golden message %d " % i) * 8)
                        for i in range(3))
KCAT_HEADERS = ["-H", "trace=abc123", "-H", "origin=kcat"]


def kcat_scenarios():
    s = [Scenario("kcat", "metadata", ["-L", "-m", "3"], focus={3})]
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        s.append(Scenario("kcat", "produce_" + codec,
                          ["-P", "-t", TOPIC, "-K", ":", "-X", "compression.codec=" + codec,
                           "-X", "linger.ms=20"] + KCAT_HEADERS,
                          stdin=KCAT_MESSAGES, focus={0}))
    for acks in ("all", "1", "0"):
        s.append(Scenario("kcat", "produce_acks_" + acks,
                          ["-P", "-t", TOPIC, "-K", ":", "-X", "acks=" + acks,
                           "-X", "linger.ms=20"] + KCAT_HEADERS,
                          stdin=KCAT_MESSAGES, focus={0}))
    s.append(Scenario("kcat", "produce_idempotent",
                      ["-P", "-t", TOPIC, "-K", ":", "-X", "enable.idempotence=true"],
                      stdin=KCAT_MESSAGES, focus={22}))
    s.append(Scenario("kcat", "consume_beginning",
                      ["-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-c", "1", "-e"],
                      focus={2}))
    s.append(Scenario("kcat", "consume_offset0",
                      ["-C", "-t", TOPIC, "-o", "0", "-c", "1"], focus={1}))
    s.append(Scenario("kcat", "consume_group",
                      ["-G", GROUP, TOPIC, "-X", "session.timeout.ms=6000"], focus={10, 11}))
    # Dummy credentials: the point is the SaslHandshake/SaslAuthenticate encoding.
    for mechanism in ("PLAIN", "SCRAM-SHA-256"):
        s.append(Scenario("kcat", "sasl_" + mechanism.lower().replace("-", "_"),
                          ["-L", "-m", "3", "-X", "security.protocol=SASL_PLAINTEXT",
                           "-X", "sasl.mechanisms=" + mechanism, "-X", "sasl.username=alice",
                           "-X", "sasl.password=alice-secret"], focus={17, 36}))
    return s


PY_SCENARIOS = {}


def py_scenario(client, name, focus=(), timeout=7.0, apis=None):
    def register(fn):
        PY_SCENARIOS[(client, name)] = (fn, Scenario(client, name, focus=focus, timeout=timeout,
                                                     apis=apis))
        return fn
    return register


def _value(i):
    # Repetitive so every codec actually shrinks it (librdkafka falls back to an uncompressed
    # batch when compression does not help), and small so the testdata stays small.
    return ("chronik golden message %d " % i).encode() * 8


# -- confluent-kafka-python (1.7.0 on librdkafka 2.0.2) ----------------------------------------

CK = "confluent-kafka-python"


def _ck_conf(bootstrap, **extra):
    conf = {"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000}
    conf.update(extra)
    return conf


@py_scenario(CK, "producer", focus={0})
def ck_producer(bootstrap):
    from confluent_kafka import Producer
    p = Producer(_ck_conf(bootstrap, **{"message.timeout.ms": 3000, "linger.ms": 20}))
    for i in range(3):
        p.produce(TOPIC, key=b"key-%d" % i, value=_value(i),
                  headers=[("trace", b"abc123"), ("seq", str(i).encode())])
    p.flush(5)


@py_scenario(CK, "producer_transactional", focus={10, 22})
def ck_producer_transactional(bootstrap):
    from confluent_kafka import Producer
    p = Producer(_ck_conf(bootstrap, **{"transactional.id": "golden-txn",
                                        "transaction.timeout.ms": 60000}))
    p.init_transactions(5)


@py_scenario(CK, "consumer_group", focus={10, 11})
def ck_consumer_group(bootstrap):
    from confluent_kafka import Consumer
    c = Consumer(_ck_conf(bootstrap, **{"group.id": GROUP, "session.timeout.ms": 6000,
                                        "auto.offset.reset": "earliest"}))
    c.subscribe([TOPIC])
    _poll_until(c, 6)


@py_scenario(CK, "consumer_fetch", focus={1})
def ck_consumer_fetch(bootstrap):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(_ck_conf(bootstrap, **{"group.id": "golden-fetch",
                                        "enable.auto.commit": False}))
    c.assign([TopicPartition(TOPIC, 0, 0)])
    _poll_until(c, 6)


@py_scenario(CK, "consumer_list_offsets", focus={2}, timeout=9)
def ck_consumer_list_offsets(bootstrap):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(_ck_conf(bootstrap, **{"group.id": "golden-offsets"}))
    _try(lambda: c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=3))
    _try(lambda: c.offsets_for_times([TopicPartition(TOPIC, 0, 1700000000000)], timeout=3))


@py_scenario(CK, "consumer_commit", focus={8, 9}, timeout=9)
def ck_consumer_commit(bootstrap):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(_ck_conf(bootstrap, **{"group.id": GROUP, "enable.auto.commit": False}))
    _try(lambda: c.commit(offsets=[TopicPartition(TOPIC, 0, 42)], asynchronous=True))
    _poll_until(c, 3)
    _try(lambda: c.committed([TopicPartition(TOPIC, 0)], timeout=3))


def _ck_admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient(_ck_conf(bootstrap))


def _wait_futures(admin, futures, timeout=5):
    # The admin client must outlive the wait: destroying it cancels the request unsent.
    concurrent.futures.wait(list(futures), timeout=timeout)
    del admin


@py_scenario(CK, "admin_create_topics", focus={19})
def ck_create_topics(bootstrap):
    from confluent_kafka.admin import NewTopic
    a = _ck_admin(bootstrap)
    fs = a.create_topics(
        [NewTopic("golden-new", num_partitions=3, replication_factor=1,
                  config={"cleanup.policy": "compact"})], request_timeout=3)
    _wait_futures(a, fs.values())


@py_scenario(CK, "admin_delete_topics", focus={20})
def ck_delete_topics(bootstrap):
    a = _ck_admin(bootstrap)
    fs = a.delete_topics(["golden-old"], request_timeout=3)
    _wait_futures(a, fs.values())


@py_scenario(CK, "admin_create_partitions", focus={37})
def ck_create_partitions(bootstrap):
    from confluent_kafka.admin import NewPartitions
    a = _ck_admin(bootstrap)
    fs = a.create_partitions([NewPartitions(TOPIC, 6)], request_timeout=3)
    _wait_futures(a, fs.values())


@py_scenario(CK, "admin_describe_configs", focus={32})
def ck_describe_configs(bootstrap):
    from confluent_kafka.admin import ConfigResource
    a = _ck_admin(bootstrap)
    fs = a.describe_configs(
        [ConfigResource("topic", TOPIC), ConfigResource("broker", str(NODE_ID))],
        request_timeout=3)
    _wait_futures(a, fs.values())


@py_scenario(CK, "admin_alter_configs", focus={33})
def ck_alter_configs(bootstrap):
    from confluent_kafka.admin import ConfigResource
    a = _ck_admin(bootstrap)
    fs = a.alter_configs(
        [ConfigResource("topic", TOPIC, set_config={"retention.ms": "86400000"})],
        request_timeout=3)
    _wait_futures(a, fs.values())


@py_scenario(CK, "admin_list_groups", focus={16})
def ck_list_groups(bootstrap):
    _try(lambda: _ck_admin(bootstrap).list_groups(timeout=4))


# -- librdkafka 2.0.2's C admin API through ctypes ----------------------------------------------
# confluent-kafka-python 1.7.0 predates the group admin APIs (describe/delete consumer groups,
# group offsets, delete records, ACLs), but the librdkafka it runs on has them.

RDK = "librdkafka-ctypes"


class _Rdk:
    def __init__(self, bootstrap):
        import ctypes
        self.c = ctypes
        lib = ctypes.CDLL("librdkafka.so.1")
        vp = ctypes.c_void_p
        for name, res, args in [
            ("rd_kafka_conf_new", vp, []),
            ("rd_kafka_conf_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p,
                                                  ctypes.c_char_p, ctypes.c_size_t]),
            ("rd_kafka_new", vp, [ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t]),
            ("rd_kafka_queue_new", vp, [vp]),
            ("rd_kafka_queue_poll", vp, [vp, ctypes.c_int]),
            ("rd_kafka_AdminOptions_new", vp, [vp, ctypes.c_int]),
            ("rd_kafka_AdminOptions_set_request_timeout", ctypes.c_int,
             [vp, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]),
            ("rd_kafka_topic_partition_list_new", vp, [ctypes.c_int]),
            ("rd_kafka_topic_partition_list_add", vp, [vp, ctypes.c_char_p, ctypes.c_int32]),
            ("rd_kafka_topic_partition_list_set_offset", ctypes.c_int,
             [vp, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int64]),
            ("rd_kafka_DeleteGroup_new", vp, [ctypes.c_char_p]),
            ("rd_kafka_DeleteGroups", None, [vp, vp, ctypes.c_size_t, vp, vp]),
            ("rd_kafka_DescribeConsumerGroups", None, [vp, vp, ctypes.c_size_t, vp, vp]),
            ("rd_kafka_ListConsumerGroups", None, [vp, vp, vp]),
            ("rd_kafka_ListConsumerGroupOffsets_new", vp, [ctypes.c_char_p, vp]),
            ("rd_kafka_ListConsumerGroupOffsets", None, [vp, vp, ctypes.c_size_t, vp, vp]),
            ("rd_kafka_AlterConsumerGroupOffsets_new", vp, [ctypes.c_char_p, vp]),
            ("rd_kafka_AlterConsumerGroupOffsets", None, [vp, vp, ctypes.c_size_t, vp, vp]),
            ("rd_kafka_DeleteConsumerGroupOffsets_new", vp, [ctypes.c_char_p, vp]),
            ("rd_kafka_DeleteConsumerGroupOffsets", None, [vp, vp, ctypes.c_size_t, vp, vp]),
            ("rd_kafka_DeleteRecords_new", vp, [vp]),
            ("rd_kafka_DeleteRecords", None, [vp, vp, ctypes.c_size_t, vp, vp]),
            ("rd_kafka_AclBinding_new", vp, [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                              ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                              ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]),
            ("rd_kafka_AclBindingFilter_new", vp, [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                                    ctypes.c_char_p, ctypes.c_char_p,
                                                    ctypes.c_int, ctypes.c_int,
                                                    ctypes.c_char_p, ctypes.c_size_t]),
            ("rd_kafka_CreateAcls", None, [vp, vp, ctypes.c_size_t, vp, vp]),
            ("rd_kafka_DescribeAcls", None, [vp, vp, vp, vp]),
            ("rd_kafka_DeleteAcls", None, [vp, vp, ctypes.c_size_t, vp, vp]),
        ]:
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        self.lib = lib
        self.errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        for k, v in [("bootstrap.servers", bootstrap), ("socket.timeout.ms", "3000")]:
            lib.rd_kafka_conf_set(conf, k.encode(), v.encode(), self.errstr, 512)
        self.rk = lib.rd_kafka_new(0, conf, self.errstr, 512)  # RD_KAFKA_PRODUCER
        if not self.rk:
            raise RuntimeError(self.errstr.value.decode())
        self.queue = lib.rd_kafka_queue_new(self.rk)
        self.options = lib.rd_kafka_AdminOptions_new(self.rk, 0)  # RD_KAFKA_ADMIN_OP_ANY
        lib.rd_kafka_AdminOptions_set_request_timeout(self.options, 3000, self.errstr, 512)

    def ptrs(self, *items):
        return (self.c.c_void_p * len(items))(*items)

    def partitions(self, offset=None):
        tpl = self.lib.rd_kafka_topic_partition_list_new(2)
        for p in (0, 1):
            self.lib.rd_kafka_topic_partition_list_add(tpl, TOPIC.encode(), p)
            if offset is not None:
                self.lib.rd_kafka_topic_partition_list_set_offset(tpl, TOPIC.encode(), p, offset)
        return tpl

    def acl(self, constructor, restype, pattern, principal, host, operation, permission):
        return constructor(restype, TOPIC.encode(), pattern, principal, host, operation,
                           permission, self.errstr, 512)

    def wait(self, seconds=5):
        self.lib.rd_kafka_queue_poll(self.queue, int(seconds * 1000))


# Enum values from rdkafka.h.
_RESOURCE_TOPIC, _PATTERN_ANY, _PATTERN_LITERAL = 2, 1, 3
_ACL_OP_ANY, _ACL_OP_READ, _ACL_PERM_ANY, _ACL_PERM_ALLOW = 1, 3, 1, 3


@py_scenario(RDK, "list_consumer_groups", focus={16})
def rdk_list_consumer_groups(bootstrap):
    k = _Rdk(bootstrap)
    k.lib.rd_kafka_ListConsumerGroups(k.rk, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "describe_consumer_groups", focus={10, 15})
def rdk_describe_consumer_groups(bootstrap):
    k = _Rdk(bootstrap)
    groups = (k.c.c_char_p * 1)(GROUP.encode())
    k.lib.rd_kafka_DescribeConsumerGroups(k.rk, groups, 1, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "delete_consumer_groups", focus={10, 42})
def rdk_delete_consumer_groups(bootstrap):
    k = _Rdk(bootstrap)
    k.lib.rd_kafka_DeleteGroups(k.rk, k.ptrs(k.lib.rd_kafka_DeleteGroup_new(GROUP.encode())), 1,
                                k.options, k.queue)
    k.wait()


@py_scenario(RDK, "list_consumer_group_offsets", focus={10, 9})
def rdk_list_consumer_group_offsets(bootstrap):
    k = _Rdk(bootstrap)
    req = k.lib.rd_kafka_ListConsumerGroupOffsets_new(GROUP.encode(), k.partitions())
    k.lib.rd_kafka_ListConsumerGroupOffsets(k.rk, k.ptrs(req), 1, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "alter_consumer_group_offsets", focus={10, 8})
def rdk_alter_consumer_group_offsets(bootstrap):
    k = _Rdk(bootstrap)
    req = k.lib.rd_kafka_AlterConsumerGroupOffsets_new(GROUP.encode(), k.partitions(offset=42))
    k.lib.rd_kafka_AlterConsumerGroupOffsets(k.rk, k.ptrs(req), 1, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "delete_consumer_group_offsets", focus={10, 47})
def rdk_delete_consumer_group_offsets(bootstrap):
    k = _Rdk(bootstrap)
    req = k.lib.rd_kafka_DeleteConsumerGroupOffsets_new(GROUP.encode(), k.partitions())
    k.lib.rd_kafka_DeleteConsumerGroupOffsets(k.rk, k.ptrs(req), 1, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "delete_records", focus={21})
def rdk_delete_records(bootstrap):
    k = _Rdk(bootstrap)
    req = k.lib.rd_kafka_DeleteRecords_new(k.partitions(offset=7))
    k.lib.rd_kafka_DeleteRecords(k.rk, k.ptrs(req), 1, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "create_acls", focus={30}, apis=ACL_API_VERSIONS)
def rdk_create_acls(bootstrap):
    k = _Rdk(bootstrap)
    acl = k.acl(k.lib.rd_kafka_AclBinding_new, _RESOURCE_TOPIC, _PATTERN_LITERAL, b"User:alice",
                b"*", _ACL_OP_READ, _ACL_PERM_ALLOW)
    k.lib.rd_kafka_CreateAcls(k.rk, k.ptrs(acl), 1, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "describe_acls", focus={29}, apis=ACL_API_VERSIONS)
def rdk_describe_acls(bootstrap):
    k = _Rdk(bootstrap)
    f = k.acl(k.lib.rd_kafka_AclBindingFilter_new, _RESOURCE_TOPIC, _PATTERN_ANY, None, None,
              _ACL_OP_ANY, _ACL_PERM_ANY)
    k.lib.rd_kafka_DescribeAcls(k.rk, f, k.options, k.queue)
    k.wait()


@py_scenario(RDK, "delete_acls", focus={31}, apis=ACL_API_VERSIONS)
def rdk_delete_acls(bootstrap):
    k = _Rdk(bootstrap)
    f = k.acl(k.lib.rd_kafka_AclBindingFilter_new, _RESOURCE_TOPIC, _PATTERN_LITERAL,
              b"User:alice", b"*", _ACL_OP_READ, _ACL_PERM_ALLOW)
    k.lib.rd_kafka_DeleteAcls(k.rk, k.ptrs(f), 1, k.options, k.queue)
    k.wait()


# -- kafka-python 2.0.2 (an independent, pure-Python encoder) -----------------------------------

KP = "kafka-python"
KP_COMMON = {"request_timeout_ms": 3000, "api_version_auto_timeout_ms": 3000}


def _kp_produce(bootstrap, headers=True, **extra):
    from kafka import KafkaProducer
    conf = dict(KP_COMMON, bootstrap_servers=bootstrap, max_block_ms=4000, linger_ms=20)
    conf.update(extra)
    p = KafkaProducer(**conf)
    for i in range(3):
        kwargs = {"headers": [("trace", b"abc123"), ("seq", str(i).encode())]} if headers else {}
        p.send(TOPIC, key=b"key-%d" % i, value=_value(i), partition=i % 3, **kwargs)
    _try(lambda: p.flush(timeout=4))


@py_scenario(KP, "producer", focus={0})
def kp_producer(bootstrap):
    _kp_produce(bootstrap)


@py_scenario(KP, "producer_gzip", focus={0})
def kp_producer_gzip(bootstrap):
    _kp_produce(bootstrap, compression_type="gzip")


@py_scenario(KP, "producer_acks_0", focus={0})
def kp_producer_acks0(bootstrap):
    _kp_produce(bootstrap, acks=0)


@py_scenario(KP, "producer_api_0_10_0", focus={0, 3})
def kp_producer_0_10(bootstrap):
    # A pinned version skips ApiVersions; kafka-python then writes message format v1 (magic 1).
    _kp_produce(bootstrap, headers=False, api_version=(0, 10, 0))


@py_scenario(KP, "producer_api_0_9", focus={0, 3})
def kp_producer_0_9(bootstrap):
    # Message format v0 (magic 0), the oldest Kafka still accepts in produce v0-v1.
    _kp_produce(bootstrap, headers=False, api_version=(0, 9))


@py_scenario(KP, "sasl_plain", focus={17, -1})
def kp_sasl_plain(bootstrap):
    # kafka-python 2.0.2 uses SaslHandshake v0, after which the token travels without a
    # request header (the pre-KIP-152 framing).
    _kp_produce(bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                sasl_plain_username="alice", sasl_plain_password="alice-secret")


def _kp_consumer(bootstrap, **extra):
    from kafka import KafkaConsumer
    conf = dict(KP_COMMON, bootstrap_servers=bootstrap, session_timeout_ms=6000,
                heartbeat_interval_ms=2000, request_timeout_ms=7000, fetch_max_wait_ms=500)
    conf.update(extra)
    return KafkaConsumer(**conf)


@py_scenario(KP, "consumer_group", focus={10, 11})
def kp_consumer_group(bootstrap):
    c = _kp_consumer(bootstrap, group_id=GROUP)
    c.subscribe([TOPIC])
    _kp_poll(c, 6)


@py_scenario(KP, "consumer_fetch", focus={1})
def kp_consumer_fetch(bootstrap):
    from kafka import TopicPartition
    c = _kp_consumer(bootstrap, group_id=None)
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    c.seek(tp, 0)
    _kp_poll(c, 6)


@py_scenario(KP, "consumer_list_offsets", focus={2})
def kp_consumer_list_offsets(bootstrap):
    from kafka import TopicPartition
    c = _kp_consumer(bootstrap, group_id=None)
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    _kp_poll(c, 6)


@py_scenario(KP, "consumer_offsets_for_times", focus={2})
def kp_consumer_offsets_for_times(bootstrap):
    from kafka import TopicPartition
    c = _kp_consumer(bootstrap, group_id=None)
    _try(lambda: c.offsets_for_times({TopicPartition(TOPIC, 0): 1700000000000}))


@py_scenario(KP, "consumer_commit", focus={8, 10})
def kp_consumer_commit(bootstrap):
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata
    c = _kp_consumer(bootstrap, group_id=GROUP, enable_auto_commit=False)
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    # Synchronous: an async commit queued before the first poll loses the race against the
    # consumer's own committed-offset lookup and is never sent.
    _try(lambda: c.commit({tp: OffsetAndMetadata(42, "golden")}))


@py_scenario(KP, "consumer_committed", focus={9, 10})
def kp_consumer_committed(bootstrap):
    from kafka import TopicPartition
    c = _kp_consumer(bootstrap, group_id=GROUP, enable_auto_commit=False)
    _try(lambda: c.committed(TopicPartition(TOPIC, 0)))


def _kp_admin(bootstrap):
    from kafka import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bootstrap, **KP_COMMON)


@py_scenario(KP, "admin_create_topics", focus={19})
def kp_create_topics(bootstrap):
    from kafka.admin import NewTopic
    a = _kp_admin(bootstrap)
    _try(lambda: a.create_topics([NewTopic("golden-new", 3, 1,
                                           topic_configs={"cleanup.policy": "compact"})],
                                 timeout_ms=3000))


@py_scenario(KP, "admin_delete_topics", focus={20})
def kp_delete_topics(bootstrap):
    a = _kp_admin(bootstrap)
    _try(lambda: a.delete_topics(["golden-old"], timeout_ms=3000))


@py_scenario(KP, "admin_create_partitions", focus={37})
def kp_create_partitions(bootstrap):
    from kafka.admin import NewPartitions
    a = _kp_admin(bootstrap)
    _try(lambda: a.create_partitions({TOPIC: NewPartitions(6)}, timeout_ms=3000))


@py_scenario(KP, "admin_describe_configs", focus={32})
def kp_describe_configs(bootstrap):
    from kafka.admin import ConfigResource, ConfigResourceType
    a = _kp_admin(bootstrap)
    _try(lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)]))


@py_scenario(KP, "admin_alter_configs", focus={33})
def kp_alter_configs(bootstrap):
    from kafka.admin import ConfigResource, ConfigResourceType
    a = _kp_admin(bootstrap)
    _try(lambda: a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC,
                                                 configs={"retention.ms": "86400000"})]))


@py_scenario(KP, "admin_list_consumer_groups", focus={16})
def kp_list_consumer_groups(bootstrap):
    a = _kp_admin(bootstrap)
    _try(a.list_consumer_groups)


@py_scenario(KP, "admin_describe_consumer_groups", focus={10, 15})
def kp_describe_consumer_groups(bootstrap):
    a = _kp_admin(bootstrap)
    _try(lambda: a.describe_consumer_groups([GROUP]))


@py_scenario(KP, "admin_list_consumer_group_offsets", focus={10, 9})
def kp_list_consumer_group_offsets(bootstrap):
    a = _kp_admin(bootstrap)
    _try(lambda: a.list_consumer_group_offsets(GROUP))


@py_scenario(KP, "admin_delete_consumer_groups", focus={10, 42})
def kp_delete_consumer_groups(bootstrap):
    a = _kp_admin(bootstrap)
    _try(lambda: a.delete_consumer_groups([GROUP]))


def _kp_acl_filter():
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType,
                             ACLResourcePatternType, ResourcePatternFilter, ResourceType)
    return ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                     permission_type=ACLPermissionType.ANY,
                     resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, TOPIC,
                                                            ACLResourcePatternType.LITERAL))


@py_scenario(KP, "admin_create_acls", focus={30}, apis=ACL_API_VERSIONS)
def kp_create_acls(bootstrap):
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ResourcePattern,
                             ResourceType)
    a = _kp_admin(bootstrap)
    acl = ACL(principal="User:alice", host="*", operation=ACLOperation.READ,
              permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, TOPIC))
    _try(lambda: a.create_acls([acl]))


@py_scenario(KP, "admin_describe_acls", focus={29}, apis=ACL_API_VERSIONS)
def kp_describe_acls(bootstrap):
    a = _kp_admin(bootstrap)
    _try(lambda: a.describe_acls(_kp_acl_filter()))


@py_scenario(KP, "admin_delete_acls", focus={31}, apis=ACL_API_VERSIONS)
def kp_delete_acls(bootstrap):
    a = _kp_admin(bootstrap)
    _try(lambda: a.delete_acls([_kp_acl_filter()]))


# -- helpers for the client side --------------------------------------------------------------


def _try(fn):
    """Clients raise when the fake leaves a request unanswered; that is expected here."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - any client error just ends the step
        print("client step ended: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return None


def _poll_until(consumer, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        _try(lambda: consumer.poll(0.5))


def _kp_poll(consumer, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        _try(lambda: consumer.poll(timeout_ms=500))


def all_scenarios():
    return kcat_scenarios() + [s for _, s in PY_SCENARIOS.values()]


def run_client_in_process(client, name, bootstrap, seconds):
    """Child-process entry point: runs one Python scenario, then exits hard.

    Clients may block in calls without a timeout (kafka-python's committed(), for instance), so
    the scenario runs on a daemon thread and the process ends at its deadline regardless.
    """
    fn, _ = PY_SCENARIOS[(client, name)]
    t = threading.Thread(target=lambda: _try(lambda: fn(bootstrap)), daemon=True)
    t.start()
    t.join(seconds)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# --------------------------------------------------------------------------------------------
# Driver.


def run_scenario(scenario, api_versions, partitions, verbose):
    fake = FakeKafka(api_versions=api_versions, partitions=partitions).start()
    if scenario.argv is not None:
        kcat = shutil.which("kcat")
        if kcat is None:
            fake.stop()
            return scenario, [], "kcat not installed (apt-get install -y kcat)"
        argv = [kcat, "-b", fake.bootstrap, "-q"] + KCAT_COMMON + scenario.argv
    else:
        argv = [sys.executable, str(Path(__file__).resolve()), "client", scenario.client,
                scenario.name, fake.bootstrap, "--seconds", str(scenario.timeout - 1)]
    note = ""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = proc.communicate(input=(scenario.stdin or "").encode(),
                                  timeout=scenario.timeout)
    except subprocess.TimeoutExpired:
        # The client is still waiting on an unanswered request; its bytes are already here.
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        note = "stopped at %.0fs" % scenario.timeout
    fake.stop()
    err_text = err.decode("utf-8", "replace").strip()
    if verbose and err_text:
        print("--- %s stderr:\n%s" % (scenario.id, err_text[-2000:]), file=sys.stderr)
    if "ModuleNotFoundError" in err_text:
        note = "client library missing: " + err_text.splitlines()[-1]
    return scenario, fake.recorded(), note


def frame_header(f):
    """(api_key, api_version, correlation_id, client_id); key -1 for a bare SASL token."""
    if f.get("raw_sasl"):
        return (-1, -1, -1, None)
    try:
        return parse_request_header(f["data"])[:4]
    except ValueError:
        return (-2, -1, -1, None)


def frame_label(header):
    key, version = header[0], header[1]
    if key == -1:
        return "sasl_raw_token"
    if key == -2:
        return "unparsed"
    return "%s_v%d" % (api_name(key), version)


def select_frames(results, per_key_cap):
    """De-duplicates and caps frames; returns {client: [(scenario, frame_dict, header)]}.

    Frames identical except for the correlation id are dropped. Frames of a scenario's focus
    APIs are capped per scenario (so e.g. each compression codec keeps its Produce frames);
    other APIs are capped per client.
    """
    chosen = {}
    seen = {}
    counts = {}
    for scenario, frames in results:
        for f in sorted(frames, key=lambda f: f["time"]):
            data = f["data"]
            header = frame_header(f)
            key, version = header[0], header[1]
            masked = data[:4] + b"\0\0\0\0" + data[8:] if key >= 0 else data
            client_seen = seen.setdefault(scenario.client, set())
            if masked in client_seen:
                continue
            cap_key = (scenario.client, key, version,
                       scenario.name if key in scenario.focus else None)
            if counts.get(cap_key, 0) >= per_key_cap:
                continue
            counts[cap_key] = counts.get(cap_key, 0) + 1
            client_seen.add(masked)
            chosen.setdefault(scenario.client, []).append((scenario, f, header))
    return chosen


def write_output(out_dir, chosen, clients_run):
    out_dir = Path(out_dir)
    for client in clients_run:
        d = out_dir / client
        if d.exists():
            shutil.rmtree(d)
    for client, items in chosen.items():
        d = out_dir / client
        d.mkdir(parents=True, exist_ok=True)
        rows = ["file\tscenario\tapi_key\tapi_version\tcorrelation_id\tclient_id\tbytes"]
        for seq, (scenario, f, header) in enumerate(items, start=1):
            key, version, correlation_id, client_id = header[:4]
            name = "%03d_%s.bin" % (seq, frame_label(header))
            (d / name).write_bytes(f["data"])
            rows.append("\t".join([name, scenario.name, str(key), str(version),
                                   str(correlation_id), "-" if client_id is None else client_id,
                                   str(len(f["data"]))]))
        (d / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")


def parse_max_versions(specs):
    """--max-version [CLIENT[/SCENARIO]:]KEY=MAX or KEY=MIN-MAX, repeatable."""
    overrides = []
    for spec in specs:
        m = re.fullmatch(r"(?:([^:]+):)?(\d+)=(?:(\d+)-)?(-?\d+)", spec)
        if not m:
            raise SystemExit("bad --max-version %r (want [CLIENT[/SCENARIO]:]KEY=MAX)" % spec)
        scope, key, lo, hi = m.groups()
        overrides.append((scope, int(key), int(lo or 0), int(hi)))
    return overrides


def versions_for(scenario, overrides):
    versions = dict(DEFAULT_API_VERSIONS)
    versions.update(scenario.apis)
    for scope, key, lo, hi in overrides:
        if scope is None or fnmatch.fnmatch(scenario.id, scope) or scope == scenario.client:
            if hi < 0:
                versions.pop(key, None)  # KEY=-1 stops advertising the API
            else:
                versions[key] = (lo, hi)
    return versions


def capture(args):
    scenarios = [s for s in all_scenarios()
                 if not args.only or any(fnmatch.fnmatch(s.id, p) for p in args.only)]
    if args.list:
        for s in scenarios:
            print(s.id)
        return 0
    overrides = parse_max_versions(args.max_version)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_scenario, s, versions_for(s, overrides), args.partitions,
                               args.verbose) for s in scenarios]
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - start

    chosen = select_frames([(s, frames) for s, frames, _ in results], args.cap)
    clients_run = sorted({s.client for s in scenarios})
    if args.only and args.out is None:
        # A subset would replace each client's whole directory, dropping the other scenarios'
        # files; write a subset only where asked to.
        print("--only without --out: nothing written")
    else:
        write_output(args.out or DEFAULT_OUT, chosen, clients_run)

    print("%d scenarios in %.1fs" % (len(scenarios), elapsed))
    for s, frames, note in results:
        headers = sorted({frame_header(f)[:2] for f in frames})
        focus_hit = any(k in s.focus for k, _ in headers)
        flag = "" if focus_hit or not s.focus else "  <- focus API never sent"
        print("  %-50s %3d frames %s%s%s" % (s.id, len(frames),
                                             " ".join(frame_label(h) for h in headers),
                                             " (" + note + ")" if note else "", flag))
    total = 0
    for client in sorted(chosen):
        tally = {}
        for _, f, header in chosen[client]:
            k = header[:2]
            tally[k] = tally.get(k, 0) + 1
            total += len(f["data"])
        print("%s: %d files" % (client, len(chosen[client])))
        for k, n in sorted(tally.items()):
            print("    %-34s x%d" % (frame_label(k), n))
    print("total frame bytes: %d" % total)
    return 0


def serve(args):
    def log(conn, frame, answered):
        try:
            key, version, corr, client_id, _ = parse_request_header(frame)
            desc = "%s v%d corr=%d client=%r" % (api_name(key), version, corr, client_id)
        except ValueError:
            desc = "unparsable frame"
        print("conn %d: %s (%d bytes)%s" % (conn, desc, len(frame),
                                            "" if answered else " [unanswered]"), flush=True)

    versions = versions_for(Scenario("serve", "serve"), parse_max_versions(args.max_version))
    fake = FakeKafka(api_versions=versions, topics=args.topics, partitions=args.partitions,
                     port=args.port, log=log).start()
    print("fake Kafka listening on %s" % fake.bootstrap, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--out", help="output directory (default: "
                        "chronik_protocol/testdata/golden; required to write with --only)")
    parser.add_argument("--only", action="append", default=[],
                        help="fnmatch pattern on CLIENT/SCENARIO; repeatable")
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument("--jobs", type=int, default=8, help="scenarios run in parallel")
    parser.add_argument("--cap", type=int, default=3,
                        help="max frames kept per client x api x version (per scenario for "
                             "the scenario's focus APIs)")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--max-version", action="append", default=[],
                        metavar="[CLIENT[/SCENARIO]:]KEY=[MIN-]MAX",
                        help="override an advertised version range (MAX -1 hides the API)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print client stderr")

    p_serve = sub.add_parser("serve", help="run the fake endpoint and log frames")
    p_serve.add_argument("--port", type=int, default=0)
    p_serve.add_argument("--partitions", type=int, default=3)
    p_serve.add_argument("--topics", nargs="*", default=[TOPIC])
    p_serve.add_argument("--max-version", action="append", default=[])

    p_client = sub.add_parser("client", help=argparse.SUPPRESS)
    p_client.add_argument("client")
    p_client.add_argument("scenario")
    p_client.add_argument("bootstrap")
    p_client.add_argument("--seconds", type=float, default=6)

    args = parser.parse_args(argv)
    if args.command == "client":
        return run_client_in_process(args.client, args.scenario, args.bootstrap, args.seconds)
    if args.command == "serve":
        return serve(args)
    return capture(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
