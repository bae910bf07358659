"""End-to-end: a cooperative-sticky consumer group subscribed to two topics, one of which is
deleted while it consumes. The group rebalances the deleted topic away and the consumer then
closes promptly: every request of the close (OffsetCommit, LeaveGroup) is answered as Kafka does.

Run with confluent-kafka 2.x from PyPI (tests/e2e/pydeps): librdkafka before 2.1.0 never finishes
destroying a consumer that lost partitions of a deleted topic (a reference leak fixed upstream in
2.1.0, "Fix close blocked by reference count"), against Apache Kafka exactly as against Chronik."""

import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


class GroupCloseTest(unittest.TestCase):
    def test_close_after_a_subscribed_topic_is_deleted(self):
        version = tuple(int(x) for x in confluent_kafka.libversion()[0].split(".")[:2])
        self.assertGreaterEqual(version, (2, 1), "needs confluent-kafka 2.x from tests/e2e/pydeps (run_all.sh)")
        with Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0}) as broker:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            for f in admin.create_topics([NewTopic("kept", 2, 1), NewTopic("doomed", 2, 1)]).values():
                f.result(10)
            p = Producer({"bootstrap.servers": broker.bootstrap})
            for i in range(20):
                p.produce("kept", b"k%d" % i)
                p.produce("doomed", b"d%d" % i)
            self.assertEqual(p.flush(10), 0)

            revoked, assigned = [], []
            c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "coop",
                          "partition.assignment.strategy": "cooperative-sticky", "auto.offset.reset": "earliest",
                          "topic.metadata.refresh.interval.ms": 1000})
            c.subscribe(["kept", "doomed"],
                        on_assign=lambda _, parts: assigned.append(sorted((x.topic, x.partition) for x in parts)),
                        on_revoke=lambda _, parts: revoked.append(sorted((x.topic, x.partition) for x in parts)))
            consumed = 0
            deadline = time.time() + 60
            while consumed < 40 and time.time() < deadline:
                m = c.poll(0.2)
                if m is not None and not m.error():
                    consumed += 1
            self.assertEqual(consumed, 40)

            for f in admin.delete_topics(["doomed"]).values():
                f.result(10)
            deadline = time.time() + 60
            while time.time() < deadline and not any(("doomed", 0) in r for r in revoked):
                c.poll(0.2)
            self.assertIn([("doomed", 0), ("doomed", 1)], revoked)
            self.assertEqual(sorted((x.topic, x.partition) for x in c.assignment()), [("kept", 0), ("kept", 1)])

            # A hung close never returns: give it a minute on its own thread, then fail.
            closed = threading.Event()
            started = time.time()
            threading.Thread(target=lambda: (c.close(), closed.set()), daemon=True).start()
            self.assertTrue(closed.wait(60), "consumer.close() did not return:\n" + broker.read_log()[-3000:])
            print("librdkafka %s: close after the rebalance took %.2f s" % (confluent_kafka.libversion()[0],
                                                                            time.time() - started))


if __name__ == "__main__":
    unittest.main(verbosity=2)
