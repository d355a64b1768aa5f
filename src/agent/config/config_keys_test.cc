#include "agent/config/config_keys.h"

#include <filesystem>
#include <fstream>

#include "agent/config/class_file.h"
#include "agent/config/java_test_util.h"
#include "gtest/gtest.h"

namespace agent::config {
namespace {
namespace fs = std::filesystem;
using testing::ClassBuilder;
using testing::MakeZip;

// A Config like Cassandra's: settable public fields, constants, a private field, renamed keys.
std::string ConfigClass(const std::string& super = "java/lang/Object") {
  ClassBuilder b;
  b.Field(kAccPublic, "cluster_name");
  b.Field(kAccPublic, "num_tokens");
  b.Field(kAccPublic, "request_timeout", {b.Replaces("request_timeout_in_ms")});
  b.Field(kAccPublic, "cache_size", {b.ReplacesList({"cache_size_in_mb", "old-cache.size"})});
  b.Field(kAccPublic | kAccStatic, "static_thing");
  b.Field(kAccPublic | kAccFinal, "final_thing");
  // The probe reads the annotations of every public field, static or not.
  b.Field(kAccPublic | kAccStatic | kAccFinal, "CONSTANT", {b.Replaces("renamed_constant")});
  b.Field(0, "package_private", {b.Replaces("never_seen")});
  // An annotation of another type, and one reflection cannot see.
  b.Field(kAccPublic, "other", {b.Annotation("Lp/Deprecated;", {b.StringElement("oldName", "x")})},
          {b.Replaces("invisible")});
  b.Field(kAccPublic, "nested", {b.Replaces("y", "Lp/Outer$Replaces;")});
  return b.Build("org/apache/cassandra/config/Config", super);
}

TEST(ConfigKeysTest, ReproducesTheProbesRule) {
  const std::string jar = MakeZip({{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n", true},
                                   {std::string(kConfigClassEntry), ConfigClass(), true}});
  auto keys = ConfigKeysFromJar(jar);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (KnownKeys{"cache_size", "cache_size_in_mb", "cluster_name", "nested",
                              "num_tokens", "old", "other", "renamed_constant", "request_timeout",
                              "request_timeout_in_ms", "y"}));
}

TEST(ConfigKeysTest, IncludesInheritedPublicFields) {
  ClassBuilder base;
  base.Field(kAccPublic, "from_base");
  base.Field(0, "private_in_base");
  ClassBuilder iface;
  iface.Field(kAccPublic | kAccStatic | kAccFinal, "IFACE", {iface.Replaces("from_iface")});
  const std::string jar =
      MakeZip({{std::string(kConfigClassEntry), ConfigClass("org/apache/cassandra/config/Base")},
               {"org/apache/cassandra/config/Base.class",
                base.Build("org/apache/cassandra/config/Base", "java/lang/Object", {"p/I"})},
               {"p/I.class", iface.Build("p/I")}});
  auto keys = ConfigKeysFromJar(jar);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE(keys->contains("from_base"));
  EXPECT_TRUE(keys->contains("from_iface"));
  EXPECT_FALSE(keys->contains("private_in_base"));
  // A superclass missing from the jar is an error, not a silently shorter list.
  const std::string missing =
      MakeZip({{std::string(kConfigClassEntry), ConfigClass("org/apache/cassandra/config/Base")}});
  EXPECT_EQ(ConfigKeysFromJar(missing).status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigKeysTest, RefusesJarsWithoutConfig) {
  EXPECT_EQ(ConfigKeysFromJar(MakeZip({{"a", "b"}})).status().code(), absl::StatusCode::kNotFound);
  ClassBuilder empty;
  EXPECT_EQ(ConfigKeysFromJar(MakeZip({{std::string(kConfigClassEntry),
                                        empty.Build("org/apache/cassandra/config/Config")}}))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ConfigKeysTest, FindsTheJarInAFolder) {
  const fs::path dir =
      fs::temp_directory_path() /
      ("rk-config-keys-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(dir / name, std::ios::binary) << data;
  };
  EXPECT_EQ(ConfigKeysFromLib(dir.string()).status().code(), absl::StatusCode::kNotFound);
  write("aaa-not-a-zip.jar", "garbage");
  write("guava-33.jar", MakeZip({{"com/google/Foo.class", "x"}}));
  write("apache-cassandra-5.0.9.jar", MakeZip({{std::string(kConfigClassEntry), ConfigClass()}}));
  write("notes.txt", "");
  auto derived = ConfigKeysFromLib(dir.string());
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_EQ(derived->jar, (dir / "apache-cassandra-5.0.9.jar").string());
  EXPECT_TRUE(derived->keys.contains("request_timeout_in_ms"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agent::config
