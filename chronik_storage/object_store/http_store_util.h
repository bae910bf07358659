#pragma once

// What the S3 and Azure stores share: retries with exponential backoff and full jitter, the
// mapping of an error response to a Status, and reading the few XML elements their answers carry.

#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chronik_storage/object_store/http_client.h"
#include "chronik_storage/object_store/object_store.h"

namespace chronik::storage::objects {

struct RetryPolicy {
  int max_attempts = 6;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
};

// A response worth another attempt: a server error (500, 502, 503, 504), throttling (429, S3's
// 503 SlowDown) or a request timeout (408).
bool IsRetryableStatus(int http_status);

// Sends the request `make_request` builds (anew for each attempt, so that its signature carries the
// time it is sent) until a response that is not worth retrying, or until the attempts run out;
// between attempts it sleeps a random time up to initial_backoff * 2^attempt (at most max_backoff).
// The last transport error, or the last response, is returned.
absl::StatusOr<HttpResponse> SendWithRetries(HttpClient& client, const RetryPolicy& policy,
                                             absl::FunctionRef<HttpRequest()> make_request);

// SendWithRetries, with a failure (no response, or an error response after the retries) as a
// Status whose message starts with `what`.
absl::StatusOr<HttpResponse> SendChecked(HttpClient& client, const RetryPolicy& policy,
                                         absl::FunctionRef<HttpRequest()> make_request, std::string_view what);

// An error response as a Status (404 NotFound, 401/403 PermissionDenied, 416 OutOfRange, 409
// FailedPrecondition, retryable ones Unavailable, others Internal), with the service's error code
// and message when its body has them.
absl::Status StatusFromResponse(const HttpResponse& response, std::string_view what);

// The bytes a (successful) GET of `range` asked for. A server that ignored the range (200) is
// answered from the whole body; an empty answer to a range, which always asks for a byte at least,
// means the range starts at or past the end (OutOfRange), as S3 and Azure say with 416 and as
// Azurite does not.
absl::StatusOr<std::string> RangedBody(HttpResponse response, std::optional<ByteRange> range, std::string_view what);

// The contents of each <tag>...</tag> element in `xml`, in order, not unescaped. Elements written
// empty as <tag/> are skipped.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
// The unescaped text of the first <tag> element; "" when there is none.
std::string XmlText(std::string_view xml, std::string_view tag);
std::string XmlUnescape(std::string_view text);
std::string XmlEscape(std::string_view text);

// "Thu, 01 Jan 1970 00:00:00 GMT" and "19700101T000000Z".
std::string HttpDate(absl::Time t);
std::string AmzDate(absl::Time t);

}  // namespace chronik::storage::objects
