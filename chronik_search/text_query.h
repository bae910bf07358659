#pragma once

// Text queries (match, match_phrase, match_phrase_prefix) answered from the terms' runs: the words
// of text fields are terms with their positions (terms.h, term_index.h), so a word is one seek per
// run, a phrase the documents where its words' positions follow each other, and ranking is BM25 as
// FTS5 computed it (k1 1.2, b 0.75, over a generation; a document's length is its words in every
// field).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chronik_search/term_index.h"

namespace chronik::search {

struct TextQuerySpec {
  std::vector<std::string> fields;  // each searched on its own: a phrase matches within one
  bool all = false;                 // every phrase must match (operator and), else any
  std::vector<std::vector<std::string>> phrases;  // words, as tokenizer.h makes them
  bool last_prefix = false;         // a phrase's last word is a prefix (match_phrase_prefix)

  std::string Serialize() const;
  static std::optional<TextQuerySpec> Parse(std::string_view text);
};

struct TextMatch {
  int64_t doc = 0;
  double score = 1.0;
};

// The documents of one generation's runs (in document order) that match `query`, ascending, with
// their BM25 score if `scored` (else 1).
std::vector<TextMatch> MatchText(const std::vector<TermSnapshot::Run>& runs, const TextQuerySpec& query, bool scored);

}  // namespace chronik::search
