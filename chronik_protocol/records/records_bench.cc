// Throughput of the hot paths a broker runs per produced batch: CRC-32C, batch validation and
// decompression. Prints numbers; asserts nothing.
//
//   bazel run -c opt //chronik_protocol/records:records_bench

#include <cstdint>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "chronik_protocol/records/compression.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/records/record_batch.h"
#include "chronik_protocol/records/record_batch_builder.h"

namespace chronik::protocol {
namespace {

std::string RandomBytes(size_t n) {
  std::mt19937 rng(1);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Log-line-like values: what compresses the way real topics do.
std::string LogLine(std::mt19937& rng) {
  static const char* const kLevels[] = {"INFO", "WARN", "DEBUG", "ERROR"};
  return "2024-05-01T12:" + std::to_string(rng() % 60) + ":" + std::to_string(rng() % 60) + " " +
         kLevels[rng() % 4] + " service-" + std::to_string(rng() % 20) + " request_id=" + std::to_string(rng()) +
         " latency_ms=" + std::to_string(rng() % 500) + " path=/api/v1/items/" + std::to_string(rng() % 10000);
}

std::string CompressibleData(size_t n) {
  std::mt19937 rng(2);
  std::string s;
  while (s.size() < n) s += LogLine(rng) + "\n";
  s.resize(n);
  return s;
}

std::string MakeBatch(CompressionType codec, int records) {
  RecordBatchBuilder::Options o;
  o.compression = codec;
  RecordBatchBuilder builder(o);
  std::mt19937 rng(3);
  for (int i = 0; i < records; ++i) {
    const std::string key = "key-" + std::to_string(i % 64);
    const std::string value = LogLine(rng);
    (void)builder.Append(1'700'000'000'000 + i, key, value);
  }
  return *builder.Build();
}

void BM_Crc32c(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Crc32c(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(1024)->Arg(16 << 10)->Arg(1 << 20);

void BM_Crc32cPortable(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(crc32c_internal::ExtendPortable(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cPortable)->Arg(64)->Arg(1024)->Arg(16 << 10)->Arg(1 << 20);

void BM_Crc32cHardware(benchmark::State& state) {
  if (!crc32c_internal::HardwareAvailable()) {
    state.SkipWithError("no CRC-32C instructions on this CPU");
    return;
  }
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(crc32c_internal::ExtendHardware(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cHardware)->Arg(64)->Arg(1024)->Arg(16 << 10)->Arg(1 << 20);

void BM_Crc32Ieee(benchmark::State& state) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Crc32Ieee(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32Ieee)->Arg(1024)->Arg(1 << 20);

// Header checks and CRC only: what the produce path does before appending.
void BM_ParseBatch(benchmark::State& state) {
  const std::string batch = MakeBatch(CompressionType::kNone, static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(RecordBatchView::Parse(batch).ok());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(batch.size()));
  state.counters["batch_bytes"] = static_cast<double>(batch.size());
}
BENCHMARK(BM_ParseBatch)->Arg(10)->Arg(1000);

// Parse plus decoding every record (and decompressing first). Bytes are the batch's on-wire size.
void BM_ValidateBatch(benchmark::State& state, CompressionType codec) {
  const std::string batch = MakeBatch(codec, 1000);
  for (auto _ : state) {
    absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
    benchmark::DoNotOptimize(ValidateRecords(*view, 64 << 20).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(batch.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
  state.counters["batch_bytes"] = static_cast<double>(batch.size());
}
BENCHMARK_CAPTURE(BM_ValidateBatch, none, CompressionType::kNone);
BENCHMARK_CAPTURE(BM_ValidateBatch, gzip, CompressionType::kGzip);
BENCHMARK_CAPTURE(BM_ValidateBatch, snappy, CompressionType::kSnappy);
BENCHMARK_CAPTURE(BM_ValidateBatch, lz4, CompressionType::kLz4);
BENCHMARK_CAPTURE(BM_ValidateBatch, zstd, CompressionType::kZstd);

// Bytes are decompressed output bytes.
void BM_Decompress(benchmark::State& state, CompressionType codec, SnappyFraming framing) {
  const std::string input = CompressibleData(1 << 20);
  CompressOptions options;
  options.snappy_framing = framing;
  const std::string compressed = *Compress(codec, input, options);
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(DecompressAppend(codec, compressed, input.size(), &out).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(input.size()));
  state.counters["ratio"] = static_cast<double>(input.size()) / static_cast<double>(compressed.size());
}
BENCHMARK_CAPTURE(BM_Decompress, gzip, CompressionType::kGzip, SnappyFraming::kXerial);
BENCHMARK_CAPTURE(BM_Decompress, snappy_xerial, CompressionType::kSnappy, SnappyFraming::kXerial);
BENCHMARK_CAPTURE(BM_Decompress, snappy_raw, CompressionType::kSnappy, SnappyFraming::kRaw);
BENCHMARK_CAPTURE(BM_Decompress, lz4, CompressionType::kLz4, SnappyFraming::kXerial);
BENCHMARK_CAPTURE(BM_Decompress, zstd, CompressionType::kZstd, SnappyFraming::kXerial);

}  // namespace
}  // namespace chronik::protocol
