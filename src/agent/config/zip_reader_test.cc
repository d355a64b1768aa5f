#include "agent/config/zip_reader.h"

#include <string>

#include "agent/config/java_test_util.h"
#include "gtest/gtest.h"

namespace agent::config {
namespace {
using testing::MakeZip;

const std::string kText = std::string(1000, 'a') + "hello, class file" + std::string(500, 'b');

TEST(ZipReaderTest, ReadsStoredAndDeflatedEntries) {
  const std::string zip = MakeZip({{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n", false},
                                   {"a/B.class", kText, true},
                                   {"empty", "", false}},
                                  "an archive comment");
  auto manifest = ReadZipEntry(zip, "META-INF/MANIFEST.MF");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(*manifest, "Manifest-Version: 1.0\n");
  auto b = ReadZipEntry(zip, "a/B.class");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, kText);
  auto empty = ReadZipEntry(zip, "empty");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(ReadZipEntry(zip, "a/C.class").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(*ZipHasEntry(zip, "a/B.class"));
  EXPECT_FALSE(*ZipHasEntry(zip, "a/B.clas"));
}

TEST(ZipReaderTest, RefusesEntriesLargerThanTheLimit) {
  const std::string zip = MakeZip({{"big", kText, true}});
  EXPECT_EQ(ReadZipEntry(zip, "big", 100).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ZipReaderTest, DetectsCorruption) {
  const std::string zip = MakeZip({{"x", kText, true}});
  // Flip a byte of the compressed data (after the 30-byte local header and the 1-byte name).
  std::string bad = zip;
  bad[40] ^= 0x55;
  EXPECT_FALSE(ReadZipEntry(bad, "x").ok());
  // A stored entry whose CRC no longer matches.
  std::string stored = MakeZip({{"x", "0123456789", false}});
  stored[31] = 'X';
  EXPECT_EQ(ReadZipEntry(stored, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ReadZipEntry("", "x").ok());
  EXPECT_FALSE(ReadZipEntry("PK\x05\x06", "x").ok());
}

// Every truncation and every single-byte change either reads the entry or fails cleanly (the
// sanitizer builds and the fuzzer check for reads past the buffer).
TEST(ZipReaderTest, TruncatedAndMutatedArchivesFailCleanly) {
  const std::string zip = MakeZip({{"a", "first", false}, {"b", kText, true}});
  for (size_t n = 0; n < zip.size(); ++n) {
    const std::string cut(zip.data(), n);  // a copy: the sanitizer sees reads past it
    EXPECT_FALSE(ReadZipEntry(cut, "b").ok()) << n;
  }
  for (size_t i = 0; i < zip.size(); ++i) {
    for (uint8_t v : {0x00, 0xff, 0x7f}) {
      std::string m = zip;
      m[i] = static_cast<char>(v);
      auto r = ReadZipEntry(m, "b");
      if (r.ok()) {
        EXPECT_EQ(*r, kText) << i;
      }
    }
  }
}

}  // namespace
}  // namespace agent::config
