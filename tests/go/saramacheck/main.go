// saramacheck runs Sarama (IBM/sarama) with its defaults against a broker: the cluster admin,
// a synchronous producer with every codec, a consumer group, and transactions with a
// read_committed reader. Every mismatch exits 1; each
// check prints one "sarama: ..." line.
//
//	saramacheck BOOTSTRAP
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sarama: "+format+"\n", args...)
	os.Exit(1)
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

type handler struct {
	mu    sync.Mutex
	seen  map[string]bool
	want  int
	done  chan struct{}
	once  sync.Once
	fails chan string
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		n := string(m.Key)[len("key-"):]
		codec := string(m.Headers[0].Value)
		if string(m.Value) != codec+"-value-"+n {
			h.fails <- fmt.Sprintf("record %s: value %q", m.Key, m.Value)
		}
		s.MarkMessage(m, "")
		h.mu.Lock()
		h.seen[string(m.Key)] = true
		if len(h.seen) == h.want {
			h.once.Do(func() { close(h.done) })
		}
		h.mu.Unlock()
	}
	return nil
}

func main() {
	addrs := []string{os.Args[1]}
	cfg := sarama.NewConfig() // defaults, no pinned version
	admin, err := sarama.NewClusterAdmin(addrs, cfg)
	must(err, "cluster admin")
	defer admin.Close()

	retention := "3600000"
	must(admin.CreateTopic("sarama", &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}, false), "create topic")
	topics, err := admin.ListTopics()
	must(err, "list topics")
	if topics["sarama"].NumPartitions != 3 {
		fail("list topics: %+v", topics["sarama"])
	}
	longer := "7200000"
	must(admin.AlterConfig(sarama.TopicResource, "sarama", map[string]*string{"retention.ms": &longer}, false), "alter config")
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "sarama"})
	must(err, "describe config")
	found := false
	for _, e := range entries {
		if e.Name == "retention.ms" && e.Value == "7200000" {
			found = true
		}
	}
	if !found {
		fail("retention.ms not altered")
	}
	must(admin.CreatePartitions("sarama", 4, nil, false), "create partitions")
	fmt.Println("sarama: admin: create topic with configs, list, alter and describe config, create partitions: ok")

	const perCodec = 1000
	total := 0
	for _, codec := range []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionGZIP,
		sarama.CompressionSnappy, sarama.CompressionLZ4, sarama.CompressionZSTD} {
		pcfg := sarama.NewConfig()
		pcfg.Producer.Return.Successes = true // required by the sync producer
		pcfg.Producer.RequiredAcks = sarama.WaitForAll
		pcfg.Producer.Compression = codec
		producer, err := sarama.NewSyncProducer(addrs, pcfg)
		must(err, "producer")
		var msgs []*sarama.ProducerMessage
		for i := 0; i < perCodec; i++ {
			n := strconv.Itoa(total + i)
			msgs = append(msgs, &sarama.ProducerMessage{Topic: "sarama", Key: sarama.StringEncoder("key-" + n),
				Value:   sarama.StringEncoder(codec.String() + "-value-" + n),
				Headers: []sarama.RecordHeader{{Key: []byte("codec"), Value: []byte(codec.String())}}})
		}
		must(producer.SendMessages(msgs), "produce "+codec.String())
		must(producer.Close(), "close producer")
		total += perCodec
	}

	gcfg := sarama.NewConfig()
	gcfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	group, err := sarama.NewConsumerGroup(addrs, "sarama-group", gcfg)
	must(err, "consumer group")
	h := &handler{seen: map[string]bool{}, want: total, done: make(chan struct{}), fails: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{"sarama"}, h); err != nil && ctx.Err() == nil {
				h.fails <- err.Error()
				return
			}
		}
	}()
	select {
	case <-h.done:
	case f := <-h.fails:
		fail("consume: %s", f)
	case <-time.After(2 * time.Minute):
		fail("consumed %d of %d", len(h.seen), total)
	}
	cancel()
	must(group.Close(), "close group") // commits the marked offsets
	offsets, err := admin.ListConsumerGroupOffsets("sarama-group", nil)
	must(err, "list group offsets")
	var committed int64
	for _, parts := range offsets.Blocks {
		for _, b := range parts {
			committed += b.Offset
		}
	}
	if committed != int64(total) {
		fail("committed offsets sum to %d, want %d", committed, total)
	}
	groups, err := admin.ListConsumerGroups()
	must(err, "list groups")
	if _, ok := groups["sarama-group"]; !ok {
		fail("groups: %v", groups)
	}
	fmt.Printf("sarama: produced %d records with none/gzip/snappy/lz4/zstd (acks=all), consumed and committed all in a group: ok\n", total)

	must(admin.DeleteRecords("sarama", map[int32]int64{0: 5}), "delete records")
	must(admin.DeleteTopic("sarama"), "delete topic")
	fmt.Println("sarama: delete records, delete topic: ok")

	transactions(addrs, admin)
}

// transactions: Sarama's transactional producer commits, aborts and commits again; a
// read_committed partition consumer sees the committed records only.
func transactions(addrs []string, admin sarama.ClusterAdmin) {
	must(admin.CreateTopic("sarama-txn", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false),
		"create topic")
	cfg := sarama.NewConfig()
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Transaction.ID = "sarama-txn"
	cfg.Net.MaxOpenRequests = 1
	producer, err := sarama.NewSyncProducer(addrs, cfg)
	must(err, "transactional producer")
	for i, commit := range []bool{true, false, true} {
		must(producer.BeginTxn(), "begin transaction")
		for j := 0; j < 10; j++ {
			_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "sarama-txn",
				Value: sarama.StringEncoder(fmt.Sprintf("%d-%d", i, j))})
			must(err, "transactional send")
		}
		if commit {
			must(producer.CommitTxn(), "commit transaction")
		} else {
			must(producer.AbortTxn(), "abort transaction")
		}
	}
	must(producer.Close(), "close producer")

	ccfg := sarama.NewConfig()
	ccfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(addrs, ccfg)
	must(err, "consumer")
	defer consumer.Close()
	pc, err := consumer.ConsumePartition("sarama-txn", 0, sarama.OffsetOldest)
	must(err, "consume partition")
	defer pc.Close()
	var values []string
	for len(values) < 20 {
		select {
		case m := <-pc.Messages():
			values = append(values, string(m.Value))
		case e := <-pc.Errors():
			fail("read_committed consume: %v", e)
		case <-time.After(30 * time.Second):
			fail("read_committed consumer got %d of 20 records: %v", len(values), values)
		}
	}
	for i, v := range values {
		if want := fmt.Sprintf("%d-%d", 2*(i/10), i%10); v != want {
			fail("read_committed record %d is %q, want %q (all: %v)", i, v, want, values)
		}
	}
	fmt.Println("sarama: transactions: commit, abort, commit; read_committed saw the 20 committed records: ok")
}
