#include "operator/desired.h"

#include <openssl/evp.h>

#include <cmath>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operator/agent_credentials.h"
#include "operator/node_tls.h"

namespace ringkeeper {
namespace {

using kube::Json;

Json Metadata(const ClusterSpec& c, const std::string& name, const std::string& dc = "",
              const std::string& rack = "") {
  return {{"name", name},
          {"namespace", c.ns},
          {"labels", ClusterLabels(c, dc, rack)},
          {"ownerReferences", Json::array({OwnerReference(c)})}};
}

Json Object(const char* api_version, const char* kind, Json metadata) {
  return {{"apiVersion", api_version}, {"kind", kind}, {"metadata", std::move(metadata)}};
}

Json Port(const char* name, int port) {
  return {{"name", name}, {"port", port}, {"targetPort", port}, {"protocol", "TCP"}};
}

Json PodSelector(const ClusterSpec& c, const std::string& dc, const std::string& rack = "") {
  Json selector = {{kLabelCluster, c.name}, {kLabelDataCenter, dc}};
  if (!rack.empty()) selector[kLabelRack] = rack;
  return selector;
}

Json Mount(const char* volume, const char* path, bool read_only = false) {
  Json m = {{"name", volume}, {"mountPath", path}};
  if (read_only) m["readOnly"] = true;
  return m;
}

Json EnvFromField(const char* name, const char* field) {
  return {{"name", name}, {"valueFrom", {{"fieldRef", {{"fieldPath", field}}}}}};
}

// Containers run unprivileged with nothing they do not need.
Json RestrictedContainerSecurity() {
  return {{"allowPrivilegeEscalation", false},
          {"runAsNonRoot", true},
          {"capabilities", {{"drop", {"ALL"}}}}};
}

// On the agent's plain health port: the kubelet has no client certificate for the API port.
Json HttpProbe(const char* path, int period, int failures, int timeout) {
  return {{"httpGet", {{"path", path}, {"port", agent::api::kHealthPort}}},
          {"periodSeconds", period},
          {"failureThreshold", failures},
          {"timeoutSeconds", timeout}};
}

// The rack's placement; where it sets no podAntiAffinity, a preference for one member of the
// data center per Kubernetes node: two replicas of a range on one node are lost together.
// Preferred, not required: a cluster with fewer nodes than members (a one-node test cluster)
// still schedules every pod.
Json Affinity(const ClusterSpec& c, const std::string& dc, const Json& placement) {
  Json affinity = Json::object();
  for (const char* key : {"nodeAffinity", "podAffinity", "podAntiAffinity"}) {
    if (placement.is_object() && placement.contains(key)) affinity[key] = placement[key];
  }
  if (!affinity.contains("podAntiAffinity")) {
    affinity["podAntiAffinity"] = {{"preferredDuringSchedulingIgnoredDuringExecution",
                                    {{{"weight", 100},
                                      {"podAffinityTerm",
                                       {{"labelSelector", {{"matchLabels", PodSelector(c, dc)}}},
                                        {"topologyKey", kTopologyKeyHostname}}}}}}};
  }
  return affinity;
}

// Racks of a data center spread over zones when the user's placement does not pin them (a zone
// lost takes one rack's replicas, which NetworkTopologyStrategy places in distinct racks).
// ScheduleAnyway: nodes without a zone label, or a single zone, still schedule.
Json TopologySpreadConstraints(const ClusterSpec& c, const std::string& dc) {
  return {{{"maxSkew", 1},
           {"topologyKey", kTopologyKeyZone},
           {"whenUnsatisfiable", "ScheduleAnyway"},
           {"labelSelector", {{"matchLabels", PodSelector(c, dc)}}}}};
}

}  // namespace

Json MemberService(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                   int ordinal) {
  const std::string pod = PodName(c, dc, rack, ordinal);
  Json svc = Object("v1", "Service", Metadata(c, pod, dc, rack));
  svc["spec"] = {
      {"type", "ClusterIP"},
      {"selector", {{kLabelPodName, pod}}},
      // Gossip must reach a node before it is Ready (it becomes Ready only through gossip).
      {"publishNotReadyAddresses", true},
      {"ports", {Port("intra", 7000), Port("cql", 9042), Port("agent", agent::api::kAgentPort)}}};
  return svc;
}

Json HeadlessService(const ClusterSpec& c, const std::string& dc) {
  Json svc = Object("v1", "Service", Metadata(c, HeadlessServiceName(c, dc), dc));
  svc["spec"] = {{"clusterIP", "None"},
                 {"selector", PodSelector(c, dc)},
                 {"publishNotReadyAddresses", true},
                 {"ports", {Port("cql", 9042)}}};
  return svc;
}

Json ClientService(const ClusterSpec& c, const std::string& dc) {
  Json svc = Object("v1", "Service", Metadata(c, ClientServiceName(c, dc), dc));
  svc["spec"] = {
      {"type", "ClusterIP"}, {"selector", PodSelector(c, dc)}, {"ports", {Port("cql", 9042)}}};
  return svc;
}

Json PodDisruptionBudget(const ClusterSpec& c, const std::string& dc) {
  Json pdb = Object("policy/v1", "PodDisruptionBudget", Metadata(c, PdbName(c, dc), dc));
  pdb["spec"] = {{"maxUnavailable", 1}, {"selector", {{"matchLabels", PodSelector(c, dc)}}}};
  return pdb;
}

Json AgentNetworkPolicy(const ClusterSpec& c, const OperatorPods& operator_pods) {
  Json policy =
      Object("networking.k8s.io/v1", "NetworkPolicy", Metadata(c, AgentNetworkPolicyName(c)));
  const Json cluster_pods = {{"matchLabels", {{kLabelCluster, c.name}}}};
  auto ports = [](const char* protocol, int from, int to) {
    Json p = {{"protocol", protocol}, {"port", from}};
    if (to > from) p["endPort"] = to;
    return p;
  };
  constexpr int kAgent = agent::api::kAgentPort;
  policy["spec"] = {
      {"podSelector", cluster_pods},
      {"policyTypes", {"Ingress"}},
      {"ingress",
       {{{"ports",
          {ports("TCP", 1, kAgent - 1), ports("TCP", kAgent + 1, 65535), ports("UDP", 1, 65535)}}},
        {{"from",
          {{{"namespaceSelector",
             {{"matchLabels", {{"kubernetes.io/metadata.name", operator_pods.ns}}}}},
            {"podSelector", {{"matchLabels", operator_pods.labels}}}},
           {{"podSelector", cluster_pods}}}},
         {"ports", {ports("TCP", kAgent, kAgent)}}}}}};
  return policy;
}

Json CassandraServiceAccount(const ClusterSpec& c) {
  Json sa = Object("v1", "ServiceAccount", Metadata(c, ServiceAccountName(c)));
  // Neither Cassandra nor the agent talks to the Kubernetes API: no token in the pods.
  sa["automountServiceAccountToken"] = false;
  return sa;
}

Json OwnedSecret(const ClusterSpec& c, const std::string& name,
                 const std::map<std::string, std::string>& data) {
  Json s = Object("v1", "Secret", Metadata(c, name));
  s["type"] = "Opaque";
  s["data"] = Json::object();
  for (const auto& [key, bytes] : data) s["data"][key] = absl::Base64Escape(bytes);
  return s;
}

Json AgentTokenSecret(const ClusterSpec& c, const std::map<std::string, std::string>& data) {
  return OwnedSecret(c, AgentTokenSecretName(c), data);
}

Json StorageCredentialsSecret(const ClusterSpec& c,
                              const std::map<std::string, std::string>& files) {
  Json s = Object("v1", "Secret", Metadata(c, StorageCredentialsSecretName(c)));
  s["type"] = "Opaque";
  s["data"] = Json::object();
  for (const auto& [name, content] : files) s["data"][name] = absl::Base64Escape(content);
  return s;
}

Json SuperuserSecret(const ClusterSpec& c, const std::string& username,
                     const std::string& password) {
  Json s = Object("v1", "Secret", Metadata(c, c.superuser_secret));
  s["type"] = "kubernetes.io/basic-auth";
  s["stringData"] = {{"username", username}, {"password", password}};
  return s;
}

Json ConfigConfigMap(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                     const Json& rack_overrides) {
  Json merged = rack_overrides.is_object() ? rack_overrides : Json::object();
  merged.merge_patch(c.config);
  // spec.tls's encryption options win over the user's own (node_tls.h).
  merged.merge_patch(EncryptionOptions(c.tls));
  Json cm = Object("v1", "ConfigMap", Metadata(c, ConfigConfigMapName(c, dc, rack), dc, rack));
  cm["data"] = {{"cassandra.yaml", merged.dump(2) + "\n"}};
  return cm;
}

agent::api::InitSettings MemberSettings(const ClusterSpec& c, const std::string& dc,
                                        const std::string& rack,
                                        const std::vector<std::string>& seeds,
                                        const MemberPlan& member) {
  agent::api::InitSettings s;
  s.cluster_name = c.name;
  s.dc = dc;
  s.rack = rack;
  s.seeds = seeds;
  s.broadcast_address = member.broadcast_ip;
  s.rpc_address = "0.0.0.0";
  s.broadcast_rpc_address = member.broadcast_ip;
  s.initial_tokens = member.initial_tokens;
  s.auto_bootstrap = member.auto_bootstrap;
  s.data_dir = kDataDir;
  s.member_joined_before = member.joined_before;
  s.restore = member.restore;
  s.commitlog_archive = member.commitlog_archive;
  s.replay = member.replay;
  if (!c.heap_size.empty()) s.heap_bytes = std::max<int64_t>(0, ParseByteQuantity(c.heap_size));
  s.jolokia_jar = kJolokiaJar;
  s.extra_jvm_options = c.jvm_extra_options;
  return s;
}

Json MembersConfigMap(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                      const std::map<std::string, agent::api::InitSettings>& members) {
  Json cm = Object("v1", "ConfigMap", Metadata(c, MembersConfigMapName(c, dc, rack), dc, rack));
  cm["data"] = Json::object();
  for (const auto& [pod, settings] : members) {
    cm["data"][pod + ".json"] = Json(settings).dump(2) + "\n";
  }
  return cm;
}

namespace {

// The init containers: base-config copies the image's conf (and the jar listing its
// cassandra.yaml keys); agent-init renders this member's conf from it (agent init).
Json InitContainers(const ClusterSpec& c, const std::string& data_volume) {
  const std::string init_command =
      absl::StrCat("cp /opt/ringkeeper/jolokia-agent*.jar /ringkeeper/ && ",
                   "exec ringkeeper-agent init --base-conf /base-conf --out-conf /conf",
                   " --settings /etc/ringkeeper/members/$(POD_NAME).json",
                   " --overrides /etc/ringkeeper/config/cassandra.yaml",
                   " --cassandra-lib /base-conf/lib --keys-out /ringkeeper/config-keys.txt",
                   " --listen-address $(POD_IP)", " --memory-limit $(CASSANDRA_MEMORY_LIMIT)");
  Json base_config = {{"name", "base-config"},
                      {"image", c.image},
                      {"command",
                       {"sh", "-c",
                        // The jar holding Config.class, which agent init lists the
                        // cassandra.yaml keys from: apache-cassandra-<v>.jar in the official
                        // image, cassandra-all-<v>.jar in ours. In lib/: init copies only the
                        // top-level files of /base-conf. Beside it, the Java version, which
                        // agent init picks the Jolokia jar by (empty if java fails: the jar
                        // for any Java is taken).
                        "cp -R /etc/cassandra/. /base-conf/ && mkdir -p /base-conf/lib && "
                        "for j in /opt/cassandra/lib/apache-cassandra-*.jar "
                        "/opt/cassandra/lib/cassandra-all-*.jar; do "
                        "if [ -f \"$j\" ]; then cp \"$j\" /base-conf/lib/ || exit 1; fi; done && "
                        "{ java -XshowSettings:properties -version 2>&1 | "
                        "sed -n 's/^ *java.specification.version = //p'; } "
                        "> /base-conf/lib/java-specification-version"}},
                      {"securityContext", RestrictedContainerSecurity()},
                      {"volumeMounts", {Mount("base-conf", "/base-conf")}}};
  Json agent_init = {
      {"name", "agent-init"},
      {"image", c.agent_image},
      {"command", {"sh", "-c", init_command}},
      {"env",
       {EnvFromField("POD_NAME", "metadata.name"),
        EnvFromField("POD_IP", "status.podIP"),
        {{"name", "CASSANDRA_MEMORY_LIMIT"},
         {"valueFrom",
          {{"resourceFieldRef",
            {{"containerName", kCassandraContainer}, {"resource", "limits.memory"}}}}}}}},
      {"securityContext", RestrictedContainerSecurity()},
      {"volumeMounts",
       {Mount("base-conf", "/base-conf", true), Mount("conf", "/conf"),
        Mount("ringkeeper", "/ringkeeper"), Mount(data_volume.c_str(), kDataDir),
        Mount("members", "/etc/ringkeeper/members", true),
        Mount("config", "/etc/ringkeeper/config", true)}}};
  // A Cluster created from a backup fetches each member's files before Cassandra first starts;
  // one archiving its commit log fetches a replay's segments. Only then: a new mount in the
  // template would roll every other Cluster's pods.
  if (c.restore_from.set() || !c.commit_log_archive.empty()) {
    agent_init["volumeMounts"].push_back(
        Mount("storage-credentials", kStorageCredentialsDir, true));
    for (const StorageLocationSpec& l : c.storage_locations) {
      if (!l.IsFilesystem()) continue;
      agent_init["volumeMounts"].push_back(
          Mount(LocationVolumeName(l.name).c_str(), LocationMountPath(l.name).c_str(), true));
    }
  }

  return Json::array({base_config, agent_init});
}

Json CassandraContainer(const ClusterSpec& c, const RackSpec& rack,
                        const std::string& data_volume) {
  return {
      {"name", kCassandraContainer},
      {"image", c.image},
      // Not the image's entrypoint: it would rewrite cassandra.yaml from CASSANDRA_* variables.
      {"command", {"cassandra", "-f"}},
      {"env", {{{"name", "CASSANDRA_CONF"}, {"value", "/etc/cassandra"}}}},
      {"ports",
       {{{"name", "intra"}, {"containerPort", 7000}}, {{"name", "cql"}, {"containerPort", 9042}}}},
      {"resources", rack.resources.is_object() ? rack.resources : Json::object()},
      // Ready means "UN as its peers see it" (the agent's /readyz), not "the port is open".
      {"readinessProbe", HttpProbe(agent::api::kReadyz, 5, 3, 8)},
      // A node may take minutes to start or bootstrap; only then is it watched for liveness.
      {"startupProbe",
       {{"tcpSocket", {{"port", 7000}}}, {"periodSeconds", 10}, {"failureThreshold", 90}}},
      {"livenessProbe",
       {{"tcpSocket", {{"port", 7000}}}, {"periodSeconds", 15}, {"failureThreshold", 4}}},
      // Flush memtables and leave gossip cleanly before the process stops.
      {"lifecycle", {{"preStop", {{"exec", {{"command", {"nodetool", "drain"}}}}}}}},
      {"securityContext", RestrictedContainerSecurity()},
      {"volumeMounts",
       {Mount("conf", "/etc/cassandra"), Mount(data_volume.c_str(), kDataDir),
        Mount("ringkeeper", "/opt/ringkeeper", true)}}};
}

Json AgentContainer(const ClusterSpec& c, const std::string& dc, const RackSpec& rack,
                    const std::string& data_volume) {
  Json agent = {
      {"name", kAgentContainer},
      {"image", c.agent_image},
      {"args",
       {"serve", "--listen=0.0.0.0", absl::StrCat("--port=", agent::api::kAgentPort),
        "--token-file=/etc/ringkeeper/token/token",
        // Mutual TLS on the API port: the Cluster's agent CA, the agents' shared certificate
        // (agent_credentials.h); the probes and /metrics in plain HTTP on the health port.
        "--tls-cert=/etc/ringkeeper/token/tls.crt", "--tls-key=/etc/ringkeeper/token/tls.key",
        "--client-ca=/etc/ringkeeper/token/ca.crt",
        absl::StrCat("--health-port=", agent::api::kHealthPort),
        absl::StrCat("--jolokia-port=", agent::api::kJolokiaPort),
        absl::StrCat("--data-dir=", kDataDir), "--cluster=" + c.name, "--dc=" + dc,
        "--rack=" + rack.name, "--pod=$(POD_NAME)",
        "--cql-credentials-dir=/etc/ringkeeper/superuser",
        // What init derived from this image's jar: the operator checks spec.config against it.
        "--config-keys-file=/opt/ringkeeper/config-keys.txt"}},
      {"env", {EnvFromField("POD_NAME", "metadata.name")}},
      {"ports",
       {{{"name", "agent"}, {"containerPort", agent::api::kAgentPort}},
        {{"name", "metrics"}, {"containerPort", agent::api::kHealthPort}}}},
      {"readinessProbe", HttpProbe(agent::api::kHealthz, 10, 3, 3)},
      {"livenessProbe", HttpProbe(agent::api::kHealthz, 20, 3, 5)},
      {"resources",
       {{"requests", {{"cpu", "50m"}, {"memory", "64Mi"}}}, {"limits", {{"memory", "256Mi"}}}}},
      {"securityContext", RestrictedContainerSecurity()},
      // The data volume writable: a restore stages the backup's files there (same filesystem:
      // Cassandra's import moves them into the tables).
      {"volumeMounts",
       {Mount(data_volume.c_str(), kDataDir, false), Mount("token", "/etc/ringkeeper/token", true),
        Mount("superuser", "/etc/ringkeeper/superuser", true),
        Mount("ringkeeper", "/opt/ringkeeper", true),
        Mount("storage-credentials", kStorageCredentialsDir, true)}}};
  // Filesystem storage locations: the agent writes backups there and serves the operator's
  // reads and writes (agent::api::kStorage).
  for (const StorageLocationSpec& l : c.storage_locations) {
    if (!l.IsFilesystem()) continue;
    agent["volumeMounts"].push_back(
        Mount(LocationVolumeName(l.name).c_str(), LocationMountPath(l.name).c_str(), false));
  }
  // Cassandra's conf: the agent changes its seeds while a peer replaces its own address
  // (api::kSeeds) and removes a replay's restore settings.
  agent["args"].push_back("--conf-dir=/etc/cassandra");
  agent["volumeMounts"].push_back(Mount("conf", "/etc/cassandra", false));
  // Commit log archiving: the sidecar ships the segments its member's settings say where to.
  // Only for such a Cluster (turning archiving on rolls the pods anyway: Cassandra reads its
  // archive_command at start).
  if (!c.commit_log_archive.empty()) {
    agent["args"].push_back("--settings=/etc/ringkeeper/members/$(POD_NAME).json");
    agent["volumeMounts"].push_back(Mount("members", "/etc/ringkeeper/members", true));
  }
  return agent;
}

Json PodSpec(const ClusterSpec& c, const std::string& dc, const RackSpec& rack,
             const std::string& data_volume) {
  Json pod_spec = {
      {"serviceAccountName", ServiceAccountName(c)},
      {"automountServiceAccountToken", false},
      // Long enough for `nodetool drain` on a busy node.
      {"terminationGracePeriodSeconds", 120},
      {"securityContext",
       {{"runAsUser", 999},
        {"runAsGroup", 999},
        {"fsGroup", 999},
        {"fsGroupChangePolicy", "OnRootMismatch"},
        {"runAsNonRoot", true},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"initContainers", InitContainers(c, data_volume)},
      {"containers",
       {CassandraContainer(c, rack, data_volume), AgentContainer(c, dc, rack, data_volume)}},
      {"volumes",
       {{{"name", "base-conf"}, {"emptyDir", Json::object()}},
        {{"name", "conf"}, {"emptyDir", Json::object()}},
        {{"name", "ringkeeper"}, {"emptyDir", Json::object()}},
        {{"name", "members"}, {"configMap", {{"name", MembersConfigMapName(c, dc, rack.name)}}}},
        {{"name", "config"}, {"configMap", {{"name", ConfigConfigMapName(c, dc, rack.name)}}}},
        // The agents' Secret, but its CA's key and the operator's certificate.
        {{"name", "token"},
         {"secret",
          {{"secretName", AgentTokenSecretName(c)},
           {"defaultMode", 0440},
           {"items", Json::array({{{"key", kAgentSecretToken}, {"path", "token"}},
                                  {{"key", kAgentSecretCa}, {"path", "ca.crt"}},
                                  {{"key", kAgentSecretCert}, {"path", "tls.crt"}},
                                  {{"key", kAgentSecretKey}, {"path", "tls.key"}}})}}}},
        {{"name", "superuser"},
         {"secret", {{"secretName", c.superuser_secret}, {"defaultMode", 0440}}}},
        // Written when a backup starts (the operator copies the location's credentials), so
        // optional: a Cluster that never backs up has none, and adding a location rolls no pod
        // (kubelet refreshes the files in place).
        {{"name", "storage-credentials"},
         {"secret",
          {{"secretName", StorageCredentialsSecretName(c)},
           {"defaultMode", 0440},
           {"optional", true}}}}}}};
  for (const StorageLocationSpec& l : c.storage_locations) {
    if (!l.IsFilesystem()) continue;
    pod_spec["volumes"].push_back(
        {{"name", LocationVolumeName(l.name)},
         {"persistentVolumeClaim", {{"claimName", l.filesystem.claim_name}}}});
  }
  if (c.tls.enabled) {
    // spec.tls: the nodes' certificate (node_tls.h), never the CA's key. The agent reads the CA
    // for its own CQL sessions.
    pod_spec["volumes"].push_back(
        {{"name", "node-tls"},
         {"secret",
          {{"secretName", NodeTlsSecretName(c)},
           {"defaultMode", 0440},
           {"items", Json::array({{{"key", kNodeTlsCa}, {"path", kNodeTlsCa}},
                                  {{"key", kNodeTlsPem}, {"path", kNodeTlsPem}}})}}}});
    for (Json& container : pod_spec["containers"]) {
      container["volumeMounts"].push_back(Mount("node-tls", kNodeTlsDir, true));
      if (container["name"] == kAgentContainer && c.tls.client) {
        container["args"].push_back(absl::StrCat("--cql-tls-ca=", kNodeTlsDir, "/", kNodeTlsCa));
        container["args"].push_back("--cql-tls-name=" + NodeTlsServerName(c));
      }
    }
  }
  pod_spec["affinity"] = Affinity(c, dc, rack.placement);
  pod_spec["topologySpreadConstraints"] = TopologySpreadConstraints(c, dc);
  if (rack.placement.is_object()) {
    for (const char* key : {"tolerations", "topologySpreadConstraints"}) {
      if (rack.placement.contains(key)) pod_spec[key] = rack.placement[key];
    }
  }

  return pod_spec;
}

}  // namespace

Json RackStatefulSet(const ClusterSpec& c, const std::string& dc, const RackSpec& rack,
                     int replicas, const std::string& config_hash) {
  const std::string name = StatefulSetName(c, dc, rack.name);
  const std::string data_volume = kube::StringField(rack.volume_claim_template["metadata"], "name");
  const Json pod_labels = ClusterLabels(c, dc, rack.name);
  const Json pod_spec = PodSpec(c, dc, rack, data_volume);
  // spec.annotations first, so the operator's own keys win over a user's of the same name.
  Json pod_annotations = c.pod_annotations;
  pod_annotations[kAnnotationConfigHash] = config_hash;
  // How the operator speaks to this template's agents (a pod of an older one: plain HTTP).
  pod_annotations[kAnnotationAgentTls] = kAgentTlsMutual;
  // A new value is a new template revision: RollPods restarts the pods one at a time.
  if (!c.restarted_at.empty()) pod_annotations[kAnnotationRestartedAt] = c.restarted_at;

  Json sts = Object("apps/v1", "StatefulSet", Metadata(c, name, dc, rack.name));
  const char* pvc_policy = c.delete_pvcs ? "Delete" : "Retain";
  sts["spec"] = {{"replicas", replicas},
                 {"serviceName", HeadlessServiceName(c, dc)},
                 {"podManagementPolicy", "Parallel"},
                 // The operator restarts pods itself, one at a time, when the node is safe to stop.
                 {"updateStrategy", {{"type", "OnDelete"}}},
                 {"persistentVolumeClaimRetentionPolicy",
                  {{"whenDeleted", pvc_policy}, {"whenScaled", pvc_policy}}},
                 {"selector", {{"matchLabels", PodSelector(c, dc, rack.name)}}},
                 {"template",
                  {{"metadata", {{"labels", pod_labels}, {"annotations", pod_annotations}}},
                   {"spec", pod_spec}}},
                 {"volumeClaimTemplates",
                  {{{"metadata", {{"name", data_volume}, {"labels", pod_labels}}},
                    {"spec", rack.volume_claim_template["spec"]}}}}};
  return sts;
}

std::string HashOf(const Json& value) {
  const std::string text = value.dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < 8 && i < length; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

Json WithAppliedHash(Json object) {
  if (object["metadata"].contains("annotations")) {
    object["metadata"]["annotations"].erase(kAnnotationAppliedHash);
    // An annotations map left empty hashes as no map: hashing again gives the same hash.
    if (object["metadata"]["annotations"].empty()) object["metadata"].erase("annotations");
  }
  const std::string hash = HashOf(object);
  object["metadata"]["annotations"][kAnnotationAppliedHash] = hash;
  return object;
}

bool AppliedFrom(const Json& desired_with_hash, const kube::Object& observed) {
  const auto want =
      kube::StringField(desired_with_hash["metadata"]["annotations"], kAnnotationAppliedHash);
  const auto have = observed.annotation(kAnnotationAppliedHash);
  return have.has_value() && *have == want;
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return absl::StrFormat("%.1f %s", v, units[u]);
}

int64_t ParseByteQuantity(const std::string& quantity) {
  static const std::pair<const char*, double> kSuffixes[] = {{"Ki", 1024.0},
                                                             {"Mi", 1024.0 * 1024},
                                                             {"Gi", 1024.0 * 1024 * 1024},
                                                             {"Ti", 1024.0 * 1024 * 1024 * 1024},
                                                             {"k", 1e3},
                                                             {"K", 1e3},
                                                             {"M", 1e6},
                                                             {"G", 1e9},
                                                             {"T", 1e12}};
  for (const auto& [suffix, factor] : kSuffixes) {
    const std::string s(suffix);
    if (quantity.size() > s.size() &&
        quantity.compare(quantity.size() - s.size(), s.size(), s) == 0) {
      double number = 0;
      if (!absl::SimpleAtod(quantity.substr(0, quantity.size() - s.size()), &number)) return -1;
      return static_cast<int64_t>(std::llround(number * factor));
    }
  }
  int64_t bytes = 0;
  return absl::SimpleAtoi(quantity, &bytes) ? bytes : -1;
}

}  // namespace ringkeeper
