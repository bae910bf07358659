// kafkajs against a running broker: create a topic, produce keyed messages with headers with
// acks=-1, and check the offsets they got. Exits non-zero on failure.
//   node produce_consume.js 127.0.0.1:PORT
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: 'chronik-e2e', brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'js', numPartitions: 2 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: ['js'] });
  if (metadata.topics[0].partitions.length !== 2) throw new Error('expected 2 partitions');
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  const total = 1000;
  const sent = [];
  for (let i = 0; i < total; i += 100) {
    const messages = [];
    for (let j = i; j < i + 100; j++) {
      messages.push({ key: `key-${j}`, value: `value-${j}`, partition: j % 2, headers: { n: `${j}` } });
    }
    const result = await producer.send({ topic: 'js', acks: -1, messages });
    sent.push(...result);
  }
  await producer.disconnect();
  if (sent.some((r) => r.errorCode !== 0)) throw new Error('produce errors: ' + JSON.stringify(sent));

  // The admin client's ListOffsets shows where every message landed (consume.js reads them).
  const admin2 = kafka.admin();
  await admin2.connect();
  const offsets = await admin2.fetchTopicOffsets('js');
  await admin2.disconnect();
  const high = offsets.reduce((n, p) => n + Number(p.high), 0);
  if (high !== total) throw new Error(`expected ${total} messages, high watermarks sum to ${high}`);
  console.log(`kafkajs: produced ${total} messages, high watermarks ${offsets.map((p) => p.high).join(',')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
