// Every API, every version, request and response: a message filled with values valid for the
// version is encoded, decoded and re-encoded, and both the value and the bytes must survive.
// Every strict prefix of an encoding must fail to decode (no out-of-bounds read, no guessing).

#include <atomic>
#include <cstdio>
#include <string>

#include "chronik_protocol/apis.h"
#include "chronik_protocol/header.h"
#include "chronik_protocol/messages/all_messages.h"
#include "chronik_protocol/messages/fill.h"
#include "gtest/gtest.h"

namespace chronik::protocol {
namespace {

std::atomic<int> g_cases{0};

constexpr Filler::Mode kModes[] = {Filler::Mode::kRandom, Filler::Mode::kNulls, Filler::Mode::kEmpty,
                                   Filler::Mode::kExtreme};
constexpr int kRandomSeeds = 12;

template <typename Message>
void RoundTripOne(const Message& original, int16_t version, bool check_prefixes) {
  std::string bytes;
  Writer w(&bytes);
  original.Encode(w, version);

  Message decoded;
  Reader r(bytes);
  ASSERT_TRUE(decoded.Decode(r, version).ok()) << r.status();
  EXPECT_EQ(r.remaining(), 0u) << "decoder left bytes unread";
  EXPECT_TRUE(decoded == original) << "value changed in a round trip";

  std::string again;
  Writer w2(&again);
  decoded.Encode(w2, version);
  EXPECT_EQ(again, bytes) << "re-encoding is not byte-equal";
  ++g_cases;

  if (check_prefixes) {
    // Long encodings are sampled at a stride: the point is that truncation anywhere fails.
    const size_t stride = bytes.size() > 512 ? bytes.size() / 256 : 1;
    for (size_t n = 0; n < bytes.size(); n += stride) {
      Message m;
      Reader pr(std::string_view(bytes).substr(0, n));
      EXPECT_FALSE(m.Decode(pr, version).ok()) << "a " << n << "-byte prefix of " << bytes.size()
                                               << " bytes decoded";
    }
  }
}

template <typename Message>
void RoundTripAllVersions() {
  for (int16_t v = Message::kMinVersion; v <= Message::kMaxVersion; ++v) {
    SCOPED_TRACE(std::string(Message::kApiName) + " v" + std::to_string(v));
    RoundTripOne(Message{}, v, /*check_prefixes=*/false);
    for (Filler::Mode mode : kModes) {
      const int seeds = mode == Filler::Mode::kRandom ? kRandomSeeds : 1;
      for (int seed = 0; seed < seeds; ++seed) {
        Filler filler(mode, 1000 * v + seed);
        Message m;
        Fill(m, filler, v);
        RoundTripOne(m, v, /*check_prefixes=*/seed == 0);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

#define CHRONIK_ROUND_TRIP_TEST(Name, Request, Response)              \
  TEST(RoundTrip, Name##Request) { RoundTripAllVersions<Request>(); } \
  TEST(RoundTrip, Name##Response) { RoundTripAllVersions<Response>(); }
CHRONIK_FOR_EACH_API(CHRONIK_ROUND_TRIP_TEST)
#undef CHRONIK_ROUND_TRIP_TEST

TEST(RoundTrip, RequestHeaders) {
  for (int16_t hv = 0; hv <= 2; ++hv) {
    RequestHeader h;
    h.api_key = 3;
    h.api_version = 12;
    h.correlation_id = -7;
    if (hv >= 1) h.client_id = hv == 1 ? std::optional<std::string>() : std::optional<std::string>("rdkafka");
    if (hv >= 2) h.unknown_tagged_fields.push_back(TaggedField{5, "xyz"});
    std::string bytes;
    Writer w(&bytes);
    h.Encode(w, hv);
    RequestHeader d;
    Reader r(bytes);
    ASSERT_TRUE(d.Decode(r, hv).ok());
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_TRUE(d == h);
    ++g_cases;
  }
  for (int16_t hv = 0; hv <= 1; ++hv) {
    ResponseHeader h;
    h.correlation_id = 42;
    if (hv == 1) h.unknown_tagged_fields.push_back(TaggedField{0, "a"});
    std::string bytes;
    Writer w(&bytes);
    h.Encode(w, hv);
    ResponseHeader d;
    Reader r(bytes);
    ASSERT_TRUE(d.Decode(r, hv).ok());
    EXPECT_TRUE(d == h);
    ++g_cases;
  }
}

TEST(RoundTrip, EveryApiHasARange) {
  int versions = 0;
  for (const ApiDescriptor& api : AllApis()) {
    EXPECT_EQ(api.min_version, 0) << api.name;
    EXPECT_GE(api.max_version, api.min_version) << api.name;
    versions += api.max_version - api.min_version + 1;
  }
  std::printf("codec: %zu APIs, %d API versions\n", AllApis().size(), versions);
}

class CaseCounter : public ::testing::Environment {
 public:
  void TearDown() override { std::printf("round-trip cases passed or checked: %d\n", g_cases.load()); }
};
const auto* const kCounter = ::testing::AddGlobalTestEnvironment(new CaseCounter);

}  // namespace
}  // namespace chronik::protocol
