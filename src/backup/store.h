// ObjectStore: what a storage location holds — objects by key, as S3 has them — whatever the
// location is. Two kinds: an S3 bucket (S3Store, over s3::Client) and a directory on a volume
// every pod mounts (FileStore: a PVC of the user's). The uploader, the downloader and the
// commit log's shipping are written once against this interface.
//
// FileStore keeps S3's meaning of every call, so what holds for a bucket holds for a volume:
//   - an object appears whole or not at all (written aside, flushed, renamed into place);
//   - its ETag is S3's: the MD5 of its content for one PUT, the MD5 of the parts' MD5s and
//     "-<parts>" for a multipart upload (a verification compares the same values);
//   - a listing is sorted by key and paged by the last key returned;
//   - deleting a key that is gone succeeds.
// Its own files live under "<root>/.ringkeeper/" (ETags, uploads in progress, writes not yet
// renamed), which no listing shows.
//
// Errors: as s3/client.h says (NotFound: no such key, bucket or directory; InvalidArgument: a
// key that climbs out of the root; Internal: the local disk).
//
// One instance per thread, as s3::Client.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "s3/client.h"

namespace backup {

using s3::CompletedPart;
using s3::ListPage;
using s3::ObjectInfo;

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual absl::Status Put(const std::string& key, absl::string_view body) = 0;
  // The whole object, or `length` bytes from `offset`.
  virtual absl::StatusOr<std::string> Get(
      const std::string& key, std::optional<std::pair<int64_t, int64_t>> range = {}) = 0;
  virtual absl::StatusOr<ObjectInfo> Head(const std::string& key) = 0;
  // One page (at most 1000 keys) of the keys under `prefix`, after `token` (a page's
  // next_token).
  virtual absl::StatusOr<ListPage> List(const std::string& prefix,
                                        const std::string& token = "") = 0;
  // Up to 1000 keys; keys already gone count as deleted.
  virtual absl::Status Delete(const std::vector<std::string>& keys) = 0;

  virtual absl::StatusOr<std::string> CreateMultipartUpload(const std::string& key) = 0;
  virtual absl::StatusOr<std::string> UploadPart(const std::string& key,
                                                 const std::string& upload_id, int number,
                                                 absl::string_view data) = 0;
  virtual absl::Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                               const std::vector<CompletedPart>& parts) = 0;
  virtual absl::Status AbortMultipartUpload(const std::string& key,
                                            const std::string& upload_id) = 0;
};

// A new store for each worker thread.
using StoreFactory = std::function<std::unique_ptr<ObjectStore>()>;

// Every object under `prefix`, all pages.
absl::StatusOr<std::vector<ObjectInfo>> ListAll(ObjectStore& store, const std::string& prefix);

class S3Store : public ObjectStore {
 public:
  S3Store(const s3::Endpoint& endpoint, const s3::Credentials& credentials, std::string bucket);

  absl::Status Put(const std::string& key, absl::string_view body) override;
  absl::StatusOr<std::string> Get(const std::string& key,
                                  std::optional<std::pair<int64_t, int64_t>> range = {}) override;
  absl::StatusOr<ObjectInfo> Head(const std::string& key) override;
  absl::StatusOr<ListPage> List(const std::string& prefix, const std::string& token = "") override;
  absl::Status Delete(const std::vector<std::string>& keys) override;
  absl::StatusOr<std::string> CreateMultipartUpload(const std::string& key) override;
  absl::StatusOr<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                         int number, absl::string_view data) override;
  absl::Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                       const std::vector<CompletedPart>& parts) override;
  absl::Status AbortMultipartUpload(const std::string& key, const std::string& upload_id) override;

 private:
  s3::Client client_;
  const std::string bucket_;
};

class FileStore : public ObjectStore {
 public:
  // `root` must exist (the volume's mount, or a directory in it): a missing root is NotFound on
  // every call, never created, so an unmounted volume is not mistaken for an empty one.
  explicit FileStore(std::string root);

  absl::Status Put(const std::string& key, absl::string_view body) override;
  absl::StatusOr<std::string> Get(const std::string& key,
                                  std::optional<std::pair<int64_t, int64_t>> range = {}) override;
  absl::StatusOr<ObjectInfo> Head(const std::string& key) override;
  absl::StatusOr<ListPage> List(const std::string& prefix, const std::string& token = "") override;
  absl::Status Delete(const std::vector<std::string>& keys) override;
  absl::StatusOr<std::string> CreateMultipartUpload(const std::string& key) override;
  absl::StatusOr<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                         int number, absl::string_view data) override;
  absl::Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                       const std::vector<CompletedPart>& parts) override;
  absl::Status AbortMultipartUpload(const std::string& key, const std::string& upload_id) override;

 private:
  absl::StatusOr<std::string> PathOf(const std::string& key) const;
  absl::StatusOr<std::string> UploadDir(const std::string& upload_id) const;
  absl::Status CheckRoot() const;
  // Moves `written` (a flushed file under the store's own directory) to `key` with its ETag.
  absl::Status Publish(const std::string& written, const std::string& key, const std::string& etag);

  const std::string root_;
};

}  // namespace backup
