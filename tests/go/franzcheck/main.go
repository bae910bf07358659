// franzcheck runs franz-go (kgo and kadm) against a broker: admin, produce with every codec,
// consume in a group, transactions with a read_committed reader. franz-go negotiates the newest versions both sides know and validates
// answers strictly. Every mismatch exits 1; each check prints one "franz-go: ..." line.
//
//	franzcheck BOOTSTRAP
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "franz-go: "+format+"\n", args...)
	os.Exit(1)
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func main() {
	seeds := []string{os.Args[1]}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	admin, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	must(err, "client")
	defer admin.Close()
	adm := kadm.NewClient(admin)

	// Admin.
	brokers, err := adm.ListBrokers(ctx)
	must(err, "list brokers")
	if len(brokers) != 1 {
		fail("brokers: %v", brokers)
	}
	created, err := adm.CreateTopics(ctx, 4, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, "franz")
	must(err, "create topics")
	must(created.Error(), "create topic franz")
	td, err := adm.ListTopics(ctx, "franz")
	must(err, "list topics")
	if len(td["franz"].Partitions) != 4 {
		fail("partitions: %v", td["franz"].Partitions)
	}
	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("7200000")}}, "franz")
	must(err, "alter configs")
	for _, a := range alter {
		must(a.Err, "alter "+a.Name)
	}
	rc, err := adm.DescribeTopicConfigs(ctx, "franz")
	must(err, "describe configs")
	c, err := rc.On("franz", nil)
	must(err, "describe franz")
	found := false
	for _, e := range c.Configs {
		if e.Key == "retention.ms" && e.MaybeValue() == "7200000" {
			found = true
		}
	}
	if !found {
		fail("retention.ms not altered: %v", c.Configs)
	}
	grown, err := adm.CreatePartitions(ctx, 2, "franz")
	must(err, "create partitions")
	for _, g := range grown {
		must(g.Err, "grow")
	}
	fmt.Println("franz-go: admin: brokers, create topic with configs, list, alter and describe configs, create partitions: ok")

	// Produce with every codec (idempotent, franz-go's default), then consume in a group.
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	const perCodec = 2000
	total := 0
	for name, codec := range codecs {
		p, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ProducerBatchCompression(codec),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic("franz"))
		must(err, "producer")
		var records []*kgo.Record
		for i := 0; i < perCodec; i++ {
			n := total + i
			records = append(records, &kgo.Record{
				Key:     []byte("key-" + strconv.Itoa(n)),
				Value:   []byte(name + "-value-" + strconv.Itoa(n)),
				Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(name)}},
			})
		}
		must(p.ProduceSync(ctx, records...).FirstErr(), "produce "+name)
		p.Close()
		total += perCodec
	}
	ends, err := adm.ListEndOffsets(ctx, "franz")
	must(err, "list end offsets")
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	if sum != int64(total) {
		fail("end offsets sum to %d, produced %d", sum, total)
	}

	consumer, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("franz-group"),
		kgo.ConsumeTopics("franz"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	must(err, "consumer")
	seen := map[string]bool{}
	for len(seen) < total {
		fetches := consumer.PollFetches(ctx)
		if errs := fetches.Errors(); len(errs) > 0 {
			fail("fetch: %v", errs)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			codec := string(r.Headers[0].Value)
			n := string(r.Key)[len("key-"):]
			if string(r.Value) != codec+"-value-"+n {
				fail("record %s: value %q, codec %s", r.Key, r.Value, codec)
			}
			seen[string(r.Key)] = true
		})
		must(consumer.CommitUncommittedOffsets(ctx), "commit")
	}
	consumer.Close()
	committed, err := adm.FetchOffsets(ctx, "franz-group")
	must(err, "fetch offsets")
	var csum int64
	committed.Each(func(o kadm.OffsetResponse) { csum += o.At })
	if csum != int64(total) {
		fail("committed offsets sum to %d, want %d", csum, total)
	}
	groups, err := adm.DescribeGroups(ctx, "franz-group")
	must(err, "describe groups")
	if g := groups["franz-group"]; g.Err != nil || g.State != "Empty" {
		fail("group after close: %+v", g)
	}
	fmt.Printf("franz-go: produced %d records with none/gzip/snappy/lz4/zstd (acks=all), consumed and committed all in a group (cooperative-sticky): ok\n", total)

	// Trim and delete.
	starts, err := adm.DeleteRecords(ctx, kadm.Offsets{"franz": {0: {Topic: "franz", Partition: 0, At: 10}}})
	must(err, "delete records")
	must(starts.Error(), "delete records result")
	so, err := adm.ListStartOffsets(ctx, "franz")
	must(err, "list start offsets")
	if o, _ := so.Lookup("franz", 0); o.Offset != 10 {
		fail("start offset of partition 0 is %d", o.Offset)
	}
	deleted, err := adm.DeleteTopics(ctx, "franz")
	must(err, "delete topics")
	must(deleted.Error(), "delete franz")
	fmt.Println("franz-go: delete records, list start offsets, delete topic: ok")

	transactions(ctx, seeds, adm)
}

// transactions: a transactional producer commits, aborts and commits again; a read_committed
// consumer sees the committed records only, and the last stable offset reaches the end.
func transactions(ctx context.Context, seeds []string, adm *kadm.Client) {
	created, err := adm.CreateTopics(ctx, 1, 1, nil, "franz-txn")
	must(err, "create topics")
	must(created.Error(), "create topic franz-txn")
	txn, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID("franz-txn"),
		kgo.DefaultProduceTopic("franz-txn"))
	must(err, "transactional client")
	for i, commit := range []bool{true, false, true} {
		must(txn.BeginTransaction(), "begin transaction")
		for j := 0; j < 10; j++ {
			must(txn.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%d-%d", i, j))).FirstErr(), "transactional produce")
		}
		must(txn.EndTransaction(ctx, kgo.TransactionEndTry(commit)), "end transaction")
	}
	txn.Close()

	reader, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"franz-txn": {0: kgo.NewOffset().AtStart()}}))
	must(err, "read_committed client")
	defer reader.Close()
	var values []string
	for len(values) < 20 {
		fetches := reader.PollFetches(ctx)
		if errs := fetches.Errors(); len(errs) > 0 {
			fail("read_committed fetch: %v", errs)
		}
		fetches.EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
	}
	for i, v := range values {
		want := fmt.Sprintf("%d-%d", 2*(i/10), i%10)
		if v != want {
			fail("read_committed record %d is %q, want %q (all: %v)", i, v, want, values)
		}
	}
	stable, err := adm.ListCommittedOffsets(ctx, "franz-txn")
	must(err, "list committed offsets")
	end, err := adm.ListEndOffsets(ctx, "franz-txn")
	must(err, "list end offsets")
	s, _ := stable.Lookup("franz-txn", 0)
	e, _ := end.Lookup("franz-txn", 0)
	if s.Offset != e.Offset || e.Offset != 33 {
		fail("last stable offset %d, end offset %d, want 33 (30 records and 3 markers)", s.Offset, e.Offset)
	}
	fmt.Println("franz-go: transactions: commit, abort, commit; read_committed saw the 20 committed records; last stable offset 33: ok")
}
