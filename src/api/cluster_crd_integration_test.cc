// The Cluster CRD (config/crd) on a real API server: the seed's example manifest is accepted
// as written, defaults apply, and the OpenAPI + CEL rules refuse bad manifests and unsafe
// changes with clear messages.
#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/testing/test_env.h"
#include "kube/yaml.h"

namespace {

using kube::Json;
using kube::Object;

const kube::Resource kClusters{"cassandra.rook.io", "v1alpha1", "clusters", "Cluster", true};

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(RINGKEEPER_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ClusterCrdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto client = kube::testing::AdminClient();
    auto crd = kube::ObjectFromYaml(ReadSource("config/crd/cassandra.rook.io_clusters.yaml"));
    ASSERT_TRUE(crd.ok()) << crd.status();
    auto applied =
        client->Apply(kube::resources::kCustomResourceDefinitions, *crd, {"ringkeeper-test", true});
    ASSERT_TRUE(applied.ok()) << applied.status();
    ASSERT_TRUE(kube::testing::WaitFor(
        [&] {
          return client->HasResource("cassandra.rook.io", "v1alpha1", "clusters").value_or(false);
        },
        absl::Seconds(30)));
  }

  void SetUp() override {
    client_ = kube::testing::AdminClient();
    ns_ = kube::testing::CreateNamespace(*client_, "crd");
    auto seed = kube::ObjectFromYaml(ReadSource("config/samples/seed-example.yaml"));
    ASSERT_TRUE(seed.ok()) << seed.status();
    seed_ = *seed;
    seed_.set_namespace(ns_);
  }
  void TearDown() override { (void)client_->Delete(kube::resources::kNamespaces, "", ns_); }

  // Creates `mutate(seed)` and returns the API server's verdict.
  absl::StatusOr<Object> CreateVariant(const std::function<void(Json&)>& mutate) {
    Object o = seed_;
    mutate(o.json());
    return client_->Create(kClusters, o);
  }

  // Expects 422 Invalid whose message contains `needle`.
  static void ExpectInvalid(const absl::StatusOr<Object>& result, const std::string& needle) {
    ASSERT_FALSE(result.ok()) << "accepted: " << result->Dump();
    EXPECT_TRUE(kube::IsInvalid(result.status())) << result.status();
    EXPECT_NE(result.status().message().find(needle), absl::string_view::npos) << result.status();
  }

  Json& Rack(Json& cluster) { return cluster["spec"]["dataCenter"]["racks"][0]; }

  std::unique_ptr<kube::Client> client_;
  std::string ns_;
  Object seed_;
};

TEST_F(ClusterCrdTest, SeedExampleIsAcceptedAsWrittenWithDefaults) {
  auto created = client_->Create(kClusters, seed_);
  ASSERT_TRUE(created.ok()) << created.status();
  const Json& spec = created->json()["spec"];
  EXPECT_EQ(spec["version"], "3.1.11");
  EXPECT_EQ(spec["repository"], "custom-enterprise-repo.io/cassandra");
  EXPECT_EQ(spec["dataCenter"]["racks"][0]["members"], 3);
  EXPECT_EQ(spec["dataCenter"]["racks"][0]["storage"]["volumeClaimTemplates"][0]["spec"]
                ["resources"]["requests"]["storage"],
            "500Gi");
  EXPECT_EQ(spec["sidecarImage"]["tag"], "0.1");
  EXPECT_EQ(spec["mode"], "cassandra");
  EXPECT_EQ(spec["paused"], false);
  EXPECT_EQ(spec["pvcDeletionPolicy"], "Retain");
  // The placement survives intact (it is applied to the rack's pods).
  EXPECT_EQ(spec["dataCenter"]["racks"][0]["placement"]["nodeAffinity"]
                ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
                ["matchExpressions"][1]["values"][0],
            "us-east-1c");
}

TEST_F(ClusterCrdTest, RefusesBadManifests) {
  ExpectInvalid(CreateVariant([](Json& c) {
                  c["spec"]["dataCenters"] = Json::array({c["spec"]["dataCenter"]});
                }),
                "set exactly one of dataCenter and dataCenters");
  ExpectInvalid(CreateVariant([](Json& c) { c["spec"].erase("dataCenter"); }),
                "set exactly one of dataCenter and dataCenters");
  ExpectInvalid(
      CreateVariant([&](Json& c) { c["spec"]["dataCenter"]["racks"].push_back(Rack(c)); }),
      "Duplicate value");
  ExpectInvalid(CreateVariant([&](Json& c) { Rack(c)["members"] = -1; }), "members");
  ExpectInvalid(CreateVariant([](Json& c) { c["spec"]["version"] = "latest"; }), "spec.version");
  ExpectInvalid(CreateVariant([](Json& c) { c["spec"]["mode"] = "mysql"; }), "spec.mode");
  ExpectInvalid(CreateVariant([&](Json& c) { Rack(c)["name"] = "Not_A_DNS_Label"; }), "name");
  ExpectInvalid(
      CreateVariant([&](Json& c) {
        Rack(c)["storage"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
            "lots";
      }),
      "storage must be a quantity");
  ExpectInvalid(
      CreateVariant([](Json& c) { c["metadata"]["name"] = "a-cluster-name-that-is-too-long"; }),
      "metadata.name");
  // Nothing was created by any of them.
  auto list = client_->List(kClusters, ns_);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->items.empty());
}

TEST_F(ClusterCrdTest, RefusesUnsafeChangesAndAllowsGrowth) {
  auto created = client_->Create(kClusters, seed_);
  ASSERT_TRUE(created.ok()) << created.status();
  auto update = [&](const std::function<void(Json&)>& mutate) {
    auto current = client_->Get(kClusters, ns_, seed_.name());
    EXPECT_TRUE(current.ok());
    Object next = *current;
    mutate(next.json());
    return client_->Update(kClusters, next);
  };
  ExpectInvalid(update([&](Json& c) { Rack(c)["name"] = "us-east-1d"; }),
                "racks cannot be removed or renamed");
  ExpectInvalid(update([](Json& c) { c["spec"]["dataCenter"]["name"] = "eu-west-1"; }),
                "a data center cannot be renamed");
  ExpectInvalid(update([](Json& c) { c["spec"]["mode"] = "scylla"; }), "mode is immutable");
  auto storage = [&](Json& c) -> Json& {
    return Rack(c)["storage"]["volumeClaimTemplates"][0]["spec"];
  };
  ExpectInvalid(update([&](Json& c) { storage(c)["resources"]["requests"]["storage"] = "100Gi"; }),
                "can grow but never shrink");
  ExpectInvalid(update([&](Json& c) { storage(c)["storageClassName"] = "fast"; }),
                "storage is immutable except for growing");
  ExpectInvalid(update([](Json& c) {
                  c["spec"]["dataCenters"] = Json::array({c["spec"]["dataCenter"]});
                  c["spec"].erase("dataCenter");
                }),
                "cannot be swapped");

  // Growth, scaling and adding a rack are fine.
  auto grown = update([&](Json& c) {
    storage(c)["resources"]["requests"]["storage"] = "1Ti";
    Rack(c)["members"] = 5;
    Json rack = Rack(c);
    rack["name"] = "us-east-1d";
    c["spec"]["dataCenter"]["racks"].push_back(rack);
  });
  ASSERT_TRUE(grown.ok()) << grown.status();
  EXPECT_EQ(grown->json()["spec"]["dataCenter"]["racks"].size(), 2u);
}

TEST_F(ClusterCrdTest, StatusIsASubresource) {
  auto created = client_->Create(kClusters, seed_);
  ASSERT_TRUE(created.ok()) << created.status();
  Object with_status = *created;
  with_status.json()["status"] = {{"observedGeneration", 1},
                                  {"membersSummary", "3/3"},
                                  {"conditions",
                                   {{{"type", "Ready"},
                                     {"status", "True"},
                                     {"reason", "AllMembersUp"},
                                     {"message", "3 of 3 members are UN"},
                                     {"lastTransitionTime", "2026-11-21T00:00:00Z"}}}}};
  // A spec update ignores status...
  auto via_update = client_->Update(kClusters, with_status);
  ASSERT_TRUE(via_update.ok()) << via_update.status();
  EXPECT_FALSE(via_update->json().contains("status"));
  // ...the status subresource sets it, and does not bump the generation.
  with_status.set_resource_version(via_update->resource_version());
  auto via_status = client_->UpdateStatus(kClusters, with_status);
  ASSERT_TRUE(via_status.ok()) << via_status.status();
  EXPECT_EQ(via_status->json()["status"]["conditions"][0]["status"], "True");
  EXPECT_EQ(via_status->generation(), created->generation());
}

}  // namespace
