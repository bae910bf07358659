#include "chronik_storage/object_store/sigv4.h"

#include "gtest/gtest.h"

namespace chronik::storage::objects {
namespace {

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// AWS's SigV4 test suite (aws-sig-v4-test-suite): its example key, region and service.
SigV4Key SuiteKey() { return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"}; }

SigV4Request SuiteRequest(std::string method, std::string path) {
  return {std::move(method), std::move(path), {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
          kEmptySha256};
}

TEST(SigV4Test, AwsTestSuite) {
  const SigV4Key key = SuiteKey();
  EXPECT_EQ(AuthorizationHeader(SuiteRequest("POST", "/"), key, "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");  // post-vanilla

  SigV4Request query = SuiteRequest("GET", "/");
  query.query = {{"Param1", "value1"}};
  EXPECT_EQ(Signature(query, key, "20150830T123600Z"),
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");  // get-vanilla-empty-query-key

  EXPECT_EQ(Signature(SuiteRequest("GET", "/example space/"), key, "20150830T123600Z"),
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");  // get-space

  EXPECT_EQ(CanonicalRequest(SuiteRequest("GET", "/\xe1\x88\xb4")),  // get-utf8
            "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                std::string(kEmptySha256));
}

// Amazon S3's documented example: GET Object with a Range header.
TEST(SigV4Test, S3GetObjectExample) {
  const SigV4Key key{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
  const SigV4Request request{"GET",
                             "/test.txt",
                             {},
                             {{"Host", "examplebucket.s3.amazonaws.com"},
                              {"Range", "bytes=0-9"},
                              {"x-amz-content-sha256", kEmptySha256},
                              {"x-amz-date", "20130524T000000Z"}},
                             kEmptySha256};
  EXPECT_EQ(Signature(request, key, "20130524T000000Z"),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, CanonicalFormsOfHeadersAndQueries) {
  SigV4Request r{"GET", "/a b/c", {{"b", "2"}, {"a", "x y"}, {"a", "1"}}, {{"X-Multi", "  one   two "}, {"x-multi", "three"}}, "-"};
  EXPECT_EQ(CanonicalRequest(r), "GET\n/a%20b/c\na=1&a=x%20y&b=2\nx-multi:one two,three\n\nx-multi\n-");
  EXPECT_EQ(UriEncode("a/b~c d+e", false), "a%2Fb~c%20d%2Be");
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
}

}  // namespace
}  // namespace chronik::storage::objects
