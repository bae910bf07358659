#!/usr/bin/python3
"""Search against chronik_server --enable-search: how fast JSON records are indexed, produce on a
searchable topic against a topic with searchable=false in the same run, the visibility lag from
an acks=all acknowledgement to the record being found (p50/p99), and query latency (p50/p99) for
term, match, phrase, range, bool and a terms aggregation over the indexed records. It measures
and prints; it asserts nothing about speed.

    bazel run -c opt //tests/perf:search_perf [-- --records 1000000]"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request

from perf_java import ratio_summary, runfiles_root

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega").split()


def corpus(path, n, seed):
    """n JSON records of 200-500 bytes, like application logs."""
    rnd = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            words = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 40)))
            f.write(json.dumps({"ts": "2026-11-30T%02d:%02d:%02dZ" % (i // 3600 % 24, i // 60 % 60, i % 60),
                                "level": ("info", "warn", "error", "debug")[i % 4], "service": "svc-%d" % (i % 13),
                                "host": "host-%d" % (i % 50), "msg": words, "latency_ms": rnd.randint(0, 5000),
                                "user": {"id": i % 1000, "name": "user%d" % (i % 300)},
                                "request_id": "%032x" % rnd.getrandbits(128)}) + "\n")


def http(port, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def count(port, topic):
    try:
        return http(port, "/%s/_count" % topic)["count"]
    except Exception:
        return 0


def search_lag(metrics_port):
    """The broker's chronik_search_lag_records: cheap to ask, unlike a count, which would take CPU
    from the indexer it measures."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port, timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("chronik_search_lag_records "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def produce(bootstrap, topic, path):
    t = time.time()
    subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-X", "acks=all", "-X", "linger.ms=5", "-l", path],
                   check=True, timeout=3600)
    return time.time() - t


def cpu_seconds(pid):
    """User and system CPU the process has used, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_times():
    """The machine's CPU time so far by kind (/proc/stat's first line): busy, idle, stolen."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return {"busy": v[0] + v[1] + v[2] + v[5] + v[6], "idle": v[3] + v[4], "steal": v[7]}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    here = runfiles_root(__file__)
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", default=os.path.join(here, "chronik_server", "chronik_server"))
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--probes", type=int, default=200, help="records timed from acknowledgement to search")
    ap.add_argument("--queries", type=int, default=50, help="runs of each query")
    ap.add_argument("--rounds", type=int, default=4,
                    help="rounds of produce to a plain and a searchable topic")
    ap.add_argument("--control", action="store_true",
                    help="the second topic of the produce comparison is plain too: the comparison's own noise")
    ap.add_argument("--round-records", type=int, default=0,
                    help="records per produce round (default records/rounds); at a million records/s a "
                         "round of 250 000 lasts a quarter of a second, in which kcat's start counts")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(here, "tests", "e2e"))
    sys.path.insert(0, os.path.join(here, "tests", "e2e", "pydeps"))
    os.environ["CHRONIK_SERVER"] = args.broker
    from broker import Broker
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    with tempfile.TemporaryDirectory() as d, Broker(extra_args=["--enable-search", "--log-level", "warn"],
                                                    kafka_properties={"num.partitions": 1}) as b:
        data = os.path.join(d, "corpus.json")
        corpus(data, args.records, 1)
        size = os.path.getsize(data)
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        for f in admin.create_topics([NewTopic("plain", 1, 1, config={"searchable": "false"}),
                                      NewTopic("logs", 1, 1), NewTopic("beside", 1, 1, config={"searchable": "false"} if args.control else {}),
                                      NewTopic("probe", 1, 1)]).values():
            f.result(30)
        print("%d JSON records, %.0f bytes each on average, one partition" % (args.records, size / args.records))

        def caught_up():
            # Every 0.1 s: the poll and the broker's answer are CPU the indexer would otherwise
            # have (at 0.02 s, 4 % of the machine), against a timing error of 0.3 % at 30 s.
            while search_lag(b.metrics_port) != 0:
                time.sleep(0.1)

        t0, cpu0, m0 = time.time(), cpu_seconds(b.proc.pid), machine_times()
        produce(b.bootstrap, "logs", data)
        caught_up()
        indexed, cpu = time.time() - t0, cpu_seconds(b.proc.pid) - cpu0
        m = {k: v - m0[k] for k, v in machine_times().items()}
        assert count(b.search_port, "logs") == args.records
        print("indexing             %9.0f records/s (all %d searchable %.1f s after the first was produced)"
              % (args.records / indexed, args.records, indexed))
        # The machine's speed drifts between runs; the broker's CPU per record (produce and
        # indexing together) drifts less and shows what a change to the indexer saved.
        print("broker CPU           %9.1f us per record produced and indexed (%.1f s)"
              % (cpu * 1e6 / args.records, cpu))
        # A virtual machine's host takes some of its CPU time (steal): what varies most between runs.
        total = max(1, sum(m.values()))
        print("machine meanwhile    busy %.0f %%, idle %.0f %%, stolen by the host %.0f %%"
              % (100 * m["busy"] / total, 100 * m["idle"] / total, 100 * m["steal"] / total))

        # Produce to a plain topic and to a searchable one in turns (plain first in odd rounds,
        # second in even ones, against drift), each round after the indexer caught up and after
        # the page cache was written back: the kernel writes dirty pages back 30 s after they were
        # written, and an index written one round earlier must not slow the fsyncs of the next.
        # The machine's speed drifts by a third between runs, less between rounds.
        chunk = os.path.join(d, "chunk.json")
        with open(data) as f:
            lines = f.readlines()[:max(1, args.round_records or args.records // args.rounds)]
        with open(chunk, "w") as f:
            f.writelines(lines)
        plain, searchable, ratios = 0.0, 0.0, []
        def timed(topic):
            caught_up()
            os.sync()
            return produce(b.bootstrap, topic, chunk)

        for r in range(args.rounds):
            if r % 2 == 0:
                p = timed("plain")
                s = timed("beside")
            else:
                s = timed("beside")
                p = timed("plain")
            plain, searchable = plain + p, searchable + s
            ratios.append(p / s)
        caught_up()
        n = len(lines) * args.rounds
        print("produce, acks=all    searchable=false %9.0f records/s   %s %9.0f records/s   (%.2f x, %s)"
              % (n / plain, "plain too " if args.control else "searchable", n / searchable, plain / searchable,
                 ratio_summary(ratios)))

        producer = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0})
        lags = []
        for i in range(args.probes):
            token = "probe%08d" % i
            producer.produce("probe", value=json.dumps({"msg": token}).encode())
            producer.flush(30)
            acked = time.time()
            while http(b.search_port, "/probe/_count", {"query": {"match": {"msg": token}}})["count"] == 0:
                time.sleep(0.001)
            lags.append((time.time() - acked) * 1000)
        print("visibility lag       p50 %7.1f ms   p99 %7.1f ms   (%d records, acks=all, one at a time)"
              % (pct(lags, 50), pct(lags, 99), len(lags)))

        queries = {
            "term": {"query": {"term": {"level": "error"}}},
            "match": {"query": {"match": {"msg": "omega psi"}}},
            "phrase": {"query": {"match_phrase": {"msg": "alpha beta"}}},
            "range": {"query": {"range": {"latency_ms": {"gte": 1000, "lt": 1100}}}},
            "bool": {"query": {"bool": {"must": [{"match": {"msg": "delta"}}],
                                        "filter": [{"term": {"service": "svc-3"}}],
                                        "must_not": [{"term": {"level": "debug"}}]}}},
            "terms aggregation": {"size": 0, "aggs": {"hosts": {"terms": {"field": "host", "size": 10}}}},
            # A match counted, aggregated and sorted by time: nothing ranked.
            "match, size 0": {"size": 0, "query": {"match": {"msg": "omega psi"}}},
            "match, aggregation": {"size": 0, "query": {"match": {"msg": "omega psi"}},
                                   "aggs": {"levels": {"terms": {"field": "level"}}}},
            "match, newest first": {"query": {"match": {"msg": "omega psi"}}, "sort": [{"_timestamp": "desc"}]},
        }
        print("query latency over %d documents (size 10)" % args.records)
        for name, body in queries.items():
            times = []
            for _ in range(args.queries):
                t = time.time()
                r = http(b.search_port, "/logs/_search", body)
                times.append((time.time() - t) * 1000)
            print("  %-18s p50 %8.1f ms   p99 %8.1f ms   hits %d" % (name, pct(times, 50), pct(times, 99),
                                                                    r["hits"]["total"]["value"]))
        print("index size           %.0f MB for %.0f MB of records"
              % (sum(os.path.getsize(os.path.join(b.data_dir, "__search", f))
                     for f in os.listdir(os.path.join(b.data_dir, "__search")) if f.startswith("logs-")) / 1e6,
                 size / 1e6))


if __name__ == "__main__":
    main()
