#pragma once

// A run: one immutable file of (term, doc) pairs sorted by term, then doc, which is how the exact
// terms (terms.h) of a batch of documents are stored (term_index.h). Terms are prefix-compressed
// within blocks of about 4 KiB, each term followed by its documents as deltas; a block index at the
// end of the file finds the block a term range starts in, and a CRC-32C over the whole file finds
// a damaged one. Writing a batch costs a sort of its distinct terms and one sequential write,
// where an FTS5 table cost a B-tree segment and its merges inside SQLite.
//
// An entry is: shared prefix length, suffix length, suffix, count << 1 | has payloads, with more
// than one document the length of their bytes and the last document less the first, then each
// document's delta (from the run's base for the first) and, with payloads, the payload's length
// and bytes (a text term's positions, a document's length: term_index.h). The length and the last
// document let a merge copy an entry's documents without decoding them, and a seek skip them.
//
// Layout: "CKTR" 3, blocks, block index (per block: first term's length and bytes, block offset;
// all varints), then a 36-byte trailer: index offset, block count, base doc, pair count (each
// 8 bytes little-endian), CRC-32C of everything before it (4 bytes).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chronik::search {

// Builds a run's bytes from terms given in ascending order, each with its documents ascending.
class RunBuilder {
 public:
  explicit RunBuilder(int64_t base_doc);
  void StartTerm(std::string_view term);
  // Above the term's last one, at or above the base. A term's documents all have a payload (which
  // may be empty), or none has.
  void AddDoc(int64_t doc);
  void AddDoc(int64_t doc, std::string_view payload);
  // `count` documents from `first` to `last` as encoded in another run (an entry's tail: see
  // TermRun::Entry), above the term's last one.
  void AddEncoded(int64_t first, int64_t last, uint64_t count, bool has_payloads, std::string_view tail);
  // The file's bytes; the builder is spent.
  std::string Finish();
  int64_t pairs() const { return pairs_; }

 private:
  void EndTerm();

  const int64_t base_;
  std::string out_;
  std::string index_;
  std::string last_term_;  // of the open block
  std::string term_;       // being written
  // The open term's documents (and payloads) as written, and how many: its count goes before them.
  std::string body_;
  int64_t docs_ = 0;
  int64_t first_doc_ = 0;
  int64_t last_doc_ = 0;
  bool has_payloads_ = false;
  size_t block_start_ = 0;
  int64_t blocks_ = 0;
  int64_t pairs_ = 0;
  bool in_term_ = false;
};

// A run file, mapped read-only. Shared by the snapshots that name it: the file may be deleted
// while a search still reads it.
class TermRun {
 public:
  // Maps and checks the file (its CRC, unless `verify` is false for a file this process has just
  // written, and its structure): DataLoss if damaged.
  static absl::StatusOr<std::shared_ptr<const TermRun>> Open(const std::string& path, bool verify = true);
  ~TermRun();
  TermRun(const TermRun&) = delete;
  TermRun& operator=(const TermRun&) = delete;

  int64_t size_bytes() const { return static_cast<int64_t>(size_); }
  int64_t pairs() const { return pairs_; }
  int64_t base() const { return base_; }

  // Each document's length in words, from the payloads of `term` (term_index.h's length term),
  // read at the first call.
  struct DocLengths {
    // The documents with text, ascending, and their lengths (by document, not by offset: offsets
    // can be sparse, on compacted or transactional topics).
    std::vector<int64_t> docs;
    std::vector<uint32_t> length;
    int64_t words = 0;
    uint32_t Of(int64_t doc) const;  // 0: no text
  };
  const DocLengths& Lengths(const std::string& term) const;

  // Walks the pairs whose term is in a range, in order.
  class Cursor {
   public:
    // [lower, upper] with the bounds' inclusiveness; a bound not `has_*` is open.
    struct Range {
      bool has_lower = false, lower_inclusive = true;
      std::string lower;
      bool has_upper = false, upper_inclusive = true;
      std::string upper;
    };
    Cursor(const TermRun* run, const Range* range);
    // The next pair; false at the end of the range.
    bool Next();
    const std::string& term() const { return term_; }
    int64_t doc() const { return doc_; }
    std::string_view payload() const { return payload_; }

   private:
    // Reads the entry at p_ into term_ and its document count; false past the data or a bound.
    bool ReadEntry();
    bool BelowLower() const;
    bool AboveUpper() const;

    const TermRun* run_;
    const Range* range_;
    const uint8_t* p_ = nullptr;
    const uint8_t* end_ = nullptr;  // of the blocks
    std::string term_;
    uint64_t left_ = 0;  // documents of term_ still to read
    bool has_payloads_ = false;
    int64_t doc_ = 0;
    std::string_view payload_;
    bool started_ = false, done_ = false;
  };

  // Every term with its documents as encoded, in order: what merging reads.
  struct Entry {
    std::string term;
    uint64_t count = 0;
    bool has_payloads = false;
    int64_t first = 0, last = 0;  // documents
    // The encoded documents after the first one's delta (its payload, then the others'), into the
    // run's mapping.
    std::string_view tail;
  };
  class EntryReader {
   public:
    explicit EntryReader(const TermRun* run);
    bool Next();  // false at the end, or at an entry that is malformed
    bool damaged() const { return damaged_; }  // Next stopped at a malformed entry
    const Entry& entry() const { return entry_; }

   private:
    const TermRun* run_;
    const uint8_t* p_;
    Entry entry_;
    bool damaged_ = false;
  };

 private:
  TermRun(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  absl::Status Parse(const std::string& path, bool verify);
  // Reads one entry's head at `*p` (the term after `*term`'s first `shared` bytes), leaving `*p` at
  // its documents: their count, and with more than one, their bytes' length and the last less the
  // first (else 0 and 0); false if malformed.
  bool DecodeEntry(const uint8_t** p, std::string* term, uint64_t* count, bool* has_payloads, uint64_t* body_bytes,
                   uint64_t* span) const;
  // Reads one document of an entry: its delta and payload; false if malformed.
  bool DecodeDoc(const uint8_t** p, bool has_payloads, uint64_t* delta, std::string_view* payload) const;

  const uint8_t* data_;
  size_t size_;
  const uint8_t* blocks_end_ = nullptr;
  int64_t base_ = 0;
  int64_t pairs_ = 0;
  std::vector<std::pair<std::string, size_t>> index_;  // each block's first term and offset
  mutable std::once_flag lengths_once_;
  mutable DocLengths lengths_;
};

// Merges runs whose documents lie in ascending, disjoint ranges (in that order) into one run's
// bytes; DataLoss if a run has a malformed entry (rather than a merge that would lose its rest).
absl::StatusOr<std::string> MergeRuns(const std::vector<std::shared_ptr<const TermRun>>& runs, int64_t base_doc);

}  // namespace chronik::search
