#pragma once

// Small strong types used across chronik_storage's public API.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace chronik::storage {

// A Kafka offset (int64). Explicit so that positions, sizes and offsets cannot be mixed up.
class Offset {
 public:
  constexpr Offset() = default;
  constexpr explicit Offset(int64_t value) : value_(value) {}
  constexpr int64_t value() const { return value_; }
  friend constexpr auto operator<=>(Offset, Offset) = default;
  friend constexpr bool operator==(Offset, Offset) = default;

 private:
  int64_t value_ = 0;
};

class PartitionId {
 public:
  constexpr PartitionId() = default;
  constexpr explicit PartitionId(int32_t value) : value_(value) {}
  constexpr int32_t value() const { return value_; }
  friend constexpr auto operator<=>(PartitionId, PartitionId) = default;
  friend constexpr bool operator==(PartitionId, PartitionId) = default;

 private:
  int32_t value_ = 0;
};

// The partition leader epoch stamped into every appended batch (-1: unknown).
class LeaderEpoch {
 public:
  constexpr LeaderEpoch() = default;
  constexpr explicit LeaderEpoch(int32_t value) : value_(value) {}
  constexpr int32_t value() const { return value_; }
  friend constexpr auto operator<=>(LeaderEpoch, LeaderEpoch) = default;
  friend constexpr bool operator==(LeaderEpoch, LeaderEpoch) = default;

 private:
  int32_t value_ = -1;
};

struct TopicPartition {
  std::string topic;
  PartitionId partition;

  // "<topic>-<partition>", also the partition's directory name.
  std::string ToString() const { return topic + "-" + std::to_string(partition.value()); }

  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

struct TopicPartitionHash {
  size_t operator()(const TopicPartition& tp) const {
    size_t h = std::hash<std::string>()(tp.topic);
    return h ^ (std::hash<int32_t>()(tp.partition.value()) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

}  // namespace chronik::storage

template <>
struct std::hash<chronik::storage::TopicPartition> : chronik::storage::TopicPartitionHash {};
