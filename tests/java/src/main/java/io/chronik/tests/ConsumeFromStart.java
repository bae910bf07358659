package io.chronik.tests;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads partition 0 of a topic from its earliest offset with the Java consumer:
 * ConsumeFromStart BOOTSTRAP TOPIC COUNT. Prints the partition's offsets as the admin client lists
 * them ("java: offsets earliest=E earliest_local=L latest_tiered=T latest=N"), then each record as
 * "OFFSET VALUE", then "java: consumed COUNT".
 */
public final class ConsumeFromStart {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    TopicPartition tp = new TopicPartition(args[1], 0);
    long count = Long.parseLong(args[2]);

    Properties admin = new Properties();
    admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin a = Admin.create(admin)) {
      long earliest = a.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get().offset();
      long local = a.listOffsets(Map.of(tp, OffsetSpec.earliestLocal())).partitionResult(tp).get().offset();
      long tiered = a.listOffsets(Map.of(tp, OffsetSpec.latestTiered())).partitionResult(tp).get().offset();
      long latest = a.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
      System.out.println("java: offsets earliest=" + earliest + " earliest_local=" + local + " latest_tiered=" + tiered
          + " latest=" + latest);
    }

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    long n = 0;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.currentTimeMillis() + 60_000;
      StringBuilder out = new StringBuilder();
      while (n < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          out.append(r.offset()).append(' ').append(r.value()).append('\n');
          ++n;
        }
      }
      System.out.print(out);
    }
    System.out.println("java: consumed " + n);
  }
}
