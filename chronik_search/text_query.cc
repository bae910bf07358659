#include "chronik_search/text_query.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "chronik_protocol/varint.h"
#include "chronik_search/terms.h"

namespace chronik::search {

namespace {

using protocol::DecodeUnsignedVarlong;
using DocFrequencies = std::vector<std::pair<int64_t, uint32_t>>;  // (doc, occurrences), ascending

// A word's payload (term_index.h): how often it occurs in the document, then its positions as deltas.
uint32_t Occurrences(std::string_view payload) {
  const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
  uint64_t n = 0;
  return DecodeUnsignedVarlong(&p, p + payload.size(), &n) ? static_cast<uint32_t>(n) : 0;
}

void AppendPositions(std::string_view payload, std::vector<uint32_t>* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
  const uint8_t* end = p + payload.size();
  uint64_t n = 0, position = 0, delta = 0;
  if (!DecodeUnsignedVarlong(&p, end, &n)) return;
  for (uint64_t i = 0; i < n && DecodeUnsignedVarlong(&p, end, &delta); ++i) {
    position += delta;
    out->push_back(static_cast<uint32_t>(position));
  }
}

// One word's documents in one field, ascending: an exact word's with its payloads, or the words a
// prefix stands for, their positions merged per document.
struct WordList {
  std::vector<int64_t> docs;
  std::vector<std::string_view> payloads;     // an exact word's
  std::vector<std::vector<uint32_t>> merged;  // a prefix's

  uint32_t Frequency(size_t i) const {
    return payloads.empty() ? static_cast<uint32_t>(merged[i].size()) : Occurrences(payloads[i]);
  }
  void Positions(size_t i, std::vector<uint32_t>* out) const {
    out->clear();
    if (payloads.empty()) {
      *out = merged[i];
    } else {
      AppendPositions(payloads[i], out);
    }
  }
};

// The runs hold ascending, disjoint document ranges: read in turn, a term's documents ascend.
WordList Exact(const std::vector<TermSnapshot::Run>& runs, const std::string& term) {
  WordList out;
  TermRun::Cursor::Range range;
  range.has_lower = range.has_upper = true;
  range.lower = range.upper = term;
  for (const TermSnapshot::Run& r : runs) {
    TermRun::Cursor c(r.run.get(), &range);
    while (c.Next()) {
      out.docs.push_back(c.doc());
      out.payloads.push_back(c.payload());
    }
  }
  return out;
}

WordList Prefix(const std::vector<TermSnapshot::Run>& runs, const std::string& field, const std::string& prefix) {
  TermRun::Cursor::Range range;
  range.has_lower = range.has_upper = true;
  range.lower = terms::Text(field, prefix);
  range.upper = range.lower + "\xff";  // above every byte of UTF-8
  range.upper_inclusive = false;
  std::vector<std::pair<int64_t, std::string_view>> found;
  for (const TermSnapshot::Run& r : runs) {
    TermRun::Cursor c(r.run.get(), &range);
    while (c.Next()) found.emplace_back(c.doc(), c.payload());
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  WordList out;
  for (const auto& [doc, payload] : found) {
    if (out.docs.empty() || out.docs.back() != doc) {
      out.docs.push_back(doc);
      out.merged.emplace_back();
    }
    AppendPositions(payload, &out.merged.back());
  }
  for (auto& positions : out.merged) std::sort(positions.begin(), positions.end());
  return out;
}

// The documents where `words` occur as a phrase in `field`, with how often.
DocFrequencies PhraseIn(const std::vector<TermSnapshot::Run>& runs, const std::string& field,
                        const std::vector<std::string>& words, bool last_prefix) {
  std::vector<WordList> lists;
  for (size_t i = 0; i < words.size(); ++i) {
    lists.push_back(last_prefix && i + 1 == words.size() ? Prefix(runs, field, words[i])
                                                         : Exact(runs, terms::Text(field, words[i])));
    if (lists.back().docs.empty()) return {};
  }
  DocFrequencies out;
  if (lists.size() == 1) {
    for (size_t i = 0; i < lists[0].docs.size(); ++i) out.emplace_back(lists[0].docs[i], lists[0].Frequency(i));
    return out;
  }
  std::vector<size_t> at(lists.size(), 0);
  std::vector<std::vector<uint32_t>> positions(lists.size());
  for (size_t i = 0; i < lists[0].docs.size(); ++i) {
    const int64_t doc = lists[0].docs[i];
    at[0] = i;
    bool everywhere = true;
    for (size_t w = 1; w < lists.size() && everywhere; ++w) {
      const auto& docs = lists[w].docs;
      at[w] = static_cast<size_t>(std::lower_bound(docs.begin() + static_cast<std::ptrdiff_t>(at[w]), docs.end(), doc) -
                                  docs.begin());
      everywhere = at[w] < docs.size() && docs[at[w]] == doc;
    }
    if (!everywhere) continue;
    for (size_t w = 0; w < lists.size(); ++w) lists[w].Positions(at[w], &positions[w]);
    uint32_t n = 0;
    for (uint32_t p : positions[0]) {
      bool follows = true;
      for (size_t w = 1; w < lists.size() && follows; ++w) {
        follows = std::binary_search(positions[w].begin(), positions[w].end(), p + static_cast<uint32_t>(w));
      }
      n += follows ? 1 : 0;
    }
    if (n > 0) out.emplace_back(doc, n);
  }
  return out;
}

DocFrequencies Union(const DocFrequencies& a, const DocFrequencies& b) {
  DocFrequencies out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].first < b[j].first)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].first < a[i].first) {
      out.push_back(b[j++]);
    } else {
      out.emplace_back(a[i].first, a[i].second + b[j].second);
      ++i;
      ++j;
    }
  }
  return out;
}

}  // namespace

// "a" or "o" (and, or), "x" or "-" (last word a prefix), then each field as "f<length>:<bytes>"
// and each phrase as "p<words>:" and its words as "<length>:<bytes>": any bytes, UTF-8 or not.
std::string TextQuerySpec::Serialize() const {
  std::string out = all ? "a" : "o";
  out += last_prefix ? "x" : "-";
  auto counted = [&](const std::string& bytes) {
    out += std::to_string(bytes.size());
    out += ':';
    out += bytes;
  };
  for (const std::string& f : fields) {
    out += "f";
    counted(f);
  }
  for (const std::vector<std::string>& words : phrases) {
    out += "p" + std::to_string(words.size()) + ":";
    for (const std::string& w : words) counted(w);
  }
  return out;
}

std::optional<TextQuerySpec> TextQuerySpec::Parse(std::string_view text) {
  if (text.size() < 2 || (text[0] != 'a' && text[0] != 'o') || (text[1] != 'x' && text[1] != '-')) return std::nullopt;
  TextQuerySpec q;
  q.all = text[0] == 'a';
  q.last_prefix = text[1] == 'x';
  size_t at = 2;
  auto number = [&](size_t* n) {
    const size_t colon = text.find(':', at);
    if (colon == std::string_view::npos || colon == at || colon - at > 9) return false;
    *n = 0;
    for (size_t i = at; i < colon; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      *n = *n * 10 + static_cast<size_t>(text[i] - '0');
    }
    at = colon + 1;
    return true;
  };
  auto counted = [&](std::string* out) {
    size_t n = 0;
    if (!number(&n) || n > text.size() - at) return false;
    out->assign(text.substr(at, n));
    at += n;
    return true;
  };
  while (at < text.size()) {
    const char kind = text[at++];
    if (kind == 'f') {
      if (!counted(&q.fields.emplace_back())) return std::nullopt;
    } else if (kind == 'p') {
      size_t words = 0;
      if (!number(&words) || words > text.size()) return std::nullopt;
      std::vector<std::string>& phrase = q.phrases.emplace_back(words);
      for (std::string& w : phrase) {
        if (!counted(&w)) return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  return q;
}

std::vector<TextMatch> MatchText(const std::vector<TermSnapshot::Run>& runs, const TextQuerySpec& query, bool scored) {
  // Each phrase's documents, over every field.
  std::vector<DocFrequencies> phrases;
  for (const std::vector<std::string>& words : query.phrases) {
    DocFrequencies found;
    if (!words.empty()) {
      for (const std::string& field : query.fields) found = Union(found, PhraseIn(runs, field, words, query.last_prefix));
    }
    if (found.empty() && query.all) return {};
    phrases.push_back(std::move(found));
  }
  if (phrases.empty()) return {};

  // BM25 as FTS5's bm25(): over the generation, a document's length its words in every field.
  const std::string length_term = terms::Length();
  std::vector<int64_t> bases;
  std::vector<const TermRun::DocLengths*> lengths;
  double documents = 0, words = 0;
  if (scored) {
    for (const TermSnapshot::Run& r : runs) {
      bases.push_back(r.run->base());
      lengths.push_back(&r.run->Lengths(length_term));
      documents += static_cast<double>(lengths.back()->docs.size());
      words += static_cast<double>(lengths.back()->words);
    }
  }
  const double average = documents > 0 ? words / documents : 1;
  std::vector<double> idf;
  for (const DocFrequencies& p : phrases) {
    const double hits = static_cast<double>(p.size());
    const double v = std::log((documents - hits + 0.5) / (hits + 0.5));
    idf.push_back(v > 0 ? v : 1e-6);
  }
  auto length_of = [&](int64_t doc) -> double {
    const auto it = std::upper_bound(bases.begin(), bases.end(), doc);
    if (it == bases.begin()) return 0;
    return lengths[static_cast<size_t>(it - bases.begin()) - 1]->Of(doc);
  };
  constexpr double kK1 = 1.2, kB = 0.75;

  std::vector<TextMatch> out;
  std::vector<size_t> at(phrases.size(), 0);
  for (;;) {
    int64_t doc = INT64_MAX;
    for (size_t i = 0; i < phrases.size(); ++i) {
      if (at[i] < phrases[i].size()) doc = std::min(doc, phrases[i][at[i]].first);
    }
    if (doc == INT64_MAX) break;
    size_t present = 0;
    double score = 0;
    const double length = scored ? length_of(doc) : 0;
    for (size_t i = 0; i < phrases.size(); ++i) {
      if (at[i] >= phrases[i].size() || phrases[i][at[i]].first != doc) continue;
      ++present;
      if (scored) {
        const double f = phrases[i][at[i]].second;
        score += idf[i] * (f * (kK1 + 1)) / (f + kK1 * (1 - kB + kB * length / average));
      }
      ++at[i];
    }
    if (query.all && present < phrases.size()) continue;
    out.push_back(TextMatch{doc, scored ? score : 1.0});
  }
  return out;
}

}  // namespace chronik::search
