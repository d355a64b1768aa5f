// FileStore on its own: S3's meaning kept over a directory (the uploader's tests run the same
// scenarios against both kinds in uploader_integration_test.cc).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "backup/md5.h"
#include "backup/store.h"
#include "gtest/gtest.h"

namespace backup {
namespace {

namespace fs = std::filesystem;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("rk-file-store-", getpid(), "-", ++counter_);
    fs::create_directories(dir_ / "root");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static inline int counter_ = 0;
  fs::path dir_;
  FileStore Store() const { return FileStore((dir_ / "root").string()); }
};

TEST_F(FileStoreTest, WhatIsPutIsReadBackWithItsMd5AsEtag) {
  FileStore store = Store();
  ASSERT_TRUE(store.Put("p/c/n/manifests/b1.json", "{\"a\":1}").ok());
  auto body = store.Get("p/c/n/manifests/b1.json");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "{\"a\":1}");
  auto range = store.Get("p/c/n/manifests/b1.json", std::make_pair(int64_t{2}, int64_t{3}));
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(*range, "a\":");
  auto head = store.Head("p/c/n/manifests/b1.json");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 7);
  EXPECT_EQ(head->etag, Md5Hex("{\"a\":1}"));
  EXPECT_LT(head->last_modified, absl::InfiniteFuture());
  // Overwritten whole (the index and manifests are rewritten by a repeated request).
  ASSERT_TRUE(store.Put("p/c/n/manifests/b1.json", "x").ok());
  EXPECT_EQ(*store.Get("p/c/n/manifests/b1.json"), "x");
  EXPECT_EQ(store.Head("p/c/n/manifests/b1.json")->etag, Md5Hex("x"));
  EXPECT_TRUE(absl::IsNotFound(store.Get("p/c/n/manifests/b2.json").status()));
  EXPECT_TRUE(absl::IsNotFound(store.Head("p/c/n/manifests/b2.json").status()));
}

TEST_F(FileStoreTest, KeysNeverLeaveTheRoot) {
  FileStore store = Store();
  for (const char* key : {"../escaped", "a/../../escaped", "/etc/escaped", "a//b", "a/./b",
                          ".ringkeeper/etags/x", "", "dir/"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(store.Put(key, "x"))) << key;
    EXPECT_TRUE(absl::IsInvalidArgument(store.Get(key).status())) << key;
    EXPECT_TRUE(absl::IsInvalidArgument(store.Delete({key}))) << key;
  }
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));
  EXPECT_TRUE(absl::IsNotFound(store.UploadPart("k", "../../x", 1, "d").status()));
}

TEST_F(FileStoreTest, AMissingRootIsNotFoundAndNeverCreated) {
  FileStore store((dir_ / "unmounted").string());
  absl::Status put = store.Put("k", "x");
  EXPECT_TRUE(absl::IsNotFound(put)) << put;
  EXPECT_NE(put.message().find("mounted"), absl::string_view::npos) << put;
  EXPECT_TRUE(absl::IsNotFound(store.List("").status()));
  EXPECT_TRUE(absl::IsNotFound(store.CreateMultipartUpload("k").status()));
  EXPECT_FALSE(fs::exists(dir_ / "unmounted"));
}

TEST_F(FileStoreTest, ListingIsSortedPagedByPrefixAndHidesTheStoresOwnFiles) {
  FileStore store = Store();
  for (int i = 0; i < 1005; ++i) {
    ASSERT_TRUE(store.Put(absl::StrCat("c/n/data/ks/t/", 10000 + i, "-f"), "d").ok());
  }
  ASSERT_TRUE(store.Put("c/n/manifests/b.json", "m").ok());
  ASSERT_TRUE(store.Put("c/other", "o").ok());
  auto first = store.List("c/n/data/");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->objects.size(), 1000u);
  EXPECT_EQ(first->objects.front().key, "c/n/data/ks/t/10000-f");
  EXPECT_EQ(first->next_token, "c/n/data/ks/t/10999-f");
  auto second = store.List("c/n/data/", first->next_token);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->objects.size(), 5u);
  EXPECT_EQ(second->objects.back().key, "c/n/data/ks/t/11004-f");
  EXPECT_TRUE(second->next_token.empty());
  auto all = ListAll(store, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1007u);  // no ".ringkeeper/..." among them
  for (const auto& o : *all) EXPECT_NE(o.key.rfind(".ringkeeper", 0), 0u) << o.key;
  auto partial = store.List("c/n/man");  // a prefix that ends inside a name
  ASSERT_TRUE(partial.ok());
  ASSERT_EQ(partial->objects.size(), 1u);
  EXPECT_EQ(partial->objects[0].key, "c/n/manifests/b.json");
  EXPECT_TRUE(store.List("nothing/here/").value().objects.empty());
}

TEST_F(FileStoreTest, DeleteRemovesAndAGoneKeyCountsAsDeleted) {
  FileStore store = Store();
  ASSERT_TRUE(store.Put("c/a", "1").ok());
  ASSERT_TRUE(store.Put("c/b", "2").ok());
  ASSERT_TRUE(store.Delete({"c/a", "c/never"}).ok());
  auto all = ListAll(store, "c/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key, "c/b");
  EXPECT_FALSE(fs::exists(dir_ / "root" / ".ringkeeper" / "etags" / "c" / "a"));
}

// S3's multipart ETag, computed here from the parts: MD5 of the binary MD5s, "-<count>".
TEST_F(FileStoreTest, MultipartAppearsWholeOnlyOnCompleteWithS3sEtag) {
  FileStore store = Store();
  auto id = store.CreateMultipartUpload("c/big");
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string a(6 << 20, 'a'), b(1000, 'b');
  auto ea = store.UploadPart("c/big", *id, 1, a);
  auto eb = store.UploadPart("c/big", *id, 2, b);
  ASSERT_TRUE(ea.ok() && eb.ok());
  EXPECT_TRUE(ListAll(store, "c/")->empty()) << "nothing visible before complete";
  EXPECT_TRUE(absl::IsNotFound(store.UploadPart("c/other", *id, 3, "x").status()))
      << "an upload belongs to its key";
  // A part list that does not match what was uploaded is refused; nothing is published.
  EXPECT_TRUE(
      absl::IsInvalidArgument(store.CompleteMultipartUpload("c/big", *id, {{1, *eb}, {2, *ea}})));
  EXPECT_TRUE(absl::IsNotFound(store.Head("c/big").status()));
  ASSERT_TRUE(store.CompleteMultipartUpload("c/big", *id, {{1, *ea}, {2, *eb}}).ok());
  const std::string raw = absl::HexStringToBytes(*ea + *eb);
  auto head = store.Head("c/big");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, Md5Hex(raw) + "-2");
  EXPECT_EQ(head->size, static_cast<int64_t>(a.size() + b.size()));
  EXPECT_EQ(*store.Get("c/big"), a + b);
  EXPECT_FALSE(fs::exists(dir_ / "root" / ".ringkeeper" / "uploads" / *id));

  auto aborted = store.CreateMultipartUpload("c/gone");
  ASSERT_TRUE(aborted.ok());
  ASSERT_TRUE(store.UploadPart("c/gone", *aborted, 1, a).ok());
  ASSERT_TRUE(store.AbortMultipartUpload("c/gone", *aborted).ok());
  EXPECT_FALSE(fs::exists(dir_ / "root" / ".ringkeeper" / "uploads" / *aborted));
  EXPECT_TRUE(absl::IsNotFound(store.Head("c/gone").status()));
}

// A file put there by hand (a copy from elsewhere) is listed with the MD5 of its content.
TEST_F(FileStoreTest, AFileCopiedInByHandIsListedWithItsMd5) {
  fs::create_directories(dir_ / "root" / "c");
  std::ofstream(dir_ / "root" / "c" / "copied") << "hello";
  auto head = Store().Head("c/copied");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->etag, Md5Hex("hello"));
}

}  // namespace
}  // namespace backup
