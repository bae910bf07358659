// kafkajs consumer group against a running broker, after produce.js: consumes the 1000 messages
// of topic 'js' in group 'js-group', checks each key, value and header, commits, and reads the
// committed offsets and the group back through the admin client. Exits non-zero on failure.
//   node consume.js 127.0.0.1:PORT
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: 'chronik-e2e', brokers: [broker], logLevel: logLevel.NOTHING });
  const total = 1000;
  const consumer = kafka.consumer({ groupId: 'js-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'js', fromBeginning: true });
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${seen.size} messages`)), 60000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const j = Number(message.headers.n.toString());
          if (message.key.toString() !== `key-${j}` || message.value.toString() !== `value-${j}` || j % 2 !== partition) {
            reject(new Error(`message at ${partition}/${message.offset} is wrong`));
          }
          seen.add(j);
          if (seen.size === total) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();

  const admin = kafka.admin();
  await admin.connect();
  const committed = await admin.fetchOffsets({ groupId: 'js-group', topics: ['js'] });
  const offsets = committed[0].partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  if (offsets.join(',') !== '500,500') throw new Error('committed offsets ' + offsets.join(','));
  const { groups } = await admin.listGroups();
  if (!groups.some((g) => g.groupId === 'js-group' && g.protocolType === 'consumer')) {
    throw new Error('js-group not listed: ' + JSON.stringify(groups));
  }
  const described = await admin.describeGroups(['js-group']);
  if (described.groups[0].state !== 'Empty') throw new Error('state ' + described.groups[0].state);
  await admin.disconnect();
  console.log(`kafkajs: consumed ${seen.size} messages in a group, committed ${offsets.join(',')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
