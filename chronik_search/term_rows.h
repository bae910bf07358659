#pragma once

// The SQL face of the terms half (term_index.h): the eponymous virtual table
//   term_rows(term TEXT, doc INTEGER, gen HIDDEN)
// whose rows are a snapshot's (term, doc) pairs. Queries (query.cc) read it as
//   SELECT doc FROM term_rows WHERE gen = 3 AND term >= ? AND term < ?
// and the constraints on gen and term are answered by seeking in each run, not by a scan. Rows come
// in no promised order. Beside it, text queries (text_query.h):
//   SELECT doc, score FROM text_rows WHERE gen = 3 AND query = ? AND scored = 1
// with the query as TextQuerySpec::Serialize makes it; rows ascend by doc.

#include <functional>
#include <memory>

#include "chronik_search/term_index.h"

struct sqlite3;

namespace chronik::search {

// Registers term_rows and text_rows on `db`. Each scan reads the snapshot `source` gives when it starts (a
// search gives the one it took at its start, so that all its scans and its indexed offset agree).
bool RegisterTermRows(sqlite3* db, std::function<std::shared_ptr<const TermSnapshot>()> source);

}  // namespace chronik::search
