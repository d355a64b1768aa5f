// kubectl-ringkeeper: the kubectl plugin (`kubectl ringkeeper ...` once it is on PATH). Reads and
// writes the API objects a user would with kubectl — the operator does the work and refuses
// what is unsafe — and, for cqlsh, runs `kubectl exec` into a Cassandra pod with the Cluster's
// superuser credentials. Wiring only: the views and requests are view.cc and requests.cc.
#include <openssl/rand.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/v1alpha1/backup.h"
#include "api/v1alpha1/cluster.h"
#include "api/v1alpha1/naming.h"
#include "api/v1alpha1/repair.h"
#include "api/v1alpha1/restore.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "plugin/completion.h"
#include "plugin/requests.h"
#include "plugin/view.h"

namespace ringkeeper::plugin {
namespace {

namespace res = kube::resources;
using kube::Json;

struct Global {
  std::string kubeconfig;
  std::string context;
  std::string ns;
};

// The API server as kubectl would reach it: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config (or in-cluster); --context, else the current one; -n, else the context's.
struct Session {
  kube::RestConfig config;
  std::string ns;
  std::unique_ptr<kube::Client> client;
};

// The kubeconfig file kubectl would read: --kubeconfig, else the first of $KUBECONFIG, else
// ~/.kube/config.
std::string KubeconfigPath(const Global& g) {
  if (!g.kubeconfig.empty()) return g.kubeconfig;
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    const std::string all(env);
    return all.substr(0, all.find(':'));
  }
  return absl::StrCat(std::getenv("HOME") ? std::getenv("HOME") : "", "/.kube/config");
}

absl::StatusOr<Session> Connect(const Global& g) {
  // In a pod with no kubeconfig named, the pod's service account (as kubectl does).
  absl::StatusOr<kube::RestConfig> config =
      g.kubeconfig.empty() && g.context.empty()
          ? kube::LoadDefaultConfig()
          : kube::LoadKubeconfig(KubeconfigPath(g), g.context);
  if (!config.ok()) return config.status();
  Session s;
  s.config = *std::move(config);
  s.config.user_agent = "kubectl-ringkeeper";
  s.ns = g.ns.empty() ? s.config.ns : g.ns;
  s.client = std::make_unique<kube::Client>(s.config);
  return s;
}

std::vector<Json> Items(const absl::StatusOr<kube::ObjectList>& list) {
  std::vector<Json> out;
  if (!list.ok()) return out;  // a kind the cluster does not serve (yet): nothing of it
  for (const auto& o : list->items) out.push_back(o.json());
  return out;
}

int Fail(const absl::Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return 1;
}

int Status(Session& s, const std::string& cluster) {
  std::vector<Json> clusters;
  if (!cluster.empty()) {
    auto c = s.client->Get(kClusters, s.ns, cluster);
    if (!c.ok()) return Fail(c.status());
    clusters.push_back(c->json());
  } else {
    auto list = s.client->List(kClusters, s.ns);
    if (!list.ok()) return Fail(list.status());
    for (const auto& o : list->items) clusters.push_back(o.json());
    if (clusters.empty()) {
      std::cout << "No Cluster in namespace " << s.ns << "\n";
      return 0;
    }
  }
  const std::vector<Json> repairs = Items(s.client->List(kRepairs, s.ns));
  const std::vector<Json> backups = Items(s.client->List(kBackups, s.ns));
  for (size_t i = 0; i < clusters.size(); ++i) {
    std::cout << (i ? "\n" : "") << RingView(clusters[i], repairs, backups);
  }
  return 0;
}

int Restart(Session& s, const std::string& cluster) {
  auto patched = s.client->MergePatch(kClusters, s.ns, cluster, RestartPatch(absl::Now()));
  if (!patched.ok()) return Fail(patched.status());
  std::cout << "cluster/" << cluster << ": restart requested ("
            << patched->annotation(kAnnotationRestartedAt).value_or("") << "); the operator "
            << "restarts every pod, one at a time, each once the ring is UN everywhere\n";
  return 0;
}

int Replace(Session& s, const std::string& pod_name) {
  auto pod = s.client->Get(res::kPods, s.ns, pod_name);
  if (!pod.ok()) return Fail(pod.status());
  auto cluster = ClusterOfPod(pod->json());
  if (!cluster.ok()) return Fail(cluster.status());
  auto patched = s.client->MergePatch(res::kPods, s.ns, pod_name, ReplacePatch());
  if (!patched.ok()) return Fail(patched.status());
  std::cout << "pod/" << pod_name << " of cluster/" << *cluster
            << ": replacement requested; the operator replaces the member when it is safe (its "
            << "volume and pod deleted, the node re-bootstrapped with its address); watch it "
            << "with `kubectl ringkeeper status " << *cluster << "`\n";
  return 0;
}

// Creates `object`, then with `wait` follows it until Complete or Failed.
int CreateAndFollow(Session& s, const kube::Resource& r, const Json& object, bool wait) {
  auto created = s.client->Create(r, kube::Object(object));
  if (!created.ok()) return Fail(created.status());
  const std::string what = absl::StrCat(absl::AsciiStrToLower(r.kind), "/", created->name());
  std::cout << what << " created\n";
  if (!wait) return 0;
  std::string last;
  while (true) {
    auto now = s.client->Get(r, s.ns, created->name());
    if (!now.ok()) return Fail(now.status());
    const std::string progress = Progress(now->json());
    if (progress != last) std::cout << what << ": " << progress << "\n" << std::flush;
    last = progress;
    if (Finished(now->json())) {
      return kube::StringField(now->json()["status"], "phase") == "Complete" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));  // a poll of a long operation
  }
}

// Runs `kubectl` with the session's flags and `args`; `input` (if any) on its stdin. Returns
// its exit code.
int Kubectl(const Global& g, const std::string& ns, const std::vector<std::string>& args,
            const std::optional<std::string>& input) {
  std::vector<std::string> argv = {std::getenv("KUBECTL") ? std::getenv("KUBECTL") : "kubectl"};
  if (!g.kubeconfig.empty()) argv.push_back("--kubeconfig=" + g.kubeconfig);
  if (!g.context.empty()) argv.push_back("--context=" + g.context);
  argv.push_back("--namespace=" + ns);
  argv.insert(argv.end(), args.begin(), args.end());
  int fds[2] = {-1, -1};
  if (input && pipe(fds) != 0) return 127;
  const pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    if (input) {
      dup2(fds[0], STDIN_FILENO);
      close(fds[0]);
      close(fds[1]);
    }
    std::vector<char*> c_argv;
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    execvp(c_argv[0], c_argv.data());
    std::perror(("kubectl-ringkeeper: " + argv[0]).c_str());
    _exit(127);
  }
  if (input) {
    close(fds[0]);
    size_t off = 0;
    while (off < input->size()) {
      const ssize_t n = write(fds[1], input->data() + off, input->size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fds[1]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A Ready Cassandra pod of `cluster` (the first by name), or `target` itself when it is a pod.
absl::StatusOr<std::pair<std::string, std::string>> PodAndCluster(Session& s,
                                                                  const std::string& target) {
  if (auto c = s.client->Get(kClusters, s.ns, target); c.ok()) {
    kube::ListOptions options;
    options.label_selector = absl::StrCat(kLabelCluster, "=", target);
    auto pods = s.client->List(res::kPods, s.ns, options);
    if (!pods.ok()) return pods.status();
    for (const auto& p : pods->items) {
      for (const Json& cond : kube::FieldAt(p.json(), {"status", "conditions"})) {
        if (kube::StringField(cond, "type") == "Ready" &&
            kube::StringField(cond, "status") == "True") {
          return std::make_pair(p.name(), target);
        }
      }
    }
    return absl::UnavailableError(absl::StrCat("cluster/", target, " has no Ready pod"));
  } else if (!absl::IsNotFound(c.status())) {
    return c.status();
  }
  auto pod = s.client->Get(res::kPods, s.ns, target);
  if (!pod.ok()) {
    return absl::NotFoundError(
        absl::StrCat("no Cluster and no pod named ", target, " in namespace ", s.ns));
  }
  auto cluster = ClusterOfPod(pod->json());
  if (!cluster.ok()) return cluster.status();
  return std::make_pair(target, *cluster);
}

int Cqlsh(const Global& g, Session& s, const std::string& target,
          const std::vector<std::string>& cqlsh_args) {
  // CLI11 hands the "--" that separates cqlsh's arguments over with them.
  std::vector<std::string> args = cqlsh_args;
  if (!args.empty() && args.front() == "--") args.erase(args.begin());
  auto where = PodAndCluster(s, target);
  if (!where.ok()) return Fail(where.status());
  const auto& [pod, cluster_name] = *where;
  auto cluster = s.client->Get(kClusters, s.ns, cluster_name);
  if (!cluster.ok()) return Fail(cluster.status());
  auto spec = ParseCluster(*cluster, Defaults{});
  if (!spec.ok()) return Fail(spec.status());
  auto secret = s.client->Get(res::kSecrets, s.ns, spec->superuser_secret);
  if (!secret.ok()) return Fail(secret.status());
  std::string user, password;
  const Json& data = secret->json()["data"];
  if (!absl::Base64Unescape(kube::StringField(data, "username"), &user) ||
      !absl::Base64Unescape(kube::StringField(data, "password"), &password) || user.empty()) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat("secret/", spec->superuser_secret, " has no username and password")));
  }
  unsigned char random[8];
  RAND_bytes(random, sizeof random);
  const std::string file = absl::StrCat(
      "/tmp/ringkeeper-cqlsh-",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(random), sizeof random)));
  std::vector<std::string> write = {"exec", "-i", pod, "-c", "cassandra", "--"};
  for (const auto& a : CqlshWriteCommand(file)) write.push_back(a);
  if (int rc = Kubectl(g, s.ns, write, CqlshCredentials(user, password)); rc != 0) {
    std::cerr << "error: could not write cqlsh's credentials in pod " << pod << "\n";
    return rc;
  }
  // Interactive (a terminal when this one is) unless statements come from -e or -f.
  std::vector<std::string> run = {"exec", "-i"};
  if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) run.push_back("-t");
  for (const auto& a : {pod, std::string("-c"), std::string("cassandra"), std::string("--")}) {
    run.push_back(a);
  }
  for (const auto& a : CqlshRunCommand(file, args)) run.push_back(a);
  return Kubectl(g, s.ns, run, std::nullopt);
}

int Main(int argc, char** argv) {
  CLI::App app{
      "kubectl ringkeeper: Ringkeeper's Cassandra clusters from kubectl (status, restart, "
      "replace, cqlsh, repair, backup, restore)",
      "kubectl-ringkeeper"};
  app.require_subcommand(1);
  app.fallthrough();  // -n, --context, --kubeconfig also after the command, as kubectl allows
  Global g;
  app.add_option("--kubeconfig", g.kubeconfig,
                 "the kubeconfig file (default: $KUBECONFIG, "
                 "~/.kube/config)");
  app.add_option("--context", g.context, "the kubeconfig context (default: the current one)");
  app.add_option("-n,--namespace", g.ns, "the namespace (default: the context's)");

  std::string cluster, pod, target, name, location, backup, point_in_time, shell;
  std::vector<std::string> keyspaces, tables, cqlsh_args;
  RepairOptions repair;
  bool wait = false;

  auto* status = app.add_subcommand("status",
                                    "the ring of a Cluster (or of every Cluster in "
                                    "the namespace) across data centers and racks");
  status->add_option("cluster", cluster, "the Cluster");
  auto* restart = app.add_subcommand("restart", "restart every pod of a Cluster, one at a time");
  restart->add_option("cluster", cluster, "the Cluster")->required();
  auto* replace = app.add_subcommand(
      "replace", "replace a member: its volume and pod deleted, re-bootstrapped with its address");
  replace->add_option("pod", pod, "the member's pod")->required();
  auto* cqlsh = app.add_subcommand(
      "cqlsh",
      "cqlsh in a Cassandra pod as the Cluster's superuser (arguments after -- go "
      "to cqlsh, e.g. -- -e 'DESCRIBE KEYSPACES')");
  cqlsh->add_option("target", target, "a Cluster (any Ready pod of it) or a pod")->required();
  cqlsh->add_option("cqlsh-args", cqlsh_args, "cqlsh's own arguments");
  cqlsh->positionals_at_end();

  auto* repair_cmd = app.add_subcommand("repair", "create a Repair of a Cluster");
  repair_cmd->add_option("cluster", cluster, "the Cluster")->required();
  repair_cmd->add_option("-k,--keyspace", repair.keyspaces, "a keyspace (repeat; default all)");
  repair_cmd->add_option("-t,--table", repair.tables, "a table of the one keyspace (repeat)");
  repair_cmd->add_option("--type", repair.type, "full (default), incremental or preview")
      ->check(CLI::IsMember({"full", "incremental", "preview"}));
  repair_cmd->add_option("--parallelism", repair.parallelism, "sequential, parallel or dc-parallel")
      ->check(CLI::IsMember({"sequential", "parallel", "dc-parallel"}));
  repair_cmd->add_option("--intensity", repair.intensity, "(0, 1]: the share of time repairing")
      ->check(CLI::Range(0.0, 1.0));
  repair_cmd
      ->add_option("--segments-per-node", repair.segments_per_node,
                   "segments per node (default 16; fewer for small tables)")
      ->check(CLI::Range(1, 1024));

  auto* backup_cmd = app.add_subcommand("backup", "create a Backup of a Cluster");
  backup_cmd->add_option("cluster", cluster, "the Cluster")->required();
  backup_cmd->add_option("-l,--location", location, "the storage location (spec.storageLocations)")
      ->required();
  backup_cmd->add_option("-k,--keyspace", keyspaces, "a keyspace (repeat; default all)");

  auto* restore_cmd = app.add_subcommand("restore", "create a Restore of a Cluster from a Backup");
  restore_cmd->add_option("cluster", cluster, "the Cluster")->required();
  restore_cmd->add_option("-b,--backup", backup, "the Backup")->required();
  restore_cmd->add_option("-k,--keyspace", keyspaces, "a keyspace (repeat; default all)");
  restore_cmd->add_option("--point-in-time", point_in_time,
                          "restore to this time (RFC 3339, whole seconds, UTC)");
  for (auto* c : {repair_cmd, backup_cmd, restore_cmd}) {
    c->add_option("--name", name, "the object's name (default <cluster>-<kind>-<time>)");
    c->add_flag("-w,--wait", wait, "follow it until Complete or Failed (exit 1 on Failed)");
  }
  auto* completion = app.add_subcommand("completion", "print a shell completion script");
  completion->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));

  CLI11_PARSE(app, argc, argv);
  if (completion->parsed()) {
    std::cout << CompletionScript(shell);
    return 0;
  }
  auto session = Connect(g);
  if (!session.ok()) return Fail(session.status());
  Session& s = *session;
  const absl::Time now = absl::Now();
  if (status->parsed()) return Status(s, cluster);
  if (restart->parsed()) return Restart(s, cluster);
  if (replace->parsed()) return Replace(s, pod);
  if (cqlsh->parsed()) return Cqlsh(g, s, target, cqlsh_args);
  if (repair_cmd->parsed()) {
    if (name.empty()) name = GeneratedName(cluster, "repair", now);
    return CreateAndFollow(s, kRepairs, RepairManifest(s.ns, name, cluster, repair), wait);
  }
  if (backup_cmd->parsed()) {
    if (name.empty()) name = GeneratedName(cluster, "backup", now);
    return CreateAndFollow(s, kBackups, BackupManifest(s.ns, name, cluster, location, keyspaces),
                           wait);
  }
  if (restore_cmd->parsed()) {
    if (name.empty()) name = GeneratedName(cluster, "restore", now);
    return CreateAndFollow(
        s, kRestores, RestoreManifest(s.ns, name, cluster, backup, keyspaces, point_in_time), wait);
  }
  return 2;
}

}  // namespace
}  // namespace ringkeeper::plugin

int main(int argc, char** argv) { return ringkeeper::plugin::Main(argc, argv); }
