#!/usr/bin/python3
"""A session of confluent-kafka 2.x (tests/e2e/pydeps, a recent librdkafka) against BOOTSTRAP,
for record_proxy.py: admin calls, produce with every codec, a group consuming and committing."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "pydeps"))
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic, OffsetSpec  # noqa: E402

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
admin.describe_cluster().result(10)
admin.create_topics([NewTopic("golden2", 2, 1, config={"retention.ms": "3600000"})])["golden2"].result(10)
res = ConfigResource(ConfigResource.Type.TOPIC, "golden2")
admin.describe_configs([res])[res].result(10)
admin.create_partitions([NewPartitions("golden2", 3)])["golden2"].result(10)
for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec})
    for i in range(100):
        p.produce("golden2", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")])
    assert p.flush(10) == 0
tp = TopicPartition("golden2", 0)
admin.list_offsets({tp: OffsetSpec.latest()})[tp].result(10)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "golden2-group", "auto.offset.reset": "earliest",
              "partition.assignment.strategy": "cooperative-sticky", "enable.auto.commit": False})
c.subscribe(["golden2"])
n, deadline = 0, time.time() + 30
while n < 500 and time.time() < deadline:
    batch = c.consume(500, 0.2)
    n += len(batch)
    if batch:
        c.commit(asynchronous=False)
assert n == 500, n
c.close()
admin.delete_records([TopicPartition("golden2", 0, 10)])
admin.delete_topics(["golden2"])["golden2"].result(10)
