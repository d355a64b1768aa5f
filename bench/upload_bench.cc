// The backup uploader's throughput: one node's snapshot-like files (a few large SSTables and
// many small components) uploaded to an S3 server with the agent's uploader (hashing,
// content-addressed keys, multipart, `parallelism` files at once), then a second backup of the
// same files (nothing should be sent). bench/run.sh runs it beside a plain S3 client on the same
// server and data. Prints "figure <name> <value>" lines; asserts nothing about time.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "backup/uploader.h"
#include "s3/client.h"

namespace fs = std::filesystem;

namespace {

// `count` files of `size` bytes of incompressible content under `dir`.
std::vector<backup::LocalFile> WriteFiles(const fs::path& dir, const std::string& prefix, int count,
                                          int64_t size, std::mt19937_64& random) {
  std::vector<backup::LocalFile> files;
  std::vector<uint64_t> block(1 << 17);  // 1 MiB
  for (int i = 0; i < count; ++i) {
    const std::string name = absl::StrCat(prefix, "-", i, "-big-Data.db");
    std::ofstream out(dir / name, std::ios::binary);
    for (int64_t left = size; left > 0;) {
      for (auto& word : block) word = random();
      const int64_t n = std::min<int64_t>(left, static_cast<int64_t>(block.size() * 8));
      out.write(reinterpret_cast<const char*>(block.data()), n);
      left -= n;
    }
    files.push_back({"bench", "t-1", name, (dir / name).string()});
  }
  return files;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("upload benchmark");
  std::string endpoint, bucket = "bench", dir = "/tmp/ringkeeper-upload-bench";
  int parallelism = 4, large = 4, small = 400;
  int64_t large_mib = 64, small_kib = 256;
  app.add_option("--endpoint", endpoint, "http://host:port of the S3 server")->required();
  app.add_option("--bucket", bucket);
  app.add_option("--dir", dir, "where the files are written (kept for the other clients)");
  app.add_option("--parallelism", parallelism);
  app.add_option("--large", large, "large files");
  app.add_option("--large-mib", large_mib);
  app.add_option("--small", small, "small files");
  app.add_option("--small-kib", small_kib);
  CLI11_PARSE(app, argc, argv);
  const char* key = std::getenv("S3_ACCESS_KEY");
  const char* secret = std::getenv("S3_SECRET_KEY");
  if (!key || !secret) {
    std::fprintf(stderr, "S3_ACCESS_KEY and S3_SECRET_KEY are required\n");
    return 2;
  }
  s3::Endpoint ep;
  ep.url = endpoint;
  const s3::Credentials credentials{key, secret, ""};
  backup::StoreFactory stores = [&] {
    return std::make_unique<backup::S3Store>(ep, credentials, bucket);
  };
  if (absl::Status s = s3::Client(ep, credentials).CreateBucket(bucket);
      !s.ok() && !absl::IsAlreadyExists(s)) {
    std::fprintf(stderr, "create bucket: %s\n", std::string(s.message()).c_str());
    return 1;
  }

  fs::remove_all(dir);
  fs::create_directories(dir);
  std::mt19937_64 random(42);
  std::vector<backup::LocalFile> files = WriteFiles(dir, "large", large, large_mib << 20, random);
  for (auto& f : WriteFiles(dir, "small", small, small_kib << 10, random)) files.push_back(f);
  int64_t total = 0;
  for (const auto& f : files) total += static_cast<int64_t>(fs::file_size(f.path));

  const backup::NodePath node{"bench", "c1", "c1-dc1-r1-0"};
  backup::UploadOptions options;
  options.parallelism = parallelism;
  backup::UploadStats first;
  auto t0 = std::chrono::steady_clock::now();
  auto entries = backup::UploadFiles(stores, node, files, options, first);
  const double first_s = Seconds(t0);
  if (!entries.ok()) {
    std::fprintf(stderr, "upload: %s\n", std::string(entries.status().message()).c_str());
    return 1;
  }
  backup::UploadStats second;
  t0 = std::chrono::steady_clock::now();
  auto again = backup::UploadFiles(stores, node, files, options, second);
  const double second_s = Seconds(t0);
  if (!again.ok()) return 1;

  std::printf("figure files %zu\n", files.size());
  std::printf("figure total_bytes %lld\n", static_cast<long long>(total));
  std::printf("figure parallelism %d\n", parallelism);
  std::printf("figure first_seconds %.2f\n", first_s);
  std::printf("figure first_mib_per_s %.1f\n", static_cast<double>(total) / (1 << 20) / first_s);
  std::printf("figure first_bytes_sent %lld\n", static_cast<long long>(first.bytes_sent.load()));
  std::printf("figure second_seconds %.2f\n", second_s);
  std::printf("figure second_bytes_sent %lld\n", static_cast<long long>(second.bytes_sent.load()));
  return 0;
}
