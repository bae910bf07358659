// kafkajs against a broker's secured listeners: SCRAM-SHA-512 and SCRAM-SHA-256 over SASL_SSL,
// PLAIN over SASL_PLAINTEXT and a client certificate (mTLS) on the SSL listener. Each creates a
// topic, lists the topics, produces with acks=-1, consumes the records back in a consumer group
// and reads the group's committed offsets. A wrong password (SCRAM and PLAIN) must be refused
// with a SASL authentication error. One "kafkajs: ..." line per check; exits non-zero on failure.
//   node security.js SASL_SSL_ADDR SASL_PLAINTEXT_ADDR SSL_ADDR CA_PEM CLIENT_KEY CLIENT_CRT USER PASSWORD
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [saslSsl, saslPlaintext, sslAddr, caPath, keyPath, certPath, user, password] = process.argv.slice(2);
if (!password) {
  console.error('usage: node security.js SASL_SSL SASL_PLAINTEXT SSL CA KEY CERT USER PASSWORD');
  process.exit(2);
}
const ca = fs.readFileSync(caPath, 'utf8');
const key = fs.readFileSync(keyPath, 'utf8');
const cert = fs.readFileSync(certPath, 'utf8');
const TOTAL = 50;

function client(broker, extra) {
  return new Kafka({
    clientId: 'chronik-e2e-security',
    brokers: [broker],
    logLevel: process.env.KAFKAJS_DEBUG ? logLevel.DEBUG : logLevel.NOTHING,
    connectionTimeout: 5000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
    ...extra,
  });
}

// Creates `topic` (2 partitions), checks the admin lists it, produces TOTAL keyed records with
// acks=-1, consumes them in group `topic`-group and checks the committed offsets.
async function roundTrip(kafka, topic) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) throw new Error(`listTopics does not list ${topic}: ${topics}`);

    const producer = kafka.producer();
    await producer.connect();
    const messages = [];
    for (let i = 0; i < TOTAL; i++) messages.push({ key: `k${i}`, value: `${topic}-${i}`, partition: i % 2 });
    const sent = await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
    if (sent.some((r) => r.errorCode !== 0)) throw new Error('produce errors: ' + JSON.stringify(sent));

    const groupId = `${topic}-group`;
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Set();
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed only ${seen.size} of ${TOTAL}`)), 60000);
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              const i = Number(message.key.toString().slice(1));
              if (message.value.toString() !== `${topic}-${i}` || i % 2 !== partition) {
                clearTimeout(timer);
                reject(new Error(`wrong record at ${partition}/${message.offset}`));
              }
              seen.add(i);
              if (seen.size === TOTAL) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const offsets = committed[0].partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
    if (offsets.join(',') !== `${TOTAL / 2},${TOTAL / 2}`) throw new Error('committed offsets ' + offsets.join(','));
    return `listed, produced ${TOTAL} (acks -1), consumed ${seen.size} in a group, committed ${offsets.join(',')}`;
  } finally {
    await admin.disconnect();
  }
}

// A wrong password must fail the connection with a SASL authentication error.
async function rejected(kafka) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (e) {
    const names = [];
    for (let c = e; c; c = c.originalError || c.cause) names.push(`${c.name}: ${c.message}`);
    if (names.some((n) => n.startsWith('KafkaJSSASLAuthenticationError'))) return names[names.length - 1];
    throw new Error('failed, but not with KafkaJSSASLAuthenticationError: ' + names.join(' <- '));
  } finally {
    await admin.disconnect().catch(() => {});
  }
  throw new Error('a wrong password was accepted');
}

const checks = [
  ['SASL_SSL SCRAM-SHA-512', () =>
    roundTrip(client(saslSsl, { ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: user, password } }), 'js-scram512')],
  ['SASL_SSL SCRAM-SHA-256', () =>
    roundTrip(client(saslSsl, { ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-256', username: user, password } }), 'js-scram256')],
  ['SASL_PLAINTEXT PLAIN', () =>
    roundTrip(client(saslPlaintext, { sasl: { mechanism: 'plain', username: user, password } }), 'js-plain')],
  ['SSL with a client certificate (mTLS)', () =>
    roundTrip(client(sslAddr, { ssl: { ca: [ca], key, cert } }), 'js-mtls')],
  ['SASL_SSL SCRAM-SHA-512 with a wrong password', () =>
    rejected(client(saslSsl, { ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: user, password: password + 'x' },
      retry: { retries: 0 } })).then((m) => `rejected (${m})`)],
  ['SASL_PLAINTEXT PLAIN with a wrong password', () =>
    rejected(client(saslPlaintext, { sasl: { mechanism: 'plain', username: user, password: password + 'x' },
      retry: { retries: 0 } })).then((m) => `rejected (${m})`)],
];

async function main() {
  let failed = 0;
  for (const [name, check] of checks) {
    try {
      console.log(`kafkajs: ${name}: ${await check()}: ok`);
    } catch (e) {
      failed++;
      console.log(`kafkajs: ${name}: FAILED: ${e.stack || e}`);
    }
  }
  if (failed) {
    console.log(`kafkajs: ${failed} of ${checks.length} checks failed`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
