// securitycheck runs franz-go (kgo, kadm) and Sarama (IBM/sarama) against a broker's secured
// listeners. franz-go: SCRAM-SHA-512 over SASL_SSL, PLAIN and SCRAM-SHA-256 over SASL_PLAINTEXT,
// a client certificate on the SSL listener (mTLS); each creates a topic, produces (acks=all),
// consumes in a group and commits. Then kadm creates user "dave" (AlterUserSCRAMCredentials,
// SCRAM-SHA-256), sees it with DescribeUserSCRAMCredentials and dave authenticates; a wrong
// password and a mechanism dave has no credential for are refused. Sarama: a SyncProducer and a
// consumer group with SCRAM-SHA-512 over SASL_SSL (SCRAM by github.com/xdg-go/scram), PLAIN over
// SASL_PLAINTEXT with SaslHandshake v1 (SaslAuthenticate), and PLAIN and SCRAM-SHA-256 with
// SaslHandshake v0 (bare SASL tokens after the handshake). Every check prints one line; any
// failure exits 1 (the remaining checks still run).
//
//	securitycheck -sasl-ssl ADDR -sasl-plaintext ADDR -ssl ADDR -ca CA.pem -key CLIENT.key -cert CLIENT.crt -user NAME -password SECRET
package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	xscram "github.com/xdg-go/scram"
)

const records = 40 // per check, over 2 partitions

var (
	saslSSL       = flag.String("sasl-ssl", "", "SASL_SSL listener host:port")
	saslPlaintext = flag.String("sasl-plaintext", "", "SASL_PLAINTEXT listener host:port")
	sslAddr       = flag.String("ssl", "", "SSL listener (client certificates required) host:port")
	caPath        = flag.String("ca", "", "CA certificate (PEM) that signed the broker's certificate")
	keyPath       = flag.String("key", "", "client key (PEM) for the SSL listener")
	certPath      = flag.String("cert", "", "client certificate (PEM) for the SSL listener")
	user          = flag.String("user", "", "a user with SCRAM-SHA-256 and SCRAM-SHA-512 credentials")
	password      = flag.String("password", "", "its password")
	verbose       = flag.Bool("v", false, "client debug logging to stderr")
)

var failures int

// check runs fn with a deadline and prints "<client>: <name>: <detail>: ok" or "...: FAILED: err".
func check(client, name string, fn func(ctx context.Context) (string, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	detail, err := fn(ctx)
	if err != nil {
		failures++
		fmt.Printf("%s: %s: FAILED: %v\n", client, name, err)
		return
	}
	fmt.Printf("%s: %s: %s: ok\n", client, name, detail)
}

func tlsConfig(withClientCert bool) *tls.Config {
	pem, err := os.ReadFile(*caPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "no certificate in", *caPath)
		os.Exit(2)
	}
	c := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withClientCert {
		pair, err := tls.LoadX509KeyPair(*certPath, *keyPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c
}

// ---- franz-go ----

func franzOpts(addr string, tlsCfg *tls.Config, mech sasl.Mechanism) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(3), kgo.RetryTimeout(20 * time.Second)}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	if *verbose {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	return opts
}

// franzRoundTrip creates topic (2 partitions), produces `records` with acks=all (franz-go's
// idempotent default), consumes them in group topic+"-group", commits, and reads the commit back.
func franzRoundTrip(ctx context.Context, opts []kgo.Opt, topic string) (string, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	created, err := adm.CreateTopics(ctx, 2, 1, nil, topic)
	if err != nil {
		return "", fmt.Errorf("create topic: %w", err)
	}
	if err := created.Error(); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return "", fmt.Errorf("create topic: %w", err)
	}
	var rs []*kgo.Record
	for i := 0; i < records; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Key: []byte(fmt.Sprintf("k%d", i)),
			Value: []byte(fmt.Sprintf("%s-%d", topic, i))})
	}
	pcl, err := kgo.NewClient(append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		return "", err
	}
	err = pcl.ProduceSync(ctx, rs...).FirstErr()
	pcl.Close()
	if err != nil {
		return "", fmt.Errorf("produce: %w", err)
	}

	group := topic + "-group"
	ccl, err := kgo.NewClient(append(opts, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())...)
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for len(seen) < records {
		fs := ccl.PollFetches(ctx)
		if ctx.Err() != nil {
			ccl.Close()
			return "", fmt.Errorf("consumed %d of %d: %w", len(seen), records, ctx.Err())
		}
		if errs := fs.Errors(); len(errs) > 0 {
			ccl.Close()
			return "", fmt.Errorf("fetch: %v", errs)
		}
		var bad error
		fs.EachRecord(func(r *kgo.Record) {
			if !strings.HasPrefix(string(r.Value), topic+"-") || string(r.Value)[len(topic)+1:] != string(r.Key)[1:] {
				bad = fmt.Errorf("record %s at %d/%d: value %q", r.Key, r.Partition, r.Offset, r.Value)
			}
			seen[string(r.Key)] = true
		})
		if bad != nil {
			ccl.Close()
			return "", bad
		}
	}
	err = ccl.CommitUncommittedOffsets(ctx)
	ccl.Close() // leaves the group
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return "", fmt.Errorf("fetch offsets: %w", err)
	}
	var committed []string
	for p := int32(0); p < 2; p++ {
		o, ok := offsets.Lookup(topic, p)
		if !ok || o.Err != nil || o.At != records/2 {
			return "", fmt.Errorf("committed offset of partition %d: %+v", p, o)
		}
		committed = append(committed, fmt.Sprint(o.At))
	}
	return fmt.Sprintf("produced %d (acks=all), consumed %d in a group, committed %s", records, len(seen),
		strings.Join(committed, ",")), nil
}

// franzRefused expects the connection to be refused with SASL_AUTHENTICATION_FAILED.
func franzRefused(ctx context.Context, opts []kgo.Opt) (string, error) {
	cl, err := kgo.NewClient(append(opts, kgo.RequestRetries(0))...)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = cl.Ping(ctx)
	if err == nil {
		return "", errors.New("authenticated")
	}
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		return "", fmt.Errorf("refused, but not with SASL_AUTHENTICATION_FAILED: %w", err)
	}
	return "refused: " + err.Error(), nil
}

func franzChecks() {
	const c = "franz-go"
	admin := scram.Auth{User: *user, Pass: *password}
	check(c, "SASL_SSL SCRAM-SHA-512", func(ctx context.Context) (string, error) {
		return franzRoundTrip(ctx, franzOpts(*saslSSL, tlsConfig(false), admin.AsSha512Mechanism()), "franz-scram512")
	})
	check(c, "SASL_PLAINTEXT PLAIN", func(ctx context.Context) (string, error) {
		return franzRoundTrip(ctx, franzOpts(*saslPlaintext, nil, plain.Auth{User: *user, Pass: *password}.AsMechanism()), "franz-plain")
	})
	check(c, "SASL_PLAINTEXT SCRAM-SHA-256", func(ctx context.Context) (string, error) {
		return franzRoundTrip(ctx, franzOpts(*saslPlaintext, nil, admin.AsSha256Mechanism()), "franz-scram256")
	})
	check(c, "SSL with a client certificate (mTLS)", func(ctx context.Context) (string, error) {
		return franzRoundTrip(ctx, franzOpts(*sslAddr, tlsConfig(true), nil), "franz-mtls")
	})
	check(c, "SASL_SSL SCRAM-SHA-512 with a wrong password", func(ctx context.Context) (string, error) {
		return franzRefused(ctx, franzOpts(*saslSSL, tlsConfig(false), scram.Auth{User: *user, Pass: *password + "x"}.AsSha512Mechanism()))
	})

	check(c, "AlterUserSCRAMCredentials: create dave (SCRAM-SHA-256), DescribeUserSCRAMCredentials", func(ctx context.Context) (string, error) {
		cl, err := kgo.NewClient(franzOpts(*saslSSL, tlsConfig(false), admin.AsSha512Mechanism())...)
		if err != nil {
			return "", err
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		altered, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
			{User: "dave", Mechanism: kadm.ScramSha256, Iterations: 8192, Password: "dave-secret"}})
		if err != nil {
			return "", fmt.Errorf("alter: %w", err)
		}
		if err := altered.Error(); err != nil {
			return "", fmt.Errorf("alter dave: %w (%s)", err, altered["dave"].ErrMessage)
		}
		described, err := adm.DescribeUserSCRAMs(ctx, "dave")
		if err != nil {
			return "", fmt.Errorf("describe: %w", err)
		}
		d := described["dave"]
		if d.Err != nil || len(d.CredInfos) != 1 || d.CredInfos[0].Mechanism != kadm.ScramSha256 || d.CredInfos[0].Iterations != 8192 {
			return "", fmt.Errorf("described dave: %+v", d)
		}
		all, err := adm.DescribeUserSCRAMs(ctx)
		if err != nil {
			return "", fmt.Errorf("describe all: %w", err)
		}
		var users []string
		for _, u := range all.Sorted() {
			users = append(users, fmt.Sprint(u.User, u.CredInfos))
		}
		if _, ok := all[*user]; !ok {
			return "", fmt.Errorf("describing all users does not list %s: %v", *user, users)
		}
		if _, ok := all["dave"]; !ok {
			return "", fmt.Errorf("describing all users does not list dave: %v", users)
		}
		return "dave " + fmt.Sprint(d.CredInfos) + "; all users: " + strings.Join(users, " "), nil
	})
	dave := scram.Auth{User: "dave", Pass: "dave-secret"}
	check(c, "dave over SASL_PLAINTEXT SCRAM-SHA-256", func(ctx context.Context) (string, error) {
		return franzRoundTrip(ctx, franzOpts(*saslPlaintext, nil, dave.AsSha256Mechanism()), "franz-dave")
	})
	check(c, "dave over SASL_SSL SCRAM-SHA-512 (no such credential)", func(ctx context.Context) (string, error) {
		return franzRefused(ctx, franzOpts(*saslSSL, tlsConfig(false), dave.AsSha512Mechanism()))
	})
}

// ---- Sarama ----

// xdgSCRAM adapts github.com/xdg-go/scram to sarama.SCRAMClient.
type xdgSCRAM struct {
	hash xscram.HashGeneratorFcn
	conv *xscram.ClientConversation
}

func (x *xdgSCRAM) Begin(userName, password, authzID string) error {
	c, err := x.hash.NewClient(userName, password, authzID)
	if err != nil {
		return err
	}
	x.conv = c.NewConversation()
	return nil
}
func (x *xdgSCRAM) Step(challenge string) (string, error) { return x.conv.Step(challenge) }
func (x *xdgSCRAM) Done() bool                            { return x.conv.Done() }

type saramaSASL struct {
	mechanism sarama.SASLMechanism
	version   int16
	user      string
	password  string
}

func saramaConfig(tlsCfg *tls.Config, s saramaSASL) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "securitycheck"
	cfg.Metadata.Retry.Max = 3
	if tlsCfg != nil {
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = tlsCfg
	}
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = s.mechanism
	cfg.Net.SASL.Version = s.version
	cfg.Net.SASL.User = s.user
	cfg.Net.SASL.Password = s.password
	if s.version == sarama.SASLHandshakeV0 {
		cfg.ApiVersionsRequest = false // required by Sarama with SaslHandshake v0
	}
	switch s.mechanism {
	case sarama.SASLTypeSCRAMSHA256:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: sha256.New} }
	case sarama.SASLTypeSCRAMSHA512:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: sha512.New} }
	}
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Rebalance.Retry.Max = 10
	return cfg
}

type groupHandler struct {
	topic string
	mu    sync.Mutex
	seen  map[string]bool
	done  chan struct{}
	once  sync.Once
	bad   chan error
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		if string(m.Value) != h.topic+"-"+string(m.Key)[1:] {
			select {
			case h.bad <- fmt.Errorf("record %s at %d/%d: value %q", m.Key, m.Partition, m.Offset, m.Value):
			default:
			}
		}
		s.MarkMessage(m, "")
		h.mu.Lock()
		h.seen[string(m.Key)] = true
		if len(h.seen) == records {
			h.once.Do(func() { close(h.done) })
		}
		h.mu.Unlock()
	}
	return nil
}

// saramaRoundTrip creates topic with the cluster admin, produces with a SyncProducer (acks=all),
// consumes in a consumer group (which commits when it closes) and reads the commit back.
func saramaRoundTrip(ctx context.Context, addr string, cfg *sarama.Config, topic string) (string, error) {
	addrs := []string{addr}
	admin, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		return "", fmt.Errorf("cluster admin: %w", err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil &&
		!errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return "", fmt.Errorf("create topic: %w", err)
	}

	producer, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		return "", fmt.Errorf("producer: %w", err)
	}
	var msgs []*sarama.ProducerMessage
	for i := 0; i < records; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: int32(i % 2),
			Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", topic, i))})
	}
	err = producer.SendMessages(msgs)
	producer.Close()
	if err != nil {
		return "", fmt.Errorf("produce: %w", err)
	}

	groupID := topic + "-group"
	group, err := sarama.NewConsumerGroup(addrs, groupID, cfg)
	if err != nil {
		return "", fmt.Errorf("consumer group: %w", err)
	}
	h := &groupHandler{topic: topic, seen: map[string]bool{}, done: make(chan struct{}), bad: make(chan error, 1)}
	cctx, stop := context.WithCancel(ctx)
	consumeErr := make(chan error, 1)
	go func() {
		for cctx.Err() == nil {
			if err := group.Consume(cctx, []string{topic}, h); err != nil {
				consumeErr <- err
				return
			}
		}
		consumeErr <- nil
	}()
	select {
	case <-h.done:
	case err = <-h.bad:
	case err = <-consumeErr:
		if err == nil {
			err = errors.New("consume ended")
		}
	case err = <-group.Errors():
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	closeErr := group.Close() // commits the marked offsets
	if err != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		return "", fmt.Errorf("consumed %d of %d: %w", len(h.seen), records, err)
	}
	if closeErr != nil {
		return "", fmt.Errorf("close group: %w", closeErr)
	}
	offsets, err := admin.ListConsumerGroupOffsets(groupID, map[string][]int32{topic: {0, 1}})
	if err != nil {
		return "", fmt.Errorf("list group offsets: %w", err)
	}
	var committed []string
	for p := int32(0); p < 2; p++ {
		b := offsets.GetBlock(topic, p)
		if b == nil || b.Err != sarama.ErrNoError || b.Offset != records/2 {
			return "", fmt.Errorf("committed offset of partition %d: %+v", p, b)
		}
		committed = append(committed, fmt.Sprint(b.Offset))
	}
	return fmt.Sprintf("SyncProducer %d (acks=all), consumed %d in a group, committed %s", records, len(h.seen),
		strings.Join(committed, ",")), nil
}

func saramaChecks() {
	const c = "sarama"
	check(c, "SASL_SSL SCRAM-SHA-512 (SaslHandshake v1)", func(ctx context.Context) (string, error) {
		return saramaRoundTrip(ctx, *saslSSL, saramaConfig(tlsConfig(false),
			saramaSASL{sarama.SASLTypeSCRAMSHA512, sarama.SASLHandshakeV1, *user, *password}), "sarama-scram512")
	})
	check(c, "SASL_PLAINTEXT PLAIN (SaslHandshake v1)", func(ctx context.Context) (string, error) {
		return saramaRoundTrip(ctx, *saslPlaintext, saramaConfig(nil,
			saramaSASL{sarama.SASLTypePlaintext, sarama.SASLHandshakeV1, *user, *password}), "sarama-plain")
	})
	check(c, "SASL_PLAINTEXT PLAIN (SaslHandshake v0, bare token)", func(ctx context.Context) (string, error) {
		return saramaRoundTrip(ctx, *saslPlaintext, saramaConfig(nil,
			saramaSASL{sarama.SASLTypePlaintext, sarama.SASLHandshakeV0, *user, *password}), "sarama-plain-v0")
	})
	check(c, "SASL_PLAINTEXT SCRAM-SHA-256 (SaslHandshake v0, bare tokens)", func(ctx context.Context) (string, error) {
		return saramaRoundTrip(ctx, *saslPlaintext, saramaConfig(nil,
			saramaSASL{sarama.SASLTypeSCRAMSHA256, sarama.SASLHandshakeV0, *user, *password}), "sarama-scram256-v0")
	})
}

func main() {
	flag.Parse()
	for name, v := range map[string]string{"sasl-ssl": *saslSSL, "sasl-plaintext": *saslPlaintext, "ssl": *sslAddr,
		"ca": *caPath, "key": *keyPath, "cert": *certPath, "user": *user, "password": *password} {
		if v == "" {
			fmt.Fprintf(os.Stderr, "-%s is required\n", name)
			flag.Usage()
			os.Exit(2)
		}
	}
	if *verbose {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)
		sarama.DebugLogger = sarama.Logger
	}
	franzChecks()
	saramaChecks()
	if failures > 0 {
		fmt.Printf("securitycheck: %d checks failed\n", failures)
		os.Exit(1)
	}
}
