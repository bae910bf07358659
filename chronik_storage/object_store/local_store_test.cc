#include "chronik_storage/object_store/local_store.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace chronik::storage::objects {
namespace {

namespace fs = std::filesystem;

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("local_store_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    auto store = LocalStore::Open(root_.string());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  std::unique_ptr<LocalStore> store_;
};

// What every store does is checked in object_store_test; these are the local store's own.
TEST_F(LocalStoreTest, UploadsDirectoryIsNeitherAKeyNorListed) {
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Put(".uploads/x", "x")));
  auto upload = store_->StartMultipart("big");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->UploadPart(1, "part").ok());
  EXPECT_TRUE(store_->List("")->empty());
  ASSERT_TRUE((*upload)->Abort().ok());
  EXPECT_FALSE((*upload)->UploadPart(2, "y").ok());
  EXPECT_TRUE(fs::is_empty(root_ / ".uploads"));
}

TEST_F(LocalStoreTest, WhatACrashLeftIsRemovedAtOpen) {
  // A put that died between its write and its rename.
  std::FILE* f = std::fopen((root_ / ".uploads" / "put-1").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("half", f);
  std::fclose(f);
  ASSERT_TRUE(store_->Put("kept", "whole").ok());
  store_.reset();
  auto reopened = LocalStore::Open(root_.string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE(fs::is_empty(root_ / ".uploads"));
  EXPECT_EQ(*(*reopened)->Get("kept", std::nullopt), "whole");
  EXPECT_EQ((*reopened)->List("")->size(), 1u);
}

// The files an upload has in .uploads, below its own directory.
int FilesOfUploads(const fs::path& root) {
  int n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root / ".uploads")) n += entry.is_regular_file() ? 1 : 0;
  return n;
}

TEST_F(LocalStoreTest, PartsInOrderAreWrittenOnceIntoTheObject) {
  auto upload = store_->StartMultipart("seg");
  ASSERT_TRUE(upload.ok());
  const std::string part1(3 << 20, '1'), part2(3 << 20, '2');
  ASSERT_TRUE((*upload)->UploadPart(1, part1).ok());
  ASSERT_TRUE((*upload)->UploadPart(2, part2).ok());
  ASSERT_TRUE((*upload)->UploadPart(3, "3").ok());
  // One file, the object's, and no file per part for Complete to copy.
  EXPECT_EQ(FilesOfUploads(root_), 1);
  EXPECT_TRUE(store_->List("")->empty());
  ASSERT_TRUE((*upload)->Complete().ok());
  EXPECT_EQ(*store_->Get("seg", std::nullopt), part1 + part2 + "3");
  EXPECT_EQ(FilesOfUploads(root_), 0);
}

TEST_F(LocalStoreTest, APartSentAgainOrOutOfOrderAfterPartsInOrder) {
  auto upload = store_->StartMultipart("seg");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->UploadPart(1, "one-").ok());
  ASSERT_TRUE((*upload)->UploadPart(2, "to be replaced").ok());
  ASSERT_TRUE((*upload)->UploadPart(2, "two-").ok());
  ASSERT_TRUE((*upload)->UploadPart(4, "four").ok());
  ASSERT_TRUE((*upload)->UploadPart(3, "three-").ok());
  ASSERT_TRUE((*upload)->Complete().ok());
  EXPECT_EQ(*store_->Get("seg", std::nullopt), "one-two-three-four");
  EXPECT_EQ(FilesOfUploads(root_), 0);

  auto aborted = store_->StartMultipart("never");
  ASSERT_TRUE(aborted.ok());
  ASSERT_TRUE((*aborted)->UploadPart(1, "x").ok());
  ASSERT_TRUE((*aborted)->Abort().ok());
  EXPECT_EQ(FilesOfUploads(root_), 0);
  EXPECT_EQ(store_->List("")->size(), 1u);
}

}  // namespace
}  // namespace chronik::storage::objects
