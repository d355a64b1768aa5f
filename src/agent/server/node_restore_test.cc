#include "agent/server/node_restore.h"

#include "agent/node/fake_node_control.h"
#include "gtest/gtest.h"

namespace agent::server {
namespace {

backup::Manifest TwoKeyspaces() {
  backup::Manifest m;
  m.backup = "b1";
  m.keyspaces["bk1"] = {
      {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"}, {"us-east-1", "3"}},
      true};
  m.keyspaces["bk2"] = m.keyspaces["bk1"];
  m.keyspaces["system_auth"] = m.keyspaces["bk1"];
  m.keyspaces["system"] = {{{"class", "org.apache.cassandra.locator.LocalStrategy"}}, true};
  return m;
}

StagedFiles TwoTables() {
  StagedFiles staged;
  staged.tables[{"bk1", "t-58b87d40f20511f18f58c7127f6e4033"}] = "/stage/bk1/t";
  staged.tables[{"bk1", "u-68b87d40f20511f18f58c7127f6e4033"}] = "/stage/bk1/u";
  staged.files = 4;
  return staged;
}

TEST(NodeRestoreTest, StagedTablesAreImportedIntoTheNodeOrStreamedWhenTheRequestLoads) {
  api::OperationRequest r;
  r.backup = "b1";
  node::FakeNodeControl node;
  auto loaded = LoadStagedTables(node, TwoTables(), r, nullptr);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(*loaded);
  EXPECT_EQ(node.imports, (std::vector<std::string>{"bk1.t /stage/bk1/t", "bk1.u /stage/bk1/u"}));
  EXPECT_TRUE(node.loads.empty());

  r.load = true;
  node::FakeNodeControl loader;
  loaded = LoadStagedTables(loader, TwoTables(), r, nullptr);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded);
  EXPECT_TRUE(loader.imports.empty());
  EXPECT_EQ(loader.loads, (std::vector<std::string>{"/stage/bk1/t", "/stage/bk1/u"}));
}

// Jolokia 2.3.0 (the one a Java 11 node runs) cannot pass importNewSSTables its Set: the files
// are streamed to their replicas instead, every table, not the restore failed.
TEST(NodeRestoreTest, ANodeThatCannotImportStreamsTheFilesInstead) {
  api::OperationRequest r;
  r.backup = "b1";
  node::FakeNodeControl node;
  node.import_result = absl::UnimplementedError("no Set");
  auto loaded = LoadStagedTables(node, TwoTables(), r, nullptr);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded);
  EXPECT_EQ(node.loads, (std::vector<std::string>{"/stage/bk1/t", "/stage/bk1/u"}));

  // Any other refusal fails the restore, naming it: nothing streamed behind the node's back.
  node::FakeNodeControl refusing;
  refusing.import_result = absl::FailedPreconditionError("import into bk1.t refused");
  loaded = LoadStagedTables(refusing, TwoTables(), r, nullptr);
  EXPECT_TRUE(absl::IsFailedPrecondition(loaded.status())) << loaded.status();
  EXPECT_TRUE(refusing.loads.empty());
}

TEST(NodeRestoreTest, RestoredKeyspacesAreTheUsersOrThoseAskedForIfTheBackupHasThem) {
  auto all = backup::RestoredKeyspaces(TwoKeyspaces(), {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{"bk1", "bk2"}));
  auto one = backup::RestoredKeyspaces(TwoKeyspaces(), {"bk2"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, std::vector<std::string>{"bk2"});
  auto missing = backup::RestoredKeyspaces(TwoKeyspaces(), {"bk3"});
  EXPECT_TRUE(absl::IsInvalidArgument(missing.status()));
  EXPECT_EQ(missing.status().message(), "backup b1 has no keyspace bk3");
  EXPECT_TRUE(
      absl::IsInvalidArgument(backup::RestoredKeyspaces(TwoKeyspaces(), {"system_auth"}).status()));
}

TEST(NodeRestoreTest, SchemaFileSplitsIntoItsStatements) {
  // As Cassandra 5.0 writes a snapshot's schema.cql (abridged).
  const std::string cql =
      "CREATE TYPE IF NOT EXISTS bk1.pair (a int, b text);\n"
      "CREATE TABLE IF NOT EXISTS bk1.t (\n"
      "    k int PRIMARY KEY,\n"
      "    v text)\n"
      "    WITH ID = 5bc52802-de25-35ed-aeab-188eecebb090\n"
      "    AND comment = 'a; b';\n"
      "CREATE INDEX IF NOT EXISTS t_v ON bk1.t (v);\n";
  auto statements = SplitStatements(cql);
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_EQ(statements[0], "CREATE TYPE IF NOT EXISTS bk1.pair (a int, b text)");
  EXPECT_NE(statements[1].find("AND comment = 'a; b'"), std::string::npos);
  EXPECT_EQ(statements[1].back(), '\'');
  EXPECT_EQ(statements[2], "CREATE INDEX IF NOT EXISTS t_v ON bk1.t (v)");
  EXPECT_TRUE(SplitStatements("\n").empty());
}

TEST(NodeRestoreTest, KeyspaceStatementAndTableNames) {
  EXPECT_EQ(CreateKeyspaceStatement("bk1", TwoKeyspaces().keyspaces["bk1"]),
            "CREATE KEYSPACE IF NOT EXISTS \"bk1\" WITH replication = {'class': "
            "'org.apache.cassandra.locator.NetworkTopologyStrategy', 'us-east-1': '3'} AND "
            "durable_writes = true");
  EXPECT_EQ(backup::TableOfDirectory("t-5bc52802de2535edaeab188eecebb090"), "t");
  EXPECT_EQ(backup::TableOfDirectory("my-table-5bc52802de2535edaeab188eecebb090"), "my-table");
  EXPECT_EQ(backup::TableOfDirectory("plain"), "plain");
}

TEST(NodeRestoreTest, RequestsNameWhatTheyLack) {
  api::OperationRequest r;
  r.kind = api::kOpRestore;
  r.backup = "b1";
  r.location = {"http://127.0.0.1:7070", "bucket", "", "us-east-1", true, "/creds", ""};
  EXPECT_EQ(CheckRestoreRequest(r).message(), "restore: \"source_node\" is required");
  r.source_node = "c1-dc1-r1-0";
  EXPECT_TRUE(CheckRestoreRequest(r).ok());
  r.backup = "../x";
  EXPECT_TRUE(absl::IsInvalidArgument(CheckRestoreRequest(r)));
}

}  // namespace
}  // namespace agent::server
