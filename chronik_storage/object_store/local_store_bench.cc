// The CPU a segment's upload costs the local store: a 16 MiB object in two 8 MiB parts, as the
// remote log manager sends a rolled segment, completed (and so synced) and deleted again.

#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "chronik_storage/object_store/local_store.h"
#include "chronik_storage/test_util.h"

namespace chronik::storage::objects {
namespace {

void BM_MultipartUpload(benchmark::State& state) {
  testing::TempDir dir;
  auto store = LocalStore::Open(dir.path());
  if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
  const std::string part(8 << 20, 'x');
  for (auto _ : state) {
    auto upload = (*store)->StartMultipart("segment.log");
    bool ok = upload.ok() && (*upload)->UploadPart(1, part).ok() && (*upload)->UploadPart(2, part).ok() &&
              (*upload)->Complete().ok() && (*store)->Delete("segment.log").ok();
    if (!ok) return state.SkipWithError("the upload failed");
  }
  state.SetBytesProcessed(state.iterations() * 2 * static_cast<int64_t>(part.size()));
}
BENCHMARK(BM_MultipartUpload)->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace
}  // namespace chronik::storage::objects
