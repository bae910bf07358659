#!/usr/bin/python3
"""The Java client as a second load generator beside librdkafka: Kafka's ProducerPerformance and
ConsumerPerformance (kafka-tools 4.4.0, from tests/java) against chronik_server, next to the
benchmark's librdkafka figures for the same workload, side by side. It measures and prints; it
asserts nothing about speed.

    bazel run -c opt //tests/perf:java_perf [-- --scale 0.1]

The Java producer runs with acks=all, linger.ms=5 and batch.size=1000000 (librdkafka's settings
in the benchmark), idempotent as by default."""

import argparse
import os
import re
import subprocess
import sys

from perf_java import java_classpath, runfiles_root

SCENARIOS = [
    # name, record size, records, partitions
    ("p100-acksall-1p", 100, 500_000, 1),
    ("p100-acksall-12p", 100, 800_000, 12),
    ("p1k-acksall-1p", 1024, 200_000, 1),
]


def run_java(classpath, main, *args):
    p = subprocess.run(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
                        "org.apache.kafka.tools." + main] + list(args), capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (main, p.stdout, p.stderr[-3000:]))
    return p.stdout


def java_figures(classpath, size, count, partitions):
    from broker import Broker  # tests/e2e/broker.py: a broker on a free loopback port in a temp dir
    with Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0, "num.partitions": partitions}) as b:
        bootstrap = b.bootstrap
        out = run_java(classpath, "ProducerPerformance", "--topic", "perf", "--num-records", str(count),
                       "--record-size", str(size), "--throughput", "-1", "--command-property",
                       "bootstrap.servers=" + bootstrap, "acks=all", "linger.ms=5",
                       "batch.size=1000000")
        m = re.search(r"([\d.]+) records/sec .*?([\d.]+) ms 50th, [\d.]+ ms 95th, ([\d.]+) ms 99th", out)
        produce = (float(m.group(1)), float(m.group(2)), float(m.group(3)))
        out = run_java(classpath, "ConsumerPerformance", "--bootstrap-server", bootstrap, "--topic", "perf",
                       "--num-records", str(count))
        fields = out.strip().splitlines()[-1].split(", ")
        consume = float(fields[9])  # fetch.nMsg.sec: the rate once the consumer has its partitions
        return produce, consume


def librdkafka_figures(bench, broker, size, count, partitions):
    p = subprocess.run([bench, "--broker", broker, "--chronik-only", "--size=%d" % size, "--count=%d" % count,
                        "--acks=all", "--partitions=%d" % partitions, "--consume=1"],
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit("bench failed:\n" + p.stdout + p.stderr[-3000:])
    m = re.search(r"chronik\s+([\d.]+) msg/s.*?p50\s+([\d.]+)\s+p99\s+([\d.]+)", p.stdout)
    c = re.search(r"chronik\s+consume\s+([\d.]+) msg/s", p.stdout)
    return (float(m.group(1)), float(m.group(2)), float(m.group(3))), float(c.group(1))


def main():
    here = runfiles_root(__file__)
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", default=os.path.join(here, "chronik_server", "chronik_server"))
    ap.add_argument("--bench", default=os.path.join(here, "tests", "perf", "bench_bin"))
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    classpath = java_classpath(here)
    sys.path.insert(0, os.path.join(here, "tests", "e2e"))
    os.environ["CHRONIK_SERVER"] = args.broker

    print("%-18s %-12s %14s %10s %10s %16s" % ("scenario", "client", "produce msg/s", "p50 ms", "p99 ms",
                                               "consume msg/s"))
    for name, size, count, partitions in SCENARIOS:
        n = max(1000, int(count * args.scale))
        (rp, r50, r99), rc = librdkafka_figures(args.bench, args.broker, size, n, partitions)
        (jp, j50, j99), jc = java_figures(classpath, size, n, partitions)
        print("%-18s %-12s %14.0f %10.2f %10.2f %16.0f" % (name, "librdkafka", rp, r50, r99, rc))
        print("%-18s %-12s %14.0f %10.2f %10.2f %16.0f" % ("", "java", jp, j50, j99, jc), flush=True)


if __name__ == "__main__":
    main()
