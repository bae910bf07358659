package io.chronik.tests;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Transactional produce against a running broker: TRANSACTIONS transactions of RECORDS records of
 * SIZE bytes each to TOPIC, one after the other, each committed; prints the records/s and the
 * commitTransaction latency percentiles. With "none" as the transactional id, the same records
 * are sent by the default (idempotent) producer, flushing where a transaction would commit, for a
 * baseline. Measures; asserts nothing.
 * Run as: TxnBench BOOTSTRAP TOPIC RECORDS TRANSACTIONS SIZE TRANSACTIONAL_ID|none.
 */
public final class TxnBench {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int records = Integer.parseInt(args[2]);
    int transactions = Integer.parseInt(args[3]);
    byte[] value = new byte[Integer.parseInt(args[4])];
    boolean transactional = !args[5].equals("none");
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, "1000000");
    if (transactional) p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, args[5]);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    long[] commitNanos = new long[transactions];
    long start;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      if (transactional) producer.initTransactions();
      start = System.nanoTime();
      for (int t = 0; t < transactions; t++) {
        if (transactional) producer.beginTransaction();
        List<Future<RecordMetadata>> acks = new ArrayList<>(records);
        for (int i = 0; i < records; i++) acks.add(producer.send(new ProducerRecord<>(topic, value)));
        long before = System.nanoTime();
        if (transactional) {
          producer.commitTransaction();
        } else {
          producer.flush();
        }
        commitNanos[t] = System.nanoTime() - before;
        for (Future<RecordMetadata> f : acks) f.get();
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Arrays.sort(commitNanos);
    System.out.printf("txn-bench: %s %d transactions of %d records: %.0f records/s, commit p50 %.2f ms p99 %.2f ms%n",
        transactional ? "transactional" : "idempotent", transactions, records, transactions * (double) records / seconds,
        commitNanos[transactions / 2] / 1e6, commitNanos[Math.min(transactions - 1, transactions * 99 / 100)] / 1e6);
  }
}
