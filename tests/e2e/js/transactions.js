// kafkajs transactions against a running broker: a transactional producer commits one transaction
// and aborts another, a consume-transform-produce step sends its consumed offsets in the
// transaction (sendOffsets), and a read_committed consumer (kafkajs' default) reads exactly the
// committed records. Exits non-zero on failure.
//   node transactions.js 127.0.0.1:PORT
const { Kafka, logLevel } = require('kafkajs');

async function readAll(kafka, topic, expected, readUncommitted) {
  const consumer = kafka.consumer({ groupId: `js-read-${topic}-${readUncommitted}`, readUncommitted });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(), 15000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          values.push(message.value.toString());
          if (values.length === expected) {
            // Wait a little longer: more would be a failure.
            clearTimeout(timer);
            setTimeout(resolve, 1000);
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return values;
}

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: 'chronik-e2e-txn', brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'js-txn-in' }, { topic: 'js-txn-out' }], waitForLeaders: true });

  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: 'js-txn-in', messages: Array.from({ length: 20 }, (_, i) => ({ value: `in-${i}` })) });
  await plain.disconnect();

  const producer = kafka.producer({ transactionalId: 'js-txn', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  let txn = await producer.transaction();
  await txn.send({ topic: 'js-txn-out', messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
  await txn.commit();
  txn = await producer.transaction();
  await txn.send({ topic: 'js-txn-out', messages: [{ value: 'aborted-1' }] });
  await txn.abort();

  // Consume-transform-produce: the consumed offsets commit with the output.
  const consumer = kafka.consumer({ groupId: 'js-ctp' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'js-txn-in', fromBeginning: true });
  let transformed = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${transformed} records`)), 60000);
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const t = await producer.transaction();
          await t.send({
            topic: 'js-txn-out',
            messages: batch.messages.map((m) => ({ value: m.value.toString().replace('in-', 'out-') })),
          });
          const next = (BigInt(batch.lastOffset()) + 1n).toString();
          await t.sendOffsets({
            consumerGroupId: 'js-ctp',
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
          });
          await t.commit();
          transformed += batch.messages.length;
          if (transformed === 20) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  await producer.disconnect();

  const committed = await readAll(kafka, 'js-txn-out', 22, false);
  const want = ['committed-1', 'committed-2', ...Array.from({ length: 20 }, (_, i) => `out-${i}`)];
  if (committed.join(',') !== want.join(',')) throw new Error('read_committed got ' + committed.join(','));
  const everything = await readAll(kafka, 'js-txn-out', 23, true);
  if (!everything.includes('aborted-1') || everything.length !== 23) {
    throw new Error('read_uncommitted got ' + everything.join(','));
  }
  const offsets = await admin.fetchOffsets({ groupId: 'js-ctp', topics: ['js-txn-in'] });
  const offset = offsets[0].partitions[0].offset;
  if (offset !== '20') throw new Error('js-ctp committed ' + offset);
  await admin.disconnect();
  console.log(`kafkajs: transactions: 1 committed, 1 aborted, ${transformed} records transformed with sendOffsets;` +
    ` read_committed saw ${committed.length}, read_uncommitted ${everything.length}; group offset ${offset}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
