#include "chronik_search/term_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/varint.h"
#include "chronik_search/terms.h"
#include "chronik_search/tokenizer.h"

namespace chronik::search {

namespace {

namespace fs = std::filesystem;

// Bumped with the layout; a directory of another version makes the whole index be rebuilt.
constexpr char kManifestHeader[] = "chronik-terms 3";
constexpr char kManifest[] = "MANIFEST";

// Positions between the values of one text field (an array's strings), as Elasticsearch's
// position_increment_gap: a phrase never spans two.
constexpr uint32_t kValueGap = 100;

absl::Status WriteFile(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("search index: creating ", path, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("search index: writing ", path, ": ", std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return absl::InternalError(absl::StrCat("search index: writing ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

// Bytes that stay where they were put: the terms of a batch, viewed by its map while it grows.
class TermArena {
 public:
  std::string_view Copy(std::string_view s) {
    if (s.size() > kBlock - used_) {
      blocks_.push_back(std::make_unique<char[]>(std::max(kBlock, s.size())));
      used_ = 0;
    }
    char* at = blocks_.back().get() + used_;
    std::memcpy(at, s.data(), s.size());
    used_ += s.size();
    return std::string_view(at, s.size());
  }

 private:
  static constexpr size_t kBlock = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = kBlock;
};

std::string ManifestText(const TermSnapshot& s) {
  std::string out = absl::StrCat(kManifestHeader, "\noffset ", s.indexed_offset, "\nnext ", s.next_seq, "\n");
  for (int64_t g : s.generations) absl::StrAppend(&out, "gen ", g, "\n");
  for (const auto& [g, runs] : s.runs) {
    for (const TermSnapshot::Run& r : runs) absl::StrAppend(&out, "run ", g, " ", r.seq, " ", r.level, "\n");
  }
  absl::StrAppend(&out, "crc ", protocol::Crc32c(out), "\n");
  return out;
}

}  // namespace

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
    } else if (kind == "run" && (fields >> b >> c)) {
      absl::StatusOr<std::shared_ptr<const TermRun>> run = TermRun::Open(index->RunPath(a, b));
      if (!run.ok()) return run.status();
      state.runs[a].push_back(TermSnapshot::Run{b, static_cast<int>(c), *std::move(run)});
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
  for (const auto& [g, runs] : s->runs) {
    for (const TermSnapshot::Run& r : runs) total += r.run->size_bytes();
  }
  return total;
}

absl::Status TermIndex::Commit(TermSnapshot next, const std::vector<std::string>& unused) {
  const std::string manifest = dir_ + "/" + kManifest;
  if (absl::Status st = WriteFile(manifest + ".tmp", ManifestText(next)); !st.ok()) return st;
  if (::rename((manifest + ".tmp").c_str(), manifest.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("search index: renaming ", manifest, ": ", std::strerror(errno)));
  }
  state_ = next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    published_ = std::make_shared<const TermSnapshot>(std::move(next));
  }
  for (const std::string& file : unused) ::unlink(file.c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const TermRun>> TermIndex::WriteRun(int64_t g, int64_t seq,
                                                                   const std::string& bytes) const {
  const std::string path = RunPath(g, seq);
  if (absl::Status st = WriteFile(path, bytes); !st.ok()) return st;
  return TermRun::Open(path);
}

absl::Status TermIndex::MergeTail(TermSnapshot* next, int64_t g, std::vector<std::string>* unused) const {
  std::vector<TermSnapshot::Run>& runs = next->runs[g];
  while (runs.size() >= fan_in_) {
    const auto tail = runs.end() - static_cast<std::ptrdiff_t>(fan_in_);
    const int level = tail->level;
    if (!std::all_of(tail, runs.end(), [&](const TermSnapshot::Run& r) { return r.level == level; })) break;
    std::vector<std::shared_ptr<const TermRun>> inputs;
    for (auto it = tail; it != runs.end(); ++it) inputs.push_back(it->run);
    const int64_t seq = next->next_seq++;
    absl::StatusOr<std::shared_ptr<const TermRun>> merged = WriteRun(g, seq, MergeRuns(inputs, inputs.front()->base()));
    if (!merged.ok()) return merged.status();
    for (auto it = tail; it != runs.end(); ++it) unused->push_back(RunPath(g, it->seq));
    runs.erase(tail, runs.end());
    runs.push_back(TermSnapshot::Run{seq, level + 1, *std::move(merged)});
  }
  return absl::OkStatus();
}

absl::Status TermIndex::Add(int64_t g, const std::vector<Document>& docs, int64_t deleted_below, int64_t next_offset) {
  if (next_offset <= state_.indexed_offset) return absl::OkStatus();  // a crash left this half ahead
  const int64_t from = std::max(state_.indexed_offset, deleted_below);
  // Each distinct term once, with its documents in offset order: an exact term once per document,
  // a word at each of its positions, the length once.
  TermArena arena;
  absl::flat_hash_map<std::string_view, uint32_t> ids;
  ids.reserve(docs.size() * 4);
  std::vector<std::string_view> names;
  std::vector<int64_t> last_doc;
  struct Posting {
    uint32_t id;
    uint32_t value;  // a word's position, a length
    int64_t doc;
  };
  std::vector<Posting> postings;
  postings.reserve(docs.size() * 64);
  std::string term;
  auto add = [&](int64_t doc, uint32_t value, bool once) {
    auto it = ids.find(std::string_view(term));
    if (it == ids.end()) {
      names.push_back(arena.Copy(term));
      it = ids.emplace(names.back(), static_cast<uint32_t>(names.size() - 1)).first;
      last_doc.push_back(-1);
    }
    if (once && last_doc[it->second] == doc) return;
    last_doc[it->second] = doc;
    postings.push_back(Posting{it->second, value, doc});
  };
  int64_t base = -1;
  std::vector<std::pair<std::string_view, uint32_t>> next_position;  // per text field of a document
  for (const Document& d : docs) {
    if (d.offset < from) continue;
    if (base < 0) base = d.offset;
    for (const auto& [name, value] : d.keywords) {
      term.clear();
      terms::AppendKeyword(&term, name, value);
      add(d.offset, 0, true);
    }
    for (const std::string& name : d.long_text) {
      term = terms::Presence(name);
      add(d.offset, 0, true);
    }
    for (const auto& [name, value] : d.numbers) {
      term.clear();
      terms::AppendNumber(&term, name, value);
      add(d.offset, 0, true);
    }
    next_position.clear();
    uint32_t words = 0;
    for (const auto& [name, text] : d.text) {
      auto at = std::find_if(next_position.begin(), next_position.end(), [&](const auto& p) { return p.first == name; });
      if (at == next_position.end()) {
        next_position.emplace_back(name, 0);
        at = next_position.end() - 1;
      } else {
        at->second += kValueGap;  // the next value of an array: no phrase spans two
      }
      term = terms::TextFieldStart(name);
      ForEachWord(text, &term, term.size(), [&] {
        add(d.offset, at->second++, false);
        ++words;
      });
    }
    if (words > 0) {
      term = terms::Length();
      add(d.offset, words, true);
    }
  }
  TermSnapshot next = state_;
  next.indexed_offset = next_offset;
  next.generations.insert(g);
  std::vector<std::string> unused;
  if (!postings.empty()) {
    // The distinct terms sorted, then the postings by their term's rank: a counting sort, which
    // keeps each term's postings in the order they came (by document, then position).
    std::vector<std::pair<std::string_view, uint32_t>> order(names.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = {names[i], i};
    std::sort(order.begin(), order.end());
    std::vector<uint32_t> count(names.size(), 0);
    for (const Posting& p : postings) ++count[p.id];
    std::vector<uint32_t> at(names.size());
    uint32_t sum = 0;
    for (const auto& [name, id] : order) {
      at[id] = sum;
      sum += count[id];
    }
    std::vector<std::pair<int64_t, uint32_t>> sorted(postings.size());
    for (const Posting& p : postings) sorted[at[p.id]++] = {p.doc, p.value};
    RunBuilder builder(base);
    std::string payload;
    size_t i = 0;
    for (const auto& [name, id] : order) {
      builder.StartTerm(name);
      const size_t end = i + count[id];
      const auto kind = static_cast<terms::Kind>(name[0]);
      while (i < end) {
        const int64_t doc = sorted[i].first;
        if (kind == terms::Kind::kText) {
          // The word's positions in the document: their count, then each as a delta.
          size_t j = i;
          while (j < end && sorted[j].first == doc) ++j;
          payload.clear();
          protocol::AppendUnsignedVarlong(&payload, j - i);
          uint32_t last = 0;
          for (size_t k = i; k < j; ++k) {
            protocol::AppendUnsignedVarlong(&payload, sorted[k].second - last);
            last = sorted[k].second;
          }
          builder.AddDoc(doc, payload);
          i = j;
        } else if (kind == terms::Kind::kLength) {
          payload.clear();
          protocol::AppendUnsignedVarlong(&payload, sorted[i].second);
          builder.AddDoc(doc, payload);
          ++i;
        } else {
          builder.AddDoc(doc);
          ++i;
        }
      }
    }
    const int64_t seq = next.next_seq++;
    absl::StatusOr<std::shared_ptr<const TermRun>> run = WriteRun(g, seq, builder.Finish());
    if (!run.ok()) return run.status();
    next.runs[g].push_back(TermSnapshot::Run{seq, 0, *std::move(run)});
    if (absl::Status st = MergeTail(&next, g, &unused); !st.ok()) return st;
  }
  return Commit(std::move(next), unused);
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
  for (auto it = next.generations.begin(); it != next.generations.end() && *it < oldest;) {
    for (const TermSnapshot::Run& r : next.runs[*it]) unused.push_back(RunPath(*it, r.seq));
    next.runs.erase(*it);
    it = next.generations.erase(it);
  }
  for (auto it = next.runs.begin(); it != next.runs.end() && it->first < oldest;) {
    for (const TermSnapshot::Run& r : it->second) unused.push_back(RunPath(it->first, r.seq));
    it = next.runs.erase(it);
  }
  if (next.generations.size() == state_.generations.size() && next.runs.size() == state_.runs.size()) {
    return absl::OkStatus();
  }
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
