#include "chronik_search/query.h"

#include <cctype>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chronik_search/document.h"
#include "chronik_search/terms.h"
#include "chronik_search/text_query.h"
#include "chronik_search/tokenizer.h"

namespace chronik::search {

namespace {

using json = nlohmann::json;

using Context = IndexLayout;

absl::StatusOr<Sql> Compile(const json& query, const Context& ctx);

constexpr char kMatchAll[] = "SELECT off AS doc, 1.0 AS score FROM docs";
constexpr char kMatchNone[] = "SELECT off AS doc, 0.0 AS score FROM docs WHERE 0";

absl::Status Bad(std::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

bool AllFields(std::string_view field) { return field.empty() || field == "_all" || field == "*"; }


// The single {field: spec} of a leaf query.
absl::StatusOr<std::pair<std::string, json>> FieldAndSpec(const json& body, std::string_view kind) {
  if (!body.is_object() || body.size() != 1) {
    return Bad(absl::StrCat("[", std::string(kind), "] query takes one field"));
  }
  return std::make_pair(body.begin().key(), body.begin().value());
}

// A spec's value: the spec itself, or its `key` member ("query", "value").
std::optional<json> SpecValue(const json& spec, const char* key) {
  if (spec.is_object()) {
    auto it = spec.find(key);
    if (it == spec.end()) return std::nullopt;
    return *it;
  }
  return spec;
}

std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}


Sql Append(Sql a, std::string_view glue, const Sql& b) {
  a.text = absl::StrCat(a.text, std::string(glue), b.text);
  a.params.insert(a.params.end(), b.params.begin(), b.params.end());
  return a;
}

Sql Wrap(std::string_view before, const Sql& inner, std::string_view after) {
  Sql q;
  q.text = absl::StrCat(std::string(before), inner.text, std::string(after));
  q.params = inner.params;
  return q;
}

// The documents matching `spec` in `field` (every text field for _all), each generation's from its
// runs (text_query.h).
Sql TextQuery(const std::string& field, TextQuerySpec spec, const Context& ctx) {
  if (AllFields(field)) {
    for (const auto& [name, column] : ctx.columns) spec.fields.push_back(name);
  } else if (ctx.columns.contains(field)) {
    spec.fields.push_back(field);
  }
  if (spec.fields.empty()) return Sql{kMatchNone, {}};
  const std::string serialized = spec.Serialize();
  // LIMIT -1 keeps each subquery whole: joined into a bool, it is matched once, not once per row
  // of the other side.
  Sql q;
  for (int64_t g : ctx.generations) {
    absl::StrAppend(&q.text, q.text.empty() ? "" : " UNION ALL ",
                    "SELECT * FROM (SELECT doc, score FROM text_rows WHERE gen = ", g, " AND query = ? AND scored = ",
                    ctx.scored ? 1 : 0, " LIMIT -1)");
    q.params.emplace_back(std::in_place_index<2>, serialized);
  }
  if (q.text.empty()) return Sql{kMatchNone, {}};
  return q;
}

// A range of terms: the lower bound (">=" or ">") and upper bound ("<" or "<=") that are tightest.
struct TermRange {
  std::string lower, upper;
  bool lower_inclusive = true, upper_inclusive = false;
  void Above(std::string t, bool inclusive) {
    if (t > lower || (t == lower && !inclusive)) {
      lower = std::move(t);
      lower_inclusive = inclusive;
    }
  }
  void Below(std::string t, bool inclusive) {
    if (t < upper || (t == upper && !inclusive)) {
      upper = std::move(t);
      upper_inclusive = inclusive;
    }
  }
};

// `select` over the terms in `range`, every generation's (term_rows.h seeks to one bound each way,
// so only the tightest is given), with `where` added.
Sql TermRows(const Context& ctx, const std::string& select, const TermRange& range, const std::string& where = "",
             const std::vector<SqlValue>& where_params = {}) {
  Sql q;
  for (int64_t g : ctx.generations) {
    absl::StrAppend(&q.text, q.text.empty() ? "" : " UNION ALL ", "SELECT ", select, " FROM term_rows WHERE gen = ", g,
                    " AND term ", range.lower_inclusive ? ">=" : ">", " ? AND term ", range.upper_inclusive ? "<=" : "<",
                    " ?", where);
    q.params.emplace_back(std::in_place_index<2>, range.lower);
    q.params.emplace_back(std::in_place_index<2>, range.upper);
    q.params.insert(q.params.end(), where_params.begin(), where_params.end());
  }
  if (q.text.empty()) return Sql{absl::StrCat("SELECT ", select, " FROM (SELECT NULL AS doc, NULL AS term) WHERE 0"), {}};
  return q;
}

TermRange WholeField(terms::Kind kind, const std::string& field) {
  return TermRange{terms::FieldStart(kind, field), terms::FieldEnd(kind, field)};
}

TermRange OneTerm(const std::string& term) { return TermRange{term, term, true, true}; }

// The documents themselves answer for these: no terms of their own.
std::optional<std::string> DocumentColumn(const std::string& field, const Context& ctx) {
  if (field == "_timestamp") return "ts";
  if (field == "_offset") return "off";
  if (field == "_partition") return absl::StrCat(ctx.partition);
  return std::nullopt;
}

Sql DocsOf(const Sql& rows) { return Wrap("SELECT DISTINCT doc, 1.0 AS score FROM (", rows, ")"); }

// Documents whose number in `field` satisfies every (op, bound).
Sql NumberDocs(const Context& ctx, const std::string& field, const std::vector<std::pair<std::string, double>>& conds) {
  if (std::optional<std::string> column = DocumentColumn(field, ctx)) {
    Sql q{absl::StrCat("SELECT off AS doc, 1.0 AS score FROM docs WHERE 1"), {}};
    for (const auto& [op, v] : conds) {
      absl::StrAppend(&q.text, " AND ", *column, " ", op, " ?");
      q.params.emplace_back(std::in_place_index<1>, v);
    }
    return q;
  }
  TermRange range = WholeField(terms::Kind::kNumber, field);
  for (const auto& [op, v] : conds) {
    const std::string t = terms::Number(field, v);
    if (op == "=") {
      range.Above(t, true);
      range.Below(t, true);
    } else if (op[0] == '>') {
      range.Above(t, op == ">=");
    } else {
      range.Below(t, op == "<=");
    }
  }
  return DocsOf(TermRows(ctx, "doc", range));
}

// Documents with one of `values` as a keyword of `field`.
Sql KeywordDocs(const Context& ctx, const std::string& field, const std::vector<std::string>& values) {
  Sql u;
  for (const std::string& v : values) {
    const Sql arm = TermRows(ctx, "doc", OneTerm(terms::Keyword(field, v)));
    u = u.text.empty() ? arm : Append(u, " UNION ALL ", arm);
  }
  return DocsOf(u);
}

absl::StatusOr<Sql> Term(const json& body, const Context& ctx);

// match, match_phrase and match_phrase_prefix (the last word a prefix).
absl::StatusOr<Sql> Match(const json& body, bool phrase, const Context& ctx, bool prefix = false) {
  absl::StatusOr<std::pair<std::string, json>> fs = FieldAndSpec(body, phrase ? "match_phrase" : "match");
  if (!fs.ok()) return fs.status();
  std::optional<json> text = SpecValue(fs->second, "query");
  if (!text.has_value() || text->is_object() || text->is_array() || text->is_null()) {
    return Bad("[match] needs a query text");
  }
  // A keyword matches as a whole.
  if (fs->first.ends_with(".keyword")) return Term(json{{fs->first, *text}}, ctx);
  const std::vector<std::string> tokens = Tokenize(ScalarText(*text));
  if (tokens.empty()) return Sql{kMatchNone, {}};
  if (phrase) {
    TextQuerySpec spec;
    spec.phrases = {tokens};
    spec.last_prefix = prefix;
    return TextQuery(fs->first, std::move(spec), ctx);
  }
  bool all = false;
  if (fs->second.is_object() && fs->second.contains("operator")) {
    const json& op = fs->second["operator"];
    if (!op.is_string()) return Bad("[match] operator must be and or or");
    std::string o = op.get<std::string>();
    for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (o != "and" && o != "or") return Bad("[match] operator must be and or or");
    all = o == "and";
  }
  TextQuerySpec spec;
  for (const std::string& t : tokens) spec.phrases.push_back({t});
  spec.all = all;
  Sql text_query = TextQuery(fs->first, std::move(spec), ctx);
  // A number or boolean also matches a numeric field with that value, as on a numeric mapping.
  double number;
  const std::string scalar = ScalarText(*text);
  std::optional<double> numeric;
  if (text->is_number()) {
    numeric = text->get<double>();
  } else if (text->is_boolean() || scalar == "true" || scalar == "false") {
    numeric = (scalar == "true") ? 1.0 : 0.0;
  } else if (absl::SimpleAtod(scalar, &number)) {
    numeric = number;
  }
  if (!numeric.has_value() || AllFields(fs->first)) return text_query;
  Sql num = NumberDocs(ctx, fs->first, {{"=", *numeric}});
  return Wrap("SELECT doc, MAX(score) AS score FROM (",
              Append(Wrap("SELECT doc, score FROM (", text_query, ")"), " UNION ALL ", num), ") GROUP BY doc");
}

// term, terms, range, prefix, wildcard and exists read the keyword and number tables.
absl::StatusOr<Sql> Term(const json& body, const Context& ctx) {
  absl::StatusOr<std::pair<std::string, json>> fs = FieldAndSpec(body, "term");
  if (!fs.ok()) return fs.status();
  std::optional<json> v = SpecValue(fs->second, "value");
  if (!v.has_value() || v->is_object() || v->is_array() || v->is_null()) return Bad("[term] needs a value");
  if (fs->first == "_id") {
    json ids = {{"values", json::array({*v})}};
    return Compile(json{{"ids", ids}}, ctx);
  }
  if (v->is_number() || v->is_boolean()) {
    return NumberDocs(ctx, KeywordField(fs->first),
                      {{"=", v->is_boolean() ? (v->get<bool>() ? 1.0 : 0.0) : v->get<double>()}});
  }
  return KeywordDocs(ctx, KeywordField(fs->first), {v->get<std::string>()});
}

absl::StatusOr<Sql> Ids(const json& body, const Context& ctx);

absl::StatusOr<Sql> Terms(const json& body, const Context& ctx) {
  if (!body.is_object()) return Bad("[terms] query malformed");
  std::string field;
  const json* values = nullptr;
  for (const auto& [k, v] : body.items()) {
    if (k == "boost") continue;
    if (values != nullptr) return Bad("[terms] query takes one field");
    field = k;
    values = &v;
  }
  if (values == nullptr || !values->is_array()) return Bad("[terms] needs an array of values");
  if (values->empty()) return Sql{kMatchNone, {}};
  if (field == "_id") return Ids(json{{"values", *values}}, ctx);
  field = KeywordField(field);
  std::vector<std::string> keywords;
  std::vector<Sql> numbers;
  for (const json& v : *values) {
    if (v.is_number() || v.is_boolean()) {
      numbers.push_back(NumberDocs(ctx, field, {{"=", v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>()}}));
    } else if (v.is_string()) {
      keywords.push_back(v.get<std::string>());
    } else {
      return Bad("[terms] values must be strings or numbers");
    }
  }
  Sql u;
  if (!keywords.empty()) u = Wrap("SELECT doc FROM (", KeywordDocs(ctx, field, keywords), ")");
  for (const Sql& n : numbers) {
    const Sql arm = Wrap("SELECT doc FROM (", n, ")");
    u = u.text.empty() ? arm : Append(u, " UNION ALL ", arm);
  }
  return DocsOf(u);
}

// A range bound: a number, or a date (epoch ms as a number, or ISO-8601 text).
std::optional<SqlValue> Bound(const json& v, bool* is_text) {
  if (v.is_number()) return SqlValue(v.get<double>());
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (std::optional<int64_t> ms = ParseDateMs(s)) return SqlValue(static_cast<double>(*ms));
    double d;
    if (absl::SimpleAtod(s, &d)) return SqlValue(d);
    *is_text = true;
    return SqlValue(s);
  }
  return std::nullopt;
}

absl::StatusOr<Sql> Range(const json& body, const Context& ctx) {
  absl::StatusOr<std::pair<std::string, json>> fs = FieldAndSpec(body, "range");
  if (!fs.ok()) return fs.status();
  if (!fs->second.is_object()) return Bad("[range] needs bounds");
  std::vector<std::pair<std::string, SqlValue>> conds;
  bool text = false;
  for (const auto& [k, v] : fs->second.items()) {
    const char* op = k == "gte" || k == "from" ? ">=" : k == "gt" ? ">" : k == "lte" || k == "to" ? "<=" : k == "lt" ? "<" : nullptr;
    if (op == nullptr) {
      if (k == "format" || k == "boost" || k == "time_zone" || k == "include_lower" || k == "include_upper") continue;
      return Bad(absl::StrCat("[range] query does not support [", k, "]"));
    }
    if (v.is_null()) continue;
    std::optional<SqlValue> b = Bound(v, &text);
    if (!b.has_value()) return Bad(absl::StrCat("[range] bound [", k, "] must be a number or a date"));
    conds.emplace_back(op, *b);
  }
  const std::string field = KeywordField(fs->first);
  if (!text) {
    std::vector<std::pair<std::string, double>> numeric;
    for (const auto& [op, b] : conds) numeric.emplace_back(op, std::get<double>(b));
    return NumberDocs(ctx, field, numeric);
  }
  // A text bound makes it a range of keywords, every bound read as text.
  TermRange range = WholeField(terms::Kind::kKeyword, field);
  for (const auto& [op, b] : conds) {
    const std::string bound = std::holds_alternative<std::string>(b) ? std::get<std::string>(b) : absl::StrCat(std::get<double>(b));
    const std::string t = terms::Keyword(field, bound);
    if (op[0] == '>') {
      range.Above(t, op == ">=");
    } else {
      range.Below(t, op == "<=");
    }
  }
  return DocsOf(TermRows(ctx, "doc", range));
}

absl::StatusOr<Sql> Prefix(const json& body, const Context& ctx) {
  absl::StatusOr<std::pair<std::string, json>> fs = FieldAndSpec(body, "prefix");
  if (!fs.ok()) return fs.status();
  std::optional<json> v = SpecValue(fs->second, "value");
  if (!v.has_value() || !v->is_string()) return Bad("[prefix] needs a string value");
  const std::string field = KeywordField(fs->first);
  const std::string p = v->get<std::string>();
  return DocsOf(TermRows(ctx, "doc", TermRange{terms::Keyword(field, p), terms::PrefixEnd(field, p)}));
}

absl::StatusOr<Sql> Wildcard(const json& body, const Context& ctx) {
  absl::StatusOr<std::pair<std::string, json>> fs = FieldAndSpec(body, "wildcard");
  if (!fs.ok()) return fs.status();
  std::optional<json> v = SpecValue(fs->second, "value");
  if (!v.has_value() && fs->second.is_object()) v = SpecValue(fs->second, "wildcard");
  if (!v.has_value() || !v->is_string()) return Bad("[wildcard] needs a string value");
  // ES's * and ? are GLOB's; GLOB's own [ ] are escaped as one-character classes.
  const std::string pattern = v->get<std::string>();
  std::string glob;
  for (char c : pattern) {
    if (c == '[') {
      glob += "[[]";
    } else if (c == ']') {
      glob += "[]]";
    } else {
      glob += c;
    }
  }
  // The literal text before the first wildcard narrows the terms read.
  const std::string field = KeywordField(fs->first);
  const std::string literal = pattern.substr(0, pattern.find_first_of("*?"));
  return DocsOf(TermRows(ctx, "doc", TermRange{terms::Keyword(field, literal), terms::PrefixEnd(field, literal)},
                         " AND kw_value(term) GLOB ?", {glob}));
}

absl::StatusOr<Sql> Exists(const json& body, const Context& ctx) {
  if (!body.is_object() || !body.contains("field") || !body["field"].is_string()) return Bad("[exists] needs a field");
  const std::string f = KeywordField(body["field"].get<std::string>());
  if (DocumentColumn(f, ctx).has_value()) return Sql{kMatchAll, {}};
  // Strings too long for a keyword are only text; a presence term says where they are.
  Sql u = TermRows(ctx, "doc", WholeField(terms::Kind::kKeyword, f));
  u = Append(u, " UNION ALL ", TermRows(ctx, "doc", WholeField(terms::Kind::kNumber, f)));
  u = Append(u, " UNION ALL ", TermRows(ctx, "doc", OneTerm(terms::Presence(f))));
  return DocsOf(u);
}

absl::StatusOr<Sql> Ids(const json& body, const Context& ctx) {
  if (!body.is_object() || !body.contains("values") || !body["values"].is_array()) return Bad("[ids] needs values");
  Sql q{"SELECT off AS doc, 1.0 AS score FROM docs WHERE off IN (", {}};
  bool any = false;
  for (const json& v : body["values"]) {
    if (!v.is_string()) return Bad("[ids] values are strings");
    const std::string id = v.get<std::string>();
    const size_t dash = id.find('-');
    int32_t p;
    int64_t o;
    if (dash == std::string::npos || !absl::SimpleAtoi(id.substr(0, dash), &p) ||
        !absl::SimpleAtoi(id.substr(dash + 1), &o) || p != ctx.partition) {
      continue;
    }
    q.text += any ? ", ?" : "?";
    q.params.emplace_back(std::in_place_index<0>, o);
    any = true;
  }
  if (!any) return Sql{kMatchNone, {}};
  q.text += ")";
  return q;
}

absl::StatusOr<std::vector<Sql>> Clauses(const json& body, const char* key, const Context& ctx) {
  std::vector<Sql> out;
  auto it = body.find(key);
  if (it == body.end()) return out;
  if (it->is_object()) {
    absl::StatusOr<Sql> q = Compile(*it, ctx);
    if (!q.ok()) return q.status();
    out.push_back(*std::move(q));
  } else if (it->is_array()) {
    for (const json& c : *it) {
      absl::StatusOr<Sql> q = Compile(c, ctx);
      if (!q.ok()) return q.status();
      out.push_back(*std::move(q));
    }
  } else {
    return Bad(absl::StrCat("[bool] ", key, " must be a query or an array of queries"));
  }
  return out;
}

absl::StatusOr<Sql> Bool(const json& body, const Context& ctx) {
  if (!body.is_object()) return Bad("[bool] query malformed");
  for (const auto& [k, _] : body.items()) {
    if (k != "must" && k != "filter" && k != "should" && k != "must_not" && k != "minimum_should_match" && k != "boost") {
      return Bad(absl::StrCat("[bool] query does not support [", k, "]"));
    }
  }
  absl::StatusOr<std::vector<Sql>> must = Clauses(body, "must", ctx);
  absl::StatusOr<std::vector<Sql>> filter = Clauses(body, "filter", ctx);
  absl::StatusOr<std::vector<Sql>> should = Clauses(body, "should", ctx);
  absl::StatusOr<std::vector<Sql>> must_not = Clauses(body, "must_not", ctx);
  for (const auto* s : {&must, &filter, &should, &must_not}) {
    if (!s->ok()) return s->status();
  }
  for (Sql& f : *filter) f = Wrap("SELECT doc, 0.0 AS score FROM (", f, ")");
  std::vector<Sql> required = *must;
  required.insert(required.end(), filter->begin(), filter->end());
  int64_t msm = required.empty() ? 1 : 0;
  if (auto it = body.find("minimum_should_match"); it != body.end()) {
    if (it->is_number_integer()) {
      msm = it->get<int64_t>();
    } else if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &msm)) {
    } else {
      return Bad("[bool] minimum_should_match must be a number");
    }
  }
  std::optional<Sql> base;
  for (size_t i = 0; i < required.size(); ++i) {
    if (!base.has_value()) {
      base = required[i];
      continue;
    }
    base = Wrap("SELECT a.doc AS doc, a.score + b.score AS score FROM (",
                Append(*base, ") a JOIN (", required[i]), ") b ON a.doc = b.doc");
  }
  if (!should->empty()) {
    // Each arm as a subquery: a compound SELECT takes no LIMIT in its arms.
    auto arm = [](const Sql& q) { return Wrap("SELECT doc, score FROM (", q, ")"); };
    Sql u = arm((*should)[0]);
    for (size_t i = 1; i < should->size(); ++i) u = Append(u, " UNION ALL ", arm((*should)[i]));
    u = Wrap("SELECT doc, SUM(score) AS score, COUNT(*) AS n FROM (", u, ") GROUP BY doc");
    if (msm > 0) {
      u = Wrap("SELECT doc, score FROM (", u, absl::StrCat(") WHERE n >= ", msm));
      base = base.has_value() ? Wrap("SELECT a.doc AS doc, a.score + b.score AS score FROM (",
                                     Append(*base, ") a JOIN (", u), ") b ON a.doc = b.doc")
                              : u;
    } else if (base.has_value()) {
      base = Wrap("SELECT a.doc AS doc, a.score + COALESCE(b.score, 0) AS score FROM (",
                  Append(*base, ") a LEFT JOIN (", u), ") b ON a.doc = b.doc");
    }
  }
  if (!base.has_value()) base = Sql{kMatchAll, {}};
  if (!must_not->empty()) {
    Sql n = (*must_not)[0];
    n = Wrap("SELECT doc FROM (", n, ")");
    for (size_t i = 1; i < must_not->size(); ++i) n = Append(n, " UNION SELECT doc FROM (", Wrap("", (*must_not)[i], ")"));
    base = Wrap("SELECT doc, score FROM (", Append(*base, ") WHERE doc NOT IN (", n), ")");
  }
  return *base;
}

absl::StatusOr<Sql> MultiMatch(const json& body, const Context& ctx) {
  if (!body.is_object() || !body.contains("query")) return Bad("[multi_match] needs a query");
  std::vector<std::string> fields;
  if (auto it = body.find("fields"); it != body.end()) {
    if (!it->is_array()) return Bad("[multi_match] fields must be an array");
    for (const json& f : *it) {
      if (!f.is_string()) return Bad("[multi_match] fields must be strings");
      std::string name = f.get<std::string>();
      name = name.substr(0, name.find('^'));  // boosts are accepted, not applied
      fields.push_back(name);
    }
  }
  if (fields.empty()) fields.push_back("_all");
  const bool phrase = body.value("type", "") == "phrase";
  json spec = {{"query", body["query"]}};
  if (body.contains("operator")) spec["operator"] = body["operator"];
  std::optional<Sql> u;
  for (const std::string& f : fields) {
    absl::StatusOr<Sql> m = Match(json{{f, spec}}, phrase, ctx);
    if (!m.ok()) return m.status();
    const Sql arm = Wrap("SELECT doc, score FROM (", *m, ")");
    u = u.has_value() ? Append(*u, " UNION ALL ", arm) : arm;
  }
  return Wrap("SELECT doc, MAX(score) AS score FROM (", *u, ") GROUP BY doc");
}

absl::StatusOr<Sql> QueryString(const json& body, const Context& ctx) {
  if (!body.is_object() || !body.contains("query") || !body["query"].is_string()) {
    return Bad("[query_string] needs a query string");
  }
  std::vector<std::string> fields;
  if (auto it = body.find("fields"); it != body.end() && it->is_array()) {
    for (const json& f : *it) {
      if (f.is_string()) fields.push_back(f.get<std::string>().substr(0, f.get<std::string>().find('^')));
    }
  } else if (auto df = body.find("default_field"); df != body.end() && df->is_string()) {
    fields.push_back(df->get<std::string>());
  }
  std::string op = body.value("default_operator", "OR");
  for (char& c : op) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  absl::StatusOr<json> dsl = ParseQueryString(body["query"].get<std::string>(), fields, op == "AND");
  if (!dsl.ok()) return dsl.status();
  return Compile(*dsl, ctx);
}

}  // namespace

std::string KeywordField(const std::string& field) {
  return field.ends_with(".keyword") ? field.substr(0, field.size() - 8) : field;
}

namespace {

absl::StatusOr<Sql> Compile(const json& query, const Context& ctx) {
  if (query.is_null()) return Sql{kMatchAll, {}};
  if (!query.is_object() || query.size() != 1) return Bad("a query is an object with one query type");
  const std::string& kind = query.begin().key();
  const json& body = query.begin().value();
  if (kind == "match_all") return Sql{kMatchAll, {}};
  if (kind == "match_none") return Sql{kMatchNone, {}};
  if (kind == "match") return Match(body, false, ctx);
  if (kind == "match_phrase") return Match(body, true, ctx);
  if (kind == "match_phrase_prefix") return Match(body, true, ctx, /*prefix=*/true);
  if (kind == "multi_match") return MultiMatch(body, ctx);
  if (kind == "term") return Term(body, ctx);
  if (kind == "terms") return Terms(body, ctx);
  if (kind == "range") return Range(body, ctx);
  if (kind == "prefix") return Prefix(body, ctx);
  if (kind == "wildcard") return Wildcard(body, ctx);
  if (kind == "exists") return Exists(body, ctx);
  if (kind == "ids") return Ids(body, ctx);
  if (kind == "bool") return Bool(body, ctx);
  if (kind == "query_string" || kind == "simple_query_string") return QueryString(body, ctx);
  if (kind == "constant_score") {
    if (!body.is_object() || !body.contains("filter")) return Bad("[constant_score] needs a filter");
    absl::StatusOr<Sql> f = Compile(body["filter"], ctx);
    if (!f.ok()) return f.status();
    return Wrap("SELECT doc, 1.0 AS score FROM (", *f, ")");
  }
  return Bad(absl::StrCat("unknown query [", kind, "]"));
}

}  // namespace

absl::StatusOr<Sql> CompileQuery(const json& query, const IndexLayout& layout) { return Compile(query, layout); }

Sql NumberValues(const IndexLayout& layout, const std::string& field) {
  if (std::optional<std::string> column = DocumentColumn(field, layout)) {
    return Sql{absl::StrCat("SELECT off AS doc, ", *column, " AS v FROM docs"), {}};
  }
  return TermRows(layout, "doc, num_value(term) AS v", WholeField(terms::Kind::kNumber, field));
}

Sql KeywordValues(const IndexLayout& layout, const std::string& field) {
  return TermRows(layout, "doc, kw_value(term) AS v", WholeField(terms::Kind::kKeyword, field));
}

Sql KeywordTerms(const IndexLayout& layout, const std::string& field) {
  return TermRows(layout, "doc, term", WholeField(terms::Kind::kKeyword, field));
}

}  // namespace chronik::search
