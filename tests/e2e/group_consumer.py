"""A confluent-kafka group consumer run as its own process by groups_test.py, so that a test can
close it (SIGTERM: close() and leave) or kill it (SIGKILL). It commits after processing each
batch and logs, one line each, to the file named on the command line:
  A <partitions>   partitions assigned (all of them for eager, the added ones for cooperative)
  R <partitions>   partitions revoked (or lost)
  M <partition> <offset> <value>
  C                the batch before it is committed
  E <error>        a commit failed
  X                closed cleanly
usage: group_consumer.py '<json config>' <topic> <log file>"""

import json
import signal
import sys

from confluent_kafka import Consumer, KafkaException

config = json.loads(sys.argv[1])
topic = sys.argv[2]
log = open(sys.argv[3], "a", buffering=1)
stopping = False


def on_term(*_):
    global stopping
    stopping = True


def parts(partitions):
    return ",".join(str(p.partition) for p in partitions)


signal.signal(signal.SIGTERM, on_term)
consumer = Consumer(dict(config, **{"enable.auto.commit": False}))
consumer.subscribe([topic],
                   on_assign=lambda c, p: log.write("A %s\n" % parts(p)),
                   on_revoke=lambda c, p: log.write("R %s\n" % parts(p)),
                   on_lost=lambda c, p: log.write("R %s\n" % parts(p)))
while not stopping:
    batch = consumer.consume(500, 0.2)
    got = False
    for m in batch:
        if m.error():
            continue
        log.write("M %d %d %s\n" % (m.partition(), m.offset(), m.value().decode()))
        got = True
    if got:
        try:
            consumer.commit(asynchronous=False)
            log.write("C\n")
        except KafkaException as e:
            log.write("E %s\n" % e)
consumer.close()
log.write("X\n")
