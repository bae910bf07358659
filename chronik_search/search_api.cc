#include "chronik_search/search_api.h"

#include <algorithm>
#include <cmath>
#include <fnmatch.h>

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "chronik_search/tokenizer.h"
#include "nlohmann/json.hpp"

namespace chronik::search {

namespace {

using json = nlohmann::json;
using monitoring::HttpRequest;
using monitoring::HttpResponse;

constexpr char kVersion[] = "8.11.0";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

HttpResponse Json(int status, const json& j) {
  HttpResponse r{status, "application/json", Dump(j), {}};
  r.headers.emplace_back("X-Elastic-Product", "Elasticsearch");
  return r;
}

// Elasticsearch's error shape.
template <typename Text>
HttpResponse EsError(int status, std::string_view type, const Text& reason_text, json extra = json::object()) {
  const std::string reason(reason_text);
  json cause = {{"type", std::string(type)}, {"reason", reason}};
  for (const auto& [k, v] : extra.items()) cause[k] = v;
  json error = cause;
  error["root_cause"] = json::array({cause});
  return Json(status, {{"error", error}, {"status", status}});
}

// "1d", "30m", "10s", "500ms" and the calendar units of a fixed length.
std::optional<double> IntervalMs(const std::string& s) {
  static const std::map<std::string, double> kCalendar = {
      {"second", 1e3}, {"1s", 1e3}, {"minute", 6e4}, {"1m", 6e4}, {"hour", 3.6e6}, {"1h", 3.6e6},
      {"day", 8.64e7}, {"1d", 8.64e7}, {"week", 6.048e8}, {"1w", 6.048e8}};
  if (auto it = kCalendar.find(s); it != kCalendar.end()) return it->second;
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  double n;
  if (digits == 0 || !absl::SimpleAtod(s.substr(0, digits), &n) || n <= 0) return std::nullopt;
  const std::string unit = s.substr(digits);
  if (unit == "ms") return n;
  if (unit == "s") return n * 1e3;
  if (unit == "m") return n * 6e4;
  if (unit == "h") return n * 3.6e6;
  if (unit == "d") return n * 8.64e7;
  return std::nullopt;
}

std::string IsoMs(double ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(static_cast<int64_t>(ms)), absl::UTCTimeZone());
}

// A double as Elasticsearch writes it in keys ("250.0", "0.5").
std::string DoubleText(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v), ".0");
  return absl::StrCat(v);
}

json NumberJson(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15) return json(static_cast<int64_t>(v));
  return json(v);
}

// One requested aggregation, how it is computed and how its answer is shaped.
struct Agg {
  std::string name;
  std::string type;  // terms, histogram, date_histogram, range, stats, min, max, avg, sum, value_count, cardinality
  AggregationSpec spec;
  int64_t size = 10;
  std::vector<json> range_keys;
  int64_t min_doc_count = 0;
};

absl::StatusOr<std::vector<Agg>> ParseAggs(const json& aggs) {
  std::vector<Agg> out;
  if (aggs.is_null()) return out;
  if (!aggs.is_object()) return absl::InvalidArgumentError("aggregations must be an object");
  for (const auto& [name, def] : aggs.items()) {
    if (!def.is_object()) return absl::InvalidArgumentError(absl::StrCat("aggregation [", name, "] must be an object"));
    Agg a;
    a.name = name;
    for (const auto& [type, body] : def.items()) {
      if (type == "meta") continue;
      if (type == "aggs" || type == "aggregations") {
        return absl::InvalidArgumentError(absl::StrCat("aggregation [", name, "]: sub-aggregations are not supported"));
      }
      if (!a.type.empty()) return absl::InvalidArgumentError(absl::StrCat("aggregation [", name, "] has two types"));
      a.type = type;
      if (!body.is_object() || !body.contains("field") || !body["field"].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat("aggregation [", name, "] needs a field"));
      }
      a.spec.field = body["field"].get<std::string>();
      if (type == "terms") {
        a.spec.kind = AggregationSpec::Kind::kTerms;
        if (body.contains("size")) {
          if (!body["size"].is_number_integer() || body["size"].get<int64_t>() < 0) {
            return absl::InvalidArgumentError("[terms] size must be a non-negative integer");
          }
          a.size = body["size"].get<int64_t>();
        }
      } else if (type == "histogram") {
        a.spec.kind = AggregationSpec::Kind::kHistogram;
        if (!body.contains("interval") || !body["interval"].is_number() || body["interval"].get<double>() <= 0) {
          return absl::InvalidArgumentError("[histogram] needs a positive interval");
        }
        a.spec.interval = body["interval"].get<double>();
        a.min_doc_count = body.value("min_doc_count", 0);
      } else if (type == "date_histogram") {
        a.spec.kind = AggregationSpec::Kind::kHistogram;
        std::optional<double> ms;
        for (const char* k : {"fixed_interval", "calendar_interval", "interval"}) {
          if (!body.contains(k) || !body[k].is_string()) continue;
          const std::string v = body[k].get<std::string>();
          if (k != std::string_view("fixed_interval")) {
            // Calendar months are not a fixed number of milliseconds.
            if (v == "month" || v == "1M") a.spec.calendar_months = 1;
            if (v == "quarter" || v == "1q") a.spec.calendar_months = 3;
            if (v == "year" || v == "1y") a.spec.calendar_months = 12;
          }
          ms = IntervalMs(v);
        }
        if (!ms.has_value() && a.spec.calendar_months == 0) {
          return absl::InvalidArgumentError("[date_histogram] needs a fixed_interval (1d, 12h, 30m, 10s, 500ms) or a "
                                            "calendar_interval (second, minute, hour, day, week, month, quarter, year)");
        }
        a.spec.interval = ms.value_or(0);
        a.min_doc_count = body.value("min_doc_count", 0);
      } else if (type == "range") {
        a.spec.kind = AggregationSpec::Kind::kRange;
        if (!body.contains("ranges") || !body["ranges"].is_array()) {
          return absl::InvalidArgumentError("[range] aggregation needs ranges");
        }
        for (const json& r : body["ranges"]) {
          if (!r.is_object()) return absl::InvalidArgumentError("[range] ranges are objects");
          std::optional<double> from, to;
          if (r.contains("from") && r["from"].is_number()) from = r["from"].get<double>();
          if (r.contains("to") && r["to"].is_number()) to = r["to"].get<double>();
          a.spec.ranges.emplace_back(from, to);
          a.range_keys.push_back(r.contains("key") ? r["key"] : json(nullptr));
        }
      } else if (type == "stats" || type == "min" || type == "max" || type == "avg" || type == "sum" ||
                 type == "value_count") {
        a.spec.kind = AggregationSpec::Kind::kStats;
      } else if (type == "cardinality") {
        a.spec.kind = AggregationSpec::Kind::kCardinality;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown aggregation type [", type, "]"));
      }
    }
    if (a.type.empty()) return absl::InvalidArgumentError(absl::StrCat("aggregation [", name, "] has no type"));
    out.push_back(std::move(a));
  }
  return out;
}

json AggJson(const Agg& a, const AggregationPartial& p) {
  if (a.type == "terms") {
    std::vector<std::pair<json, int64_t>> buckets;
    for (const auto& [k, n] : p.keyword_counts) buckets.emplace_back(json(k), n);
    for (const auto& [k, n] : p.number_counts) buckets.emplace_back(NumberJson(k), n);
    std::stable_sort(buckets.begin(), buckets.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    int64_t other = 0;
    json out = json::array();
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (static_cast<int64_t>(i) < a.size) {
        out.push_back({{"key", buckets[i].first}, {"doc_count", buckets[i].second}});
      } else {
        other += buckets[i].second;
      }
    }
    return {{"doc_count_error_upper_bound", 0}, {"sum_other_doc_count", other}, {"buckets", out}};
  }
  if (a.type == "histogram" || a.type == "date_histogram") {
    json out = json::array();
    std::map<double, int64_t> counts = p.number_counts;
    if (a.min_doc_count == 0 && !counts.empty()) {
      // Empty buckets between the first and the last, as Elasticsearch returns them (bounded).
      const double first = counts.begin()->first, last = counts.rbegin()->first;
      if (a.spec.calendar_months > 0) {
        const absl::CivilMonth from = absl::CivilMonth(absl::ToCivilSecond(
            absl::FromUnixMillis(static_cast<int64_t>(first)), absl::UTCTimeZone()));
        const int64_t base = from.year() * 12 + from.month() - 1;
        for (int64_t i = 0; i < 10000; i += a.spec.calendar_months) {
          const double k = MonthStartMs(base + i);
          if (k > last) break;
          counts.emplace(k, 0);
        }
      } else if ((last - first) / a.spec.interval < 10000) {
        for (double k = first; k <= last; k += a.spec.interval) counts.emplace(k, 0);
      }
    }
    for (const auto& [k, n] : counts) {
      if (n < a.min_doc_count) continue;
      json b = {{"key", NumberJson(k)}, {"doc_count", n}};
      if (a.type == "date_histogram") b["key_as_string"] = IsoMs(k);
      out.push_back(b);
    }
    return {{"buckets", out}};
  }
  if (a.type == "range") {
    json out = json::array();
    for (size_t i = 0; i < a.spec.ranges.size(); ++i) {
      const auto& [from, to] = a.spec.ranges[i];
      auto it = p.number_counts.find(static_cast<double>(i));
      json b = {{"doc_count", it == p.number_counts.end() ? 0 : it->second}};
      const std::string lo = from ? DoubleText(*from) : "*", hi = to ? DoubleText(*to) : "*";
      b["key"] = a.range_keys[i].is_null() ? json(lo + "-" + hi) : a.range_keys[i];
      if (from) b["from"] = NumberJson(*from);
      if (to) b["to"] = NumberJson(*to);
      out.push_back(b);
    }
    return {{"buckets", out}};
  }
  if (a.type == "cardinality") return {{"value", p.distinct.size()}};
  auto opt = [](const std::optional<double>& v) { return v ? NumberJson(*v) : json(nullptr); };
  const json avg = p.count > 0 ? json(p.sum / static_cast<double>(p.count)) : json(nullptr);
  if (a.type == "min") return {{"value", opt(p.min)}};
  if (a.type == "max") return {{"value", opt(p.max)}};
  if (a.type == "avg") return {{"value", avg}};
  if (a.type == "sum") return {{"value", NumberJson(p.sum)}};
  if (a.type == "value_count") return {{"value", p.count}};
  return {{"count", p.count}, {"min", opt(p.min)}, {"max", opt(p.max)}, {"avg", avg},
          {"sum", NumberJson(p.sum)}};
}

// _source filtering: true/false, a pattern or patterns, or {includes, excludes}.
json FilterSource(const json& source, const json& spec) {
  if (spec.is_null() || (spec.is_boolean() && spec.get<bool>())) return source;
  if (spec.is_boolean()) return nullptr;
  std::vector<std::string> includes, excludes;
  auto collect = [](const json& v, std::vector<std::string>& out) {
    if (v.is_string()) out.push_back(v.get<std::string>());
    if (v.is_array()) {
      for (const json& x : v) {
        if (x.is_string()) out.push_back(x.get<std::string>());
      }
    }
  };
  if (spec.is_object()) {
    collect(spec.value("includes", json()), includes);
    collect(spec.value("excludes", json()), excludes);
  } else {
    collect(spec, includes);
  }
  const json flat = source.flatten();  // "/a/b" paths
  json kept = json::object();
  for (const auto& [pointer, value] : flat.items()) {
    std::string dotted = pointer.substr(1);
    std::replace(dotted.begin(), dotted.end(), '/', '.');
    auto matches = [&](const std::vector<std::string>& patterns) {
      for (const std::string& p : patterns) {
        if (fnmatch(p.c_str(), dotted.c_str(), 0) == 0 || dotted.starts_with(p + ".")) return true;
      }
      return false;
    };
    if ((includes.empty() || matches(includes)) && !matches(excludes)) kept[pointer] = value;
  }
  return kept.empty() ? json::object() : kept.unflatten();
}

// The words a query looks for, for highlighting.
void QueryWords(const json& q, std::set<std::string>& out) {
  if (q.is_object()) {
    for (const auto& [k, v] : q.items()) {
      if ((k == "match" || k == "match_phrase") && v.is_object()) {
        for (const auto& [field, spec] : v.items()) {
          const json text = spec.is_object() ? spec.value("query", json()) : spec;
          if (text.is_string()) {
            for (const std::string& t : Tokenize(text.get<std::string>())) out.insert(t);
          }
        }
      } else if ((k == "multi_match" || k == "query_string" || k == "simple_query_string") && v.is_object() &&
                 v.contains("query") && v["query"].is_string()) {
        for (const std::string& t : Tokenize(v["query"].get<std::string>())) {
          if (t != "and" && t != "or" && t != "not") out.insert(t);
        }
      } else {
        QueryWords(v, out);
      }
    }
  } else if (q.is_array()) {
    for (const json& x : q) QueryWords(x, out);
  }
}

std::string Highlight(const std::string& text, const std::set<std::string>& words, const std::string& pre,
                      const std::string& post, bool* any) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80 || std::isalnum(c)) {
      size_t j = i;
      std::string lower;
      while (j < text.size() && (static_cast<unsigned char>(text[j]) >= 0x80 || std::isalnum(static_cast<unsigned char>(text[j])))) {
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(text[j])));
        ++j;
      }
      if (words.contains(lower)) {
        absl::StrAppend(&out, pre, text.substr(i, j - i), post);
        *any = true;
      } else {
        out += text.substr(i, j - i);
      }
      i = j;
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

struct SearchApi::Impl {
  Impl(const Indexer& i, SearchApiOptions o) : indexer(i), options(std::move(o)), pool(static_cast<size_t>(std::max(1, options.threads))) {}

  const Indexer& indexer;
  const SearchApiOptions options;
  boost::asio::thread_pool pool;

  struct Caller {
    std::string principal = "User:ANONYMOUS";
    std::string host;
  };

  // The topics `expression` names ("a,b", "logs-*", "_all"), those `caller` may read. An unknown
  // concrete name is an error, as in Elasticsearch.
  absl::StatusOr<std::vector<std::string>> Resolve(const std::string& expression, const Caller& caller) const {
    const std::vector<std::string> all = indexer.Topics();
    std::set<std::string> out;
    const std::string expr = expression.empty() ? "_all" : expression;
    for (absl::string_view part : absl::StrSplit(expr, ',', absl::SkipEmpty())) {
      const std::string p(part);
      if (p == "_all" || p.find_first_of("*?") != std::string::npos) {
        const std::string pattern = p == "_all" ? "*" : p;
        for (const std::string& t : all) {
          if (fnmatch(pattern.c_str(), t.c_str(), 0) == 0 && MayRead(caller, t)) out.insert(t);
        }
      } else if (std::find(all.begin(), all.end(), p) != all.end() && MayRead(caller, p)) {
        out.insert(p);
      } else {
        return absl::NotFoundError(p);
      }
    }
    return std::vector<std::string>(out.begin(), out.end());
  }

  bool MayRead(const Caller& caller, const std::string& topic) const {
    return !options.may_read || options.may_read(caller.principal, caller.host, topic);
  }

  // One search over `topics`: the Elasticsearch response, or an error response.
  HttpResponse Search(const std::vector<std::string>& topics, const json& body, const std::map<std::string, std::string>& params,
                      bool count_only) const {
    const auto started = std::chrono::steady_clock::now();
    json query = body.contains("query") ? body["query"] : json(nullptr);
    if (auto it = params.find("q"); it != params.end()) {
      std::vector<std::string> fields;
      if (auto df = params.find("df"); df != params.end()) fields.push_back(df->second);
      const bool and_op = params.contains("default_operator") && (params.at("default_operator") == "AND" ||
                                                                   params.at("default_operator") == "and");
      absl::StatusOr<json> parsed = ParseQueryString(it->second, fields, and_op);
      if (!parsed.ok()) return EsError(400, "query_shard_exception", parsed.status().message());
      query = *parsed;
    }
    auto number = [&](const char* key, int64_t fallback) -> absl::StatusOr<int64_t> {
      if (auto it = params.find(key); it != params.end()) {
        int64_t v;
        if (!absl::SimpleAtoi(it->second, &v)) return absl::InvalidArgumentError(absl::StrCat("[", key, "] must be a number"));
        return v;
      }
      if (body.contains(key)) {
        if (!body[key].is_number_integer()) return absl::InvalidArgumentError(absl::StrCat("[", key, "] must be a number"));
        return body[key].get<int64_t>();
      }
      return fallback;
    };
    absl::StatusOr<int64_t> size = number("size", 10);
    absl::StatusOr<int64_t> from = number("from", 0);
    if (!size.ok()) return EsError(400, "parsing_exception", size.status().message());
    if (!from.ok()) return EsError(400, "parsing_exception", from.status().message());
    if (*size < 0 || *from < 0 || *from + *size > 10000) {
      return EsError(400, "illegal_argument_exception",
                     "Result window is too large, from + size must be less than or equal to: [10000]");
    }
    if (count_only) *size = 0;

    SortSpec sort;
    json sort_spec = body.value("sort", json());
    if (auto it = params.find("sort"); it != params.end()) {
      const size_t colon = it->second.find(':');
      sort_spec = colon == std::string::npos ? json(it->second)
                                             : json{{it->second.substr(0, colon), it->second.substr(colon + 1)}};
    }
    if (sort_spec.is_array() && !sort_spec.empty()) sort_spec = sort_spec[0];
    if (!sort_spec.is_null()) {
      std::string field;
      std::string order;
      if (sort_spec.is_string()) {
        field = sort_spec.get<std::string>();
      } else if (sort_spec.is_object() && sort_spec.size() == 1) {
        field = sort_spec.begin().key();
        const json& o = sort_spec.begin().value();
        if (o.is_string()) order = o.get<std::string>();
        if (o.is_object() && o.contains("order") && o["order"].is_string()) order = o["order"].get<std::string>();
      } else {
        return EsError(400, "parsing_exception", "malformed sort");
      }
      if (field == "_score") {
        sort.kind = SortSpec::Kind::kScore;
        sort.descending = order != "asc";
      } else {
        sort.descending = order == "desc";
        if (field == "_offset" || field == "_doc") {
          sort.kind = SortSpec::Kind::kOffset;
        } else if (field == "_timestamp" || field == "@timestamp") {
          sort.kind = SortSpec::Kind::kTimestamp;
        } else {
          sort.kind = field.ends_with(".keyword") ? SortSpec::Kind::kKeyword : SortSpec::Kind::kNumber;
          sort.field = KeywordField(field);
        }
      }
    }

    absl::StatusOr<std::vector<Agg>> aggs = ParseAggs(body.contains("aggs") ? body["aggs"] : body.value("aggregations", json()));
    if (!aggs.ok()) return EsError(400, "parsing_exception", aggs.status().message());
    std::vector<AggregationSpec> specs;
    for (const Agg& a : *aggs) {
      AggregationSpec s = a.spec;
      s.field = KeywordField(s.field);
      specs.push_back(s);
    }

    std::chrono::milliseconds timeout = options.max_timeout;
    const std::string timeout_text = params.contains("timeout") ? params.at("timeout") : body.value("timeout", "");
    if (!timeout_text.empty()) {
      std::optional<double> ms = IntervalMs(timeout_text);
      if (!ms.has_value()) return EsError(400, "parsing_exception", "timeout must be a time value (10s, 500ms)");
      timeout = std::min(timeout, std::chrono::milliseconds(static_cast<int64_t>(*ms)));
    }
    const auto deadline = started + timeout;

    std::vector<Hit> hits;
    std::vector<std::pair<std::string, size_t>> hit_topics;  // topic of each hit, by index range
    int64_t total = 0;
    int shards = 0;
    bool timed_out = false;
    std::vector<AggregationPartial> merged(specs.size());
    // A query the DSL refuses is refused once, before any partition runs it.
    if (absl::StatusOr<Sql> sql = CompileQuery(query, IndexLayout{}); !sql.ok()) {
      return EsError(400, "parsing_exception", sql.status().message());
    }
    for (const std::string& topic : topics) {
      for (const auto& [partition, index] : indexer.IndexesOf(topic)) {
        ++shards;
        absl::StatusOr<SearchResult> r = index->Search(query, sort, *from + *size, specs, deadline);
        if (!r.ok()) {
          if (absl::IsInvalidArgument(r.status())) return EsError(400, "query_shard_exception", r.status().message());
          return EsError(500, "search_phase_execution_exception", r.status().message());
        }
        total += r->total;
        timed_out = timed_out || r->timed_out;
        for (Hit& h : r->hits) {
          hits.push_back(std::move(h));
          hit_topics.emplace_back(topic, hits.size() - 1);
        }
        for (size_t i = 0; i < r->aggregations.size() && i < merged.size(); ++i) merged[i].Merge(r->aggregations[i]);
      }
    }
    // The partitions' best, merged in the requested order.
    std::vector<size_t> order(hits.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key_less = [&](size_t x, size_t y) {
      const Hit& a = hits[x];
      const Hit& b = hits[y];
      auto tie = [&] { return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset); };
      switch (sort.kind) {
        case SortSpec::Kind::kScore:
          if (a.score != b.score) return sort.descending ? a.score > b.score : a.score < b.score;
          return tie();
        case SortSpec::Kind::kOffset:
          if (a.offset != b.offset) return sort.descending ? a.offset > b.offset : a.offset < b.offset;
          return tie();
        case SortSpec::Kind::kTimestamp:
          if (a.timestamp != b.timestamp) return sort.descending ? a.timestamp > b.timestamp : a.timestamp < b.timestamp;
          return tie();
        default:
          if (a.sort_value.has_value() != b.sort_value.has_value()) return a.sort_value.has_value();
          if (a.sort_value.has_value() && *a.sort_value != *b.sort_value) {
            return sort.descending ? *a.sort_value > *b.sort_value : *a.sort_value < *b.sort_value;
          }
          return tie();
      }
    };
    std::stable_sort(order.begin(), order.end(), key_less);

    const json source_spec = params.contains("_source") ? json(params.at("_source") != "false") : body.value("_source", json());
    std::set<std::string> words;
    const json highlight = body.value("highlight", json());
    if (highlight.is_object()) QueryWords(query, words);
    json out_hits = json::array();
    double max_score = 0;
    for (size_t i = static_cast<size_t>(*from); i < order.size() && i < static_cast<size_t>(*from + *size); ++i) {
      const Hit& h = hits[order[i]];
      const std::string& topic = hit_topics[order[i]].first;
      json source = json::parse(h.source, nullptr, false);
      if (source.is_discarded()) source = json::object();
      json hit = {{"_index", topic}, {"_id", absl::StrCat(h.partition, "-", h.offset)}, {"_score", h.score},
                  {"_partition", h.partition}, {"_offset", h.offset}, {"_timestamp", h.timestamp}};
      if (h.key.has_value()) hit["_key"] = *h.key;
      if (sort.kind != SortSpec::Kind::kScore || !sort_spec.is_null()) {
        hit["_score"] = nullptr;
        if (sort.kind == SortSpec::Kind::kOffset) hit["sort"] = {h.offset};
        if (sort.kind == SortSpec::Kind::kTimestamp) hit["sort"] = {h.timestamp};
        if (sort.kind == SortSpec::Kind::kScore) hit["sort"] = {h.score};
        if (h.sort_value.has_value()) {
          hit["sort"] = std::visit([](const auto& v) { return json(v); }, *h.sort_value);
          hit["sort"] = json::array({hit["sort"]});
        }
      }
      max_score = std::max(max_score, h.score);
      if (highlight.is_object() && highlight.contains("fields") && highlight["fields"].is_object()) {
        const std::string pre = highlight.contains("pre_tags") && highlight["pre_tags"].is_array() &&
                                        !highlight["pre_tags"].empty() && highlight["pre_tags"][0].is_string()
                                    ? highlight["pre_tags"][0].get<std::string>()
                                    : "<em>";
        const std::string post = highlight.contains("post_tags") && highlight["post_tags"].is_array() &&
                                         !highlight["post_tags"].empty() && highlight["post_tags"][0].is_string()
                                     ? highlight["post_tags"][0].get<std::string>()
                                     : "</em>";
        json fragments = json::object();
        const json flat = source.flatten();
        for (const auto& [field, _] : highlight["fields"].items()) {
          std::string pointer = "/" + field;
          std::replace(pointer.begin(), pointer.end(), '.', '/');
          if (!flat.contains(pointer) || !flat[pointer].is_string()) continue;
          bool any = false;
          const std::string marked = Highlight(flat[pointer].get<std::string>(), words, pre, post, &any);
          if (any) fragments[field] = json::array({marked});
        }
        if (!fragments.empty()) hit["highlight"] = fragments;
      }
      const json filtered = FilterSource(source, source_spec);
      if (!filtered.is_null()) hit["_source"] = filtered;
      out_hits.push_back(std::move(hit));
    }

    const int64_t took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    json shards_json = {{"total", shards}, {"successful", shards}, {"skipped", 0}, {"failed", 0}};
    if (count_only) return Json(200, {{"count", total}, {"_shards", shards_json}});
    json total_json = {{"value", total}, {"relation", "eq"}};
    const json track = body.value("track_total_hits", json(true));
    if (track.is_boolean() && !track.get<bool>()) total_json = nullptr;
    if (track.is_number_integer() && total > track.get<int64_t>()) {
      total_json = {{"value", track.get<int64_t>()}, {"relation", "gte"}};
    }
    json response = {{"took", took}, {"timed_out", timed_out}, {"_shards", shards_json},
                     {"hits", {{"max_score", out_hits.empty() || sort.kind != SortSpec::Kind::kScore ? json(nullptr) : json(max_score)},
                               {"hits", out_hits}}}};
    if (!total_json.is_null()) response["hits"]["total"] = total_json;
    if (!aggs->empty()) {
      json a = json::object();
      for (size_t i = 0; i < aggs->size(); ++i) a[(*aggs)[i].name] = AggJson((*aggs)[i], merged[i]);
      response["aggregations"] = a;
    }
    return Json(200, response);
  }

  HttpResponse Serve(const HttpRequest& request, const Caller& caller) const {
    const size_t question = request.target.find('?');
    const std::string path = request.target.substr(0, question);
    const std::map<std::string, std::string> params =
        question == std::string::npos ? std::map<std::string, std::string>() : monitoring::ParseQueryParameters(std::string_view(request.target).substr(question + 1));
    std::vector<std::string> parts;
    for (absl::string_view p : absl::StrSplit(path, '/', absl::SkipEmpty())) parts.push_back(monitoring::UrlDecode(std::string_view(p.data(), p.size()), false));
    const std::string& m = request.method;
    const bool read = m == "GET" || m == "POST";

    if (parts.empty()) {
      if (m == "HEAD") return HttpResponse{200, "application/json", "", {{"X-Elastic-Product", "Elasticsearch"}}};
      if (m != "GET") return EsError(405, "method_not_allowed", "only GET and HEAD on /");
      return Json(200, {{"name", options.node_name}, {"cluster_name", options.cluster_name},
                        {"cluster_uuid", options.cluster_uuid},
                        {"version", {{"number", kVersion}, {"build_flavor", "default"}, {"build_type", "chronik"},
                                     {"lucene_version", "9.8.0"}, {"minimum_wire_compatibility_version", "7.17.0"},
                                     {"minimum_index_compatibility_version", "7.0.0"}}},
                        {"tagline", "You Know, for Search"}});
    }

    json body = json::object();
    if (!request.body.empty() && !(parts.back() == "_msearch")) {
      body = json::parse(request.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return EsError(400, "parsing_exception", "the request body is not a JSON object");
      }
    }

    // An index name may start with '_' (_all, a topic such as _schemas); the global endpoints are
    // these.
    static const std::set<std::string> kGlobal = {"_search", "_count", "_msearch", "_mapping", "_cat"};
    const bool global = kGlobal.contains(parts[0]);
    const std::string index_expr = global ? "_all" : parts[0];
    const std::vector<std::string> rest(parts.begin() + (global ? 0 : 1), parts.end());
    auto resolve = [&]() -> absl::StatusOr<std::vector<std::string>> { return Resolve(index_expr, caller); };
    auto not_found = [&](const absl::Status& st) {
      const std::string name(st.message());
      return EsError(404, "index_not_found_exception", absl::StrCat("no such index [", name, "]"),
                     {{"index", name}, {"resource.type", "index_or_alias"}, {"resource.id", name}});
    };

    if (rest.size() == 1 && (rest[0] == "_search" || rest[0] == "_count")) {
      if (!read) return EsError(405, "method_not_allowed", "GET or POST");
      absl::StatusOr<std::vector<std::string>> topics = resolve();
      if (!topics.ok()) return not_found(topics.status());
      return Search(*topics, body, params, rest[0] == "_count");
    }
    if (rest.size() == 1 && rest[0] == "_msearch") {
      if (m != "POST" && m != "GET") return EsError(405, "method_not_allowed", "GET or POST");
      json responses = json::array();
      std::vector<std::string> lines = absl::StrSplit(request.body, '\n', absl::SkipWhitespace());
      if (lines.size() % 2 != 0) return EsError(400, "illegal_argument_exception", "_msearch takes header and body lines in pairs");
      for (size_t i = 0; i < lines.size(); i += 2) {
        json header = json::parse(lines[i], nullptr, false);
        json search = json::parse(lines[i + 1], nullptr, false);
        if (header.is_discarded() || !header.is_object() || search.is_discarded() || !search.is_object()) {
          return EsError(400, "parsing_exception", "an _msearch line is not a JSON object");
        }
        std::string expr = index_expr;
        if (header.contains("index")) {
          if (header["index"].is_string()) expr = header["index"].get<std::string>();
          if (header["index"].is_array()) {
            expr.clear();
            for (const json& x : header["index"]) {
              if (x.is_string()) absl::StrAppend(&expr, expr.empty() ? "" : ",", x.get<std::string>());
            }
          }
        }
        absl::StatusOr<std::vector<std::string>> topics = Resolve(expr, caller);
        HttpResponse r = topics.ok() ? Search(*topics, search, {}, false) : not_found(topics.status());
        json item = json::parse(r.body);
        item["status"] = r.status;
        responses.push_back(std::move(item));
      }
      return Json(200, {{"took", 0}, {"responses", responses}});
    }
    if (rest.size() == 1 && rest[0] == "_mapping") {
      if (m != "GET") return EsError(405, "method_not_allowed", "GET");
      absl::StatusOr<std::vector<std::string>> topics = resolve();
      if (!topics.ok()) return not_found(topics.status());
      json out = json::object();
      for (const std::string& t : *topics) {
        std::map<std::string, std::set<std::string>> fields;
        for (const auto& [_, index] : indexer.IndexesOf(t)) {
          absl::StatusOr<std::map<std::string, std::set<std::string>>> f = index->Fields();
          if (!f.ok()) continue;
          for (const auto& [name, kinds] : *f) fields[name].insert(kinds.begin(), kinds.end());
        }
        json props = {{"_timestamp", {{"type", "date"}}}, {"_offset", {{"type", "long"}}},
                      {"_partition", {{"type", "integer"}}}};
        for (const auto& [name, kinds] : fields) {
          json p;
          if (kinds.contains("text")) {
            p = {{"type", "text"}, {"fields", {{"keyword", {{"type", "keyword"}, {"ignore_above", 256}}}}}};
          } else if (kinds.contains("keyword")) {
            p = {{"type", "keyword"}};
          } else {
            p = {{"type", name == "_timestamp" ? "date" : "double"}};
          }
          props[name] = p;
        }
        out[t] = {{"mappings", {{"properties", props}}}};
      }
      return Json(200, out);
    }
    if (rest.size() == 2 && rest[0] == "_doc" && !global) {
      if (m != "GET") return EsError(405, "method_not_allowed", "documents are records: produce them with Kafka");
      absl::StatusOr<std::vector<std::string>> topics = Resolve(index_expr, caller);
      if (!topics.ok() || topics->size() != 1 || index_expr.find_first_of("*?,") != std::string::npos) {
        return not_found(absl::NotFoundError(index_expr));
      }
      const std::string& id = rest[1];
      const size_t dash = id.find('-');
      int32_t partition;
      int64_t offset;
      json missing = {{"_index", index_expr}, {"_id", id}, {"found", false}};
      if (dash == std::string::npos || !absl::SimpleAtoi(id.substr(0, dash), &partition) ||
          !absl::SimpleAtoi(id.substr(dash + 1), &offset)) {
        return Json(404, missing);
      }
      auto indexes = indexer.IndexesOf(index_expr);
      auto it = indexes.find(partition);
      if (it == indexes.end()) return Json(404, missing);
      absl::StatusOr<std::optional<Hit>> hit = it->second->Get(offset);
      if (!hit.ok()) return EsError(500, "exception", hit.status().message());
      if (!hit->has_value()) return Json(404, missing);
      json source = json::parse((*hit)->source, nullptr, false);
      return Json(200, {{"_index", index_expr}, {"_id", id}, {"found", true}, {"_partition", partition},
                        {"_offset", offset}, {"_source", source.is_discarded() ? json::object() : source}});
    }
    if (global && rest.size() == 2 && rest[0] == "_cat" && rest[1] == "indices") {
      if (m != "GET") return EsError(405, "method_not_allowed", "GET");
      absl::StatusOr<std::vector<std::string>> topics = Resolve("_all", caller);
      json rows = json::array();
      std::string text;
      for (const std::string& t : topics.value_or(std::vector<std::string>{})) {
        int64_t docs = 0, bytes = 0;
        auto indexes = indexer.IndexesOf(t);
        for (const auto& [_, index] : indexes) {
          IndexStats s = index->Stats();
          docs += s.documents;
          bytes += s.size_bytes;
        }
        rows.push_back({{"health", "green"}, {"status", "open"}, {"index", t}, {"uuid", t},
                        {"pri", std::to_string(indexes.size())}, {"rep", "0"}, {"docs.count", std::to_string(docs)},
                        {"docs.deleted", "0"}, {"store.size", std::to_string(bytes)},
                        {"pri.store.size", std::to_string(bytes)}});
        absl::StrAppend(&text, "green open ", t, " ", t, " ", indexes.size(), " 0 ", docs, " 0 ", bytes, " ", bytes, "\n");
      }
      if (params.contains("format") && params.at("format") == "json") return Json(200, rows);
      if (params.contains("v")) text = "health status index uuid pri rep docs.count docs.deleted store.size pri.store.size\n" + text;
      return HttpResponse{200, "text/plain; charset=UTF-8", text, {{"X-Elastic-Product", "Elasticsearch"}}};
    }
    if (!global && rest.empty() && m == "HEAD") {
      return HttpResponse{Resolve(index_expr, caller).ok() ? 200 : 404, "application/json", "", {{"X-Elastic-Product", "Elasticsearch"}}};
    }
    if (!global && rest.empty() && m == "GET") {
      absl::StatusOr<std::vector<std::string>> topics = resolve();
      if (!topics.ok()) return not_found(topics.status());
      json out = json::object();
      for (const std::string& t : *topics) {
        out[t] = {{"aliases", json::object()}, {"settings", {{"index", {{"number_of_shards", std::to_string(indexer.IndexesOf(t).size())},
                                                                       {"number_of_replicas", "0"}}}}}};
      }
      return Json(200, out);
    }
    return EsError(400, "illegal_argument_exception",
                   absl::StrCat("request [", m, " ", path, "] is not served: indexes are topics, written with Kafka"));
  }
};

SearchApi::SearchApi(const Indexer& indexer, SearchApiOptions options)
    : impl_(std::make_unique<Impl>(indexer, std::move(options))) {}

SearchApi::~SearchApi() { impl_->pool.join(); }

void SearchApi::Handle(monitoring::HttpRequest request, monitoring::HttpServer::Reply reply) {
  Impl::Caller caller;
  caller.host = request.peer.substr(0, request.peer.rfind(':'));
  absl::StatusOr<std::optional<std::string>> who =
      auth::AuthenticateHttp(request.authorization, impl_->options.credentials, impl_->options.token);
  if (!who.ok() || (!who->has_value() && impl_->options.require_authentication)) {
    HttpResponse r = EsError(401, "security_exception",
                             who.ok() ? "missing authentication credentials" : std::string(who.status().message()));
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"chronik\", charset=\"UTF-8\"");
    return reply(std::move(r));
  }
  if (who->has_value()) caller.principal = "User:" + **who;
  boost::asio::post(impl_->pool, [impl = impl_.get(), request = std::move(request), caller, reply = std::move(reply)] {
    try {
      reply(impl->Serve(request, caller));
    } catch (const std::exception& e) {
      reply(EsError(500, "exception", e.what()));
    }
  });
}

}  // namespace chronik::search
