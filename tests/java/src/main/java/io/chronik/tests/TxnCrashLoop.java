package io.chronik.tests;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The consume-transform-produce loop of the transactional crash test (tests/e2e/txn_crash_test.py
 * kills the broker meanwhile): reads txn-in (one partition, read_committed) from the group's
 * committed offset, writes "out-N" for each input N to txn-out (three partitions) and sends the
 * consumed offset in the same transaction; commits, or at random aborts. It recovers as an
 * application does: any failure aborts (or, if the producer cannot, makes a new one, fencing the
 * old) and rewinds to the committed offset. Exits once the committed offset reaches the end.
 * Run as: TxnCrashLoop BOOTSTRAP COUNT SEED.
 */
public final class TxnCrashLoop {
  private static final String GROUP = "txn-crash";
  private static final TopicPartition IN = new TopicPartition("txn-in", 0);

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    long count = Long.parseLong(args[1]);
    Random rng = new Random(Long.parseLong(args[2]));
    long committed = 0;
    long aborted = 0;
    long recreated = 0;
    try (KafkaConsumer<String, String> consumer = consumer(bootstrap)) {
      consumer.assign(List.of(IN));
      long position = rewind(consumer);
      KafkaProducer<String, String> producer = producer(bootstrap);
      while (position < count) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try {
          consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        } catch (KafkaException e) {
          continue;  // the broker is down; poll again
        }
        if (records.isEmpty()) continue;
        boolean commit = rng.nextDouble() >= 0.2;
        long next = records.get(records.size() - 1).offset() + 1;
        try {
          producer.beginTransaction();
          for (ConsumerRecord<String, String> r : records) {
            int n = Integer.parseInt(r.value());
            producer.send(new ProducerRecord<>("txn-out", n % 3, null, "out-" + n));
          }
          producer.sendOffsetsToTransaction(Map.of(IN, new OffsetAndMetadata(next)), consumer.groupMetadata());
          if (commit) {
            producer.commitTransaction();
          } else {
            producer.abortTransaction();
          }
        } catch (ProducerFencedException e) {
          throw e;  // nobody else uses this transactional.id
        } catch (KafkaException e) {
          commit = false;
          try {
            producer.abortTransaction();
          } catch (KafkaException e2) {
            // A commit that timed out must be retried, not aborted; a new producer settles it
            // either way (the coordinator completes or aborts what the old one left).
            producer.close(Duration.ZERO);
            producer = producer(bootstrap);
            recreated++;
          }
        }
        if (commit) {
          committed++;
          position = next;
        } else {
          aborted++;
          position = rewind(consumer);
        }
      }
      producer.close();
    }
    System.out.println("java-txn-crash: " + committed + " transactions committed, " + aborted
        + " aborted or failed (" + recreated + " producers recreated)");
  }

  /** Seeks to the group's committed offset (retrying while the broker is down); returns it. */
  private static long rewind(KafkaConsumer<String, String> consumer) throws InterruptedException {
    while (true) {
      try {
        OffsetAndMetadata o = consumer.committed(Set.of(IN)).get(IN);
        long at = o == null ? 0 : o.offset();
        consumer.seek(IN, at);
        return at;
      } catch (KafkaException e) {
        Thread.sleep(200);
      }
    }
  }

  private static KafkaProducer<String, String> producer(String bootstrap) throws InterruptedException {
    while (true) {
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "crash-ctp");
      p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "20000");
      p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "15000");
      p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
      p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
      p.put(ProducerConfig.LINGER_MS_CONFIG, "2");
      p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      KafkaProducer<String, String> producer = new KafkaProducer<>(p);
      try {
        producer.initTransactions();
        return producer;
      } catch (KafkaException e) {
        producer.close(Duration.ZERO);
        Thread.sleep(200);
      }
    }
  }

  private static KafkaConsumer<String, String> consumer(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "50");
    p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    p.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    return new KafkaConsumer<>(p);
  }
}
