package io.chronik.tests;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.UnacceptableCredentialException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client (kafka-clients 4.x) against the broker's secured listeners: SCRAM users made and
 * removed through the KIP-554 admin APIs, PLAIN, mutual TLS with PEM key and trust stores, and
 * KIP-368 re-authentication. Run as {@code SecurityCheck SCENARIO key=value...}; prints
 * "java security: SCENARIO passed" (exit 0) or why not (exit 1). Scenarios and their arguments:
 *
 * <ul>
 *   <li>scram-admin sasl_ssl=H:P sasl_plaintext=H:P ca=PEM user=ADMIN password=SECRET
 *   <li>plain sasl_ssl=H:P sasl_plaintext=H:P ca=PEM user=ADMIN password=SECRET
 *   <li>mtls ssl=H:P ca=PEM key=PEM cert=PEM expired_key=PEM expired_cert=PEM untrusted_key=PEM
 *       untrusted_cert=PEM
 *   <li>reauth sasl_ssl=H:P ca=PEM user=ADMIN password=SECRET [seconds=15]
 * </ul>
 */
public final class SecurityCheck {
  private static final Duration POLL = Duration.ofMillis(200);
  private static final long DEADLINE_MS = 60_000;
  /** Bounds each call that is expected to fail (authentication or TLS refused). */
  private static final long FAIL_WAIT_S = 30;

  private final Map<String, String> args;

  private SecurityCheck(Map<String, String> args) {
    this.args = args;
  }

  public static void main(String[] argv) {
    if (argv.length < 1) {
      System.out.println("usage: SecurityCheck scram-admin|plain|mtls|reauth key=value...");
      System.exit(2);
    }
    String scenario = argv[0];
    Map<String, String> args = new HashMap<>();
    for (String a : Arrays.asList(argv).subList(1, argv.length)) {
      int eq = a.indexOf('=');
      if (eq < 0) {
        System.out.println("java security: argument " + a + " is not key=value");
        System.exit(2);
      }
      args.put(a.substring(0, eq), a.substring(eq + 1));
    }
    SecurityCheck check = new SecurityCheck(args);
    try {
      switch (scenario) {
        case "scram-admin" -> check.scramAdmin();
        case "plain" -> check.plain();
        case "mtls" -> check.mtls();
        case "reauth" -> check.reauth();
        default -> throw new IllegalArgumentException("unknown scenario " + scenario);
      }
    } catch (Throwable t) {
      System.out.println("java security: " + scenario + " FAILED: " + t);
      t.printStackTrace(System.out);
      System.out.flush();
      System.exit(1);
    }
    System.out.println("java security: " + scenario + " passed");
    System.out.flush();
    System.exit(0);
  }

  private String arg(String name) {
    String v = args.get(name);
    if (v == null) throw new IllegalArgumentException("missing argument " + name + "=...");
    return v;
  }

  private static void expect(boolean condition, String what) {
    if (!condition) throw new AssertionError(what);
  }

  private static void step(String what) {
    System.out.println("  " + what);
    System.out.flush();
  }

  // ---------------------------------------------------------------- client configurations

  /** A SASL client config: protocol SASL_SSL (trusting `ca`) or SASL_PLAINTEXT. */
  private Map<String, Object> sasl(String bootstrap, String protocol, String mechanism, String user, String password) {
    Map<String, Object> c = new HashMap<>();
    c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, protocol);
    c.put(SaslConfigs.SASL_MECHANISM, mechanism);
    String module = mechanism.equals("PLAIN")
        ? "org.apache.kafka.common.security.plain.PlainLoginModule"
        : "org.apache.kafka.common.security.scram.ScramLoginModule";
    c.put(SaslConfigs.SASL_JAAS_CONFIG,
        module + " required username=\"" + user + "\" password=\"" + password + "\";");
    if (protocol.equals("SASL_SSL")) trustCa(c);
    return c;
  }

  private void trustCa(Map<String, Object> c) {
    c.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
    c.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, arg("ca"));
  }

  /** An SSL client config trusting `ca`, with the PEM key and certificate given inline (or none). */
  private Map<String, Object> ssl(String keyPath, String certPath) throws Exception {
    Map<String, Object> c = new HashMap<>();
    c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, arg("ssl"));
    c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
    trustCa(c);
    if (keyPath != null) {
      c.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PEM");
      c.put(SslConfigs.SSL_KEYSTORE_KEY_CONFIG, Files.readString(Path.of(keyPath)));
      c.put(SslConfigs.SSL_KEYSTORE_CERTIFICATE_CHAIN_CONFIG, Files.readString(Path.of(certPath)));
    }
    return c;
  }

  /** Short timeouts, for clients that are expected to be refused. */
  private static Map<String, Object> failFast(Map<String, Object> c) {
    Map<String, Object> f = new HashMap<>(c);
    f.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    f.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, 8000);
    f.put(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
    f.put(CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, 3000);
    f.put(CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, 3000);
    return f;
  }

  private static Admin admin(Map<String, Object> c) {
    Properties p = new Properties();
    p.putAll(c);
    return Admin.create(p);
  }

  private static KafkaProducer<String, String> producer(Map<String, Object> c) {
    Properties p = new Properties();
    p.putAll(c);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // enable.idempotence is left at its default (true): InitProducerId and sequence numbers.
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  private static KafkaConsumer<String, String> consumer(Map<String, Object> c, String group) {
    Properties p = new Properties();
    p.putAll(c);
    if (group != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    return new KafkaConsumer<>(p);
  }

  // ---------------------------------------------------------------- building blocks

  /** Creates `topic`, produces `count` records with acks=all and reads them back in a group, committing. */
  private static void roundTrip(String who, Map<String, Object> c, String topic, int partitions, int count)
      throws Exception {
    try (Admin admin = admin(c)) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
      expect(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic), topic + " is not listed");
    }
    produce(c, topic, partitions, count);
    String group = topic + "-group";
    consumeInGroup(c, topic, group, count);
    try (Admin admin = admin(c)) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
      long sum = committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
      expect(committed.size() == partitions && sum == count,
          "committed offsets of " + group + " are " + committed + ", not " + count + " over " + partitions);
    }
    step(who + ": created " + topic + ", produced " + count + " records (acks=all, idempotent), consumed them in "
        + group + " and committed offsets: ok");
  }

  private static void produce(Map<String, Object> c, String topic, int partitions, int count) throws Exception {
    try (KafkaProducer<String, String> producer = producer(c)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        acks.add(producer.send(new ProducerRecord<>(topic, i % partitions, "key-" + i, "value-" + i)));
      }
      Set<String> positions = new HashSet<>();
      for (Future<RecordMetadata> f : acks) {
        RecordMetadata m = f.get(30, TimeUnit.SECONDS);
        expect(positions.add(m.partition() + "@" + m.offset()), "two records at " + m);
      }
    }
  }

  /** Subscribes in `group`, reads until `count` distinct records, checks them and commits synchronously. */
  private static void consumeInGroup(Map<String, Object> c, String topic, String group, int count) {
    try (KafkaConsumer<String, String> consumer = consumer(c, group)) {
      consumer.subscribe(List.of(topic));
      Set<Integer> seen = new HashSet<>();
      long deadline = System.currentTimeMillis() + DEADLINE_MS;
      while (seen.size() < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(POLL)) {
          int i = Integer.parseInt(r.key().substring("key-".length()));
          expect(r.value().equals("value-" + i), "value of " + r.key() + " is " + r.value());
          seen.add(i);
        }
      }
      expect(seen.size() == count, "consumed " + seen.size() + " of " + count + " records of " + topic);
      consumer.commitSync(Duration.ofSeconds(30));
      Set<TopicPartition> assigned = consumer.assignment();
      Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assigned, Duration.ofSeconds(30));
      long sum = committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
      expect(sum == count, "committed " + committed + " after consuming " + count);
    }
  }

  /** Runs `call`, which must fail; returns the first cause in the chain that is not a wrapper. */
  private static Throwable failure(String what, Callable<?> call) {
    try {
      Object result = call.call();
      throw new AssertionError(what + ": succeeded (" + result + ") but should have failed");
    } catch (AssertionError e) {
      throw e;
    } catch (Throwable t) {
      Throwable c = t;
      while ((c instanceof ExecutionException || c.getClass() == org.apache.kafka.common.KafkaException.class)
          && c.getCause() != null) {
        c = c.getCause();
      }
      return c;
    }
  }

  private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) return true;
    }
    return false;
  }

  private static void expectFailure(String what, Class<? extends Throwable> type, Callable<?> call) {
    Throwable t = failure(what, call);
    if (!causedBy(t, type)) {
      throw new AssertionError(what + ": failed with " + t + ", not " + type.getSimpleName(), t);
    }
    step(what + ": " + type.getSimpleName() + " (" + t.getMessage() + "): ok");
  }

  /** An admin call with client config `c`, which must be refused by authentication. */
  private static void expectAuthFailure(String what, Map<String, Object> c, Class<? extends Throwable> type) {
    try (Admin admin = admin(failFast(c))) {
      expectFailure(what, type, () -> admin.describeCluster().clusterId().get(FAIL_WAIT_S, TimeUnit.SECONDS));
    }
  }

  /** An admin call that must succeed: the topics as listed. */
  private static Set<String> listTopics(Map<String, Object> c) throws Exception {
    try (Admin admin = admin(c)) {
      return admin.listTopics().names().get(30, TimeUnit.SECONDS);
    }
  }

  private static Map<ScramMechanism, Integer> credentials(Admin admin, String user) throws Exception {
    UserScramCredentialsDescription d =
        admin.describeUserScramCredentials(List.of(user)).description(user).get(30, TimeUnit.SECONDS);
    expect(d.name().equals(user), "description of " + user + " is for " + d.name());
    Map<ScramMechanism, Integer> m = new HashMap<>();
    for (ScramCredentialInfo info : d.credentialInfos()) {
      expect(m.put(info.mechanism(), info.iterations()) == null, user + " has two " + info.mechanism());
    }
    return m;
  }

  private static void alter(Admin admin, UserScramCredentialAlteration... alterations) throws Exception {
    admin.alterUserScramCredentials(List.of(alterations)).all().get(30, TimeUnit.SECONDS);
  }

  // ---------------------------------------------------------------- scenarios

  private void scramAdmin() throws Exception {
    String saslSsl = arg("sasl_ssl");
    String saslPlain = arg("sasl_plaintext");
    Map<String, Object> root = sasl(saslSsl, "SASL_SSL", "SCRAM-SHA-512", arg("user"), arg("password"));
    String bob = "bob";
    String bobSecret = "bob-secret";
    try (Admin admin = admin(root)) {
      alter(admin,
          new UserScramCredentialUpsertion(bob, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), bobSecret),
          new UserScramCredentialUpsertion(bob, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), bobSecret));
      Map<ScramMechanism, Integer> creds = credentials(admin, bob);
      expect(creds.equals(Map.of(ScramMechanism.SCRAM_SHA_512, 8192, ScramMechanism.SCRAM_SHA_256, 8192)),
          "bob's credentials are " + creds);
      Map<String, UserScramCredentialsDescription> all =
          admin.describeUserScramCredentials().all().get(30, TimeUnit.SECONDS);
      expect(all.containsKey(bob) && all.containsKey(arg("user")), "all users: " + all.keySet());
      step("admin (SCRAM-SHA-512, SASL_SSL) made bob: " + creds + "; all users " + all.keySet() + ": ok");

      expectFailure("alter with 1000 iterations", UnacceptableCredentialException.class, () -> {
        alter(admin, new UserScramCredentialUpsertion("dave",
            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), "dave-secret"));
        return null;
      });
      expectFailure("alter with 100000 iterations", UnacceptableCredentialException.class, () -> {
        alter(admin, new UserScramCredentialUpsertion("dave",
            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 100000), "dave-secret"));
        return null;
      });
      expectFailure("describe a user refused above", ResourceNotFoundException.class, () -> credentials(admin, "dave"));
      expectFailure("delete an unknown user's credential", ResourceNotFoundException.class, () -> {
        alter(admin, new UserScramCredentialDeletion("nobody", ScramMechanism.SCRAM_SHA_512));
        return null;
      });
      expectFailure("describe an unknown user", ResourceNotFoundException.class, () -> credentials(admin, "nobody"));
    }

    Map<String, Object> bob512 = sasl(saslSsl, "SASL_SSL", "SCRAM-SHA-512", bob, bobSecret);
    Map<String, Object> bob256 = sasl(saslPlain, "SASL_PLAINTEXT", "SCRAM-SHA-256", bob, bobSecret);
    roundTrip("bob (SCRAM-SHA-512, SASL_SSL)", bob512, "bob-ssl", 3, 1000);
    roundTrip("bob (SCRAM-SHA-256, SASL_PLAINTEXT)", bob256, "bob-plaintext", 3, 1000);

    expectAuthFailure("bob with a wrong password (SCRAM-SHA-512, SASL_SSL)",
        sasl(saslSsl, "SASL_SSL", "SCRAM-SHA-512", bob, "not-bobs"), SaslAuthenticationException.class);
    expectAuthFailure("bob with a wrong password (SCRAM-SHA-256, SASL_PLAINTEXT)",
        sasl(saslPlain, "SASL_PLAINTEXT", "SCRAM-SHA-256", bob, "not-bobs"), SaslAuthenticationException.class);
    expectAuthFailure("an unknown user (SCRAM-SHA-512, SASL_SSL)",
        sasl(saslSsl, "SASL_SSL", "SCRAM-SHA-512", "nobody", bobSecret), SaslAuthenticationException.class);

    try (Admin admin = admin(root)) {
      alter(admin, new UserScramCredentialDeletion(bob, ScramMechanism.SCRAM_SHA_256));
      Map<ScramMechanism, Integer> creds = credentials(admin, bob);
      expect(creds.equals(Map.of(ScramMechanism.SCRAM_SHA_512, 8192)), "after deleting SCRAM-SHA-256: " + creds);
      step("deleted bob's SCRAM-SHA-256 credential; left " + creds + ": ok");
      expectFailure("delete bob's SCRAM-SHA-256 credential again", ResourceNotFoundException.class, () -> {
        alter(admin, new UserScramCredentialDeletion(bob, ScramMechanism.SCRAM_SHA_256));
        return null;
      });
    }
    expectAuthFailure("bob with SCRAM-SHA-256 after its deletion (SASL_PLAINTEXT)", bob256,
        SaslAuthenticationException.class);
    expectAuthFailure("bob with SCRAM-SHA-256 after its deletion (SASL_SSL)",
        sasl(saslSsl, "SASL_SSL", "SCRAM-SHA-256", bob, bobSecret), SaslAuthenticationException.class);
    Set<String> topics = listTopics(bob512);
    expect(topics.containsAll(List.of("bob-ssl", "bob-plaintext")), "bob lists " + topics);
    produce(bob512, "bob-ssl", 3, 10);
    step("bob with SCRAM-SHA-512 still lists " + topics + " and produces: ok");
  }

  private void plain() throws Exception {
    String user = arg("user");
    String password = arg("password");
    roundTrip(user + " (PLAIN, SASL_PLAINTEXT)", sasl(arg("sasl_plaintext"), "SASL_PLAINTEXT", "PLAIN", user, password),
        "plain-plaintext", 2, 500);
    roundTrip(user + " (PLAIN, SASL_SSL)", sasl(arg("sasl_ssl"), "SASL_SSL", "PLAIN", user, password), "plain-ssl", 2,
        500);
    expectAuthFailure("PLAIN with a wrong password (SASL_SSL)",
        sasl(arg("sasl_ssl"), "SASL_SSL", "PLAIN", user, "wrong-" + password), SaslAuthenticationException.class);
    expectAuthFailure("PLAIN for an unknown user (SASL_PLAINTEXT)",
        sasl(arg("sasl_plaintext"), "SASL_PLAINTEXT", "PLAIN", "nobody", password), SaslAuthenticationException.class);
  }

  private void mtls() throws Exception {
    Map<String, Object> client = ssl(arg("key"), arg("cert"));
    roundTrip("mTLS client (PEM keystore inline)", client, "mtls", 2, 500);

    // The same identity as one PEM file with key and chain (ssl.keystore.location).
    Path pem = Files.createTempFile("security-check-client", ".pem");
    try {
      Files.writeString(pem, Files.readString(Path.of(arg("key"))) + Files.readString(Path.of(arg("cert"))),
          StandardCharsets.US_ASCII);
      Map<String, Object> byFile = ssl(null, null);
      byFile.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PEM");
      byFile.put(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, pem.toString());
      try (Admin admin = admin(byFile)) {
        String cluster = admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        Set<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS);
        expect(topics.contains("mtls"), "topics over mTLS: " + topics);
        step("mTLS client (PEM keystore file): cluster " + cluster + ", topics " + topics + ": ok");
      }
    } finally {
      Files.deleteIfExists(pem);
    }

    expectTlsRefused("a client without a certificate", ssl(null, null));
    expectTlsRefused("a client with an expired certificate", ssl(arg("expired_key"), arg("expired_cert")));
    expectTlsRefused("a client with a certificate of an untrusted CA", ssl(arg("untrusted_key"), arg("untrusted_cert")));
  }

  /** The admin client and the producer: both must fail (SslAuthenticationException, or no metadata in time). */
  private static void expectTlsRefused(String who, Map<String, Object> c) {
    try (Admin admin = admin(failFast(c))) {
      Throwable t = failure(who + ": admin", () -> admin.describeCluster().clusterId().get(FAIL_WAIT_S, TimeUnit.SECONDS));
      expect(causedBy(t, SslAuthenticationException.class) || timeout(t), who + ": admin failed with " + t);
      step(who + ": admin refused with " + t.getClass().getSimpleName() + ": ok");
    }
    Map<String, Object> p = failFast(c);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 8000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 8000);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    try (KafkaProducer<String, String> producer = producer(p)) {
      Throwable t = failure(who + ": produce",
          () -> producer.send(new ProducerRecord<>("mtls", "k", "v")).get(FAIL_WAIT_S, TimeUnit.SECONDS));
      expect(causedBy(t, SslAuthenticationException.class) || timeout(t), who + ": produce failed with " + t);
      step(who + ": produce refused with " + t.getClass().getSimpleName() + ": ok");
    }
  }

  private static boolean timeout(Throwable t) {
    return causedBy(t, org.apache.kafka.common.errors.TimeoutException.class);
  }

  private void reauth() throws Exception {
    Map<String, Object> c = sasl(arg("sasl_ssl"), "SASL_SSL", "SCRAM-SHA-512", arg("user"), arg("password"));
    long seconds = Long.parseLong(args.getOrDefault("seconds", "15"));
    String topic = "reauth";
    try (Admin admin = admin(c)) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    int sent = 0;
    double reauths;
    double failedReauths;
    try (KafkaProducer<String, String> producer = producer(c)) {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (System.nanoTime() < end) {
        RecordMetadata m =
            producer.send(new ProducerRecord<>(topic, "key-" + sent, "value-" + sent)).get(30, TimeUnit.SECONDS);
        expect(m.offset() == sent, "record " + sent + " went to offset " + m.offset());
        sent++;
        Thread.sleep(200);
      }
      reauths = metric(producer.metrics(), "successful-reauthentication-total");
      failedReauths = metric(producer.metrics(), "failed-reauthentication-total");
    }
    step("produced " + sent + " records one every 200 ms for " + seconds + " s; the producer re-authenticated "
        + (long) reauths + " times, " + (long) failedReauths + " failed");
    expect(failedReauths == 0, failedReauths + " re-authentications failed");
    expect(reauths >= 1, "the producer never re-authenticated (connections.max.reauth.ms on the broker?)");

    try (KafkaConsumer<String, String> consumer = consumer(c, null)) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      int next = 0;
      long deadline = System.currentTimeMillis() + DEADLINE_MS;
      while (next < sent && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(POLL)) {
          expect(r.offset() == next && r.value().equals("value-" + next), "record " + next + " read as " + r);
          next++;
        }
      }
      expect(next == sent, "read back " + next + " of " + sent + " records");
    }
    step("read back all " + sent + " records in order: ok");
  }

  private static double metric(Map<MetricName, ? extends Metric> metrics, String name) {
    double sum = 0;
    for (Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet()) {
      // The selector's totals (group producer-metrics), not a per-node copy.
      if (e.getKey().name().equals(name) && !e.getKey().tags().containsKey("node-id")) {
        sum += ((Number) e.getValue().metricValue()).doubleValue();
      }
    }
    return sum;
  }
}
