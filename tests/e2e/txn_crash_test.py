"""End-to-end transactional crash test: a consume-transform-produce loop with the Java client
(tests/java TxnCrashLoop: read_committed input, transactional output over three partitions, the
consumed offset sent in each transaction) commits and, at random, aborts transactions while the
broker is killed with SIGKILL at random moments and restarted on the same data dir. The loop
recovers as applications do: a failure aborts (or a new producer fences what the old one left)
and every rewind restarts from the group's committed offset. (librdkafka's
send_offsets_to_transaction can hang across a coordinator restart, ignoring its timeout:
confluentinc/librdkafka#5456, #5511; hence the Java client here.)

At the end the transactions are checked for atomicity: read_committed sees every input record
transformed exactly once (no record of an aborted or half-done transaction, none lost), and the
group's committed offset is the input's end: the committed offsets match the committed output."""

import os
import random
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)
from broker import Broker, java_classpath  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

CYCLES = int(os.environ.get("CHRONIK_CRASH_CYCLES", "20"))
INPUT = 40000  # before the kills
TAIL = 1000    # after them: the loop ends only then, so every kill falls within its run
OUT_PARTITIONS = 3
GROUP = "txn-crash"


class TxnCrashTest(unittest.TestCase):
    def test_transactions_are_atomic_across_kill_9(self):
        seed = int(os.environ.get("CHRONIK_CRASH_SEED", str(random.randrange(1 << 30))))
        rng = random.Random(seed)
        broker = Broker(kafka_properties={"transaction.abort.timed.out.transaction.cleanup.interval.ms": 1000}).start()
        bootstrap = broker.bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for f in admin.create_topics([NewTopic("txn-in", 1, 1), NewTopic("txn-out", OUT_PARTITIONS, 1)]).values():
            f.result(10)

        def feed(first, count):
            plain = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                              "enable.idempotence": True})
            for i in range(first, first + count):
                plain.produce("txn-in", value=b"%d" % i)
                if i % 1000 == 0:
                    plain.poll(0)
            self.assertEqual(plain.flush(60), 0)

        feed(0, INPUT)

        classpath = java_classpath()
        loop_log = open(os.path.join(broker.tmp, "loop.log"), "w+")
        loop = subprocess.Popen(["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=error", "-cp", classpath,
                                 "io.chronik.tests.TxnCrashLoop", bootstrap, str(INPUT + TAIL), str(seed)],
                                stdout=loop_log, stderr=subprocess.STDOUT)
        try:
            cycles = 0
            while cycles < CYCLES and loop.poll() is None:
                time.sleep(rng.uniform(0.3, 1.5))
                broker.stop(sig=signal.SIGKILL)
                time.sleep(rng.uniform(0.0, 0.3))
                broker.start()
                cycles += 1
            feed(INPUT, TAIL)
            try:
                loop.wait(300)
            except subprocess.TimeoutExpired:
                loop.kill()
            loop_log.seek(0)
            output = loop_log.read()
            loop_log.close()
            self.assertEqual(loop.returncode, 0, output[-5000:] + "\nbroker log:\n" + broker.read_log()[-3000:])

            # Atomicity: every input record's output exactly once under read_committed.
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "txn-crash-check",
                          "isolation.level": "read_committed", "enable.partition.eof": True,
                          "auto.offset.reset": "earliest", "enable.auto.commit": False})
            c.assign([TopicPartition("txn-out", p, 0) for p in range(OUT_PARTITIONS)])
            seen, duplicates, eof = set(), 0, set()
            deadline = time.time() + 120
            while len(eof) < OUT_PARTITIONS and time.time() < deadline:
                m = c.poll(1.0)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise KafkaException(m.error())
                v = m.value()
                if v in seen:
                    duplicates += 1
                seen.add(v)
            c.close()
            g = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False})
            offset = [tp.offset for tp in g.committed([TopicPartition("txn-in", 0)], 30)]
            g.close()
            print("txn crash test: seed %d, %d kill -9 cycles; %s; read_committed: %d of %d records, "
                  "%d duplicates; committed offset %s" % (seed, cycles, output.strip().splitlines()[-1], len(seen),
                                                          INPUT + TAIL, duplicates, offset))
            self.assertEqual(cycles, CYCLES)
            self.assertEqual(duplicates, 0)
            expected = {b"out-%d" % i for i in range(INPUT + TAIL)}
            self.assertEqual((len(expected - seen), len(seen - expected)), (0, 0), "records lost, records foreign")
            self.assertEqual(offset, [INPUT + TAIL])
        finally:
            if loop.poll() is None:
                loop.kill()
            code = broker.stop()
            self.assertEqual(code, 0, broker.read_log()[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
