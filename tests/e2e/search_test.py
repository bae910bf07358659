"""End-to-end: search (--enable-search, and the `all` mode) through its Elasticsearch-compatible API.

A deterministic corpus (2000 JSON records over 3 partitions: a level from a fixed cycle, messages of
known words, numbers, a nested user, an ISO-8601 date in three spellings, arrays, booleans; plus
non-JSON text records and a binary one; keys, headers and timestamps) is produced with confluent-kafka
2.x, and every query type, URI search, aggregation, sort, page, _source filter and highlight is
checked against the answer Python computes from the same corpus with Elasticsearch's semantics. Hits
are read back with a Consumer at their (_partition, _offset). elasticsearch-py 7.17 (Debian's, in
this process) and 8.19.3 (tests/e2e/pydeps_es8, in a subprocess) and curl get the same answers as raw
HTTP. An acknowledged record becomes searchable; the index survives a clean restart and kill -9 and is
rebuilt from the log when its files are deleted; DeleteRecords (Kafka and the admin REST API) and
retention (retention.bytes, by the janitor) remove hits and a deleted topic's index goes; the topic config `searchable`; a broker without search refuses
searchable=true and does not listen on the search port; the `all` mode serves search; aborted
transactions are never found, open ones only once committed; bad input gets Elasticsearch's errors."""

import datetime
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)
from broker import Broker, free_port, java_classpath, run_server  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,  # noqa: E402
                                   NewTopic, ResourceType)

# Debian's elasticsearch-py 7.17 (python3-elasticsearch); 8.x runs in a subprocess (ES8_SCRIPT).
import elasticsearch as es7_module  # noqa: E402

ES8_PATH = os.path.join(HERE, "pydeps_es8")

TOPIC = "logs"
PARTITIONS = 3
N_JSON = 2000
LEVELS = ["info", "info", "warn", "error", "debug", "info", "warn"]
SUBJECTS = ["disk", "network", "memory", "cpu", "cache"]
STATES = ["full", "slow", "ok", "failed"]
HOSTS = ["alpha01", "alpha02", "beta01", "beta02", "gamma01", "delta01"]
USERS = ["alice", "bob", "carol", "dave", "eve", "frank", "grace"]
BASE_TS = 1_700_000_000_000  # record timestamps: BASE_TS + i s
BASE_AT = int(datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)
TEXTS = ["plain text about disk trouble", "another plain line", "Quick Brown Fox jumps", "42",
         "[1, 2, 3] is a JSON array, not an object"]
BINARY = b"\x00\xff\xfe binary \x01\x02"


# ---------------------------------------------------------------------------------------------
# The corpus, and Elasticsearch's answers computed from it.

def iso(ms, offset_hours=0):
    tz = datetime.timezone(datetime.timedelta(hours=offset_hours))
    t = datetime.datetime.fromtimestamp(ms / 1000, tz)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    return s + ("Z" if offset_hours == 0 else t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:])


def iso_ms_string(ms):
    """Elasticsearch's key_as_string of a date (strict_date_optional_time)."""
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def make_doc(i):
    msg = "%s %s on host %s" % (SUBJECTS[i % 5], STATES[i % 4], HOSTS[i % 6])
    if i % 13 == 0:
        msg += " the quick brown fox"
    elif i % 17 == 0:
        msg += " brown quick fox"  # the phrase's words, not the phrase
    doc = {"seq": i, "level": LEVELS[i % 7], "msg": msg, "ms": (i * 37) % 1000 + (0.5 if i % 10 == 0 else 0),
           "user": {"name": USERS[(i // 3) % 7], "id": i % 97}, "host": HOSTS[i % 6], "ok": i % 2 == 0,
           "shard": i % 4, "delta": i % 21 - 10}
    if i % 400 == 5:
        doc["note"] = " ".join("lorem%d" % k for k in range(40))  # text past 256 characters: no keyword
    at = BASE_AT + i * 7 * 60000
    if i % 50 == 7:
        pass  # no date
    elif i % 25 == 3:
        doc["at"] = iso(at, 2)  # the same instant at +02:00
    elif i % 100 == 99:
        doc["at"] = iso(at)[:10]  # a date alone: midnight UTC
    else:
        doc["at"] = iso(at)
    if i % 10 < 3:
        doc["tags"] = ["t%d" % (i % 3), "t%d" % (i % 4)]
    return doc


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$")


def date_ms(s):
    if not isinstance(s, str) or not DATE_RE.match(s):
        return None
    t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)


def flatten(obj, path=""):
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += flatten(v, path + "." + k if path else k)
    elif isinstance(obj, list):
        for v in obj:
            out += flatten(v, path)
    elif obj is not None:
        out.append((path, obj))
    return out


def tokens(s):
    return re.findall(r"[^\W_]+", s.lower())


class Rec:
    """One produced record and its fields as the index sees them."""

    def __init__(self, i, partition, key, value, headers, ts, doc=None, text=None):
        self.i, self.partition, self.key, self.value, self.headers, self.ts = i, partition, key, value, headers, ts
        self.doc, self.text = doc, text
        self.offset = None

    def finish(self, offset):
        self.offset = offset
        f = {}
        if self.doc is not None:
            for path, v in flatten(self.doc):
                f.setdefault(path, []).append(v)
        if self.text is not None:
            f["value"] = [self.text]
        if self.key is not None:
            f["_key"] = [self.key]
        for k, v in self.headers:
            f["_headers." + k] = [v]
        f["_timestamp"] = [self.ts]
        f["_partition"] = [self.partition]
        f["_offset"] = [offset]
        self.fields = f

    @property
    def id(self):
        return "%d-%d" % (self.partition, self.offset)

    @property
    def source(self):
        if self.doc is not None:
            return self.doc
        if self.text is not None:
            return {"value": self.text}
        return {}

    def strs(self, field):
        return [v for v in self.fields.get(field, []) if isinstance(v, str)]

    def nums(self, field):
        out = []
        for v in self.fields.get(field, []):
            if isinstance(v, bool):
                out.append(1.0 if v else 0.0)
            elif isinstance(v, (int, float)):
                out.append(float(v))
            elif date_ms(v) is not None:
                out.append(float(date_ms(v)))
        return out

    def toks(self, field):
        return {t for s in self.strs(field) for t in tokens(s)}

    def phrase(self, field, words):
        words = tokens(words)
        for s in self.strs(field):
            t = tokens(s)
            if any(t[k:k + len(words)] == words for k in range(len(t) - len(words) + 1)):
                return True
        return False

    def has(self, field):
        return bool(self.fields.get(field))


def build_corpus():
    recs = []
    for i in range(N_JSON):
        doc = make_doc(i)
        recs.append(Rec(i, i % PARTITIONS, "k%d" % (i % 50), json.dumps(doc).encode(), [("src", "s%d" % (i % 3))],
                        BASE_TS + i * 1000, doc=doc))
    for j, text in enumerate(TEXTS):
        recs.append(Rec(None, j % PARTITIONS, "text-%d" % j, text.encode(), [("src", "text")],
                        BASE_TS + (N_JSON + j) * 1000, text=text))
    recs.append(Rec(None, 1, "bin-key", BINARY, [("kind", "binary")], BASE_TS + (N_JSON + 10) * 1000))
    return recs


def terms_agg(recs, values_of, size=10):
    c = Counter()
    for r in recs:
        for v in set(values_of(r)):
            c[v] += 1
    ordered = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": sum(n for _, n in ordered[size:]),
            "buckets": [{"key": k, "doc_count": n} for k, n in ordered[:size]]}


def histogram_agg(recs, values_of, interval, dates=False):
    c = Counter()
    for r in recs:
        for b in {(v // interval) * interval for v in values_of(r)}:
            c[b] += 1
    if not c:
        return {"buckets": []}
    lo, hi = min(c), max(c)
    keys = [lo + k * interval for k in range(int((hi - lo) // interval) + 1)]
    out = []
    for k in keys:
        b = {"key": k, "doc_count": c.get(k, 0)}
        if dates:
            b["key_as_string"] = iso_ms_string(int(k))
        out.append(b)
    return {"buckets": out}


def calendar_agg(recs, values_of, months):
    """date_histogram with calendar months (1), quarters (3) or years (12), in UTC."""
    def index(ms):
        t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
        return (t.year * 12 + t.month - 1) // months * months

    def start(i):
        return int(datetime.datetime(i // 12, i % 12 + 1, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)
    c = Counter()
    for r in recs:
        for b in {index(v) for v in values_of(r)}:
            c[b] += 1
    return {"buckets": [{"key": start(i), "key_as_string": iso_ms_string(start(i)), "doc_count": c.get(i, 0)}
                        for i in range(min(c), max(c) + 1, months)] if c else []}


def stats_of(values):
    if not values:
        return {"count": 0, "min": None, "max": None, "avg": None, "sum": 0}
    return {"count": len(values), "min": min(values), "max": max(values), "avg": sum(values) / len(values),
            "sum": sum(values)}


# ---------------------------------------------------------------------------------------------
# HTTP.

def http(method, url, body=None, raw=None, content_type="application/json"):
    """(status, headers, bytes) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": content_type} if data is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_for(what, check, timeout=30, interval=0.05):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def drop_took(body):
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "took"}
        if "responses" in body:
            body["responses"] = [drop_took(x) for x in body["responses"]]
    return body


class Search:
    """The search API of one port."""

    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def call(self, method, path, body=None, raw=None, content_type="application/json"):
        status, _, data = http(method, self.base + path, body, raw, content_type)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode("utf-8", "replace")

    def ok(self, method, path, body=None):
        status, out = self.call(method, path, body)
        if status != 200:
            raise AssertionError("%s %s %s: %s %s" % (method, path, json.dumps(body), status, out))
        return out

    def search(self, body, index=TOPIC):
        return self.ok("POST", "/%s/_search" % index, body)

    def count(self, query=None, index=TOPIC):
        status, out = self.call("POST", "/%s/_count" % index, {"query": query} if query is not None else {})
        if status != 200:
            return None
        return out["count"]

    def ids(self, query, index=TOPIC):
        out = self.search({"query": query, "size": 5000, "_source": False}, index)
        return {h["_id"] for h in out["hits"]["hits"]}, out["hits"]["total"]["value"]


def lag_records(metrics_port):
    _, _, body = http("GET", "http://127.0.0.1:%d/metrics" % metrics_port)
    m = re.search(r"^chronik_search_lag_records(?:\{\})? (\S+)$", body.decode(), re.M)
    return float(m.group(1)) if m else None


def produce(bootstrap, topic, records, **config):
    """records: dicts of produce() arguments; every one must be acknowledged. Returns their
    (partition, offset), in order."""
    p = Producer(dict({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                       "enable.idempotence": True}, **config))
    where = [None] * len(records)
    errors = []

    def report(k):
        def cb(err, msg):
            if err is not None:
                errors.append(err)
            else:
                where[k] = (msg.partition(), msg.offset())
        return cb

    for k, r in enumerate(records):
        while True:
            try:
                p.produce(topic, on_delivery=report(k), **r)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(30) == 0, "records still in flight"
    assert not errors, errors
    return where


def start(broker, search=True):
    """Starts the broker and waits until it is ready: Broker.start returns once the Kafka port
    accepts connections, which it does before the broker serves (the kernel's backlog)."""
    broker.start()

    def ready():
        try:
            if http("GET", "http://127.0.0.1:%d/ready" % broker.admin_port)[0] != 200:
                return False
            return not search or http("GET", "http://127.0.0.1:%d/" % broker.search_port)[0] == 200
        except OSError:
            return False

    wait_for("the broker ready", ready, timeout=20)
    return broker


def log_tail(broker, n=4000):
    return broker.read_log()[-n:]


# elasticsearch-py 8.x, in its own interpreter: runs the operations of a JSON spec on stdin and prints
# the answers (bodies, or the status and error type of an ApiError).
ES8_SCRIPT = r'''
import json, sys
import elasticsearch
from elasticsearch import ApiError, Elasticsearch
spec = json.load(sys.stdin)
es = Elasticsearch(spec["url"], request_timeout=30)
out = {"version": elasticsearch.__versionstr__, "file": elasticsearch.__file__, "results": []}
for op, args in spec["ops"]:
    try:
        if op == "info":
            r = es.info()
        elif op == "search":
            kwargs = {"index": args["index"]}
            for k, v in args.get("body", {}).items():
                kwargs[{"from": "from_", "_source": "source"}.get(k, k)] = v
            kwargs.update(args.get("params", {}))
            r = es.search(**kwargs)
        elif op == "count":
            r = es.count(index=args["index"], **args.get("body", {}))
        elif op == "msearch":
            r = es.msearch(searches=args["searches"])
        elif op == "get":
            r = es.get(index=args["index"], id=args["id"])
        elif op == "mapping":
            r = es.indices.get_mapping(index=args["index"])
        elif op == "cat":
            r = es.cat.indices(format="json")
        elif op == "exists":
            r = bool(es.indices.exists(index=args["index"]))
        out["results"].append({"ok": r.body if hasattr(r, "body") else r})
    except ApiError as e:
        body = e.body if isinstance(e.body, dict) else {}
        out["results"].append({"error": e.meta.status, "type": body.get("error", {}).get("type")})
print(json.dumps(out))
'''


class SearchTest(unittest.TestCase):
    """One broker with --enable-search and the corpus; the durability test (last) restarts it."""

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(extra_args=["--enable-search"])
        try:
            start(cls.broker)
            cls.load()
        except BaseException:
            cls.broker.stop(sig=signal.SIGKILL)
            raise

    @classmethod
    def load(cls):
        cls.api = Search(cls.broker.search_port)
        cls.admin = AdminClient({"bootstrap.servers": cls.broker.bootstrap})
        topics = [NewTopic(TOPIC, PARTITIONS, 1), NewTopic("logs-b", 1, 1), NewTopic("other", 1, 1),
                  NewTopic("_private", 1, 1)]
        for f in cls.admin.create_topics(topics).values():
            f.result(10)
        cls.recs = build_corpus()
        started = time.time()
        where = produce(cls.broker.bootstrap, TOPIC,
                        [dict(value=r.value, key=r.key.encode(), partition=r.partition, headers=r.headers,
                              timestamp=r.ts) for r in cls.recs])
        for r, (p, o) in zip(cls.recs, where):
            assert p == r.partition
            r.finish(o)
        cls.by_id = {r.id: r for r in cls.recs}
        produce(cls.broker.bootstrap, "logs-b", [dict(value=json.dumps({"level": "error", "n": n}).encode())
                                                 for n in range(30)])
        produce(cls.broker.bootstrap, "other", [dict(value=b"some other text %d" % n) for n in range(7)])
        # Kafka allows a topic name that starts with _ (Schema Registry's _schemas).
        produce(cls.broker.bootstrap, "_private", [dict(value=b'{"private": %d}' % n) for n in range(3)])
        produced = time.time()

        def docs(index):
            return [row["docs.count"] for row in cls.api.ok("GET", "/_cat/indices?format=json") if row["index"] == index]

        wait_for("the corpus indexed", lambda: cls.api.count(index=TOPIC) == len(cls.recs)
                 and cls.api.count(index="logs-b") == 30 and cls.api.count(index="other") == 7
                 and docs("_private") == ["3"])
        print("\ncorpus: %d records produced in %.2f s, indexed %.2f s later" %
              (len(cls.recs), produced - started, time.time() - produced), flush=True)

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        assert code == 0, "exit code %s\n%s" % (code, log_tail(cls.broker))

    # -----------------------------------------------------------------------------------------
    # Queries.

    def query_cases(self):
        """(name, query, predicate over a Rec): Elasticsearch's answer."""
        at = lambda s: date_ms(s)  # noqa: E731
        cases = [
            ("match", {"match": {"msg": "disk"}}, lambda r: "disk" in r.toks("msg")),
            ("match or", {"match": {"msg": "disk failed"}}, lambda r: r.toks("msg") & {"disk", "failed"}),
            ("match and", {"match": {"msg": {"query": "disk failed", "operator": "and"}}},
             lambda r: {"disk", "failed"} <= r.toks("msg")),
            ("match case-insensitive", {"match": {"msg": "ALPHA01"}}, lambda r: "alpha01" in r.toks("msg")),
            ("match nested field", {"match": {"user.name": "carol"}}, lambda r: "carol" in r.toks("user.name")),
            ("match non-JSON value", {"match": {"value": "plain"}}, lambda r: "plain" in r.toks("value")),
            ("match_phrase", {"match_phrase": {"msg": "quick brown fox"}}, lambda r: r.phrase("msg", "quick brown fox")),
            ("match_phrase reversed", {"match_phrase": {"msg": "brown quick"}}, lambda r: r.phrase("msg", "brown quick")),
            ("match_phrase non-JSON", {"match_phrase": {"value": "quick brown"}},
             lambda r: r.phrase("value", "quick brown")),
            ("multi_match", {"multi_match": {"query": "alice quick", "fields": ["msg", "user.name"]}},
             lambda r: (r.toks("msg") | r.toks("user.name")) & {"alice", "quick"}),
            ("term keyword", {"term": {"level": "error"}}, lambda r: "error" in r.strs("level")),
            ("term keyword value", {"term": {"host": {"value": "beta02"}}}, lambda r: "beta02" in r.strs("host")),
            ("terms keyword", {"terms": {"level": ["error", "debug"]}},
             lambda r: set(r.strs("level")) & {"error", "debug"}),
            ("term number", {"term": {"ms": 37}}, lambda r: 37.0 in r.nums("ms")),
            ("term negative number", {"term": {"delta": -10}}, lambda r: -10.0 in r.nums("delta")),
            ("terms numbers", {"terms": {"ms": [370.5, 74, 999]}}, lambda r: set(r.nums("ms")) & {370.5, 74.0, 999.0}),
            ("term nested number", {"term": {"user.id": 5}}, lambda r: 5.0 in r.nums("user.id")),
            ("term boolean", {"term": {"ok": True}}, lambda r: True in r.fields.get("ok", [])),
            ("term _key", {"term": {"_key": "k7"}}, lambda r: r.key == "k7"),
            ("term header", {"term": {"_headers.src": "s1"}}, lambda r: ("src", "s1") in r.headers),
            ("term header of the binary record", {"term": {"_headers.kind": "binary"}},
             lambda r: ("kind", "binary") in r.headers),
            ("term non-JSON keyword", {"term": {"value": "42"}}, lambda r: "42" in r.strs("value")),
            ("term array element", {"term": {"tags": "t2"}}, lambda r: "t2" in r.strs("tags")),
            # Elasticsearch's dynamic mapping (and this API's _mapping) gives every string a
            # `.keyword` subfield: the exact-value form of term, terms, prefix, wildcard and exists.
            ("term field.keyword", {"term": {"level.keyword": "error"}}, lambda r: "error" in r.strs("level")),
            ("terms field.keyword", {"terms": {"user.name.keyword": ["alice", "bob"]}},
             lambda r: set(r.strs("user.name")) & {"alice", "bob"}),
            ("range numbers", {"range": {"ms": {"gte": 100, "lt": 200}}}, lambda r: any(100 <= v < 200 for v in r.nums("ms"))),
            ("range gt", {"range": {"ms": {"gt": 990}}}, lambda r: any(v > 990 for v in r.nums("ms"))),
            ("range negative numbers", {"range": {"delta": {"gte": -3, "lt": 2}}},
             lambda r: any(-3 <= v < 2 for v in r.nums("delta"))),
            ("range fractions", {"range": {"ms": {"lte": 0.5}}}, lambda r: any(v <= 0.5 for v in r.nums("ms"))),
            ("range dates ISO", {"range": {"at": {"gte": "2024-03-03T00:00:00Z", "lt": "2024-03-05T12:00:00Z"}}},
             lambda r: any(at("2024-03-03T00:00:00Z") <= v < at("2024-03-05T12:00:00Z") for v in r.nums("at"))),
            ("range dates epoch ms", {"range": {"at": {"gte": BASE_AT + 86400000, "lte": BASE_AT + 2 * 86400000}}},
             lambda r: any(BASE_AT + 86400000 <= v <= BASE_AT + 2 * 86400000 for v in r.nums("at"))),
            ("range dates date-only", {"range": {"at": {"gte": "2024-03-08"}}},
             lambda r: any(v >= at("2024-03-08") for v in r.nums("at"))),
            ("range _timestamp", {"range": {"_timestamp": {"gte": BASE_TS + 500000, "lt": BASE_TS + 600000}}},
             lambda r: BASE_TS + 500000 <= r.ts < BASE_TS + 600000),
            ("prefix", {"prefix": {"host": "alp"}}, lambda r: any(s.startswith("alp") for s in r.strs("host"))),
            ("prefix value", {"prefix": {"host": {"value": "beta0"}}},
             lambda r: any(s.startswith("beta0") for s in r.strs("host"))),
            ("wildcard", {"wildcard": {"host": "*ta0?"}},
             lambda r: any(re.fullmatch(r".*ta0.", s) for s in r.strs("host"))),
            ("wildcard value", {"wildcard": {"user.name": {"value": "?a*"}}},
             lambda r: any(re.fullmatch(r".a.*", s) for s in r.strs("user.name"))),
            ("exists", {"exists": {"field": "at"}}, lambda r: r.has("at")),
            ("exists array", {"exists": {"field": "tags"}}, lambda r: r.has("tags")),
            ("exists value", {"exists": {"field": "value"}}, lambda r: r.has("value")),
            ("match long text", {"match": {"note": "lorem17"}}, lambda r: "lorem17" in r.toks("note")),
            # A string longer than 256 characters has no keyword, but the field exists.
            ("exists long text", {"exists": {"field": "note"}}, lambda r: r.has("note")),
            ("ids", {"ids": {"values": ["0-0", "1-0", "2-5", "0-999999", "bogus", "1-%d" % self.recs[-1].offset]}},
             lambda r: r.id in {"0-0", "1-0", "2-5", "1-%d" % self.recs[-1].offset}),
            ("term _id", {"term": {"_id": "1-3"}}, lambda r: r.id == "1-3"),
            ("terms _id", {"terms": {"_id": ["0-3", "2-7", "1-9"]}}, lambda r: r.id in {"0-3", "2-7", "1-9"}),
            # match on a number matches the number, as a term query would.
            ("match number", {"match": {"ms": 37}}, lambda r: 37.0 in r.nums("ms")),
            ("bool must filter must_not",
             {"bool": {"must": [{"match": {"msg": "disk"}}], "filter": [{"range": {"ms": {"gte": 500}}}],
                       "must_not": [{"term": {"level": "debug"}}]}},
             lambda r: "disk" in r.toks("msg") and any(v >= 500 for v in r.nums("ms")) and "debug" not in r.strs("level")),
            ("bool minimum_should_match 2",
             {"bool": {"should": [{"term": {"level": "error"}}, {"term": {"level": "warn"}}, {"match": {"msg": "cpu"}}],
                       "minimum_should_match": 2}},
             lambda r: sum(["error" in r.strs("level"), "warn" in r.strs("level"), "cpu" in r.toks("msg")]) >= 2),
            ("bool should only", {"bool": {"should": [{"term": {"host": "alpha01"}}, {"term": {"host": "beta01"}}]}},
             lambda r: set(r.strs("host")) & {"alpha01", "beta01"}),
            ("bool must_not only", {"bool": {"must_not": [{"term": {"ok": True}}]}},
             lambda r: True not in r.fields.get("ok", [])),
            ("bool filter with optional should",
             {"bool": {"filter": {"term": {"shard": 0}}, "should": [{"match": {"msg": "full"}}]}},
             lambda r: 0.0 in r.nums("shard")),
            ("bool filter with required should",
             {"bool": {"filter": {"term": {"shard": 0}}, "should": [{"match": {"msg": "full"}}, {"match": {"msg": "slow"}}],
                       "minimum_should_match": 1}},
             lambda r: 0.0 in r.nums("shard") and r.toks("msg") & {"full", "slow"}),
            ("bool nested",
             {"bool": {"must": [{"bool": {"should": [{"term": {"level": "error"}}, {"term": {"level": "warn"}}]}}],
                       "must_not": [{"bool": {"must": [{"match": {"msg": "disk"}}, {"match": {"msg": "full"}}]}}]}},
             lambda r: set(r.strs("level")) & {"error", "warn"} and not {"disk", "full"} <= r.toks("msg")),
            ("constant_score", {"constant_score": {"filter": {"term": {"level": "warn"}}}}, lambda r: "warn" in r.strs("level")),
            ("match_all", {"match_all": {}}, lambda r: True),
            ("query_string AND", {"query_string": {"query": "level:error AND msg:disk"}},
             lambda r: "error" in r.toks("level") and "disk" in r.toks("msg")),
            ("query_string OR", {"query_string": {"query": "level:error OR level:warn"}},
             lambda r: r.toks("level") & {"error", "warn"}),
            ("query_string phrase", {"query_string": {"query": 'msg:"quick brown fox"'}},
             lambda r: r.phrase("msg", "quick brown fox")),
            ("query_string NOT and range", {"query_string": {"query": "NOT level:info AND shard:[1 TO 2]"}},
             lambda r: "info" not in r.toks("level") and any(1 <= v <= 2 for v in r.nums("shard"))),
            ("query_string exclusive range", {"query_string": {"query": "ms:{100 TO 200}"}},
             lambda r: any(100 < v < 200 for v in r.nums("ms"))),
            ("query_string open range", {"query_string": {"query": "level:warn AND ms:[500 TO *]"}},
             lambda r: "warn" in r.toks("level") and any(v >= 500 for v in r.nums("ms"))),
            ("query_string comparison", {"query_string": {"query": "ms:>=900"}}, lambda r: any(v >= 900 for v in r.nums("ms"))),
            ("query_string wildcard on a one-word field", {"query_string": {"query": "host:gam*"}},
             lambda r: any(t.startswith("gam") for t in r.toks("host"))),
            ("query_string minus", {"query_string": {"query": "user.name:alice AND -level:info"}},
             lambda r: "alice" in r.toks("user.name") and "info" not in r.toks("level")),
            ("query_string default_field and operator",
             {"query_string": {"query": "disk full", "default_field": "msg", "default_operator": "AND"}},
             lambda r: {"disk", "full"} <= r.toks("msg")),
            ("query_string grouping", {"query_string": {"query": "(level:error OR level:debug) AND msg:cache"}},
             lambda r: r.toks("level") & {"error", "debug"} and "cache" in r.toks("msg")),
            # field:value on a number is a term query on it in Elasticsearch.
            ("query_string number", {"query_string": {"query": "ms:37"}}, lambda r: 37.0 in r.nums("ms")),
            # A wildcard on a text field matches its words (terms), not the whole string.
            ("query_string wildcard on a text field", {"query_string": {"query": "msg:fai*"}},
             lambda r: any(t.startswith("fai") for t in r.toks("msg"))),
        ]
        return cases

    def uri_cases(self):
        """(name, URI parameters, predicate)."""
        return [
            ("q field", {"q": "level:error"}, lambda r: "error" in r.toks("level")),
            ("q df", {"q": "disk", "df": "msg"}, lambda r: "disk" in r.toks("msg")),
            ("q df AND", {"q": "disk full", "df": "msg", "default_operator": "AND"},
             lambda r: {"disk", "full"} <= r.toks("msg")),
            ("q df OR", {"q": "disk full", "df": "msg"}, lambda r: r.toks("msg") & {"disk", "full"}),
            ("q phrase", {"q": 'msg:"quick brown fox"'}, lambda r: r.phrase("msg", "quick brown fox")),
            ("q boolean and range", {"q": "level:warn AND ms:[500 TO *]"},
             lambda r: "warn" in r.toks("level") and any(v >= 500 for v in r.nums("ms"))),
            ("q NOT", {"q": "user.name:bob AND NOT host:alpha01"},
             lambda r: "bob" in r.toks("user.name") and "alpha01" not in r.toks("host")),
            ("q key", {"q": "_key:k7"}, lambda r: r.key == "k7"),
            ("q all fields", {"q": "plain"}, lambda r: any("plain" in r.toks(f) for f in r.fields if not f.startswith("_"))),
        ]

    def test_a_queries_match_the_corpus(self):
        recs = self.recs
        for name, query, pred in self.query_cases():
            with self.subTest(query=name):
                want = {r.id for r in recs if pred(r)}
                self.assertTrue(0 < len(want) < len(recs) or name == "match_all", "a vacuous case: %s" % name)
                got, total = self.api.ids(query)
                self.assertEqual(total, len(want), "%s: %s" % (name, json.dumps(query)))
                self.assertEqual(self.api.count(query), len(want), name)
                self.assertEqual(sorted(got - want)[:5], [], "%s: hits that should not be" % name)
                self.assertEqual(sorted(want - got)[:5], [], "%s: hits missing" % name)
        # Sanity of the corpus itself: the cases are not vacuous.
        self.assertGreater(sum(1 for r in recs if r.phrase("msg", "quick brown fox")), 100)
        self.assertGreater(sum(1 for r in recs if not r.has("at") and r.doc is not None), 10)

    def test_a_uri_search_and_curl(self):
        for name, params, pred in self.uri_cases():
            with self.subTest(uri=name):
                want = len([r for r in self.recs if pred(r)])
                self.assertTrue(0 < want < len(self.recs), "a vacuous case: %s" % name)
                path = "/%s/_search?%s" % (TOPIC, urllib.parse.urlencode(dict(params, size=0)))
                out = self.api.ok("GET", path)
                self.assertEqual(out["hits"]["total"]["value"], want, "%s: %s" % (name, path))
                count = self.api.ok("GET", "/%s/_count?%s" % (TOPIC, urllib.parse.urlencode(params)))["count"]
                self.assertEqual(count, want, name)
                args = ["curl", "-s", "-G", self.api.base + "/%s/_search" % TOPIC, "--data-urlencode", "size=0"]
                for k, v in params.items():
                    args += ["--data-urlencode", "%s=%s" % (k, v)]
                p = subprocess.run(args, capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(drop_took(json.loads(p.stdout)), drop_took(out), name)
        # A plain curl of a simple URI search, and HEAD /.
        p = subprocess.run(["curl", "-s", "%s/%s/_search?q=level:error&size=3&sort=seq:desc" % (self.api.base, TOPIC)],
                           capture_output=True, text=True, timeout=30)
        hits = json.loads(p.stdout)["hits"]["hits"]
        want = sorted((r for r in self.recs if r.doc and r.doc["level"] == "error"), key=lambda r: -r.i)[:3]
        self.assertEqual([h["_id"] for h in hits], [r.id for r in want])
        p = subprocess.run(["curl", "-s", "-I", self.api.base + "/"], capture_output=True, text=True, timeout=30)
        self.assertIn("200", p.stdout.splitlines()[0])
        self.assertIn("x-elastic-product: elasticsearch", p.stdout.lower())

    def test_a_aggregations(self):
        recs = self.recs
        docs = [r for r in recs if r.doc is not None]
        kw = lambda f: lambda r: [s for s in r.strs(f) if len(s) <= 256]  # noqa: E731
        num = lambda f: lambda r: r.nums(f)  # noqa: E731
        ms_values = [v for r in recs for v in r.nums("ms")]
        cases = [
            ("terms", {"terms": {"field": "level.keyword"}}, recs, terms_agg(recs, kw("level"))),
            ("terms size", {"terms": {"field": "user.name.keyword", "size": 3}}, recs, terms_agg(recs, kw("user.name"), 3)),
            ("terms numbers", {"terms": {"field": "shard"}}, recs, terms_agg(recs, num("shard"))),
            ("terms array", {"terms": {"field": "tags.keyword"}}, recs, terms_agg(recs, kw("tags"))),
            ("terms key", {"terms": {"field": "_key", "size": 5}}, recs, terms_agg(recs, lambda r: [r.key], 5)),
            ("histogram", {"histogram": {"field": "ms", "interval": 100}}, recs, histogram_agg(recs, num("ms"), 100)),
            ("histogram negative", {"histogram": {"field": "delta", "interval": 5}}, recs,
             histogram_agg(recs, num("delta"), 5)),
            ("terms ignore_above", {"terms": {"field": "note.keyword"}}, recs, terms_agg(recs, kw("note"))),
            ("range negative", {"range": {"field": "delta",
                                          "ranges": [{"key": "neg", "to": 0}, {"key": "pos", "from": 0}]}}, recs,
             {"buckets": [{"key": "neg", "to": 0, "doc_count": sum(1 for r in recs for v in r.nums("delta") if v < 0)},
                          {"key": "pos", "from": 0, "doc_count": sum(1 for r in recs for v in r.nums("delta") if v >= 0)}]}),
            ("stats negative", {"stats": {"field": "delta"}}, recs, stats_of([v for r in recs for v in r.nums("delta")])),
            ("date_histogram fixed 1d", {"date_histogram": {"field": "at", "fixed_interval": "1d"}}, recs,
             histogram_agg(recs, num("at"), 86400000, dates=True)),
            ("date_histogram fixed 6h", {"date_histogram": {"field": "at", "fixed_interval": "6h"}}, recs,
             histogram_agg(recs, num("at"), 6 * 3600000, dates=True)),
            ("date_histogram calendar day", {"date_histogram": {"field": "at", "calendar_interval": "day"}}, recs,
             histogram_agg(recs, num("at"), 86400000, dates=True)),
            ("date_histogram calendar month", {"date_histogram": {"field": "at", "calendar_interval": "month"}}, recs,
             calendar_agg(recs, num("at"), 1)),
            ("date_histogram calendar year", {"date_histogram": {"field": "at", "calendar_interval": "1y"}}, recs,
             calendar_agg(recs, num("at"), 12)),
            ("date_histogram _timestamp", {"date_histogram": {"field": "_timestamp", "fixed_interval": "10m"}}, recs,
             histogram_agg(recs, num("_timestamp"), 600000, dates=True)),
            ("range keyed", {"range": {"field": "ms", "ranges": [{"key": "low", "to": 250},
                                                                  {"key": "mid", "from": 250, "to": 500},
                                                                  {"key": "high", "from": 500}]}}, recs,
             {"buckets": [{"key": "low", "to": 250, "doc_count": sum(1 for v in ms_values if v < 250)},
                          {"key": "mid", "from": 250, "to": 500, "doc_count": sum(1 for v in ms_values if 250 <= v < 500)},
                          {"key": "high", "from": 500, "doc_count": sum(1 for v in ms_values if v >= 500)}]}),
            ("stats", {"stats": {"field": "ms"}}, recs, stats_of(ms_values)),
            ("min", {"min": {"field": "ms"}}, recs, {"value": min(ms_values)}),
            ("max", {"max": {"field": "ms"}}, recs, {"value": max(ms_values)}),
            ("avg", {"avg": {"field": "ms"}}, recs, {"value": sum(ms_values) / len(ms_values)}),
            ("sum", {"sum": {"field": "ms"}}, recs, {"value": sum(ms_values)}),
            ("value_count", {"value_count": {"field": "ms"}}, recs, {"value": len(ms_values)}),
            ("value_count keyword", {"value_count": {"field": "level.keyword"}}, recs, {"value": len(docs)}),
            ("min date", {"min": {"field": "at"}}, recs, {"value": min(v for r in recs for v in r.nums("at"))}),
            ("cardinality keyword", {"cardinality": {"field": "user.name.keyword"}}, recs, {"value": len(USERS)}),
            ("cardinality numbers", {"cardinality": {"field": "ms"}}, recs, {"value": len(set(ms_values))}),
            ("cardinality hosts", {"cardinality": {"field": "host.keyword"}}, recs, {"value": len(HOSTS)}),
        ]
        for name, agg, scope, want in cases:
            with self.subTest(agg=name):
                out = self.api.search({"size": 0, "aggs": {"a": agg}})
                self.assertEqual(out["hits"]["total"]["value"], len(scope))
                got = out["aggregations"]["a"]
                got = {k: got.get(k) for k in want}  # Elasticsearch may add value_as_string and the like
                if "avg" in want or name == "avg":
                    key = "avg" if "avg" in want else "value"
                    self.assertAlmostEqual(got.pop(key), want[key], places=6)
                    want = {k: v for k, v in want.items() if k != key}
                self.assertEqual(got, want, "%s: %s" % (name, json.dumps(agg)))

        # Aggregations over a query's hits, several at once.
        with self.subTest(agg="under a query"):
            query = {"bool": {"must": {"match": {"msg": "disk"}}, "filter": {"range": {"ms": {"gte": 300}}}}}
            scope = [r for r in recs if "disk" in r.toks("msg") and any(v >= 300 for v in r.nums("ms"))]
            out = self.api.search({"size": 0, "query": query, "aggs": {
                "levels": {"terms": {"field": "level.keyword", "size": 2}},
                "hist": {"histogram": {"field": "ms", "interval": 250}},
                "s": {"stats": {"field": "user.id"}},
                "users": {"cardinality": {"field": "user.name.keyword"}}}})
            self.assertEqual(out["hits"]["total"]["value"], len(scope))
            a = out["aggregations"]
            self.assertEqual(a["levels"], terms_agg(scope, kw("level"), 2))
            self.assertEqual(a["hist"], histogram_agg(scope, num("ms"), 250))
            want = stats_of([v for r in scope for v in r.nums("user.id")])
            self.assertAlmostEqual(a["s"].pop("avg"), want.pop("avg"), places=6)
            self.assertEqual(a["s"], want)
            self.assertEqual(a["users"], {"value": len({r.doc["user"]["name"] for r in scope})})
        with self.subTest(agg="over no hits"):
            out = self.api.search({"size": 0, "query": {"term": {"level": "nope"}},
                                   "aggs": {"s": {"stats": {"field": "ms"}}, "t": {"terms": {"field": "level.keyword"}}}})
            self.assertEqual(out["aggregations"]["s"], stats_of([]))
            self.assertEqual(out["aggregations"]["t"]["buckets"], [])
        # Elasticsearch names an unkeyed range bucket by its bounds as doubles ("*-250.0").
        with self.subTest(agg="range bucket keys"):
            out = self.api.search({"size": 0, "aggs": {"r": {"range": {"field": "ms", "ranges": [
                {"to": 250}, {"from": 250, "to": 500}, {"from": 500}]}}}})
            buckets = out["aggregations"]["r"]["buckets"]
            self.assertEqual([b["doc_count"] for b in buckets],
                             [sum(1 for v in ms_values if v < 250), sum(1 for v in ms_values if 250 <= v < 500),
                              sum(1 for v in ms_values if v >= 500)])
            self.assertEqual([(b.get("from"), b.get("to")) for b in buckets], [(None, 250), (250, 500), (500, None)])
            self.assertEqual([b["key"] for b in buckets], ["*-250.0", "250.0-500.0", "500.0-*"])

    def test_a_sort_pages_source_highlight(self):
        recs = self.recs
        docs = [r for r in recs if r.doc is not None]
        # Sort by a numeric field, ascending and descending: the values in order, missing last.
        for order in ("asc", "desc"):
            want = sorted((r.doc["ms"] for r in docs), reverse=order == "desc")
            got = []
            for page in range(0, 400, 100):
                out = self.api.search({"sort": [{"ms": {"order": order}}], "from": page, "size": 100,
                                       "_source": ["ms"]})
                for h in out["hits"]["hits"]:
                    self.assertEqual(h["sort"], [h["_source"]["ms"]])
                    got.append(h["_source"]["ms"])
            self.assertEqual(got, want[:400], order)
            out = self.api.search({"sort": [{"ms": order}], "from": len(docs) - 2, "size": 10})
            self.assertEqual(len(out["hits"]["hits"]), 8)
            self.assertEqual([h["_source"].get("ms") for h in out["hits"]["hits"][:2]], want[-2:])
            self.assertEqual({h["_id"] for h in out["hits"]["hits"][2:]}, {r.id for r in recs if r.doc is None})
        # Negative numbers and keywords.
        out = self.api.search({"sort": [{"delta": "asc"}], "size": 150, "_source": ["delta"]})
        self.assertEqual([h["_source"]["delta"] for h in out["hits"]["hits"]], sorted(r.doc["delta"] for r in docs)[:150])
        out = self.api.search({"sort": [{"user.name.keyword": "desc"}], "from": 1700, "size": 100, "_source": ["user"]})
        want = sorted((r.doc["user"]["name"] for r in docs), reverse=True)[1700:1800]
        self.assertEqual([h["_source"]["user"]["name"] for h in out["hits"]["hits"]], want)
        self.assertEqual([h["sort"] for h in out["hits"]["hits"]], [[w] for w in want])
        # Pages of a unique sort key put together are the whole answer, in order.
        want_ids = [r.id for r in sorted(docs, key=lambda r: r.i)]
        got_ids = []
        for page in range(0, N_JSON, 250):
            out = self.api.search({"query": {"exists": {"field": "seq"}}, "sort": ["seq"], "from": page, "size": 250,
                                   "_source": False})
            self.assertEqual(out["hits"]["total"]["value"], N_JSON)
            got_ids += [h["_id"] for h in out["hits"]["hits"]]
        self.assertEqual(got_ids, want_ids)
        out = self.api.search({"sort": [{"seq": "desc"}], "from": 5, "size": 7})
        self.assertEqual([h["_id"] for h in out["hits"]["hits"]], want_ids[::-1][5:12])
        self.assertEqual([h["_source"] for h in out["hits"]["hits"]], [self.by_id[i].source for i in want_ids[::-1][5:12]])
        # _offset within a partition, both ways; across partitions the offsets in order.
        p1 = sorted((r for r in recs if r.partition == 1), key=lambda r: r.offset)
        out = self.api.search({"query": {"term": {"_partition": 1}}, "sort": ["_offset"], "from": 10, "size": 20})
        self.assertEqual([h["_id"] for h in out["hits"]["hits"]], [r.id for r in p1[10:30]])
        self.assertEqual([h["sort"] for h in out["hits"]["hits"]], [[r.offset] for r in p1[10:30]])
        out = self.api.search({"query": {"term": {"_partition": 1}}, "sort": [{"_offset": "desc"}], "size": 5})
        self.assertEqual([h["_id"] for h in out["hits"]["hits"]], [r.id for r in p1[::-1][:5]])
        out = self.api.search({"sort": [{"_offset": "asc"}], "size": 30})
        self.assertEqual([h["_offset"] for h in out["hits"]["hits"]], sorted(r.offset for r in recs)[:30])
        # _timestamp.
        out = self.api.search({"sort": [{"_timestamp": "desc"}], "size": 12})
        self.assertEqual([h["_id"] for h in out["hits"]["hits"]], [r.id for r in sorted(recs, key=lambda r: -r.ts)[:12]])
        self.assertEqual([h["_timestamp"] for h in out["hits"]["hits"]], sorted((r.ts for r in recs), reverse=True)[:12])
        # _score: a match's hits by descending score, max_score the first.
        out = self.api.search({"query": {"match": {"msg": "quick fox"}}, "size": 50})
        scores = [h["_score"] for h in out["hits"]["hits"]]
        self.assertEqual(scores, sorted(scores, reverse=True))
        self.assertEqual(out["hits"]["max_score"], scores[0])
        self.assertGreater(scores[0], 0)
        # A hit carries its topic, id, partition, offset, timestamp and key.
        h = self.api.search({"query": {"ids": {"values": [recs[42].id]}}})["hits"]["hits"][0]
        r = recs[42]
        self.assertEqual((h["_index"], h["_id"], h["_partition"], h["_offset"], h["_timestamp"], h["_key"], h["_source"]),
                         (TOPIC, r.id, r.partition, r.offset, r.ts, r.key, r.doc))

        # _source filtering.
        r = recs[30]  # has tags
        ids = {"ids": {"values": [r.id]}}
        src = lambda spec: self.api.search({"query": ids, "_source": spec})["hits"]["hits"][0].get("_source")  # noqa: E731
        self.assertEqual(src(["level", "user.*"]), {"level": r.doc["level"], "user": r.doc["user"]})
        self.assertEqual(src({"includes": ["user.*", "msg"], "excludes": ["user.id"]}),
                         {"msg": r.doc["msg"], "user": {"name": r.doc["user"]["name"]}})
        self.assertEqual(src({"excludes": ["msg", "user", "tags"]}),
                         {k: v for k, v in r.doc.items() if k not in ("msg", "user", "tags")})
        self.assertEqual(src("level"), {"level": r.doc["level"]})
        self.assertEqual(src(["tags"]), {"tags": r.doc["tags"]})
        self.assertEqual(src(["nothing"]), {})
        self.assertIsNone(src(False))
        self.assertEqual(src(True), r.doc)
        out = self.api.ok("GET", "/%s/_search?q=_key:k7&_source=false&size=3" % TOPIC)
        self.assertEqual([h for h in out["hits"]["hits"] if "_source" in h], [])
        self.assertEqual(len(out["hits"]["hits"]), 3)

        # Highlight: the query's words marked in the fields asked for.
        out = self.api.search({"query": {"match": {"msg": "disk"}}, "highlight": {"fields": {"msg": {}, "level": {}}},
                               "size": 20, "sort": ["seq"]})
        self.assertEqual(len(out["hits"]["hits"]), 20)
        for h in out["hits"]["hits"]:
            msg = self.by_id[h["_id"]].doc["msg"]
            self.assertEqual(h["highlight"], {"msg": [msg.replace("disk", "<em>disk</em>")]})
        out = self.api.search({"query": {"match_phrase": {"msg": "quick brown fox"}},
                               "highlight": {"pre_tags": ["[["], "post_tags": ["]]"], "fields": {"msg": {}}},
                               "size": 5, "sort": ["seq"]})
        for h in out["hits"]["hits"]:
            msg = self.by_id[h["_id"]].doc["msg"]
            self.assertEqual(h["highlight"]["msg"], [msg.replace("quick brown fox", "[[quick]] [[brown]] [[fox]]")])
        out = self.api.search({"query": {"match": {"value": "brown"}}, "highlight": {"fields": {"value": {}}}})
        self.assertEqual([h["highlight"] for h in out["hits"]["hits"]], [{"value": ["Quick <em>Brown</em> Fox jumps"]}])

        # track_total_hits and timeout.
        out = self.api.search({"track_total_hits": False, "size": 1})
        self.assertNotIn("total", out["hits"])
        out = self.api.search({"track_total_hits": 100, "size": 1})
        self.assertEqual(out["hits"]["total"], {"value": 100, "relation": "gte"})
        out = self.api.search({"track_total_hits": True, "size": 0, "timeout": "10s"})
        self.assertEqual(out["hits"]["total"], {"value": len(recs), "relation": "eq"})
        self.assertFalse(out["timed_out"])

    def test_a_hits_are_the_records(self):
        """Hits from several queries, read back with a Consumer at their partition and offset."""
        sample = []
        for body in ({"query": {"match": {"msg": "quick"}}, "size": 8},
                     {"query": {"term": {"level": "error"}}, "sort": [{"seq": "desc"}], "size": 8},
                     {"query": {"exists": {"field": "value"}}, "size": 10},
                     {"query": {"term": {"_key": "bin-key"}}},
                     {"query": {"range": {"ms": {"gte": 990}}}, "size": 8}):
            sample += self.api.search(body)["hits"]["hits"]
        self.assertGreaterEqual(len(sample), 30)
        self.assertIn("bin-key", [h.get("_key") for h in sample])
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "search-check",
                             "enable.auto.commit": False})
        try:
            pending = list(sample)
            while pending:
                # One hit per partition at a time, each partition assigned at the hit's offset.
                batch = {}
                for h in pending:
                    batch.setdefault(h["_partition"], h)
                pending = [h for h in pending if batch.get(h["_partition"]) is not h]
                consumer.assign([TopicPartition(TOPIC, p, h["_offset"]) for p, h in batch.items()])
                got = {}
                deadline = time.time() + 10
                while len(got) < len(batch) and time.time() < deadline:
                    m = consumer.poll(0.5)
                    if m is None:
                        continue
                    self.assertIsNone(m.error())
                    got.setdefault(m.partition(), m)
                for p, h in batch.items():
                    m = got[p]
                    self.assertEqual(m.offset(), h["_offset"])
                    self.assertEqual(m.key().decode(), h["_key"])
                    self.assertEqual(m.timestamp()[1], h["_timestamp"])
                    value = m.value()
                    if h["_key"] == "bin-key":
                        self.assertEqual(value, BINARY)
                        self.assertEqual(h["_source"], {})
                    elif h["_key"].startswith("text-"):
                        self.assertEqual(h["_source"], {"value": value.decode()})
                    else:
                        self.assertEqual(h["_source"], json.loads(value))
                    self.assertEqual(self.by_id[h["_id"]].value, value)
        finally:
            consumer.close()

    def test_a_documents_indexes_mappings(self):
        r = self.recs[100]
        out = self.api.ok("GET", "/%s/_doc/%s" % (TOPIC, r.id))
        self.assertEqual(out, {"_index": TOPIC, "_id": r.id, "found": True, "_partition": r.partition,
                               "_offset": r.offset, "_source": r.doc})
        for bad in ("9-5", "0-999999", "abc"):
            status, out = self.api.call("GET", "/%s/_doc/%s" % (TOPIC, bad))
            self.assertEqual((status, out.get("found")), (404, False), bad)
        # _cat/indices: text with and without a header, and JSON.
        rows = {row["index"]: row for row in self.api.ok("GET", "/_cat/indices?format=json")}
        self.assertEqual(rows[TOPIC]["docs.count"], str(len(self.recs)))
        self.assertEqual(rows[TOPIC]["pri"], str(PARTITIONS))
        self.assertEqual(rows["logs-b"]["docs.count"], "30")
        status, _, text = http("GET", self.api.base + "/_cat/indices?v")
        lines = text.decode().splitlines()
        self.assertEqual(lines[0].split()[:3], ["health", "status", "index"])
        self.assertIn(str(len(self.recs)), [line.split()[6] for line in lines[1:] if line.split()[2] == TOPIC])
        # _mapping: every field, strings as text with a keyword subfield, numbers numeric.
        props = self.api.ok("GET", "/%s/_mapping" % TOPIC)[TOPIC]["mappings"]["properties"]
        for f in ("seq", "level", "msg", "ms", "user.name", "user.id", "host", "ok", "shard", "at", "tags", "value",
                  "_key", "_timestamp"):
            self.assertIn(f, props)
        self.assertEqual(props["level"]["type"], "text")
        self.assertEqual(props["level"]["fields"]["keyword"]["type"], "keyword")
        self.assertIn(props["ms"]["type"], ("long", "double", "float"))
        # Index expressions: lists, wildcards, _all.
        total = sum(int(row["docs.count"]) for row in rows.values())
        self.assertEqual(self.api.count(index="logs,logs-b"), len(self.recs) + 30)
        self.assertEqual(self.api.count(index="log*"), len(self.recs) + 30)
        self.assertEqual(self.api.count(index="logs-*"), 30)
        self.assertEqual(self.api.count(index="*"), total)
        self.assertEqual(self.api.ok("POST", "/_count", {})["count"], total)
        with self.subTest(index="a topic named _private"):
            self.assertEqual(rows["_private"]["docs.count"], "3")
            status, out = self.api.call("GET", "/_private/_count")
            self.assertEqual((status, out.get("count")), (200, 3), out)
        with self.subTest(index="_all"):
            for p in ("/_all/_count", "/_all/_search?size=0"):
                status, out = self.api.call("GET", p)
                self.assertEqual(status, 200, "GET %s: %s" % (p, out))
                self.assertEqual(out.get("count", out.get("hits", {}).get("total", {}).get("value")), total, p)
        self.assertEqual(self.api.ok("GET", "/_search?size=0")["hits"]["total"]["value"], total)
        self.assertEqual(self.api.count(index="nomatch-*"), 0)
        out = self.api.search({"query": {"term": {"level": "error"}}, "size": 0}, index="logs,logs-b")
        self.assertEqual(out["hits"]["total"]["value"], 30 + sum(1 for r in self.recs if r.doc and r.doc["level"] == "error"))
        out = self.api.search({"query": {"term": {"level": "error"}}, "sort": [{"n": "asc"}], "size": 3}, index="log*")
        self.assertEqual([(h["_index"], h["_source"]["n"]) for h in out["hits"]["hits"]],
                         [("logs-b", 0), ("logs-b", 1), ("logs-b", 2)])
        # _msearch: NDJSON pairs, each its own index.
        lines = [{"index": TOPIC}, {"query": {"term": {"level": "warn"}}, "size": 0},
                 {"index": "logs-b"}, {"query": {"range": {"n": {"gte": 20}}}, "size": 0},
                 {}, {"query": {"match": {"value": "other"}}, "size": 0},
                 {"index": "nope"}, {"query": {"match_all": {}}}]
        status, out = self.api.call("POST", "/_msearch",
                                    raw=("\n".join(json.dumps(x) for x in lines) + "\n").encode(),
                                    content_type="application/x-ndjson")
        self.assertEqual(status, 200, out)
        res = out["responses"]
        self.assertEqual(res[0]["hits"]["total"]["value"], sum(1 for r in self.recs if r.doc and r.doc["level"] == "warn"))
        self.assertEqual(res[1]["hits"]["total"]["value"], 10)
        self.assertEqual(res[2]["hits"]["total"]["value"], 7)
        self.assertEqual((res[3]["status"], res[3]["error"]["type"]), (404, "index_not_found_exception"))
        # GET / and HEAD / as Elasticsearch answers them.
        status, headers, body = http("GET", self.api.base + "/")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("X-Elastic-Product"), "Elasticsearch")
        self.assertEqual(json.loads(body)["version"]["number"], "8.11.0")
        status, headers, _ = http("HEAD", self.api.base + "/")
        self.assertEqual((status, headers.get("X-Elastic-Product")), (200, "Elasticsearch"))
        self.assertEqual(http("HEAD", self.api.base + "/" + TOPIC)[0], 200)
        self.assertEqual(http("HEAD", self.api.base + "/nope")[0], 404)
        # The indexer has caught up.
        wait_for("no search lag", lambda: lag_records(self.broker.metrics_port) == 0, timeout=10)

    # -----------------------------------------------------------------------------------------
    # Clients.

    def client_ops(self):
        r = self.recs[7]
        body_aggs = {"size": 0, "aggs": {"levels": {"terms": {"field": "level.keyword"}},
                                         "days": {"date_histogram": {"field": "at", "calendar_interval": "day"}},
                                         "ms": {"stats": {"field": "ms"}},
                                         "users": {"cardinality": {"field": "user.name.keyword"}}}}
        return [
            ("info", {}),
            ("search", {"index": TOPIC, "body": {"query": {"match": {"msg": {"query": "disk failed", "operator": "and"}}},
                                                "size": 5, "sort": [{"seq": "asc"}]}}),
            ("search", {"index": TOPIC, "body": {"query": {"bool": {"must": {"match_phrase": {"msg": "quick brown fox"}},
                                                                   "must_not": {"term": {"level": "info"}}}},
                                                "size": 3, "_source": ["msg", "level"],
                                                "highlight": {"fields": {"msg": {}}}}}),
            ("search", {"index": TOPIC, "body": body_aggs}),
            ("search", {"index": TOPIC, "params": {"q": "level:error AND ms:[100 TO 300]", "size": 0}}),
            ("search", {"index": "logs*", "body": {"query": {"term": {"level": "error"}}, "from": 3, "size": 4,
                                                   "sort": [{"_timestamp": "desc"}]}}),
            ("count", {"index": TOPIC, "body": {"query": {"range": {"at": {"gte": "2024-03-04"}}}}}),
            ("count", {"index": "_all", "body": {}}),
            ("msearch", {"searches": [{"index": TOPIC}, {"query": {"term": {"host": "beta01"}}, "size": 2, "sort": ["seq"]},
                                      {"index": "logs-b"}, {"size": 0, "aggs": {"n": {"max": {"field": "n"}}}}]}),
            ("get", {"index": TOPIC, "id": r.id}),
            ("get", {"index": TOPIC, "id": "2-999999"}),
            ("mapping", {"index": TOPIC}),
            ("cat", {}),
            ("exists", {"index": TOPIC}),
            ("exists", {"index": "nope"}),
            ("search", {"index": "nope", "body": {}}),
            ("search", {"index": TOPIC, "body": {"query": {"bogus": {}}}}),
        ]

    def raw_answers(self, ops):
        out = []
        for op, args in ops:
            if op == "info":
                status, body = self.api.call("GET", "/")
            elif op == "search" and "params" in args:
                query = urllib.parse.urlencode(args["params"])
                status, body = self.api.call("GET", "/%s/_search?%s" % (args["index"], query))
            elif op == "search":
                status, body = self.api.call("POST", "/%s/_search" % args["index"], args["body"])
            elif op == "count":
                status, body = self.api.call("POST", "/%s/_count" % args["index"], args["body"])
            elif op == "msearch":
                status, body = self.api.call("POST", "/_msearch", raw=("\n".join(json.dumps(x) for x in args["searches"])
                                                                      + "\n").encode(), content_type="application/x-ndjson")
            elif op == "get":
                status, body = self.api.call("GET", "/%s/_doc/%s" % (args["index"], args["id"]))
            elif op == "mapping":
                status, body = self.api.call("GET", "/%s/_mapping" % args["index"])
            elif op == "cat":
                status, body = self.api.call("GET", "/_cat/indices?format=json")
            elif op == "exists":
                status, body = http("HEAD", self.api.base + "/" + args["index"])[0], None
                out.append({"ok": status == 200})
                continue
            if status == 200:
                out.append({"ok": body})
            else:
                out.append({"error": status, "type": body.get("error", {}).get("type") if isinstance(body, dict) else None})
        return out

    def es7_answers(self, ops):
        es = es7_module.Elasticsearch(["http://127.0.0.1:%d" % self.broker.search_port], timeout=30)
        warnings.simplefilter("ignore", DeprecationWarning)  # body= is the 7.x way
        out = []
        for op, args in ops:
            try:
                if op == "info":
                    r = es.info()
                elif op == "search" and "params" in args:
                    r = es.search(index=args["index"], **args["params"])
                elif op == "search":
                    r = es.search(index=args["index"], body=args["body"])
                elif op == "count":
                    r = es.count(index=args["index"], body=args["body"])
                elif op == "msearch":
                    r = es.msearch(body=args["searches"])
                elif op == "get":
                    r = es.get(index=args["index"], id=args["id"])
                elif op == "mapping":
                    r = es.indices.get_mapping(index=args["index"])
                elif op == "cat":
                    r = es.cat.indices(format="json")
                elif op == "exists":
                    r = es.indices.exists(index=args["index"])
                out.append({"ok": r})
            except es7_module.TransportError as e:
                # e.error is the error's type, or the whole body when it has none (a missing _doc).
                out.append({"error": e.status_code, "type": e.error if not str(e.error).startswith("{") else None})
        es.transport.close()
        return out

    def es8_answers(self, ops):
        env = dict(os.environ, PYTHONPATH=ES8_PATH)
        p = subprocess.run([sys.executable, "-c", ES8_SCRIPT], input=json.dumps(
            {"url": "http://127.0.0.1:%d" % self.broker.search_port, "ops": ops}), capture_output=True, text=True,
            env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["version"], "8.19.3")
        self.assertTrue(out["file"].startswith(ES8_PATH), out["file"])
        return out["results"]

    def normalize(self, answers, ops):
        out = []
        for (op, _), a in zip(ops, answers):
            if "ok" in a and op == "cat":
                a = {"ok": sorted((row["index"], row["docs.count"]) for row in a["ok"])}
            elif "ok" in a:
                a = {"ok": drop_took(a["ok"])}
            out.append(a)
        return out

    def test_b_elasticsearch_clients(self):
        self.assertEqual(es7_module.VERSION[:2], (7, 17))
        ops = self.client_ops()
        raw = self.normalize(self.raw_answers(ops), ops)
        es7 = self.normalize(self.es7_answers(ops), ops)
        es8 = self.normalize(self.es8_answers(ops), ops)
        for k, (op, args) in enumerate(ops):
            with self.subTest(op=op, args=json.dumps(args)[:200]):
                self.assertEqual(es7[k], raw[k], "elasticsearch-py 7.17")
                self.assertEqual(es8[k], raw[k], "elasticsearch-py 8.19")
        # The raw answers are the right ones.
        self.assertEqual(raw[1]["ok"]["hits"]["total"]["value"],
                         sum(1 for r in self.recs if {"disk", "failed"} <= r.toks("msg")))
        self.assertEqual(raw[3]["ok"]["aggregations"]["users"], {"value": len(USERS)})
        self.assertEqual(raw[4]["ok"]["hits"]["total"]["value"],
                         sum(1 for r in self.recs if r.doc and r.doc["level"] == "error" and 100 <= r.doc["ms"] <= 300))
        self.assertEqual(raw[9]["ok"]["_source"], self.recs[7].doc)
        self.assertEqual(raw[10]["error"], 404)
        self.assertEqual(raw[13:17], [{"ok": True}, {"ok": False}, {"error": 404, "type": "index_not_found_exception"},
                                      {"error": 400, "type": "parsing_exception"}])
        # count(index="_all"): every index.
        self.assertEqual(raw[7].get("ok", {}).get("count"), sum(int(c) for _, c in raw[12]["ok"]),
                         "count of index _all: %s" % raw[7])

    # -----------------------------------------------------------------------------------------
    # Visibility, bad input.

    def test_c_acknowledged_record_becomes_searchable(self):
        self.admin.create_topics([NewTopic("visible", 1, 1)])["visible"].result(10)
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all", "linger.ms": 0})
        delays = []
        for n in range(5):
            token = "needle%d%d" % (n, int(time.time() * 1000))
            acked = []
            p.produce("visible", value=json.dumps({"msg": "look for " + token}).encode(),
                      on_delivery=lambda err, msg: acked.append((err, time.time())))
            self.assertEqual(p.flush(10), 0)
            err, t0 = acked[0]
            self.assertIsNone(err)
            wait_for("%s to be found" % token, lambda: self.api.count({"match": {"msg": token}}, index="visible") == 1,
                     timeout=5, interval=0.005)
            delays.append(time.time() - t0)
        print("\nsearch visibility after acks=all: %s ms" % ", ".join("%.0f" % (d * 1000) for d in delays), flush=True)

    def test_c_searches_while_indexing(self):
        """Searches of a topic being written and indexed: never an error, totals only grow, and
        the other indexes' answers do not move."""
        self.admin.create_topics([NewTopic("busy", 3, 1)])["busy"].result(10)
        n = 6000
        stop = threading.Event()
        problems = []
        searches = []

        def hammer():
            try:
                search_loop()
            except Exception as e:  # noqa: BLE001 (reported by the test)
                problems.append(repr(e))

        def search_loop():
            api = Search(self.broker.search_port)
            last, done = 0, 0
            while not stop.is_set():
                status, out = api.call("POST", "/busy/_search", {
                    "query": {"range": {"n": {"gte": 0}}}, "size": 5, "sort": [{"n": "desc"}],
                    "aggs": {"m": {"max": {"field": "n"}}, "c": {"value_count": {"field": "n"}}}})
                if status == 404 and last == 0:
                    time.sleep(0.01)  # not an index yet
                    continue
                if status != 200:
                    problems.append((status, out))
                    return
                total = out["hits"]["total"]["value"]
                if total < last or out["aggregations"]["c"]["value"] != total:
                    problems.append(("totals", last, total, out["aggregations"]))
                last = total
                done += 1
                if api.count({"term": {"level": "error"}}) != self.errors:
                    problems.append("the answer of another index moved")
            searches.append(done)

        self.errors = sum(1 for r in self.recs if r.doc and r.doc["level"] == "error")
        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            produce(self.broker.bootstrap, "busy", [dict(value=json.dumps({"n": k, "msg": "busy %d" % k}).encode(),
                                                         partition=k % 3) for k in range(n)])
            wait_for("busy indexed", lambda: self.api.count(index="busy") == n)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(problems[:5], [])
        print("\n%d searches while indexing %d records" % (sum(searches), n), flush=True)
        out = self.api.search({"size": 3, "sort": [{"n": "desc"}], "aggs": {"m": {"max": {"field": "n"}}}}, index="busy")
        self.assertEqual([h["_source"]["n"] for h in out["hits"]["hits"]], [n - 1, n - 2, n - 3])
        self.assertEqual(out["aggregations"]["m"]["value"], n - 1)

    def test_d_bad_input(self):
        def error(status, out, want_status, types):
            self.assertEqual(status, want_status, out)
            self.assertIsInstance(out, dict, out)
            self.assertEqual(out.get("status"), want_status, out)
            self.assertIn(out["error"]["type"], types, out)
            self.assertTrue(out["error"]["reason"], out)
            self.assertTrue(out["error"]["root_cause"], out)

        path = "/%s/_search" % TOPIC
        cases = [
            ("malformed JSON", ("POST", path, None, b'{"query": {"match_all": {}'), 400,
             ("parsing_exception", "x_content_parse_exception")),
            ("not an object", ("POST", path, None, b'[1, 2]'), 400, ("parsing_exception", "x_content_parse_exception")),
            ("unknown query", ("POST", path, {"query": {"bogus": {"field": "x"}}}, None), 400, ("parsing_exception",)),
            ("malformed match", ("POST", path, {"query": {"match": {}}}, None), 400,
             ("parsing_exception", "query_shard_exception")),
            ("malformed bool", ("POST", path, {"query": {"bool": {"must": 5}}}, None), 400,
             ("parsing_exception", "query_shard_exception")),
            ("bad range bound", ("POST", path, {"query": {"range": {"ms": {"gte": {"x": 1}}}}}, None), 400,
             ("parsing_exception", "query_shard_exception")),
            ("unknown aggregation", ("POST", path, {"aggs": {"a": {"bogus": {"field": "ms"}}}}, None), 400,
             ("parsing_exception", "x_content_parse_exception")),
            ("histogram without interval", ("POST", path, {"aggs": {"a": {"histogram": {"field": "ms"}}}}, None), 400,
             ("parsing_exception", "illegal_argument_exception", "x_content_parse_exception")),
            ("sub-aggregation", ("POST", path, {"aggs": {"a": {"terms": {"field": "level.keyword"},
                                                               "aggs": {"b": {"max": {"field": "ms"}}}}}}, None), 400,
             ("parsing_exception", "illegal_argument_exception")),
            ("bad query_string", ("GET", path + "?q=" + urllib.parse.quote("level:(error"), None, None), 400,
             ("query_shard_exception", "parsing_exception")),
            ("bad query_string DSL", ("POST", path, {"query": {"query_string": {"query": "msg:\"open"}}}, None), 400,
             ("query_shard_exception", "parsing_exception")),
            ("negative size", ("POST", path, {"size": -1}, None), 400,
             ("illegal_argument_exception", "parsing_exception", "x_content_parse_exception")),
            ("window too large", ("POST", path, {"from": 9995, "size": 10}, None), 400,
             ("illegal_argument_exception", "search_phase_execution_exception")),
            ("bad timeout", ("POST", path, {"timeout": "soon"}, None), 400,
             ("parsing_exception", "illegal_argument_exception")),
            ("unknown index", ("POST", "/nope/_search", {}, None), 404, ("index_not_found_exception",)),
            ("unknown index count", ("GET", "/nope/_count", None, None), 404, ("index_not_found_exception",)),
            ("unknown index in a list", ("GET", "/logs,nope/_search", None, None), 404, ("index_not_found_exception",)),
            ("unknown index mapping", ("GET", "/nope/_mapping", None, None), 404, ("index_not_found_exception",)),
            ("odd msearch", ("POST", "/_msearch", None, b'{"index": "logs"}\n'), 400,
             ("illegal_argument_exception", "parsing_exception", "action_request_validation_exception")),
        ]
        for name, (method, p, body, raw), want_status, types in cases:
            with self.subTest(bad=name):
                status, out = self.api.call(method, p, body, raw)
                error(status, out, want_status, types)
                if want_status == 404:
                    self.assertEqual(out["error"]["root_cause"][0].get("index"), "nope", out)
                if name == "unknown index":
                    self.assertEqual(out["error"].get("index"), "nope",
                                     "Elasticsearch names the index in the error too: %s" % out)
        # Writes are not served: the index is a topic, and it is still there.
        for method, p in (("DELETE", "/" + TOPIC), ("PUT", "/" + TOPIC), ("PUT", "/%s/_doc/0-1" % TOPIC),
                          ("DELETE", "/%s/_doc/0-1" % TOPIC), ("POST", "/%s/_doc" % TOPIC)):
            status, out = self.api.call(method, p, {"x": 1})
            self.assertGreaterEqual(status, 400, (method, p))
            self.assertLess(status, 500, (method, p, out))
        # A request that is not HTTP.
        with socket.create_connection(("127.0.0.1", self.broker.search_port), timeout=5) as s:
            s.sendall(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
            try:
                s.recv(1000)
            except OSError:
                pass
        # Still serving, with the same answers.
        self.assertEqual(self.api.count(), len(self.recs))
        self.assertEqual(self.api.count({"term": {"level": "error"}}),
                         sum(1 for r in self.recs if r.doc and r.doc["level"] == "error"))
        self.assertEqual(http("GET", self.api.base + "/")[0], 200)
        self.assertIsNone(self.broker.proc.poll())

    # -----------------------------------------------------------------------------------------
    # DeleteRecords, topic deletion, the topic config searchable, transactions.

    def test_e_delete_records_and_topic(self):
        self.admin.create_topics([NewTopic("trim", 2, 1)])["trim"].result(10)
        produce(self.broker.bootstrap, "trim", [dict(value=json.dumps({"n": n, "word": "trimmed"}).encode(), partition=p)
                                                for p in range(2) for n in range(100)])
        wait_for("trim indexed", lambda: self.api.count(index="trim") == 200)
        part = lambda p: {"term": {"_partition": p}}  # noqa: E731
        # DeleteRecords with the Kafka AdminClient: partition 0 below 40.
        futures = self.admin.delete_records([TopicPartition("trim", 0, 40)])
        for f in futures.values():
            f.result(10)
        wait_for("records below 40 gone from the index", lambda: self.api.count(part(0), index="trim") == 60)
        self.assertEqual(self.api.count({"bool": {"filter": [part(0), {"range": {"_offset": {"lt": 40}}}]}}, index="trim"), 0)
        out = self.api.search({"query": part(0), "size": 0, "aggs": {"n": {"min": {"field": "n"}}}}, index="trim")
        self.assertEqual(out["aggregations"]["n"]["value"], 40)
        self.assertEqual(self.api.call("GET", "/trim/_doc/0-39")[0], 404)
        self.assertEqual(self.api.ok("GET", "/trim/_doc/0-40")["_source"], {"n": 40, "word": "trimmed"})
        self.assertEqual(self.api.count({"match": {"word": "trimmed"}}, index="trim"), 160)
        # DeleteRecords with the admin REST API: partition 1 below 70.
        status, _, body = http("POST", "http://127.0.0.1:%d/api/v1/topics/trim/delete-records" % self.broker.admin_port,
                               {"partitions": [{"partition": 1, "offset": 70}]})
        self.assertEqual(status, 200, body)
        wait_for("records below 70 gone from the index", lambda: self.api.count(part(1), index="trim") == 30)
        ids, total = self.api.ids({"match_all": {}}, index="trim")
        self.assertEqual(ids, {"0-%d" % o for o in range(40, 100)} | {"1-%d" % o for o in range(70, 100)})
        rows = {row["index"]: row for row in self.api.ok("GET", "/_cat/indices?format=json")}
        self.assertEqual(rows["trim"]["docs.count"], "90")
        # Deleting the topic deletes its index.
        self.admin.delete_topics(["trim"])["trim"].result(10)
        wait_for("the index of a deleted topic to go",
                 lambda: self.api.call("GET", "/trim/_search")[0] == 404 and
                 "trim" not in [row["index"] for row in self.api.ok("GET", "/_cat/indices?format=json")])
        status, out = self.api.call("GET", "/trim/_count")
        self.assertEqual((status, out["error"]["type"]), (404, "index_not_found_exception"))
        wait_for("its index files to go", lambda: not glob.glob(os.path.join(self.broker.data_dir, "__search", "trim-*")))
        self.assertEqual(self.api.count(index=TOPIC), len(self.recs))
        # A topic deleted and at once created again: only the new records are found.
        self.admin.create_topics([NewTopic("again", 1, 1)])["again"].result(10)
        produce(self.broker.bootstrap, "again", [dict(value=json.dumps({"gen": 1, "n": n}).encode()) for n in range(50)])
        wait_for("again indexed", lambda: self.api.count(index="again") == 50)
        self.admin.delete_topics(["again"])["again"].result(10)

        def create():
            try:
                self.admin.create_topics([NewTopic("again", 1, 1)])["again"].result(10)
                return True
            except KafkaException as e:
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
                return False

        wait_for("again created again", create)
        produce(self.broker.bootstrap, "again", [dict(value=json.dumps({"gen": 2, "n": n}).encode()) for n in range(5)])
        wait_for("only the new records of again",
                 lambda: self.api.count(index="again") == 5 and self.api.count({"term": {"gen": 1}}, index="again") == 0,
                 timeout=15)
        self.assertEqual(self.api.ids({"match_all": {}}, index="again")[0], {"0-%d" % n for n in range(5)})

    def test_f_topic_config_searchable(self):
        fs = self.admin.create_topics([NewTopic("hidden", 1, 1, config={"searchable": "false"}),
                                       NewTopic("shown", 1, 1)])
        for f in fs.values():
            f.result(10)
        records = [dict(value=json.dumps({"secret": "word%d" % n}).encode()) for n in range(20)]
        produce(self.broker.bootstrap, "hidden", records)
        produce(self.broker.bootstrap, "shown", records)
        wait_for("shown indexed", lambda: self.api.count(index="shown") == 20)
        # The indexer has looked at both topics since they were created (it found `shown`).
        for p in ("/hidden/_search", "/hidden/_count", "/hidden/_mapping"):
            status, out = self.api.call("GET", p)
            self.assertEqual((status, out["error"]["type"]), (404, "index_not_found_exception"), p)
        self.assertNotIn("hidden", [row["index"] for row in self.api.ok("GET", "/_cat/indices?format=json")])
        self.assertEqual(self.api.count({"match": {"secret": "word3"}}, index="*"), 1)
        self.assertEqual(glob.glob(os.path.join(self.broker.data_dir, "__search", "hidden-*")), [])

        def alter(value):
            res = ConfigResource(ResourceType.TOPIC, "hidden", incremental_configs=[
                ConfigEntry("searchable", value, incremental_operation=AlterConfigOpType.SET)])
            for f in self.admin.incremental_alter_configs([res]).values():
                f.result(10)

        # A searchable topic without records is an empty index.
        self.admin.create_topics([NewTopic("empty", 2, 1)])["empty"].result(10)
        wait_for("the empty index", lambda: self.api.call("GET", "/empty/_count")[0] == 200)
        self.assertEqual(self.api.count(index="empty"), 0)
        self.assertEqual(self.api.search({"aggs": {"s": {"stats": {"field": "x"}}}}, index="empty")["hits"]["total"]["value"], 0)
        # Turned on, the topic's history is indexed; turned off, the index goes.
        alter("true")
        wait_for("hidden indexed once searchable", lambda: self.api.count(index="hidden") == 20)
        self.assertEqual(self.api.count({"match": {"secret": "word3"}}, index="*"), 2)
        alter("false")
        wait_for("hidden no longer an index", lambda: self.api.call("GET", "/hidden/_count")[0] == 404)
        self.assertEqual(self.api.count(index="shown"), 20)

    def test_g_transactions(self):
        self.admin.create_topics([NewTopic("txn", 2, 1)])["txn"].result(10)
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "transactional.id": "search-txn", "linger.ms": 5})
        p.init_transactions(10)
        p.begin_transaction()
        for n in range(6):
            p.produce("txn", value=json.dumps({"t": "aborted", "n": n}).encode(), partition=n % 2)
        p.flush(10)
        p.abort_transaction(10)
        p.begin_transaction()
        for n in range(6):
            p.produce("txn", value=json.dumps({"t": "committed", "n": n}).encode(), partition=n % 2)
        p.commit_transaction(10)
        wait_for("committed records", lambda: self.api.count({"term": {"t": "committed"}}, index="txn") == 6)
        self.assertEqual(self.api.count({"term": {"t": "aborted"}}, index="txn"), 0)
        self.assertEqual(self.api.count({"match": {"t": "aborted"}}, index="*"), 0)
        # An open transaction's records wait for its outcome.
        p.begin_transaction()
        for n in range(3):
            p.produce("txn", value=json.dumps({"t": "pending", "n": n}).encode(), partition=0)
        p.flush(10)
        produce(self.broker.bootstrap, "txn", [dict(value=json.dumps({"t": "marker"}).encode(), partition=1)])
        wait_for("the marker after the open transaction", lambda: self.api.count({"term": {"t": "marker"}}, index="txn") == 1)
        self.assertEqual(self.api.count({"term": {"t": "pending"}}, index="txn"), 0)
        p.commit_transaction(10)
        wait_for("the committed transaction", lambda: self.api.count({"term": {"t": "pending"}}, index="txn") == 3)
        self.assertEqual(self.api.count(index="txn"), 6 + 3 + 1)  # no control records, nothing aborted
        self.assertEqual(self.api.count({"term": {"t": "aborted"}}, index="txn"), 0)

    # -----------------------------------------------------------------------------------------
    # Durability: restart, kill -9, deleted index files.

    def snapshot(self):
        """Answers that must not change while the corpus does not."""
        out = {"count": self.api.count()}
        for name, query, _ in self.query_cases():
            out[name] = self.api.ids(query)
        out["aggs"] = self.api.search({"size": 0, "aggs": {
            "levels": {"terms": {"field": "level.keyword"}}, "hist": {"histogram": {"field": "ms", "interval": 100}},
            "days": {"date_histogram": {"field": "at", "fixed_interval": "1d"}}, "ms": {"stats": {"field": "ms"}},
            "users": {"cardinality": {"field": "user.name.keyword"}}}})["aggregations"]
        out["page"] = [h["_id"] for h in self.api.search({"sort": [{"seq": "desc"}], "from": 100, "size": 50})["hits"]["hits"]]
        out["mapping"] = self.api.ok("GET", "/%s/_mapping" % TOPIC)
        out["docs"] = [row["docs.count"] for row in self.api.ok("GET", "/_cat/indices?format=json") if row["index"] == TOPIC]
        return out

    def assert_same_answers(self, baseline, what, timeout=30):
        # The index may be catching up (rebuilding): poll until the answers settle, then compare.
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.api.count() == len(self.recs):
                break
            time.sleep(0.05)
        snap = self.snapshot()
        for k in baseline:
            self.assertEqual(snap[k], baseline[k], "%s: %s" % (what, k))

    def test_z_durability(self):
        baseline = self.snapshot()
        self.assertEqual(baseline["count"], len(self.recs))
        broker = self.broker
        # A clean restart.
        self.assertEqual(broker.stop(), 0, log_tail(broker))
        start(broker)
        self.assert_same_answers(baseline, "after a restart")
        # kill -9 right after acknowledged records: they are searchable after the restart.
        self.admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        self.admin.create_topics([NewTopic("late", 2, 1)])["late"].result(10)
        produce(broker.bootstrap, "late", [dict(value=json.dumps({"late": n, "w": "acked"}).encode(), partition=n % 2)
                                           for n in range(300)])
        broker.stop(sig=signal.SIGKILL)
        start(broker)
        wait_for("records acknowledged before kill -9", lambda: self.api.count({"match": {"w": "acked"}}, index="late") == 300)
        self.assert_same_answers(baseline, "after kill -9")
        # Index files deleted while the broker is down: rebuilt from the log.
        self.assertEqual(broker.stop(), 0, log_tail(broker))
        search_dir = os.path.join(broker.data_dir, "__search")
        files = [f for f in os.listdir(search_dir) if re.search(r"\.db(-wal|-shm)?$", f)]
        self.assertIn("%s-0.db" % TOPIC, files)
        for f in files:
            os.remove(os.path.join(search_dir, f))
        start(broker)
        wait_for("the index rebuilt", lambda: self.api.count() == len(self.recs)
                 and self.api.count(index="late") == 300)
        self.assert_same_answers(baseline, "after deleting the index files")
        self.assertTrue(os.path.exists(os.path.join(search_dir, "%s-0.db" % TOPIC)))
        self.assertEqual(self.api.count({"term": {"late": 299}}, index="late"), 1)
        wait_for("no search lag", lambda: lag_records(broker.metrics_port) == 0, timeout=10)


class NoSearchTest(unittest.TestCase):
    def test_searchable_refused_without_enable_search(self):
        broker = Broker()
        try:
            start(broker, search=False)
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            f = admin.create_topics([NewTopic("wants-search", 1, 1, config={"searchable": "true"})])["wants-search"]
            with self.assertRaises(KafkaException) as ctx:
                f.result(10)
            self.assertEqual(ctx.exception.args[0].code(), KafkaError.INVALID_CONFIG, ctx.exception)
            self.assertEqual(admin.list_topics(timeout=10).topics.get("wants-search"), None)
            admin.create_topics([NewTopic("plain", 1, 1)])["plain"].result(10)
            produce(broker.bootstrap, "plain", [dict(value=b'{"a": 1}')])
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", broker.search_port), timeout=2).close()
            self.assertFalse(os.path.exists(os.path.join(broker.data_dir, "__search")))
        finally:
            code = broker.stop()
        self.assertEqual(code, 0, log_tail(broker))


class StopWhileSearchingTest(unittest.TestCase):
    def test_sigterm_with_searches_in_flight(self):
        """SIGTERM while searches run and wait on the API's pool: they finish while the search
        server they answer through still exists, and the broker exits cleanly (it once answered them
        after destroying that server, and crashed)."""
        broker = Broker(extra_args=["--enable-search"])
        threads = []
        try:
            start(broker)
            lines = "".join('{"msg": "alpha beta gamma %d delta", "n": %d}\n' % (i, i) for i in range(20000))
            subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", "busy", "-X", "acks=all"], input=lines,
                           text=True, check=True, timeout=60)
            api = Search(broker.search_port)
            wait_for("the topic indexed", lambda: api.count(index="busy") == 20000, timeout=60)
            body = json.dumps({"query": {"match": {"msg": "alpha gamma"}},
                               "aggs": {"n": {"terms": {"field": "n"}}}}).encode()
            url = "http://127.0.0.1:%d/busy/_search" % broker.search_port

            def search():
                try:
                    urllib.request.urlopen(urllib.request.Request(url, data=body, headers={
                        "Content-Type": "application/json"}), timeout=30).read()
                except OSError:
                    pass  # closed by the stopping broker

            threads = [threading.Thread(target=search) for _ in range(64)]
            for t in threads:
                t.start()
            time.sleep(0.3)  # the requests sent and queued on the pool (each takes tens of ms here)
        finally:
            code = broker.stop()
            for t in threads:
                t.join(60)
        self.assertEqual(code, 0, log_tail(broker))


class AllModeTest(unittest.TestCase):
    def test_all_mode_serves_search(self):
        broker = Broker(mode="all")
        try:
            start(broker)
            self.assertNotIn("--enable-search", broker.extra_args)
            api = Search(broker.search_port)
            p = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", "everything", "-X", "acks=all"],
                               input="".join('{"n": %d, "msg": "all mode %s"}\n' % (n, "even" if n % 2 == 0 else "odd")
                                             for n in range(40)),
                               text=True, capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            wait_for("the all mode indexes", lambda: api.count(index="everything") == 40)
            self.assertEqual(api.count({"match": {"msg": "even"}}, index="everything"), 20)
            out = api.search({"size": 0, "aggs": {"s": {"sum": {"field": "n"}}}}, index="everything")
            self.assertEqual(out["aggregations"]["s"]["value"], sum(range(40)))
            self.assertEqual(api.ok("GET", "/")["version"]["number"], "8.11.0")
        finally:
            code = broker.stop()
        self.assertEqual(code, 0, log_tail(broker))


class JavaFilledTopicTest(unittest.TestCase):
    def test_topic_filled_by_the_java_client(self):
        classpath = java_classpath()
        broker = Broker(extra_args=["--enable-search"])
        try:
            start(broker)
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            admin.create_topics([NewTopic("java-filled", 1, 1)])["java-filled"].result(30)
            colors = ("red", "green", "blue")
            lines = "".join(json.dumps({"n": i, "color": colors[i % 3], "msg": "java record number %d" % i}) + "\n"
                            for i in range(300))
            p = subprocess.run(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
                                "io.chronik.tests.ProduceLines", broker.bootstrap, "java-filled"],
                               input=lines, capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr[-3000:])
            self.assertIn("java: produced 300", p.stdout)
            api = Search(broker.search_port)
            wait_for("the Java client's records are indexed", lambda: api.count(index="java-filled") == 300)
            self.assertEqual(api.count({"term": {"color": "green"}}, index="java-filled"), 100)
            self.assertEqual(api.count({"match_phrase": {"msg": "record number 42"}}, index="java-filled"), 1)
            out = api.search({"size": 0, "aggs": {"c": {"terms": {"field": "color"}}, "s": {"stats": {"field": "n"}}}},
                             index="java-filled")
            self.assertEqual({b["key"]: b["doc_count"] for b in out["aggregations"]["c"]["buckets"]},
                             {"red": 100, "green": 100, "blue": 100})
            self.assertEqual(out["aggregations"]["s"]["sum"], sum(range(300)))
            # Offsets are the Java producer's order: the document 0-42 is its 43rd line.
            self.assertEqual(api.ok("GET", "/java-filled/_doc/0-42")["_source"]["n"], 42)
        finally:
            code = broker.stop()
        self.assertEqual(code, 0, log_tail(broker))


class RetentionTest(unittest.TestCase):
    def test_retention_removes_hits(self):
        # The janitor checks retention every 0.3 s; segments of 10 000 bytes, the newest 30 000 kept.
        broker = Broker(extra_args=["--enable-search"], kafka_properties={"log.retention.check.interval.ms": 300})
        try:
            start(broker)
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            admin.create_topics([NewTopic("aging", 1, 1, config={
                "segment.bytes": "10000", "retention.bytes": "30000", "retention.ms": "-1"})])["aging"].result(30)
            api = Search(broker.search_port)
            consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "retention-check"})

            def watermarks():
                return consumer.get_watermark_offsets(TopicPartition("aging", 0), timeout=10)

            # Twenty acknowledged batches of 50 records of about 150 bytes: a segment each, or so.
            for r in range(20):
                produce(broker.bootstrap, "aging", [dict(value=json.dumps({"n": r * 50 + i, "word": "aging",
                                                                           "pad": "x" * 120}).encode())
                                                    for i in range(50)])
            wait_for("retention to move the log start", lambda: watermarks()[0] > 0)
            time.sleep(1.0)  # three more retention checks: the log start has settled
            low, high = watermarks()
            self.assertEqual(high, 1000)
            self.assertGreater(low, 0)
            wait_for("the index to drop what retention removed", lambda: api.count(index="aging") == high - low)
            print("\nretention: log start %d of %d, %d documents left" % (low, high, high - low), flush=True)
            ids, total = api.ids({"match": {"word": "aging"}}, index="aging")
            self.assertEqual((ids, total), ({"0-%d" % o for o in range(low, high)}, high - low))
            self.assertEqual(api.count({"range": {"n": {"lt": low}}}, index="aging"), 0)
            out = api.search({"size": 0, "aggs": {"n": {"min": {"field": "n"}}}}, index="aging")
            self.assertEqual(out["aggregations"]["n"]["value"], low)
            self.assertEqual(api.call("GET", "/aging/_doc/0-0")[0], 404)
            self.assertEqual(api.ok("GET", "/aging/_doc/0-%d" % (high - 1))["_source"]["n"], high - 1)
            consumer.close()
        finally:
            code = broker.stop()
        self.assertEqual(code, 0, log_tail(broker))


class IngestAndSearchModesTest(unittest.TestCase):
    def test_ingest_writes_search_serves_the_same_data_directory(self):
        data_dir = tempfile.mkdtemp(prefix="chronik-modes-", dir=os.environ.get("TEST_TMPDIR"))
        # An ingest node takes no search flag.
        code, _, err = run_server(["-d", data_dir, "-b", "127.0.0.1", "-p", str(free_port()), "--enable-search", "ingest"])
        self.assertNotEqual(code, 0)
        self.assertIn("ingest node serves no search", err)

        ingest = Broker(mode="ingest", data_dir=data_dir)
        try:
            start(ingest, search=False)
            p = subprocess.run(["kcat", "-b", ingest.bootstrap, "-P", "-t", "modes", "-X", "acks=all"],
                               input="".join('{"n": %d, "msg": "written by %s"}\n' % (n, "ingest" if n % 3 else "kafka")
                                             for n in range(90)),
                               text=True, capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", ingest.search_port), timeout=2).close()
            self.assertEqual(http("GET", "http://127.0.0.1:%d/api/v1/topics" % ingest.admin_port)[0], 200)
        finally:
            code = ingest.stop()
        self.assertEqual(code, 0, log_tail(ingest))
        self.assertFalse(os.path.exists(os.path.join(data_dir, "__search")))

        node = Broker(mode="search", data_dir=data_dir)
        try:
            start(node)
            api = Search(node.search_port)
            wait_for("the search node indexes the ingest node's records", lambda: api.count(index="modes") == 90)
            self.assertEqual(api.count({"match": {"msg": "kafka"}}, index="modes"), 30)
            out = api.search({"size": 0, "aggs": {"s": {"sum": {"field": "n"}}}}, index="modes")
            self.assertEqual(out["aggregations"]["s"]["value"], sum(range(90)))
            # No Kafka listener, no admin API; health and readiness answer.
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", node.port), timeout=2).close()
            self.assertEqual(http("GET", "http://127.0.0.1:%d/api/v1/topics" % node.admin_port)[0], 404)
            self.assertEqual(http("GET", "http://127.0.0.1:%d/health" % node.admin_port)[0], 200)
            self.assertIn("none (search node)", node.read_log())
        finally:
            code = node.stop()
        self.assertEqual(code, 0, log_tail(node))


if __name__ == "__main__":
    unittest.main(verbosity=2)
