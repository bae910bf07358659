"""End-to-end: transactions with confluent-kafka 2.x (librdkafka's transactional producer):
commit and abort seen through read_committed and read_uncommitted consumers, a
consume-transform-produce loop whose offsets commit with its output (send_offsets_to_transaction),
zombie fencing by a second producer with the same transactional.id, a transaction the broker
aborts when it outlives transaction.timeout.ms, and the coordinator's errors for bad input."""

import os
import sys
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pydeps"))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def consume_all(bootstrap, topic, isolation, expect_at_least=0, timeout=20.0, partitions=1):
    """Every value in `topic` a consumer with `isolation` sees, read from the start until it has
    `expect_at_least` and the partitions' ends are reached."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader-" + uuid.uuid4().hex,
                  "isolation.level": isolation, "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values, eof = [], set()
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
                if len(eof) == partitions and len(values) >= expect_at_least:
                    break
                continue
            raise KafkaException(m.error())
        values.append(m.value().decode())
    c.close()
    return values


class TransactionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(kafka_properties={"group.initial.rebalance.delay.ms": 0,
                                              "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
                                              "transaction.max.timeout.ms": 60000}).start()
        cls.admin = AdminClient({"bootstrap.servers": cls.broker.bootstrap})

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        assert code == 0, cls.broker.read_log()

    def create(self, name, partitions=1):
        for f in self.admin.create_topics([NewTopic(name, partitions, 1)]).values():
            f.result(10)

    def producer(self, txn_id, **extra):
        conf = {"bootstrap.servers": self.broker.bootstrap, "transactional.id": txn_id,
                "transaction.timeout.ms": 30000}
        conf.update(extra)
        p = Producer(conf)
        p.init_transactions(15)
        return p

    def test_commit_and_abort_seen_by_isolation_level(self):
        topic = "txn-basic"
        self.create(topic, 2)
        p = self.producer("basic")
        p.begin_transaction()
        for i in range(10):
            p.produce(topic, ("committed-%d" % i).encode(), partition=i % 2)
        p.commit_transaction(15)
        p.begin_transaction()
        for i in range(5):
            p.produce(topic, ("aborted-%d" % i).encode(), partition=i % 2)
        p.flush(10)
        p.abort_transaction(15)
        p.begin_transaction()
        p.produce(topic, b"committed-last", partition=0)
        p.commit_transaction(15)

        committed = consume_all(self.broker.bootstrap, topic, "read_committed", 11, partitions=2)
        self.assertEqual(sorted(committed), sorted(["committed-%d" % i for i in range(10)] + ["committed-last"]))
        everything = consume_all(self.broker.bootstrap, topic, "read_uncommitted", 16, partitions=2)
        self.assertEqual(len(everything), 16)
        self.assertEqual(len([v for v in everything if v.startswith("aborted-")]), 5)

    def test_open_transaction_holds_back_read_committed(self):
        topic = "txn-open"
        self.create(topic)
        p = self.producer("open")
        p.begin_transaction()
        p.produce(topic, b"pending")
        p.flush(10)
        plain = Producer({"bootstrap.servers": self.broker.bootstrap})
        plain.produce(topic, b"after")  # behind the open transaction: not readable committed yet
        plain.flush(10)
        self.assertEqual(consume_all(self.broker.bootstrap, topic, "read_committed", timeout=3), [])
        self.assertEqual(sorted(consume_all(self.broker.bootstrap, topic, "read_uncommitted", 2)),
                         ["after", "pending"])
        p.commit_transaction(15)
        self.assertEqual(consume_all(self.broker.bootstrap, topic, "read_committed", 2), ["pending", "after"])

    def test_consume_transform_produce_commits_offsets_with_output(self):
        src, dst, group = "txn-src", "txn-dst", "ctp-group"
        self.create(src)
        self.create(dst)
        plain = Producer({"bootstrap.servers": self.broker.bootstrap})
        for i in range(100):
            plain.produce(src, ("in-%d" % i).encode())
        plain.flush(10)

        def run(batch_limit, commit):
            c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                          "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                          "enable.auto.commit": False})
            c.subscribe([src])
            p = self.producer("ctp")
            p.begin_transaction()
            got = 0
            deadline = time.time() + 20
            while got < batch_limit and time.time() < deadline:
                m = c.poll(0.5)
                if m is None or m.error():
                    continue
                p.produce(dst, m.value().decode().replace("in-", "out-").encode())
                got += 1
            p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 15)
            if commit:
                p.commit_transaction(15)
            else:
                p.abort_transaction(15)
            c.close()
            return got

        self.assertEqual(run(40, commit=True), 40)
        self.assertEqual(run(30, commit=False), 30)   # rolled back: output dropped, offsets not moved
        self.assertEqual(run(60, commit=True), 60)    # resumes at 40

        out = consume_all(self.broker.bootstrap, dst, "read_committed", 100)
        self.assertEqual(out, ["out-%d" % i for i in range(100)])
        committed = self.admin.list_consumer_group_offsets(
            [__import__("confluent_kafka").ConsumerGroupTopicPartitions(group)])[group].result(10)
        self.assertEqual([tp.offset for tp in committed.topic_partitions if tp.topic == src], [100])

    def test_second_producer_fences_the_first(self):
        topic = "txn-fence"
        self.create(topic)
        zombie = self.producer("fence")
        zombie.begin_transaction()
        zombie.produce(topic, b"zombie")
        zombie.flush(10)
        successor = self.producer("fence")  # aborts the zombie's transaction, bumps the epoch
        successor.begin_transaction()
        successor.produce(topic, b"successor")
        successor.commit_transaction(15)
        with self.assertRaises(KafkaException) as ctx:
            zombie.commit_transaction(10)
        self.assertTrue(ctx.exception.args[0].fatal(), ctx.exception)
        self.assertEqual(consume_all(self.broker.bootstrap, topic, "read_committed", 1), ["successor"])

    def test_broker_aborts_a_transaction_past_its_timeout(self):
        topic = "txn-timeout"
        self.create(topic)
        p = self.producer("slow", **{"transaction.timeout.ms": 1500})
        p.begin_transaction()
        p.produce(topic, b"too-slow")
        p.flush(10)
        plain = Producer({"bootstrap.servers": self.broker.bootstrap})
        plain.produce(topic, b"plain")
        plain.flush(10)
        # The coordinator aborts it; read_committed then gets past it without the producer.
        self.assertEqual(consume_all(self.broker.bootstrap, topic, "read_committed", 1, timeout=20), ["plain"])
        with self.assertRaises(KafkaException):
            p.commit_transaction(10)

    def test_timeout_above_the_maximum_is_refused(self):
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "transactional.id": "too-long",
                      "transaction.timeout.ms": 120000})
        with self.assertRaises(KafkaException) as ctx:
            p.init_transactions(10)
        self.assertIn("INVALID_TRANSACTION_TIMEOUT", str(ctx.exception).upper().replace(" ", "_"))


if __name__ == "__main__":
    unittest.main()
