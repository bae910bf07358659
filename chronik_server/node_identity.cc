#include "chronik_server/node_identity.h"

#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "chronik_storage/file_ops.h"

namespace chronik::server {
namespace {

constexpr char kFileName[] = "meta.properties";

// 16 random bytes in URL-safe base64 without padding: the shape of Kafka's cluster ids.
std::string NewClusterId() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device rd;
  unsigned char bytes[16];
  for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

}  // namespace

absl::StatusOr<NodeIdentity> LoadOrCreateNodeIdentity(const std::string& data_dir) {
  const std::string path = absl::StrCat(data_dir, "/", kFileName);
  std::ifstream in(path);
  NodeIdentity id;
  if (in) {
    std::string line;
    while (std::getline(in, line)) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      if (kv.first == "cluster.id") id.cluster_id = std::string(absl::StripAsciiWhitespace(kv.second));
      if (kv.first == "node.id" && !absl::SimpleAtoi(kv.second, &id.node_id)) {
        return absl::DataLossError(absl::StrCat(path, ": node.id is not a number"));
      }
    }
    if (id.cluster_id.empty()) return absl::DataLossError(absl::StrCat(path, ": no cluster.id"));
    return id;
  }
  id.cluster_id = NewClusterId();
  absl::Status s = storage::ReplaceFileDurably(
      *storage::FileOps::Default(), path,
      absl::StrCat("version=1\ncluster.id=", id.cluster_id, "\nnode.id=", id.node_id, "\n"));
  if (!s.ok()) return s;
  return id;
}

}  // namespace chronik::server
