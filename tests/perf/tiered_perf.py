#!/usr/bin/python3
"""Tiered storage against each object store on loopback (the local store, versitygw for S3, Azurite
for Azure Blob): produce throughput on a tiered topic against a plain one in the same run, upload
throughput (a filled topic switched to remote.storage.enable, until every rolled segment is
copied), and a cold consume from offset 0 of the tiered topic, whose local segments are gone,
against the same records read from local disk. It measures and prints; it asserts nothing.

Each produce round starts once the copies of the rounds before it are done and their local segments
deleted, and after os.sync(): what a tiered round leaves to copy, or the page cache left to write
back, would otherwise slow the round after it, which is a plain one every other time. --control
makes the second topic of each produce round plain too: two plain topics' ratio is what the
comparison can resolve on this machine. --store-dir puts the stores' data on another file system
(/dev/shm: in a deployment the object store never writes to the broker's disk), and --idle-store
runs the store's threads at SCHED_IDLE, on what the broker and kcat leave of the two cores (in a
deployment the store's CPU is another machine's); --idle-store produce does so only while the
produce rounds run, and gives the store its share again to serve the upload and the cold reads.
--tls has versitygw and Azurite serve HTTPS, as S3 and Azure are reached in a deployment. Beside wall-clock rates it prints the CPU time
(ms per MB, over all rounds) the broker, the store and kcat used in each kind of step, which this
machine's noise moves less.

    bazel run -c opt //tests/perf:tiered_perf [-- --mb 256 --stores local,s3,azure --rounds 5]"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from perf_java import ratio_summary, runfiles_root


def process_cpu(pid):
    """CPU seconds (user + system) of process `pid`, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_pids(pgid):
    """The processes of process group `pgid` (a store server and whatever it started)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[2]) == pgid:
                        pids.append(int(name))
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
    return pids


class CpuMeter:
    """CPU seconds of the broker, the store server (None for the local store) and the kcat runs,
    summed by kind of step."""

    def __init__(self, broker, server):
        self.broker = broker
        # The store's processes, listed once: a server starts none while it runs.
        self.store_pids = group_pids(server.proc.pid) if server else []
        self.totals = {}  # kind -> [broker, store, kcat] seconds, in the order first measured

    def read(self):
        children = os.times()
        return (process_cpu(self.broker.proc.pid), sum(process_cpu(p) for p in self.store_pids),
                children.children_user + children.children_system)

    def measure(self, kind, step):
        """Runs step() and adds the CPU it took to `kind`'s totals; returns its result."""
        before = self.read()
        result = step()
        used = [a - b for a, b in zip(self.read(), before)]
        self.totals[kind] = [t + u for t, u in zip(self.totals.get(kind, [0.0] * 3), used)]
        return result


def set_policy(server, policy):
    """Moves every thread of the store server to `policy` (os.SCHED_IDLE or os.SCHED_OTHER); threads
    it starts later inherit it."""
    for pid in group_pids(server.proc.pid):
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                os.sched_setscheduler(int(tid), policy, os.sched_param(0))
            except ProcessLookupError:
                pass  # the thread ended meanwhile


def produce(bootstrap, topic, path):
    t = time.time()
    subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-X", "acks=all", "-X", "linger.ms=5", "-l", path],
                   check=True, timeout=3600)
    return time.time() - t


def consume(bootstrap, topic, records):
    t = time.time()
    p = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o\\n"],
                       capture_output=True, text=True, check=True, timeout=3600)
    elapsed = time.time() - t
    got = p.stdout.count("\n")
    if got != records:
        raise RuntimeError("consumed %d of %d records from %s" % (got, records, topic))
    return elapsed


def local_logs(broker, topic):
    """The segment files of the topic's partition 0, oldest first."""
    return sorted(n for n in os.listdir(os.path.join(broker.data_dir, topic + "-0")) if n.endswith(".log"))


def settle(broker, topics):
    """Waits until nothing rolled is left to copy (two passes in a row say so) and the tiered
    `topics` keep only their active segment locally."""
    quiet = 0
    while quiet < 2:
        time.sleep(0.25)
        lag = broker.metrics("chronik_remote_")["chronik_remote_copy_lag_segments"]
        local = sum(max(0, len(local_logs(broker, t)) - 1) for t in topics)
        quiet = quiet + 1 if lag == 0 and local == 0 else 0


def main():
    here = runfiles_root(__file__)
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", default=os.path.join(here, "chronik_server", "chronik_server"))
    ap.add_argument("--mb", type=int, default=256, help="MB of 1 KiB records per topic")
    ap.add_argument("--stores", default="local,s3,azure")
    ap.add_argument("--fetch-bytes", type=int, default=None, help="remote.log.reader.fetch.bytes")
    ap.add_argument("--copy-rate", type=int, default=None,
                    help="remote.log.manager.copy.max.bytes.per.second (the upload step is then bounded by it too)")
    ap.add_argument("--store-dir", default=None,
                    help="where the stores keep their data (default: a temp dir on the broker's disk)")
    ap.add_argument("--idle-store", nargs="?", const="all", choices=["all", "produce"], default=None,
                    help="run the store server's threads at SCHED_IDLE (not the local store, which is the broker's): "
                         "all the time, or only while the produce rounds run")
    ap.add_argument("--tls", action="store_true", help="the S3 and Azure stores serve HTTPS (as the clouds do)")
    ap.add_argument("--control", action="store_true",
                    help="the produce rounds' second topics are plain too: what the comparison resolves at all")
    ap.add_argument("--rounds", type=int, default=2,
                    help="produce (plain, tiered) and consume (local, remote) pairs, alternating which goes first")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(here, "tests", "e2e"))
    sys.path.insert(0, os.path.join(here, "tests", "e2e", "pydeps"))
    os.environ["CHRONIK_SERVER"] = args.broker
    from broker import Broker
    import objstore
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    records = args.mb * 1024
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "records.txt")
        rnd = random.Random(1)
        with open(data, "w") as f:
            for i in range(records):
                f.write("%08d-%s\n" % (i, "%x" % rnd.getrandbits(4060))[:1023])
        print("%d records of 1 KiB (%d MB) per topic, one partition, segment.bytes 16 MiB" % (records, args.mb))
        for store in args.stores.split(","):
            server = local_dir = None
            if store == "local":
                local_dir = tempfile.mkdtemp(prefix="chronik-remote-local-", dir=args.store_dir or d)
                env = {"STORAGE_BACKEND": "local", "LOCAL_STORAGE_PATH": local_dir}
            elif store == "s3":
                server = objstore.start_versitygw("perf", args.store_dir, tls=args.tls)
                env = server.env
            elif store == "azure":
                server = objstore.start_azurite("perf", args.store_dir, tls=args.tls)
                env = server.env
            else:
                raise SystemExit("unknown store " + store)
            if server is not None and args.idle_store:
                set_policy(server, os.SCHED_IDLE)
            try:
                with Broker(extra_args=["--log-level", "warn"], env=env,
                            kafka_properties=dict({"remote.log.storage.system.enable": "true",
                                                   "remote.log.manager.task.interval.ms": 200,
                                                   "log.retention.check.interval.ms": 200},
                                                  **({"remote.log.reader.fetch.bytes": args.fetch_bytes}
                                                     if args.fetch_bytes else {}),
                                                  **({"remote.log.manager.copy.max.bytes.per.second": args.copy_rate}
                                                     if args.copy_rate else {}))) as b:
                    meter = CpuMeter(b, server)
                    admin = AdminClient({"bootstrap.servers": b.bootstrap})
                    segment = {"segment.bytes": str(16 << 20)}
                    tiered = dict(segment, **{"remote.storage.enable": "true", "local.retention.bytes": "1"})
                    names = ["%s-%d" % (kind, r) for r in range(args.rounds) for kind in ("plain", "tiered")]
                    second = segment if args.control else tiered
                    for f in admin.create_topics([NewTopic(n, 1, 1, config=second if n.startswith("tiered") else segment)
                                                  for n in names] + [NewTopic("bulk", 1, 1, config=segment)]).values():
                        f.result(30)
                    # Alternating, so that neither is always the first on a fresh disk or a quiet machine.
                    produce_ratios = []
                    plain_s = tiered_s = 0.0
                    tiered_topics = [] if args.control else [n for n in names if n.startswith("tiered")]
                    for r in range(args.rounds):
                        order = ["plain", "tiered"] if r % 2 == 0 else ["tiered", "plain"]
                        took = {}
                        for kind in order:
                            settle(b, tiered_topics)
                            os.sync()  # the rounds before it written back: their writeback would slow its fsyncs
                            # A round's CPU includes the copies, which go on after kcat is done (and,
                            # on both sides alike, the metrics polls that wait for them; a tiered round
                            # waits longer, so it also gathers more of the broker's 200 ms passes).
                            def produce_round():
                                elapsed = produce(b.bootstrap, "%s-%d" % (kind, r), data)
                                settle(b, tiered_topics)
                                return elapsed
                            took[kind] = meter.measure(kind + " produce", produce_round)
                        plain_s += took["plain"] / args.rounds
                        tiered_s += took["tiered"] / args.rounds
                        produce_ratios.append(took["plain"] / took["tiered"])
                    produce(b.bootstrap, "bulk", data)
                    if server is not None and args.idle_store == "produce":
                        set_policy(server, os.SCHED_OTHER)  # it serves the upload and the cold reads

                    # Upload: the filled topic switched to tiering, until nothing is left to copy (once
                    # the tiered topic's copies are done).
                    settle(b, tiered_topics)
                    before = b.metrics("chronik_remote_")["chronik_remote_bytes_copied_total"]
                    logs = local_logs(b, "bulk")
                    rolled = sum(os.path.getsize(os.path.join(b.data_dir, "bulk-0", n)) for n in logs[:-1])
                    resource = ConfigResource("topic", "bulk", set_config=tiered)
                    t0 = time.time()
                    for f in admin.alter_configs([resource]).values():  # all of them, as set_config names them
                        f.result(30)
                    while True:
                        m = b.metrics("chronik_remote_")
                        if m["chronik_remote_bytes_copied_total"] - before >= rolled:
                            break
                        time.sleep(0.05)
                    upload_s = time.time() - t0
                    copied = m["chronik_remote_bytes_copied_total"] - before
                    settle(b, ["bulk"])  # its local segments go at the next retention pass
                    consume_ratios = []
                    local_s = remote_s = 0.0
                    for r in range(args.rounds):
                        # A consume from 0 of more than the chunk cache holds starts cold each time.
                        order = [("local", "plain-0"), ("remote", "bulk")]
                        took = {}
                        for kind, topic in (order if r % 2 == 0 else order[::-1]):
                            took[kind] = meter.measure(kind + " consume", lambda: consume(b.bootstrap, topic, records))
                        local_s += took["local"] / args.rounds
                        remote_s += took["remote"] / args.rounds
                        consume_ratios.append(took["local"] / took["remote"])
                    print("%-6s%s produce acks=all  plain %7.1f MB/s  %s %7.1f MB/s (%.2f x; %s)   upload %7.1f MB/s "
                          "(%.0f MB)   consume from 0  local %7.1f MB/s  remote %7.1f MB/s (%.2f x; %s)"
                          % (store, " (https)" if args.tls and server else "", args.mb / plain_s, "plain too" if args.control else "tiered", args.mb / tiered_s, plain_s / tiered_s, ratio_summary(produce_ratios),
                             copied / 1e6 / upload_s, copied / 1e6, args.mb / local_s, args.mb / remote_s,
                             local_s / remote_s, ratio_summary(consume_ratios)), flush=True)
                    mb = args.mb * args.rounds
                    for kind, cpu in meter.totals.items():
                        print("       %-15s  CPU ms per MB: broker %5.2f  store %5.2f  kcat %5.2f"
                              % (kind, *(1000 * c / mb for c in cpu)), flush=True)
                    del admin  # its thread would log the stopped broker's refusals through the next store's run
            finally:
                if server is not None:
                    server.stop()
                if local_dir is not None:
                    shutil.rmtree(local_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
