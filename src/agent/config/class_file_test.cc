#include "agent/config/class_file.h"

#include "agent/config/java_test_util.h"
#include "gtest/gtest.h"

namespace agent::config {
namespace {
using testing::ClassBuilder;

TEST(ClassFileTest, ListsFieldsAndTheirRuntimeVisibleAnnotations) {
  ClassBuilder b;
  b.Long();  // an 8-byte constant takes two slots
  b.Field(kAccPublic, "num_tokens", {b.Replaces("tokens")});
  b.Field(kAccPublic | kAccStatic | kAccFinal, "DEFAULT", {}, {b.Replaces("invisible")});
  b.Field(0, "hidden", {b.ReplacesList({"old_a", "old_b"})});
  auto c = ParseClassFile(b.Build("p/Config", "java/lang/Object", {"p/I"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "p/Config");
  EXPECT_EQ(c->super_class, "java/lang/Object");
  EXPECT_EQ(c->interfaces, std::vector<std::string>{"p/I"});
  ASSERT_EQ(c->fields.size(), 3u);
  EXPECT_EQ(c->fields[0].name, "num_tokens");
  EXPECT_EQ(c->fields[0].access_flags, kAccPublic);
  EXPECT_EQ(c->fields[0].descriptor, "Ljava/lang/String;");
  ASSERT_EQ(c->fields[0].annotations.size(), 1u);
  EXPECT_EQ(c->fields[0].annotations[0].type, "Lorg/apache/cassandra/config/Replaces;");
  using Strings = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(c->fields[0].annotations[0].strings, (Strings{{"oldName", "tokens"}}));
  EXPECT_TRUE(c->fields[1].annotations.empty());  // RuntimeInvisibleAnnotations are not read
  ASSERT_EQ(c->fields[2].annotations.size(), 1u);
  EXPECT_EQ(c->fields[2].annotations[0].type, "Lorg/apache/cassandra/config/ReplacesList;");
  EXPECT_EQ(c->fields[2].annotations[0].strings,
            (Strings{{"oldName", "old_a"}, {"oldName", "old_b"}}));
}

TEST(ClassFileTest, SimpleTypeName) {
  EXPECT_EQ(SimpleTypeName("Lorg/apache/cassandra/config/Replaces;"), "Replaces");
  EXPECT_EQ(SimpleTypeName("Lp/Outer$ReplacesList;"), "ReplacesList");
  EXPECT_EQ(SimpleTypeName("LTop;"), "Top");
}

TEST(ClassFileTest, RefusesMalformedInput) {
  EXPECT_FALSE(ParseClassFile("").ok());
  EXPECT_FALSE(ParseClassFile("\xca\xfe\xba\xbe").ok());
  ClassBuilder b;
  b.Field(kAccPublic, "x", {b.ReplacesList({"y"})});
  const std::string good = b.Build("p/C");
  for (size_t n = 0; n < good.size() - 4; ++n) {  // the last 4 bytes: methods and attributes
    EXPECT_FALSE(ParseClassFile(std::string(good.data(), n)).ok()) << n;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t v : {0x00, 0xff, 0x01, 0x40}) {
      std::string m = good;
      m[i] = static_cast<char>(v);
      (void)ParseClassFile(m);  // any outcome but a crash or an out-of-bounds read
    }
  }
}

}  // namespace
}  // namespace agent::config
