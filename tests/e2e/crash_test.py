"""End-to-end crash test: a real client (confluent-kafka, acks=all) produces as fast as it can
while the broker is killed with SIGKILL at random moments and restarted on the same data dir.
At the end every acknowledged message must be there, intact, at the offset its delivery report
gave. Without idempotence, duplicates can only come from retries of requests the broker wrote
but never answered; they are counted and reported, not failed. With enable.idempotence=true the
broker answers such a retry with the original offsets, and there must be none."""

import os
import random
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker  # noqa: E402

CYCLES = int(os.environ.get("CHRONIK_CRASH_CYCLES", "20"))
PARTITIONS = 3


class CrashTest(unittest.TestCase):
    def test_acknowledged_messages_survive_kill_9(self):
        self.run_crashes(idempotent=False)

    def test_idempotent_producer_survives_kill_9_without_duplicates(self):
        duplicates = self.run_crashes(idempotent=True)
        self.assertEqual(duplicates, 0)

    def run_crashes(self, idempotent):
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        seed = int(os.environ.get("CHRONIK_CRASH_SEED", str(random.randrange(1 << 30))))
        rng = random.Random(seed)
        broker = Broker().start()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("crash", PARTITIONS, 1)])["crash"].result(10)
        extra = {"enable.idempotence": True} if idempotent else {"retries": 1000000}

        acked = {}  # value -> (partition, offset)
        failed = [0]
        lock = threading.Lock()

        def report(err, msg):
            with lock:
                if err is None:
                    acked[msg.value()] = (msg.partition(), msg.offset())
                else:
                    failed[0] += 1

        producer = Producer(dict({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 1,
                                  "message.timeout.ms": 60000, "retry.backoff.ms": 50,
                                  "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                                  "socket.connection.setup.timeout.ms": 2000,
                                  "log_level": 2}, **extra))  # the kills drop every connection; errors only
        stop = threading.Event()
        sent = [0]

        def produce_loop():
            i = 0
            while not stop.is_set():
                try:
                    producer.produce("crash", value=b"m-%09d" % i, partition=i % PARTITIONS, on_delivery=report)
                    i += 1
                except BufferError:
                    producer.poll(0.01)
                    continue
                if i % 100 == 0:
                    producer.poll(0)
            sent[0] = i

        thread = threading.Thread(target=produce_loop)
        thread.start()
        try:
            for cycle in range(CYCLES):
                time.sleep(rng.uniform(0.2, 1.2))
                broker.stop(sig=signal.SIGKILL)
                time.sleep(rng.uniform(0.0, 0.3))
                broker.start()
        finally:
            stop.set()
            thread.join()
        self.assertEqual(producer.flush(120), 0, "messages still in flight after 120 s")

        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "crash-check",
                             "enable.auto.commit": False})
        stored = {}  # (partition, offset) -> value
        counts = {}
        try:
            consumer.assign([TopicPartition("crash", p, 0) for p in range(PARTITIONS)])
            highs = [consumer.get_watermark_offsets(TopicPartition("crash", p), 10)[1] for p in range(PARTITIONS)]
            deadline = time.time() + 120
            while len(stored) < sum(highs) and time.time() < deadline:
                for m in consumer.consume(5000, 1.0):
                    self.assertIsNone(m.error())
                    stored[(m.partition(), m.offset())] = m.value()
                    counts[m.value()] = counts.get(m.value(), 0) + 1
        finally:
            consumer.close()
        self.assertEqual(broker.stop(), 0, broker.read_log())

        lost = [v for v, where in acked.items() if stored.get(where) != v]
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        print("crash test%s: seed %d, %d kill -9 cycles, %d produced, %d acknowledged, %d failed deliveries, "
              "%d stored, %d acknowledged missing or moved, %d duplicates" %
              (" (idempotent)" if idempotent else "", seed, CYCLES, sent[0], len(acked), failed[0], len(stored),
               len(lost), duplicates))
        self.assertEqual(lost[:10], [])
        self.assertGreater(len(acked), 0)
        return duplicates


if __name__ == "__main__":
    unittest.main(verbosity=2)
