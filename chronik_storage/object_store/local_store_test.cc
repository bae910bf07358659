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

TEST_F(LocalStoreTest, PutGetRangesListDelete) {
  ASSERT_TRUE(store_->Put("topics/t-0/00000000000000000000.log", "0123456789").ok());
  ASSERT_TRUE(store_->Put("topics/t-0/manifest", "m").ok());
  ASSERT_TRUE(store_->Put("topics/u-0/manifest", "n").ok());
  EXPECT_EQ(*store_->Get("topics/t-0/00000000000000000000.log", std::nullopt), "0123456789");
  EXPECT_EQ(*store_->Get("topics/t-0/00000000000000000000.log", ByteRange{2, 4}), "234");
  EXPECT_EQ(*store_->Get("topics/t-0/00000000000000000000.log", ByteRange{8, 100}), "89");
  EXPECT_TRUE(absl::IsOutOfRange(store_->Get("topics/t-0/00000000000000000000.log", ByteRange{10, 12}).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Get("topics/t-0/nothing", std::nullopt).status()));
  ASSERT_TRUE(store_->Put("topics/t-0/manifest", "replaced").ok());
  EXPECT_EQ(*store_->Get("topics/t-0/manifest", std::nullopt), "replaced");

  auto listed = store_->List("topics/t-0/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "topics/t-0/00000000000000000000.log");
  EXPECT_EQ((*listed)[0].size, 10);
  EXPECT_EQ((*listed)[1].key, "topics/t-0/manifest");
  EXPECT_EQ(store_->List("")->size(), 3u);  // nothing of .uploads

  ASSERT_TRUE(store_->Delete("topics/t-0/manifest").ok());
  ASSERT_TRUE(store_->Delete("topics/t-0/manifest").ok());  // gone already: fine
  EXPECT_EQ(store_->List("topics/t-0/")->size(), 1u);
}

TEST_F(LocalStoreTest, MultipartAppearsWholeAtCompleteAndNotAtAll) {
  auto upload = store_->StartMultipart("big");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->UploadPart(2, "world").ok());
  ASSERT_TRUE((*upload)->UploadPart(1, "hello ").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("big", std::nullopt).status()));  // nothing before Complete
  ASSERT_TRUE((*upload)->Complete().ok());
  EXPECT_EQ(*store_->Get("big", std::nullopt), "hello world");

  auto aborted = store_->StartMultipart("never");
  ASSERT_TRUE(aborted.ok());
  ASSERT_TRUE((*aborted)->UploadPart(1, "x").ok());
  ASSERT_TRUE((*aborted)->Abort().ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("never", std::nullopt).status()));
  EXPECT_FALSE((*aborted)->UploadPart(2, "y").ok());
  EXPECT_TRUE(fs::is_empty(root_ / ".uploads"));
}

TEST_F(LocalStoreTest, BadKeysAreRefused) {
  for (const char* key : {"", "/abs", "a//b", "a/../b", "..", "a/./b", ".uploads/x"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Put(key, "x"))) << key;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Get("../etc/passwd", std::nullopt).status()));
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

}  // namespace
}  // namespace chronik::storage::objects
