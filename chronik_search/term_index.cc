#include "chronik_search/term_index.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/varint.h"
#include "chronik_search/terms.h"
#include "chronik_storage/file_ops.h"
#include "chronik_search/tokenizer.h"

namespace chronik::search {

namespace {

namespace fs = std::filesystem;

// Bumped with the layout; a directory of another version makes the whole index be rebuilt.
constexpr char kManifestHeader[] = "chronik-terms 4";
constexpr char kManifest[] = "MANIFEST";

// Positions between the values of one text field (an array's strings), as Elasticsearch's
// position_increment_gap: a phrase never spans two.
constexpr uint32_t kValueGap = 100;

// Bytes that stay where they were put: the terms of a batch, viewed by its map while it grows.
class TermArena {
 public:
  std::string_view Copy(std::string_view s) {
    char* at = nullptr;
    if (s.size() > kBlock) {
      large_.push_back(std::make_unique<char[]>(s.size()));
      at = large_.back().get();
    } else {
      if (blocks_.empty() || s.size() > kBlock - used_) {
        if (blocks_.empty() || ++current_ == blocks_.size()) {
          blocks_.push_back(std::make_unique<char[]>(kBlock));
          current_ = blocks_.size() - 1;
        }
        used_ = 0;
      }
      at = blocks_[current_].get() + used_;
      used_ += s.size();
    }
    std::memcpy(at, s.data(), s.size());
    return std::string_view(at, s.size());
  }
  // Forgets what it holds, keeping its memory for the next batch.
  void Clear() {
    current_ = 0;
    used_ = 0;
    large_.clear();
  }

 private:
  static constexpr size_t kBlock = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::unique_ptr<char[]>> large_;
  size_t current_ = 0;
  size_t used_ = 0;
};

std::string ManifestText(const TermSnapshot& s) {
  std::string out = absl::StrCat(kManifestHeader, "\noffset ", s.indexed_offset, "\nnext ", s.next_seq, "\n");
  for (int64_t g : s.generations) absl::StrAppend(&out, "gen ", g, "\n");
  for (RunKind kind : kRunKinds) {
    for (const auto& [g, runs] : s.of(kind)) {
      for (const TermSnapshot::Run& r : runs) {
        absl::StrAppend(&out, kind == RunKind::kText ? "text " : "run ", g, " ", r.seq, " ", r.level, "\n");
      }
    }
  }
  absl::StrAppend(&out, "crc ", protocol::Crc32c(out), "\n");
  return out;
}

// A batch's terms of one kind: each distinct term once, with its postings in the order they came
// (by document, then position).
class Postings {
 public:
  // Empties it for the next batch; its memory is kept.
  void Clear(size_t docs) {
    arena_.Clear();
    ids_.clear();
    ids_.reserve(docs * 4);
    names_.clear();
    last_doc_.clear();
    postings_.clear();
  }

  // `term` in `doc`: an exact term or a length `once` per document, a word at each position.
  void Add(std::string_view term, int64_t doc, uint32_t value, bool once) {
    auto it = ids_.find(term);
    if (it == ids_.end()) {
      names_.push_back(arena_.Copy(term));
      it = ids_.emplace(names_.back(), static_cast<uint32_t>(names_.size() - 1)).first;
      last_doc_.push_back(-1);
    }
    if (once && last_doc_[it->second] == doc) return;
    last_doc_[it->second] = doc;
    postings_.push_back(Posting{it->second, value, doc});
  }

  bool empty() const { return postings_.empty(); }

  // The run's bytes: the terms sorted, each with its documents and, by its kind, their payloads
  // (a word's positions, a length).
  std::string Build(int64_t base) {
    // The postings by their term's rank: a counting sort, which keeps each term's in order.
    std::vector<std::pair<std::string_view, uint32_t>>& order = order_;
    order.resize(names_.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = {names_[i], i};
    std::sort(order.begin(), order.end());
    std::vector<uint32_t>& count = count_;
    count.assign(names_.size(), 0);
    for (const Posting& p : postings_) ++count[p.id];
    std::vector<uint32_t>& at = at_;
    at.resize(names_.size());
    uint32_t sum = 0;
    for (const auto& [name, id] : order) {
      at[id] = sum;
      sum += count[id];
    }
    std::vector<std::pair<int64_t, uint32_t>>& sorted = sorted_;
    sorted.resize(postings_.size());
    for (const Posting& p : postings_) sorted[at[p.id]++] = {p.doc, p.value};
    RunBuilder builder(base);
    std::string payload;
    size_t i = 0;
    for (const auto& [name, id] : order) {
      builder.StartTerm(name);
      const size_t end = i + count[id];
      const auto kind = static_cast<terms::Kind>(name[0]);
      while (i < end) {
        const int64_t doc = sorted[i].first;
        payload.clear();
        if (kind == terms::Kind::kText) {
          // The word's positions in the document: their count, then each as a delta.
          size_t j = i;
          while (j < end && sorted[j].first == doc) ++j;
          protocol::AppendUnsignedVarlong(&payload, j - i);
          uint32_t last = 0;
          for (; i < j; ++i) {
            protocol::AppendUnsignedVarlong(&payload, sorted[i].second - last);
            last = sorted[i].second;
          }
          builder.AddDoc(doc, payload);
        } else if (kind == terms::Kind::kLength) {
          protocol::AppendUnsignedVarlong(&payload, sorted[i++].second);
          builder.AddDoc(doc, payload);
        } else {
          builder.AddDoc(doc);
          ++i;
        }
      }
    }
    return builder.Finish();
  }

 private:
  struct Posting {
    uint32_t id;
    uint32_t value;  // a word's position, a length
    int64_t doc;
  };
  TermArena arena_;
  // Hashed as absl::string_view: Debian's Abseil hashes a std::string_view by std::hash, whose
  // byte-at-a-time-ish murmur costs more on the long keyword terms than absl's own.
  struct TermHash {
    size_t operator()(std::string_view s) const { return absl::Hash<absl::string_view>()(absl::string_view(s.data(), s.size())); }
  };
  absl::flat_hash_map<std::string_view, uint32_t, TermHash> ids_;
  std::vector<std::string_view> names_;
  std::vector<int64_t> last_doc_;
  std::vector<Posting> postings_;
  // Build's, kept for the next batch.
  std::vector<std::pair<std::string_view, uint32_t>> order_;
  std::vector<uint32_t> count_, at_;
  std::vector<std::pair<int64_t, uint32_t>> sorted_;
};

void AddExactTerms(const Document& d, std::string* term, Postings* out) {
  for (const auto& [name, value] : d.keywords) {
    term->clear();
    terms::AppendKeyword(term, name, value);
    out->Add(*term, d.offset, 0, true);
  }
  for (const std::string& name : d.long_text) out->Add(terms::Presence(name), d.offset, 0, true);
  for (const auto& [name, value] : d.numbers) {
    term->clear();
    terms::AppendNumber(term, name, value);
    out->Add(*term, d.offset, 0, true);
  }
}

// The words of a document's text fields at their positions, and its length in words.
void AddText(const Document& d, std::string* term, std::vector<std::pair<std::string_view, uint32_t>>* next_position,
             Postings* out) {
  next_position->clear();
  uint32_t words = 0;
  for (const auto& [name, text] : d.text) {
    auto at = std::find_if(next_position->begin(), next_position->end(), [&](const auto& p) { return p.first == name; });
    if (at == next_position->end()) {
      next_position->emplace_back(name, 0);
      at = next_position->end() - 1;
    } else {
      at->second += kValueGap;  // the next value of an array: no phrase spans two
    }
    term->clear();
    terms::AppendTextFieldStart(term, name);
    ForEachWord(text, term, term->size(), [&] {
      out->Add(*term, d.offset, at->second++, false);
      ++words;
    });
  }
  if (words > 0) out->Add(terms::Length(), d.offset, words, true);
}

}  // namespace

struct TermIndex::Scratch {
  Postings postings;
  std::string term;
};

TermIndex::TermIndex(std::string dir, size_t fan_in) : dir_(std::move(dir)), fan_in_(fan_in) {
  for (auto& s : scratch_) s = std::make_unique<Scratch>();
}

TermIndex::~TermIndex() = default;

std::string TermIndex::RunPath(int64_t g, int64_t seq) const { return absl::StrCat(dir_, "/", g, "-", seq, ".run"); }

absl::StatusOr<std::unique_ptr<TermIndex>> TermIndex::Open(const std::string& path, bool* created, size_t fan_in) {
  std::unique_ptr<TermIndex> index(new TermIndex(path, fan_in));
  const std::string manifest = path + "/" + kManifest;
  std::error_code ec;
  *created = !fs::exists(manifest, ec);
  if (*created) {
    // Whatever is there (a run written before its first manifest, a file of an older layout) goes.
    fs::remove_all(path, ec);
    if (!fs::create_directories(path, ec) && ec) {
      return absl::InternalError(absl::StrCat("search index: creating ", path, ": ", ec.message()));
    }
    if (absl::Status st = index->Commit(TermSnapshot{}, {}); !st.ok()) return st;
    return index;
  }
  auto damaged = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("search index ", manifest, " is damaged (", why, ")"));
  };
  std::string text;
  {
    std::ifstream in(manifest, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  // The last line is "crc <CRC-32C of everything before it>".
  const size_t crc_at = text.rfind("crc ");
  uint32_t crc = 0;
  if (crc_at == std::string::npos || !text.ends_with("\n") ||
      !absl::SimpleAtoi(text.substr(crc_at + 4, text.size() - crc_at - 5), &crc) ||
      crc != protocol::Crc32c(std::string_view(text).substr(0, crc_at))) {
    return damaged("checksum");
  }
  TermSnapshot state;
  std::set<std::string> named = {kManifest};
  std::istringstream lines(text.substr(0, crc_at));
  std::string line;
  const bool header = std::getline(lines, line) && line == kManifestHeader;
  if (!header) return damaged("another layout");
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string kind;
    int64_t a = 0, b = 0, c = 0;
    fields >> kind >> a;
    if (kind == "offset") {
      state.indexed_offset = a;
    } else if (kind == "next") {
      state.next_seq = a;
    } else if (kind == "gen") {
      state.generations.insert(a);
    } else if ((kind == "run" || kind == "text") && (fields >> b >> c)) {
      absl::StatusOr<std::shared_ptr<const TermRun>> run = TermRun::Open(index->RunPath(a, b));
      if (!run.ok()) return run.status();
      state.of(kind == "text" ? RunKind::kText : RunKind::kExact)[a].push_back(
          TermSnapshot::Run{b, static_cast<int>(c), *std::move(run)});
      named.insert(fs::path(index->RunPath(a, b)).filename().string());
    } else {
      return damaged(absl::StrCat("line '", line, "'"));
    }
    if (fields.fail() || !(fields >> std::ws).eof()) return damaged(absl::StrCat("line '", line, "'"));
  }
  // Runs a crash left unnamed (written, or merged away, without the manifest that would say so).
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (!named.contains(entry.path().filename().string())) fs::remove(entry.path(), ec);
  }
  index->next_seq_ = state.next_seq;
  index->state_ = state;
  index->published_ = std::make_shared<const TermSnapshot>(std::move(state));
  return index;
}

std::shared_ptr<const TermSnapshot> TermIndex::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return published_;
}

int64_t TermIndex::SizeBytes() const {
  std::shared_ptr<const TermSnapshot> s = Snapshot();
  int64_t total = 0;
  for (RunKind kind : kRunKinds) {
    for (const auto& [g, runs] : s->of(kind)) {
      for (const TermSnapshot::Run& r : runs) total += r.run->size_bytes();
    }
  }
  return total;
}

absl::Status TermIndex::Commit(TermSnapshot next, const std::vector<std::string>& unused) {
  next.next_seq = next_seq_.load();
  // Not synced, as the runs are not: a damaged manifest is found by its checksum at open.
  if (absl::Status st = storage::ReplaceFile(*storage::FileOps::Default(), dir_ + "/" + kManifest, ManifestText(next));
      !st.ok()) {
    return st;
  }
  state_ = next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    published_ = std::make_shared<const TermSnapshot>(std::move(next));
  }
  for (const std::string& file : unused) ::unlink(file.c_str());
  return absl::OkStatus();
}

absl::StatusOr<TermSnapshot::Run> TermIndex::WriteRun(int64_t g, int level, const std::string& bytes) const {
  const int64_t seq = next_seq_++;
  const std::string path = RunPath(g, seq);
  absl::Status st = storage::WriteFileFully(*storage::FileOps::Default(), path, bytes);
  absl::StatusOr<std::shared_ptr<const TermRun>> run = st.ok() ? TermRun::Open(path, /*verify=*/false) : st;  // just written: its bytes are ours
  if (!run.ok()) {
    ::unlink(path.c_str());
    return run.status();
  }
  return TermSnapshot::Run{seq, level, *std::move(run)};
}

absl::Status TermIndex::MergeTail(int64_t g, std::vector<TermSnapshot::Run>* runs, std::vector<std::string>* unused) const {
  while (runs->size() >= fan_in_) {
    const auto tail = runs->end() - static_cast<std::ptrdiff_t>(fan_in_);
    const int level = tail->level;
    if (level >= kMaxLevel) break;
    if (!std::all_of(tail, runs->end(), [&](const TermSnapshot::Run& r) { return r.level == level; })) break;
    std::vector<std::shared_ptr<const TermRun>> inputs;
    for (auto it = tail; it != runs->end(); ++it) inputs.push_back(it->run);
    absl::StatusOr<std::string> bytes = MergeRuns(inputs, inputs.front()->base());
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<TermSnapshot::Run> merged = WriteRun(g, level + 1, *bytes);
    if (!merged.ok()) return merged.status();
    for (auto it = tail; it != runs->end(); ++it) unused->push_back(RunPath(g, it->seq));
    runs->erase(tail, runs->end());
    runs->push_back(*std::move(merged));
  }
  return absl::OkStatus();
}

absl::Status TermIndex::Add(int64_t g, const std::vector<Document>& docs, int64_t deleted_below, int64_t next_offset) {
  Batch batch = Begin(g, deleted_below, next_offset);
  for (RunKind kind : kRunKinds) Write(&batch, kind, docs);
  return Finish(std::move(batch));
}

TermIndex::Batch TermIndex::Begin(int64_t g, int64_t deleted_below, int64_t next_offset) const {
  Batch batch;
  batch.g = g;
  batch.next_offset = next_offset;
  batch.skip = next_offset <= state_.indexed_offset;  // a crash left this half ahead
  batch.from = std::max(state_.indexed_offset, deleted_below);
  return batch;
}

void TermIndex::Write(Batch* batch, RunKind which, const std::vector<Document>& docs) const {
  Batch::Written& out = batch->kinds[static_cast<int>(which)];
  out.written = true;
  if (batch->skip) return;
  if (auto it = state_.of(which).find(batch->g); it != state_.of(which).end()) out.runs = it->second;
  Postings& postings = scratch_[static_cast<int>(which)]->postings;
  postings.Clear(docs.size());
  std::string& term = scratch_[static_cast<int>(which)]->term;
  std::vector<std::pair<std::string_view, uint32_t>> next_position;
  int64_t base = -1;
  for (const Document& d : docs) {
    if (d.offset < batch->from) continue;
    if (base < 0) base = d.offset;
    if (which == RunKind::kExact) {
      AddExactTerms(d, &term, &postings);
    } else {
      AddText(d, &term, &next_position, &postings);
    }
  }
  if (postings.empty()) return;
  absl::StatusOr<TermSnapshot::Run> run = WriteRun(batch->g, 0, postings.Build(base));
  if (!run.ok()) {
    out.status = run.status();
    return;
  }
  out.runs.push_back(*std::move(run));
  out.status = MergeTail(batch->g, &out.runs, &out.unused);
}

void TermIndex::Discard(const Batch& batch) const {
  // The runs the batch wrote, kept or merged away, are named by no manifest: they go now (after a
  // crash, at Open). The runs the index has are kept.
  std::set<std::string> named;
  for (RunKind kind : kRunKinds) {
    if (auto it = state_.of(kind).find(batch.g); it != state_.of(kind).end()) {
      for (const TermSnapshot::Run& r : it->second) named.insert(RunPath(batch.g, r.seq));
    }
  }
  for (const Batch::Written& w : batch.kinds) {
    std::vector<std::string> files = w.unused;
    for (const TermSnapshot::Run& r : w.runs) files.push_back(RunPath(batch.g, r.seq));
    for (const std::string& f : files) {
      if (!named.contains(f)) ::unlink(f.c_str());
    }
  }
}

absl::Status TermIndex::Finish(Batch batch) {
  if (batch.skip) return absl::OkStatus();
  TermSnapshot next = state_;
  next.indexed_offset = batch.next_offset;
  next.generations.insert(batch.g);
  std::vector<std::string> unused;
  absl::Status status;
  for (RunKind kind : kRunKinds) {
    const Batch::Written& w = batch.kinds[static_cast<int>(kind)];
    if (!w.written) status.Update(absl::InternalError("search index: a batch's terms were not all written"));
    status.Update(w.status);
    next.of(kind)[batch.g] = w.runs;
    unused.insert(unused.end(), w.unused.begin(), w.unused.end());
  }
  if (!status.ok()) {
    Discard(batch);
    return status;
  }
  if (next.of(RunKind::kExact)[batch.g].empty()) next.of(RunKind::kExact).erase(batch.g);
  if (next.of(RunKind::kText)[batch.g].empty()) next.of(RunKind::kText).erase(batch.g);
  absl::Status committed = Commit(std::move(next), unused);
  if (!committed.ok()) Discard(batch);
  return committed;
}

absl::Status TermIndex::AddGeneration(int64_t g) {
  if (state_.generations.contains(g)) return absl::OkStatus();
  TermSnapshot next = state_;
  next.generations.insert(g);
  return Commit(std::move(next), {});
}

absl::Status TermIndex::DropBelow(int64_t oldest) {
  TermSnapshot next = state_;
  std::vector<std::string> unused;
  bool changed = false;
  for (auto it = next.generations.begin(); it != next.generations.end() && *it < oldest;) {
    it = next.generations.erase(it);
    changed = true;
  }
  for (RunKind kind : kRunKinds) {
    TermSnapshot::Runs& runs = next.of(kind);
    for (auto it = runs.begin(); it != runs.end() && it->first < oldest;) {
      for (const TermSnapshot::Run& r : it->second) unused.push_back(RunPath(it->first, r.seq));
      it = runs.erase(it);
      changed = true;
    }
  }
  if (!changed) return absl::OkStatus();
  return Commit(std::move(next), unused);
}

absl::Status TermIndex::Sync(const std::vector<int64_t>& generations) {
  if (absl::Status st = DropBelow(generations.empty() ? INT64_MAX : generations.front()); !st.ok()) return st;
  for (int64_t g : generations) {
    if (absl::Status st = AddGeneration(g); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace chronik::search
