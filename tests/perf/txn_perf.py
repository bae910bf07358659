#!/usr/bin/python3
"""Transactional produce with the Java client (tests/java TxnBench) against chronik_server:
records/s and commitTransaction latency (p50/p99) for 100 and 1000 records per transaction, next
to the same records from the default idempotent producer flushed at the same points. Each run
has its own fresh broker. It measures and prints; it asserts nothing about speed.

    bazel run -c opt //tests/perf:txn_perf [-- --scale 0.1]"""

import argparse
import os
import re
import subprocess
import sys

from perf_java import java_classpath, runfiles_root

SCENARIOS = [
    # records per transaction, transactions, record size
    (100, 2000, 100),
    (1000, 400, 100),
]


def run(classpath, broker_binary, records, transactions, size, txn_id):
    from broker import Broker  # tests/e2e/broker.py: a broker on a free loopback port in a temp dir
    os.environ["CHRONIK_SERVER"] = broker_binary
    with Broker(kafka_properties={"num.partitions": 1}) as b:
        p = subprocess.run(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
                            "io.chronik.tests.TxnBench", b.bootstrap, "perf", str(records), str(transactions),
                            str(size), txn_id], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit("TxnBench failed:\n%s%s" % (p.stdout, p.stderr[-3000:]))
    m = re.search(r"([\d.]+) records/s, commit p50 ([\d.]+) ms p99 ([\d.]+) ms", p.stdout)
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


def main():
    here = runfiles_root(__file__)
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", default=os.path.join(here, "chronik_server", "chronik_server"))
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    classpath = java_classpath(here)
    sys.path.insert(0, os.path.join(here, "tests", "e2e"))
    print("%-22s %-14s %12s %14s %14s" % ("records/transaction", "producer", "records/s", "commit p50 ms",
                                          "commit p99 ms"))
    for records, transactions, size in SCENARIOS:
        n = max(10, int(transactions * args.scale))
        for label, txn_id in (("transactional", "bench"), ("idempotent", "none")):
            rate, p50, p99 = run(classpath, args.broker, records, n, size, txn_id)
            print("%-22s %-14s %12.0f %14.2f %14.2f" % (records if label == "transactional" else "", label, rate,
                                                        p50, p99), flush=True)


if __name__ == "__main__":
    main()
