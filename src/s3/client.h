// s3::Client: the S3 requests backups and restores need — objects (put, get with a range, head,
// delete in batches), listing (paginated), multipart uploads, and bucket creation for tests and
// the demo — over cpp-httplib (OpenSSL for https), each request signed by sigv4.h. Works with AWS
// S3 and S3-compatible servers (path-style or virtual-hosted addressing).
//
// Errors: NotFound (no such bucket, key or upload), PermissionDenied (bad credentials or
// signature, access denied), AlreadyExists (bucket), Unavailable (cannot connect, 5xx, SlowDown:
// worth retrying), InvalidArgument/FailedPrecondition for what the server refused otherwise; the
// message names the S3 error code and the server's message. Secrets never appear in messages.
//
// Not thread-safe: one Client per thread (it keeps one connection alive across requests).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "s3/sigv4.h"

namespace httplib {
class Client;
}

namespace s3 {

struct Endpoint {
  std::string url;  // "http://127.0.0.1:7070", "https://s3.eu-west-3.amazonaws.com"
  std::string region = "us-east-1";
  bool path_style = true;  // bucket in the path ("/bucket/key"), else in the host name
  std::string ca_file;     // PEM bundle to trust for https ("" = the system's)
  absl::Duration connect_timeout = absl::Seconds(10);
  // A transfer that moves no byte either way for this long is aborted (Unavailable).
  absl::Duration stall_timeout = absl::Seconds(60);
};

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string etag;  // without quotes
  // From a listing; InfiniteFuture when absent or unreadable (an age unknown is never old).
  absl::Time last_modified = absl::InfiniteFuture();
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;  // with a delimiter
  std::string next_token;                    // "" on the last page
};

struct CompletedPart {
  int number = 0;
  std::string etag;
};

class Client {
 public:
  Client(Endpoint endpoint, Credentials credentials);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  absl::Status CreateBucket(const std::string& bucket);
  absl::Status HeadBucket(const std::string& bucket);

  absl::Status PutObject(const std::string& bucket, const std::string& key, absl::string_view body);
  // The whole object, or `length` bytes from `offset`.
  absl::StatusOr<std::string> GetObject(const std::string& bucket, const std::string& key,
                                        std::optional<std::pair<int64_t, int64_t>> range = {});
  absl::StatusOr<ObjectInfo> HeadObject(const std::string& bucket, const std::string& key);
  // One page (at most `max_keys`, S3 caps it at 1000) of the keys under `prefix`, after `token`
  // (a page's next_token); with a delimiter, the keys below it come as common prefixes.
  absl::StatusOr<ListPage> ListObjects(const std::string& bucket, const std::string& prefix,
                                       const std::string& token = "",
                                       const std::string& delimiter = "", int max_keys = 1000);
  // Deletes up to 1000 keys in one request; keys already gone count as deleted.
  absl::Status DeleteObjects(const std::string& bucket, const std::vector<std::string>& keys);

  absl::StatusOr<std::string> CreateMultipartUpload(const std::string& bucket,
                                                    const std::string& key);  // the upload id
  absl::StatusOr<std::string> UploadPart(const std::string& bucket, const std::string& key,
                                         const std::string& upload_id, int number,
                                         absl::string_view data);  // the part's etag
  absl::Status CompleteMultipartUpload(const std::string& bucket, const std::string& key,
                                       const std::string& upload_id,
                                       const std::vector<CompletedPart>& parts);
  absl::Status AbortMultipartUpload(const std::string& bucket, const std::string& key,
                                    const std::string& upload_id);

 private:
  struct Response;
  struct Call;
  absl::StatusOr<Response> Do(const Call& call);

  httplib::Client& ConnectionTo(const std::string& host);

  const Endpoint endpoint_;
  const Credentials credentials_;
  std::string scheme_, host_;  // of endpoint_.url: "http", "127.0.0.1:7070"
  // The last request's connection, kept alive, and its host.
  std::unique_ptr<httplib::Client> connection_;
  std::string connection_host_;
};

}  // namespace s3
