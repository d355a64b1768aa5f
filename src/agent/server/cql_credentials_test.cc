#include "agent/server/cql_credentials.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace agent::server {
namespace {
namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

class CqlCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() /
        ("rk-cql-credentials-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // The layout kubelet gives a mounted Secret: DIR/<key> -> ..data/<key>, ..data -> a version
  // folder; a new version is written beside it and ..data swapped to it.
  void SecretVersion(const std::string& version, const std::string& username,
                     const std::string& password) {
    fs::create_directories(root_ / version);
    Write(root_ / version / "username", username);
    Write(root_ / version / "password", password);
    fs::create_directory_symlink(version, root_ / "..data_tmp");
    fs::rename(root_ / "..data_tmp", root_ / "..data");
    for (const char* key : {"username", "password"}) {
      if (!fs::is_symlink(root_ / key)) fs::create_symlink(fs::path("..data") / key, root_ / key);
    }
  }

  fs::path root_;
};

TEST_F(CqlCredentialsTest, FileRoleThenPassword) {
  Write(root_ / "creds", "rk-admin\ns3cr'et\n");
  auto c = ReadCqlCredentialsFile((root_ / "creds").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "rk-admin");
  EXPECT_EQ(c->password, "s3cr'et");
}

TEST_F(CqlCredentialsTest, FileReadAgainOnEachUse) {
  Write(root_ / "creds", "cassandra\ncassandra\n");
  EXPECT_EQ(ReadCqlCredentialsFile((root_ / "creds").string())->username, "cassandra");
  Write(root_ / "creds", "rk-admin\nx\n");
  EXPECT_EQ(ReadCqlCredentialsFile((root_ / "creds").string())->username, "rk-admin");
}

TEST_F(CqlCredentialsTest, FileMissingOrEmptyIsUnavailable) {
  EXPECT_EQ(ReadCqlCredentialsFile((root_ / "none").string()).status().code(),
            absl::StatusCode::kUnavailable);
  Write(root_ / "empty", "");
  EXPECT_EQ(ReadCqlCredentialsFile((root_ / "empty").string()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(CqlCredentialsTest, DirPlainFiles) {
  Write(root_ / "username", "rk-admin");
  Write(root_ / "password", "p\nw");  // an inner newline is part of the password
  auto c = ReadCqlCredentialsDir(root_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "rk-admin");
  EXPECT_EQ(c->password, "p\nw");
}

TEST_F(CqlCredentialsTest, DirDropsOneTrailingNewline) {
  Write(root_ / "username", "rk-admin\n");
  Write(root_ / "password", "secret \r\n");
  auto c = ReadCqlCredentialsDir(root_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "rk-admin");
  EXPECT_EQ(c->password, "secret ");
}

TEST_F(CqlCredentialsTest, DirMountedSecretFollowsRotation) {
  SecretVersion("..v1", "cassandra", "cassandra");
  auto c = ReadCqlCredentialsDir(root_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "cassandra");
  SecretVersion("..v2", "rk-admin", "new");
  c = ReadCqlCredentialsDir(root_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "rk-admin");
  EXPECT_EQ(c->password, "new");
}

TEST_F(CqlCredentialsTest, DirMissingKeyOrEmptyRoleIsUnavailable) {
  EXPECT_EQ(ReadCqlCredentialsDir(root_.string()).status().code(), absl::StatusCode::kUnavailable);
  Write(root_ / "username", "rk-admin");
  auto missing_password = ReadCqlCredentialsDir(root_.string());
  EXPECT_EQ(missing_password.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(missing_password.status().message().find("password"), std::string::npos);
  Write(root_ / "username", "");
  Write(root_ / "password", "x");
  EXPECT_EQ(ReadCqlCredentialsDir(root_.string()).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace agent::server
