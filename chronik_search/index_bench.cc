// Indexing cost, split in its two steps: a record's JSON value becoming a Document, and Documents
// going into a partition's index in the indexer's batches (the index grows across iterations, as
// a partition's does). Records look like application logs of ~330 bytes, as in
// tests/perf/search_perf.py.

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "chronik_search/document.h"
#include "chronik_search/partition_index.h"
#include "chronik_search/term_index.h"

namespace chronik::search {
namespace {

constexpr int kBatch = 3000;  // about one 1 MiB read of the indexer

std::vector<std::string> Corpus(int n, int64_t first) {
  static const char* kWords[] = {"alpha", "beta",    "gamma", "delta",   "epsilon", "zeta", "eta",   "theta",
                                 "iota",  "kappa",   "lambda", "mu",     "nu",      "xi",   "omicron", "pi",
                                 "rho",   "sigma",   "tau",   "upsilon", "phi",     "chi",  "psi",   "omega"};
  static const char* kLevels[] = {"info", "warn", "error", "debug"};
  std::mt19937_64 rnd(static_cast<uint64_t>(first) + 1);
  std::vector<std::string> out;
  for (int64_t i = first; i < first + n; ++i) {
    std::string msg;
    const int words = 8 + static_cast<int>(rnd() % 33);
    for (int w = 0; w < words; ++w) absl::StrAppend(&msg, w ? " " : "", kWords[rnd() % 24]);
    out.push_back(absl::StrFormat(
        R"({"ts": "2026-11-30T%02d:%02d:%02dZ", "level": "%s", "service": "svc-%d", "host": "host-%d", )"
        R"("msg": "%s", "latency_ms": %d, "user": {"id": %d, "name": "user%d"}, "request_id": "%016x%016x"})",
        i / 3600 % 24, i / 60 % 60, i % 60, kLevels[i % 4], i % 13, i % 50, msg, rnd() % 5000, i % 1000, i % 300,
        rnd(), rnd()));
  }
  return out;
}

std::vector<Document> Documents(const std::vector<std::string>& values, int64_t first) {
  std::vector<Document> docs;
  docs.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    RecordFields r;
    r.offset = first + static_cast<int64_t>(i);
    r.timestamp = 1'700'000'000'000 + r.offset;
    r.value = values[i];
    docs.push_back(MakeDocument(r));
  }
  return docs;
}

void BM_MakeDocument(benchmark::State& state) {
  const std::vector<std::string> values = Corpus(kBatch, 0);
  for (auto _ : state) benchmark::DoNotOptimize(Documents(values, 0));
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_MakeDocument)->Unit(benchmark::kMillisecond);

double ProcessCpuMs() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

// Each iteration adds the next batch by `add` (its documents, the offset after them), timed
// without making them: Iterations(n) ends with n * kBatch documents in the index. The benchmark's
// CPU time is this thread's alone; process_cpu_ms counts every writer thread.
void AddBatches(benchmark::State& state,
                const std::function<absl::Status(const std::vector<Document>&, int64_t)>& add) {
  int64_t next = 0;
  double process_cpu_ms = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<Document> docs = Documents(Corpus(kBatch, next), next);
    state.ResumeTiming();
    next += kBatch;
    const double before = ProcessCpuMs();
    if (absl::Status st = add(docs, next); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    process_cpu_ms += ProcessCpuMs() - before;
  }
  state.counters["process_cpu_ms"] = process_cpu_ms / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_Add(benchmark::State& state) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("chronik_index_bench_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto index = PartitionIndex::Open((dir / "p0.db").string(), 0);
  if (!index.ok()) {
    state.SkipWithError(index.status().ToString().c_str());
    return;
  }
  AddBatches(state, [&](const std::vector<Document>& docs, int64_t next) { return (*index)->Add(docs, next); });
  state.counters["index_MB"] = static_cast<double>((*index)->Stats().size_bytes) / 1e6;
  index->reset();
  if (getenv("KEEP") == nullptr) std::filesystem::remove_all(dir);
}
// The terms half alone (term_index.h), as it runs beside the text half in BM_Add.
void BM_AddTerms(benchmark::State& state) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("chronik_terms_bench_", ::getpid());
  std::filesystem::remove_all(dir);
  bool created = false;
  auto index = TermIndex::Open((dir / "p0.db-terms").string(), &created);
  if (!index.ok()) {
    state.SkipWithError(index.status().ToString().c_str());
    return;
  }
  // Arg 0: exact terms only, 1: words only, 2: both (on this one thread).
  const int which = static_cast<int>(state.range(0));
  const std::vector<Document> none;
  AddBatches(state, [&](const std::vector<Document>& docs, int64_t next) {
    TermIndex::Batch batch = (*index)->Begin(0, 0, next);
    (*index)->Write(&batch, RunKind::kExact, which == 1 ? none : docs);
    (*index)->Write(&batch, RunKind::kText, which == 0 ? none : docs);
    return (*index)->Finish(std::move(batch));
  });
  state.counters["index_MB"] = static_cast<double>((*index)->SizeBytes()) / 1e6;
  index->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AddTerms)->Unit(benchmark::kMillisecond)->Iterations(167)->Arg(0)->Arg(1)->Arg(2);  // 500 000 documents

BENCHMARK(BM_Add)->Unit(benchmark::kMillisecond)->Iterations(34);   // 100 000 documents
BENCHMARK(BM_Add)->Unit(benchmark::kMillisecond)->Iterations(167);  // 500 000 documents
BENCHMARK(BM_Add)->Unit(benchmark::kMillisecond)->Iterations(334);  // 1 000 000 documents

}  // namespace
}  // namespace chronik::search
