package io.chronik.tests;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client against a running broker: the AdminClient, the producer and the consumer in
 * groups. Each scenario prints one "java: ..." line with what it checked, and any mismatch throws
 * (exit code 1). Run as: JavaClientCheck BOOTSTRAP [admin|produce-consume|groups|transactions|all].
 */
public final class JavaClientCheck {
  private static final Duration POLL = Duration.ofMillis(200);
  private static final long DEADLINE_MS = 60_000;

  private final String bootstrap;

  private JavaClientCheck(String bootstrap) {
    this.bootstrap = bootstrap;
  }

  public static void main(String[] args) throws Exception {
    JavaClientCheck check = new JavaClientCheck(args[0]);
    String which = args.length > 1 ? args[1] : "all";
    if (which.equals("admin") || which.equals("all")) check.adminChecks();
    if (which.equals("produce-consume") || which.equals("all")) check.produceConsume();
    if (which.equals("groups") || which.equals("all")) check.groups();
    if (which.equals("transactions") || which.equals("all")) check.transactions();
    System.out.println("java: all checks passed");
  }

  private static void expect(boolean condition, String what) {
    if (!condition) throw new AssertionError(what);
  }

  private Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    return Admin.create(p);
  }

  private KafkaProducer<String, String> producer() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // The Java default since 3.0: enable.idempotence=true (InitProducerId, sequence numbers).
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  private KafkaConsumer<String, String> consumer(String group, Map<String, String> extra) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    if (group != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.putAll(extra);
    return new KafkaConsumer<>(p);
  }

  /** Produces `count` records key-i/value-i with a header and timestamp base+i, round robin over partitions. */
  private void produce(String topic, int partitions, int from, int count, long baseTimestamp) throws Exception {
    try (KafkaProducer<String, String> producer = producer()) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = from; i < from + count; i++) {
        ProducerRecord<String, String> r =
            new ProducerRecord<>(topic, i % partitions, baseTimestamp + i, "key-" + i, "value-" + i);
        r.headers().add("seq", Integer.toString(i).getBytes());
        acks.add(producer.send(r));
      }
      for (Future<RecordMetadata> f : acks) f.get(30, TimeUnit.SECONDS);
    }
  }

  /** Checks a consumed record against what produce() wrote. */
  private static int checkRecord(ConsumerRecord<String, String> r) {
    int i = Integer.parseInt(r.key().substring("key-".length()));
    expect(r.value().equals("value-" + i), "value of " + r.key() + " is " + r.value());
    expect(new String(r.headers().lastHeader("seq").value()).equals(Integer.toString(i)), "header of " + r.key());
    return i;
  }

  private void adminChecks() throws Exception {
    try (Admin admin = admin()) {
      DescribeClusterResult cluster = admin.describeCluster();
      expect(cluster.nodes().get().size() == 1, "one node");
      expect(cluster.clusterId().get() != null, "a cluster id");
      int nodeId = cluster.controller().get().id();

      String topic = "java-admin";
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1).configs(Map.of("retention.ms", "3600000"))))
          .all().get();
      expect(admin.listTopics().names().get().contains(topic), "listed");
      TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      expect(d.partitions().size() == 3, "3 partitions");
      expect(d.partitions().get(0).leader().id() == nodeId, "led by the node");

      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config c = admin.describeConfigs(List.of(res)).all().get().get(res);
      expect(c.get("retention.ms").value().equals("3600000"), "retention.ms as created");
      admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"),
          AlterConfigOp.OpType.SET)))).all().get();
      c = admin.describeConfigs(List.of(res)).all().get().get(res);
      expect(c.get("retention.ms").value().equals("7200000"), "retention.ms altered");
      ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(nodeId));
      Config bc = admin.describeConfigs(List.of(broker)).all().get().get(broker);
      expect(bc.get("broker.id").value().equals(Integer.toString(nodeId)), "broker.id is the node id");

      admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
      d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      expect(d.partitions().size() == 4, "4 partitions");

      produce(topic, 1, 0, 100, 1_000_000L);
      TopicPartition p0 = new TopicPartition(topic, 0);
      expect(offset(admin, p0, OffsetSpec.earliest()) == 0, "earliest 0");
      expect(offset(admin, p0, OffsetSpec.latest()) == 100, "latest 100");
      expect(offset(admin, p0, OffsetSpec.forTimestamp(1_000_050L)) == 50, "offset for timestamp");
      expect(offset(admin, p0, OffsetSpec.maxTimestamp()) == 99, "offset of the max timestamp");
      long low = admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(40))).lowWatermarks().get(p0).get()
          .lowWatermark();
      expect(low == 40, "low watermark 40, got " + low);
      expect(offset(admin, p0, OffsetSpec.earliest()) == 40, "earliest 40 after DeleteRecords");

      admin.deleteTopics(List.of(topic)).all().get();
      waitUntil("the topic to go", () -> !admin.listTopics().names().get().contains(topic));
      System.out.println("java: admin: cluster, create/describe/alter/grow/delete topic, broker configs, list offsets"
          + " (earliest, latest, timestamp, max timestamp), delete records to 40: ok");
    }
  }

  private static long offset(Admin admin, TopicPartition tp, OffsetSpec spec) throws Exception {
    ListOffsetsResult r = admin.listOffsets(Map.of(tp, spec));
    return r.partitionResult(tp).get().offset();
  }

  interface Check {
    boolean done() throws Exception;
  }

  private static void waitUntil(String what, Check check) throws Exception {
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    while (!check.done()) {
      if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting for " + what);
      Thread.sleep(100);
    }
  }

  private void produceConsume() throws Exception {
    String topic = "java-data";
    int partitions = 4;
    int count = 20_000;
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
    }
    long base = System.currentTimeMillis() - 100_000;
    produce(topic, partitions, 0, count, base);

    // Assigned (no group), read from the start: every record once, in order per partition.
    try (KafkaConsumer<String, String> c = consumer(null, Map.of())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<Integer, Long> next = new HashMap<>();
      Set<Integer> seen = new HashSet<>();
      long deadline = System.currentTimeMillis() + DEADLINE_MS;
      while (seen.size() < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(POLL)) {
          long expected = next.getOrDefault(r.partition(), 0L);
          expect(r.offset() == expected, "offset " + r.offset() + " in partition " + r.partition() + ", expected " + expected);
          next.put(r.partition(), expected + 1);
          expect(seen.add(checkRecord(r)), "record read twice");
        }
      }
      expect(seen.size() == count, "read " + seen.size() + " of " + count);

      // Seek by timestamp: record i has timestamp base+i and sits at offset i/partitions of partition i%partitions.
      TopicPartition tp1 = new TopicPartition(topic, 1);
      long ts = base + 4 * 1000 + 1;  // record 4001, the first of partition 1 at or after it
      OffsetAndTimestamp found = c.offsetsForTimes(Map.of(tp1, ts)).get(tp1);
      expect(found != null && found.offset() == 1000 && found.timestamp() == ts, "offsetsForTimes: " + found);
      c.seek(tp1, found.offset());
      ConsumerRecords<String, String> rs = ConsumerRecords.empty();
      deadline = System.currentTimeMillis() + DEADLINE_MS;
      while (rs.records(tp1).isEmpty() && System.currentTimeMillis() < deadline) rs = c.poll(POLL);
      expect(rs.records(tp1).get(0).key().equals("key-4001"), "seek by timestamp lands on key-4001");
    }
    System.out.println("java: produced " + count + " records (acks=all) to " + partitions
        + " partitions; consumed " + count + " by assignment with keys, values, headers and offsets checked;"
        + " offsetsForTimes and seek: ok");
  }

  private KafkaProducer<String, String> transactionalProducer(String id) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    KafkaProducer<String, String> producer = new KafkaProducer<>(p);
    producer.initTransactions();
    return producer;
  }

  /** Every value of `topic` (one partition) a fresh consumer with `isolation` reads up to the end. */
  private List<String> readAll(String topic, String isolation) {
    try (KafkaConsumer<String, String> c =
             consumer(null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long end = c.endOffsets(List.of(tp)).get(tp);
      List<String> out = new ArrayList<>();
      long deadline = System.currentTimeMillis() + DEADLINE_MS;
      while (c.position(tp) < end && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(POLL)) out.add(r.value());
      }
      return out;
    }
  }

  /**
   * A consume-transform-produce loop with read_committed input and transactional output whose
   * consumed offsets commit in the same transaction (sendOffsetsToTransaction); one transaction
   * aborted midway and redone; a second producer with the same transactional.id fencing the first.
   */
  private void transactions() throws Exception {
    String in = "java-txn-in";
    String out = "java-txn-out";
    String group = "java-txn";
    int count = 1000;
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(in, 1, (short) 1), new NewTopic(out, 1, (short) 1))).all().get();
    }
    produce(in, 1, 0, count, System.currentTimeMillis());
    Map<String, String> committedReads = Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG,
        IsolationLevel.READ_COMMITTED.toString().toLowerCase(), ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "100");
    int transactions = 0;
    int aborted = 0;
    boolean abortOnce = true;
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    try (KafkaProducer<String, String> producer = transactionalProducer("java-ctp")) {
      int done = 0;
      while (done < count && System.currentTimeMillis() < deadline) {
        // A consumer per round, so that an aborted round restarts from the committed offsets.
        try (KafkaConsumer<String, String> c = consumer(group, committedReads)) {
          c.subscribe(List.of(in));
          while (done < count && System.currentTimeMillis() < deadline) {
            ConsumerRecords<String, String> records = c.poll(POLL);
            if (records.isEmpty()) continue;
            producer.beginTransaction();
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (ConsumerRecord<String, String> r : records) {
              producer.send(new ProducerRecord<>(out, r.key(), r.value().replace("value-", "out-")));
              offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            }
            producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
            if (abortOnce && done >= count / 2) {
              producer.flush();  // in the log, so that read_committed has something to skip
              producer.abortTransaction();
              abortOnce = false;
              aborted++;
              break;
            }
            producer.commitTransaction();
            transactions++;
            done = (int) offsets.get(new TopicPartition(in, 0)).offset();
          }
        }
      }
    }
    List<String> committed = readAll(out, "read_committed");
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < count; i++) expected.add("out-" + i);
    expect(committed.equals(expected), "read_committed output: " + committed.size() + " records, first "
        + (committed.isEmpty() ? "-" : committed.get(0)) + ", expected out-0..out-" + (count - 1) + " once each");
    List<String> uncommitted = readAll(out, "read_uncommitted");
    expect(uncommitted.size() > count, "read_uncommitted also sees the aborted transaction's records: " + uncommitted.size());
    try (Admin admin = admin()) {
      OffsetAndMetadata o = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
          .get(new TopicPartition(in, 0));
      expect(o != null && o.offset() == count, "group offset committed with the output: " + o);
    }

    // Zombie fencing: a new producer with the same transactional.id fences the old one.
    try (KafkaProducer<String, String> zombie = transactionalProducer("java-fence")) {
      zombie.beginTransaction();
      zombie.send(new ProducerRecord<>(out, "zombie", "zombie")).get();
      try (KafkaProducer<String, String> successor = transactionalProducer("java-fence")) {
        successor.beginTransaction();
        successor.send(new ProducerRecord<>(out, "successor", "successor")).get();
        successor.commitTransaction();
      }
      boolean fenced = false;
      try {
        zombie.commitTransaction();
      } catch (ProducerFencedException e) {
        fenced = true;
      }
      expect(fenced, "the zombie's commit is fenced");
    }
    List<String> after = readAll(out, "read_committed");
    expect(after.size() == count + 1 && after.get(count).equals("successor"), "only the successor's record was added");
    System.out.println("java: transactions: consume-transform-produce of " + count + " records in " + transactions
        + " committed transactions (+" + aborted + " aborted and redone), read_committed output exactly once,"
        + " group offset " + count + " committed with it; zombie fenced (ProducerFencedException)");
  }

  /** Polls `consumers` in turn, committing synchronously, until `count` distinct records were read. */
  private static int consumeAll(List<KafkaConsumer<String, String>> consumers, int count) {
    return consumeAll(consumers, count, new HashSet<>());
  }

  /** The same, counting records already read into `seen`. */
  private static int consumeAll(List<KafkaConsumer<String, String>> consumers, int count, Set<Integer> seen) {
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    while (seen.size() < count && System.currentTimeMillis() < deadline) {
      for (KafkaConsumer<String, String> c : consumers) {
        ConsumerRecords<String, String> rs = c.poll(POLL);
        for (ConsumerRecord<String, String> r : rs) seen.add(checkRecord(r));
        if (!rs.isEmpty()) c.commitSync();
      }
    }
    expect(seen.size() == count, "consumed " + seen.size() + " of " + count);
    return seen.size();
  }

  private long committedTotal(Admin admin, String group) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> offsets =
        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    long total = 0;
    for (OffsetAndMetadata o : offsets.values()) total += o.offset();
    return total;
  }

  private void groups() throws Exception {
    String topic = "java-groups";
    int partitions = 6;
    int count = 6_000;
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
      produce(topic, partitions, 0, count, System.currentTimeMillis());

      // Eager (range) group of two: together they read everything and commit it.
      try (KafkaConsumer<String, String> a = consumer("java-eager", Map.of());
           KafkaConsumer<String, String> b = consumer("java-eager", Map.of())) {
        a.subscribe(List.of(topic));
        b.subscribe(List.of(topic));
        consumeAll(List.of(a, b), count);
        ConsumerGroupDescription g = admin.describeConsumerGroups(List.of("java-eager")).all().get().get("java-eager");
        expect(g.members().size() == 2, "2 members, got " + g.members().size());
      }
      expect(committedTotal(admin, "java-eager") == count, "eager group committed everything");

      // Cooperative sticky: a second member joins mid-way; incremental rebalances, nothing lost.
      Map<String, String> coop = Map.of(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
          "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
      try (KafkaConsumer<String, String> a = consumer("java-coop", coop)) {
        a.subscribe(List.of(topic));
        Set<Integer> seen = new HashSet<>();
        waitUntil("the first member's assignment", () -> {
          for (ConsumerRecord<String, String> r : a.poll(POLL)) seen.add(checkRecord(r));
          return a.assignment().size() == partitions;
        });
        a.commitSync();
        try (KafkaConsumer<String, String> b = consumer("java-coop", coop)) {
          b.subscribe(List.of(topic));
          consumeAll(List.of(a, b), count, seen);
          waitUntil("the partitions to be shared", () -> {
            a.poll(POLL);
            b.poll(POLL);
            return a.assignment().size() + b.assignment().size() == partitions && !b.assignment().isEmpty();
          });
        }
      }
      expect(committedTotal(admin, "java-coop") == count, "cooperative group committed everything");

      // Auto commit.
      try (KafkaConsumer<String, String> a = consumer("java-auto", Map.of(
          ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "true", ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, "100"))) {
        a.subscribe(List.of(topic));
        Set<Integer> seen = new HashSet<>();
        long deadline = System.currentTimeMillis() + DEADLINE_MS;
        while (seen.size() < count && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<String, String> r : a.poll(POLL)) seen.add(checkRecord(r));
        }
        expect(seen.size() == count, "auto-commit consumer read " + seen.size());
      }  // close() commits what was consumed
      expect(committedTotal(admin, "java-auto") == count, "auto commit stored everything");

      // Static membership: a member restarted with the same group.instance.id resumes from its
      // committed offsets and reads exactly the records produced meanwhile.
      Map<String, String> statik = Map.of(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "java-static-1",
          ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
      try (KafkaConsumer<String, String> a = consumer("java-static", statik)) {
        a.subscribe(List.of(topic));
        consumeAll(List.of(a), count);
      }
      produce(topic, partitions, count, 600, System.currentTimeMillis());
      try (KafkaConsumer<String, String> a = consumer("java-static", statik)) {
        a.subscribe(List.of(topic));
        Set<Integer> seen = new HashSet<>();
        long deadline = System.currentTimeMillis() + DEADLINE_MS;
        while (seen.size() < 600 && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<String, String> r : a.poll(POLL)) {
            int i = checkRecord(r);
            expect(i >= count, "re-read an old record " + i);
            seen.add(i);
          }
        }
        expect(seen.size() == 600, "static member read " + seen.size() + " new records");
        a.commitSync();
        ConsumerGroupDescription g = admin.describeConsumerGroups(List.of("java-static")).all().get().get("java-static");
        expect(g.members().iterator().next().groupInstanceId().orElse("").equals("java-static-1"), "instance id");
      }

      Collection<String> groups = new ArrayList<>();
      admin.listConsumerGroups().all().get().forEach(l -> groups.add(l.groupId()));
      expect(groups.containsAll(List.of("java-eager", "java-coop", "java-auto", "java-static")), "listed: " + groups);
      admin.deleteConsumerGroups(List.of("java-eager")).all().get();
      expect(admin.listConsumerGroupOffsets("java-eager").partitionsToOffsetAndMetadata().get().isEmpty(),
          "deleted group has no offsets");
    }
    System.out.println("java: groups: eager pair, cooperative-sticky join, auto commit, static member restart"
        + " (" + count + " records each, 600 more after the restart), list/describe/delete groups and offsets: ok");
  }
}
