#include "chronik_search/term_run.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <queue>

#include "absl/strings/str_cat.h"
#include "chronik_protocol/records/crc32c.h"
#include "chronik_protocol/varint.h"

namespace chronik::search {

namespace {

using protocol::AppendUnsignedVarlong;
using protocol::DecodeUnsignedVarlong;

constexpr char kMagic[] = {'C', 'K', 'T', 'R', 3};
constexpr size_t kTrailer = 36;
constexpr size_t kBlockBytes = 4096;

void AppendFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void AppendFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t Fixed64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}
uint32_t Fixed32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

size_t SharedPrefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

RunBuilder::RunBuilder(int64_t base_doc) : base_(base_doc) { out_.append(kMagic, sizeof(kMagic)); }

void RunBuilder::StartTerm(std::string_view term) {
  EndTerm();
  term_.assign(term.data(), term.size());
  in_term_ = true;
  last_doc_ = base_;
}

void RunBuilder::AddDoc(int64_t doc) {
  if (docs_ == 0) first_doc_ = doc;
  AppendUnsignedVarlong(&body_, static_cast<uint64_t>(doc - last_doc_));
  last_doc_ = doc;
  ++docs_;
}

void RunBuilder::AddDoc(int64_t doc, std::string_view payload) {
  AddDoc(doc);
  AppendUnsignedVarlong(&body_, payload.size());
  body_.append(payload.data(), payload.size());
  has_payloads_ = true;
}

void RunBuilder::AddEncoded(int64_t first, int64_t last, uint64_t count, bool has_payloads, std::string_view tail) {
  AddDoc(first);
  body_.append(tail.data(), tail.size());
  docs_ += static_cast<int64_t>(count) - 1;
  last_doc_ = last;
  has_payloads_ = has_payloads;
}

void RunBuilder::EndTerm() {
  if (!in_term_) return;
  in_term_ = false;
  if (docs_ == 0) return;
  // A block ends before the entry that would take it past kBlockBytes (an entry is never split:
  // a term with many documents makes a large block).
  const bool new_block = blocks_ == 0 || out_.size() - block_start_ >= kBlockBytes;
  if (new_block) {
    block_start_ = out_.size();
    ++blocks_;
    AppendUnsignedVarlong(&index_, term_.size());
    index_.append(term_);
    AppendUnsignedVarlong(&index_, block_start_);
    last_term_.clear();
  }
  const size_t shared = SharedPrefix(last_term_, term_);
  AppendUnsignedVarlong(&out_, shared);
  AppendUnsignedVarlong(&out_, term_.size() - shared);
  out_.append(term_, shared, std::string::npos);
  AppendUnsignedVarlong(&out_, static_cast<uint64_t>(docs_) << 1 | (has_payloads_ ? 1 : 0));
  if (docs_ > 1) {
    AppendUnsignedVarlong(&out_, body_.size());
    AppendUnsignedVarlong(&out_, static_cast<uint64_t>(last_doc_ - first_doc_));
  }
  out_.append(body_);
  pairs_ += docs_;
  docs_ = 0;
  body_.clear();
  has_payloads_ = false;
  last_term_.swap(term_);
}

std::string RunBuilder::Finish() {
  EndTerm();
  const uint64_t index_offset = out_.size();
  out_.append(index_);
  AppendFixed64(&out_, index_offset);
  AppendFixed64(&out_, static_cast<uint64_t>(blocks_));
  AppendFixed64(&out_, static_cast<uint64_t>(base_));
  AppendFixed64(&out_, static_cast<uint64_t>(pairs_));
  AppendFixed32(&out_, protocol::Crc32c(out_));
  return std::move(out_);
}

absl::StatusOr<std::shared_ptr<const TermRun>> TermRun::Open(const std::string& path, bool verify) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::DataLossError(absl::StrCat("search index: cannot open ", path, ": ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(kMagic) + kTrailer)) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat("search index: ", path, " is truncated"));
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return absl::InternalError(absl::StrCat("search index: mapping ", path, ": ", std::strerror(errno)));
  std::shared_ptr<TermRun> run(new TermRun(static_cast<const uint8_t*>(map), size));
  if (absl::Status s = run->Parse(path, verify); !s.ok()) return s;
  return std::shared_ptr<const TermRun>(std::move(run));
}

TermRun::~TermRun() { ::munmap(const_cast<uint8_t*>(data_), size_); }

absl::Status TermRun::Parse(const std::string& path, bool verify) {
  auto damaged = [&](const char* why) {
    return absl::DataLossError(absl::StrCat("search index: ", path, " is damaged (", why, ")"));
  };
  if (std::memcmp(data_, kMagic, sizeof(kMagic)) != 0) return damaged("not a run");
  const uint8_t* trailer = data_ + size_ - kTrailer;
  if (verify && protocol::Crc32c(data_, size_ - 4) != Fixed32(trailer + 32)) return damaged("checksum");
  const uint64_t index_offset = Fixed64(trailer);
  const uint64_t blocks = Fixed64(trailer + 8);
  base_ = static_cast<int64_t>(Fixed64(trailer + 16));
  pairs_ = static_cast<int64_t>(Fixed64(trailer + 24));
  if (index_offset < sizeof(kMagic) || index_offset > size_ - kTrailer) return damaged("index offset");
  blocks_end_ = data_ + index_offset;
  const uint8_t* p = blocks_end_;
  for (uint64_t i = 0; i < blocks; ++i) {
    uint64_t len = 0, offset = 0;
    if (!DecodeUnsignedVarlong(&p, trailer, &len) || len > static_cast<uint64_t>(trailer - p)) return damaged("index");
    std::string first(reinterpret_cast<const char*>(p), len);
    p += len;
    if (!DecodeUnsignedVarlong(&p, trailer, &offset) || offset < sizeof(kMagic) || offset >= index_offset ||
        (!index_.empty() && offset <= index_.back().second)) {
      return damaged("index");
    }
    index_.emplace_back(std::move(first), offset);
  }
  if (p != trailer) return damaged("index length");
  return absl::OkStatus();
}

bool TermRun::DecodeEntry(const uint8_t** p, std::string* term, uint64_t* count, bool* has_payloads,
                          uint64_t* body_bytes, uint64_t* span) const {
  uint64_t shared = 0, suffix = 0, head = 0;
  if (!DecodeUnsignedVarlong(p, blocks_end_, &shared) || shared > term->size()) return false;
  if (!DecodeUnsignedVarlong(p, blocks_end_, &suffix) || suffix > static_cast<uint64_t>(blocks_end_ - *p)) return false;
  term->resize(shared);
  term->append(reinterpret_cast<const char*>(*p), suffix);
  *p += suffix;
  if (!DecodeUnsignedVarlong(p, blocks_end_, &head)) return false;
  *count = head >> 1;
  *has_payloads = (head & 1) != 0;
  *body_bytes = *span = 0;
  // The documents' bytes are checked against what is left after the span, where they start.
  if (*count > 1 && (!DecodeUnsignedVarlong(p, blocks_end_, body_bytes) || !DecodeUnsignedVarlong(p, blocks_end_, span) ||
                     *body_bytes > static_cast<uint64_t>(blocks_end_ - *p) || *span > (uint64_t{1} << 62))) {
    return false;
  }
  return *count > 0;
}

bool TermRun::DecodeDoc(const uint8_t** p, bool has_payloads, uint64_t* delta, std::string_view* payload) const {
  if (!DecodeUnsignedVarlong(p, blocks_end_, delta)) return false;
  if (!has_payloads) return true;
  uint64_t len = 0;
  if (!DecodeUnsignedVarlong(p, blocks_end_, &len) || len > static_cast<uint64_t>(blocks_end_ - *p)) return false;
  *payload = std::string_view(reinterpret_cast<const char*>(*p), len);
  *p += len;
  return true;
}

TermRun::Cursor::Cursor(const TermRun* run, const Range* range) : run_(run), range_(range) {
  end_ = run->blocks_end_;
  if (run->index_.empty()) {
    done_ = true;
    return;
  }
  // The last block whose first term is at or below the lower bound: the range starts in it.
  size_t block = 0;
  if (range->has_lower) {
    auto it = std::upper_bound(run->index_.begin(), run->index_.end(), range->lower,
                               [](const std::string& t, const auto& e) { return t < e.first; });
    block = it == run->index_.begin() ? 0 : static_cast<size_t>(it - run->index_.begin()) - 1;
  }
  p_ = run->data_ + run->index_[block].second;
}

bool TermRun::Cursor::BelowLower() const {
  if (!range_->has_lower) return false;
  const int c = term_.compare(range_->lower);
  return c < 0 || (c == 0 && !range_->lower_inclusive);
}

bool TermRun::Cursor::AboveUpper() const {
  if (!range_->has_upper) return false;
  const int c = term_.compare(range_->upper);
  return c > 0 || (c == 0 && !range_->upper_inclusive);
}

bool TermRun::Cursor::ReadEntry() {
  // A block starts with a whole term (shared 0), so reading on across blocks needs nothing more.
  while (p_ < end_) {
    uint64_t body_bytes = 0, span = 0;
    if (!run_->DecodeEntry(&p_, &term_, &left_, &has_payloads_, &body_bytes, &span)) return false;
    if (BelowLower()) {
      // Skip its documents.
      if (left_ > 1) {
        p_ += body_bytes;
      } else {
        uint64_t delta = 0;
        if (!run_->DecodeDoc(&p_, has_payloads_, &delta, &payload_)) return false;
      }
      continue;
    }
    if (AboveUpper()) return false;
    doc_ = run_->base_;
    return true;
  }
  return false;
}

bool TermRun::Cursor::Next() {
  if (done_) return false;
  if (left_ == 0 && !ReadEntry()) {
    done_ = true;
    return false;
  }
  uint64_t delta = 0;
  if (!run_->DecodeDoc(&p_, has_payloads_, &delta, &payload_)) {
    done_ = true;
    return false;
  }
  doc_ += static_cast<int64_t>(delta);
  --left_;
  return true;
}

uint32_t TermRun::DocLengths::Of(int64_t doc) const {
  const auto it = std::lower_bound(docs.begin(), docs.end(), doc);
  return it != docs.end() && *it == doc ? length[static_cast<size_t>(it - docs.begin())] : 0;
}

const TermRun::DocLengths& TermRun::Lengths(const std::string& term) const {
  std::call_once(lengths_once_, [&] {
    Cursor::Range range;
    range.has_lower = range.has_upper = true;
    range.lower = range.upper = term;
    Cursor c(this, &range);
    while (c.Next()) {
      std::string_view payload = c.payload();
      const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
      uint64_t n = 0;
      if (!DecodeUnsignedVarlong(&p, p + payload.size(), &n)) continue;
      lengths_.docs.push_back(c.doc());
      lengths_.length.push_back(static_cast<uint32_t>(n));
      lengths_.words += static_cast<int64_t>(n);
    }
  });
  return lengths_;
}

TermRun::EntryReader::EntryReader(const TermRun* run) : run_(run), p_(run->data_ + sizeof(kMagic)) {}

bool TermRun::EntryReader::Next() {
  if (damaged_ || p_ >= run_->blocks_end_) return false;
  Entry& e = entry_;
  uint64_t body_bytes = 0, span = 0, delta = 0;
  const uint8_t* body = nullptr;
  const uint8_t* tail = nullptr;
  auto read = [&] {
    if (!run_->DecodeEntry(&p_, &e.term, &e.count, &e.has_payloads, &body_bytes, &span)) return false;
    body = p_;
    if (!DecodeUnsignedVarlong(&p_, run_->blocks_end_, &delta) || delta > (uint64_t{1} << 62)) return false;
    tail = p_;
    if (e.count > 1) {
      // The first document's delta is within the documents' bytes, and something follows it.
      if (body_bytes <= static_cast<uint64_t>(tail - body)) return false;
      p_ = body + body_bytes;
      return true;
    }
    if (!e.has_payloads) return true;
    uint64_t len = 0;
    if (!DecodeUnsignedVarlong(&p_, run_->blocks_end_, &len) || len > static_cast<uint64_t>(run_->blocks_end_ - p_)) {
      return false;
    }
    p_ += len;
    return true;
  };
  if (!read()) {
    damaged_ = true;
    return false;
  }
  e.first = run_->base_ + static_cast<int64_t>(delta);
  e.last = e.first + static_cast<int64_t>(span);
  e.tail = std::string_view(reinterpret_cast<const char*>(tail), static_cast<size_t>(p_ - tail));
  return true;
}

absl::StatusOr<std::string> MergeRuns(const std::vector<std::shared_ptr<const TermRun>>& runs, int64_t base_doc) {
  RunBuilder out(base_doc);
  std::vector<TermRun::EntryReader> readers;
  std::vector<bool> live;
  for (const auto& run : runs) {
    readers.emplace_back(run.get());
    live.push_back(readers.back().Next());
  }
  // The runs with the smallest term on top; of equal terms, the earlier run (lower documents).
  auto later = [&](size_t a, size_t b) {
    const int c = readers[a].entry().term.compare(readers[b].entry().term);
    return c != 0 ? c > 0 : a > b;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < readers.size(); ++i) {
    if (live[i]) heap.push(i);
  }
  std::string term;
  while (!heap.empty()) {
    term = readers[heap.top()].entry().term;
    out.StartTerm(term);
    // The runs' documents are in ascending ranges in run order: concatenated, they stay sorted.
    while (!heap.empty() && readers[heap.top()].entry().term == term) {
      const size_t i = heap.top();
      heap.pop();
      const TermRun::Entry& e = readers[i].entry();
      out.AddEncoded(e.first, e.last, e.count, e.has_payloads, e.tail);
      if (readers[i].Next()) heap.push(i);
    }
  }
  for (size_t i = 0; i < readers.size(); ++i) {
    if (readers[i].damaged()) {
      return absl::DataLossError(absl::StrCat("search index: a run being merged (", i, " of ", readers.size(),
                                              ") has a malformed entry"));
    }
  }
  return out.Finish();
}

}  // namespace chronik::search
