// MakeDocument against oracles built on other code: its one-pass JSON reader against
// nlohmann::json's strict SAX parser (the same documents are JSON, with the same fields in the
// same order), and ParseDateMs's own reading of common dates against absl::ParseTime's. Any
// difference aborts. tests/fuzz/run_fuzzers.sh fuzzes it; json_fuzzer_replay replays the seeds.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chronik_search/document.h"
#include "nlohmann/json.hpp"

namespace {

using chronik::search::Document;

constexpr int kMaxDepth = 16;
constexpr size_t kMaxFields = 1024;
constexpr size_t kMaxKeywordBytes = 256;

// The fields of a JSON object as document.h describes them, from nlohmann's events.
class Oracle : public nlohmann::json_sax<nlohmann::json> {
 public:
  Document doc;

  bool null() override { return Leaf(); }
  bool boolean(bool b) override {
    if (Leaf()) {
      doc.numbers.emplace_back(path_, b ? 1.0 : 0.0);
      doc.keywords.emplace_back(path_, b ? "true" : "false");
    }
    return true;
  }
  bool number_integer(number_integer_t v) override { return Number(static_cast<double>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Number(static_cast<double>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return Number(v); }
  bool string(string_t& s) override {
    if (Leaf()) {
      doc.text.emplace_back(path_, s);
      if (s.size() <= kMaxKeywordBytes) {
        doc.keywords.emplace_back(path_, s);
      } else {
        doc.long_text.push_back(path_);
      }
      if (auto ms = chronik::search::ParseDateMsByAbsl(s)) doc.numbers.emplace_back(path_, static_cast<double>(*ms));
    }
    return true;
  }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    if (frames_.empty()) object_ = true;
    Enter(true);
    return true;
  }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool end_object() override { return Leave(); }
  bool start_array(std::size_t) override {
    Enter(false);
    return true;
  }
  bool end_array() override { return Leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

  bool object() const { return object_; }

 private:
  struct Frame {
    bool object;
    std::string path;
    int depth;
  };

  // Sets path_ and depth_ to the next value's; true if it is indexed.
  bool Leaf() {
    Place();
    return depth_ <= kMaxDepth && doc.text.size() + doc.numbers.size() <= kMaxFields;
  }
  void Place() {
    if (frames_.empty()) {
      path_.clear();
      depth_ = 0;
      return;
    }
    const Frame& f = frames_.back();
    path_ = !f.object ? f.path : f.path.empty() ? key_ : f.path + "." + key_;
    depth_ = f.depth + 1;
  }
  bool Number(double d) {
    if (Leaf()) doc.numbers.emplace_back(path_, d == 0 ? 0.0 : d);
    return true;
  }
  void Enter(bool object) {
    Place();
    frames_.push_back({object, path_, depth_});
  }
  bool Leave() {
    frames_.pop_back();
    return true;
  }

  std::vector<Frame> frames_;
  std::string key_, path_;
  int depth_ = 0;
  bool object_ = false;
};

template <typename T>
std::string Show(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return v;
  } else {
    return absl::StrCat(v);
  }
}

template <typename T>
void Check(const char* what, const std::vector<T>& got, const std::vector<T>& want) {
  if (got == want) return;
  std::fprintf(stderr, "json_fuzzer: %s differ (%zu against %zu)\n", what, got.size(), want.size());
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    if (i < got.size() && i < want.size() && got[i] == want[i]) continue;
    if constexpr (std::is_same_v<T, std::string>) {
      std::fprintf(stderr, "  [%zu] %s | %s\n", i, i < got.size() ? got[i].c_str() : "-", i < want.size() ? want[i].c_str() : "-");
    } else {
      std::fprintf(stderr, "  [%zu] %s=%s | %s=%s\n", i, i < got.size() ? got[i].first.c_str() : "-",
                   i < got.size() ? Show(got[i].second).c_str() : "-", i < want.size() ? want[i].first.c_str() : "-",
                   i < want.size() ? Show(want[i].second).c_str() : "-");
    }
    break;
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  chronik::search::RecordFields r;
  r.value = value;
  const Document got = chronik::search::MakeDocument(r);

  Document want;
  Oracle oracle;
  if (chronik::search::IsUtf8(value) &&
      nlohmann::json::sax_parse(value.begin(), value.end(), &oracle, nlohmann::json::input_format_t::json, true) &&
      oracle.object()) {
    want = std::move(oracle.doc);
  } else if (chronik::search::IsUtf8(value)) {
    want.text.emplace_back("value", std::string(value));
    if (value.size() <= kMaxKeywordBytes) {
      want.keywords.emplace_back("value", std::string(value));
    } else {
      want.long_text.push_back("value");
    }
  }
  Check("text fields", got.text, want.text);
  Check("keywords", got.keywords, want.keywords);
  Check("numbers", got.numbers, want.numbers);
  Check("long text fields", got.long_text, want.long_text);

  if (size <= 40 && chronik::search::ParseDateMs(value) != chronik::search::ParseDateMsByAbsl(value)) {
    std::fprintf(stderr, "json_fuzzer: the date %s differs\n", std::string(value).c_str());
    std::abort();
  }
  return 0;
}
