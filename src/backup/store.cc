#include "backup/store.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "backup/md5.h"
#include "base/status_macros.h"

namespace backup {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<ObjectInfo>> ListAll(ObjectStore& store, const std::string& prefix) {
  std::vector<ObjectInfo> all;
  std::string token;
  do {
    ASSIGN_OR_RETURN(ListPage page, store.List(prefix, token));
    for (auto& o : page.objects) all.push_back(std::move(o));
    token = page.next_token;
  } while (!token.empty());
  return all;
}

// ---- S3Store ----

S3Store::S3Store(const s3::Endpoint& endpoint, const s3::Credentials& credentials,
                 std::string bucket)
    : client_(endpoint, credentials), bucket_(std::move(bucket)) {}

absl::Status S3Store::Put(const std::string& key, absl::string_view body) {
  return client_.PutObject(bucket_, key, body);
}
absl::StatusOr<std::string> S3Store::Get(const std::string& key,
                                         std::optional<std::pair<int64_t, int64_t>> range) {
  return client_.GetObject(bucket_, key, range);
}
absl::StatusOr<ObjectInfo> S3Store::Head(const std::string& key) {
  return client_.HeadObject(bucket_, key);
}
absl::StatusOr<ListPage> S3Store::List(const std::string& prefix, const std::string& token) {
  return client_.ListObjects(bucket_, prefix, token);
}
absl::Status S3Store::Delete(const std::vector<std::string>& keys) {
  return client_.DeleteObjects(bucket_, keys);
}
absl::StatusOr<std::string> S3Store::CreateMultipartUpload(const std::string& key) {
  return client_.CreateMultipartUpload(bucket_, key);
}
absl::StatusOr<std::string> S3Store::UploadPart(const std::string& key,
                                                const std::string& upload_id, int number,
                                                absl::string_view data) {
  return client_.UploadPart(bucket_, key, upload_id, number, data);
}
absl::Status S3Store::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                              const std::vector<CompletedPart>& parts) {
  return client_.CompleteMultipartUpload(bucket_, key, upload_id, parts);
}
absl::Status S3Store::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  return client_.AbortMultipartUpload(bucket_, key, upload_id);
}

// ---- FileStore ----

namespace {

constexpr char kOwn[] = ".ringkeeper";  // the store's own files, under the root
constexpr size_t kPageSize = 1000;

absl::Status ErrnoError(const std::string& what) {
  const int e = errno;
  std::string message = absl::StrCat(what, ": ", std::strerror(e));
  if (e == ENOENT) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

std::string RandomHex() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), 16));
}

absl::Status MakeDirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir.string(), ": ", ec.message()));
  return absl::OkStatus();
}

// Writes `data` to `path` (created or truncated) and flushes it to the disk.
absl::Status WriteFlushed(const fs::path& path, absl::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(absl::StrCat("create ", path.string()));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status s = ErrnoError(absl::StrCat("write ", path.string()));
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = ErrnoError(absl::StrCat("fsync ", path.string()));
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return ErrnoError(absl::StrCat("close ", path.string()));
  return absl::OkStatus();
}

// A file or a directory flushed to the disk (a rename is durable once its directory is).
absl::Status Flush(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("open ", path.string()));
  absl::Status s =
      ::fsync(fd) == 0 ? absl::OkStatus() : ErrnoError(absl::StrCat("fsync ", path.string()));
  ::close(fd);
  return s;
}

absl::StatusOr<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InternalError(absl::StrCat("read ", path.string()));
  return data;
}

}  // namespace

FileStore::FileStore(std::string root) : root_(std::move(root)) {}

absl::Status FileStore::CheckRoot() const {
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) {
    return absl::NotFoundError(
        absl::StrCat("storage directory ", root_, " does not exist (is the volume mounted?)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileStore::PathOf(const std::string& key) const {
  if (key.empty() || key.front() == '/' || key.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("key \"", key, "\" is not a file's"));
  }
  bool first = true;
  for (absl::string_view part : absl::StrSplit(key, '/')) {
    if (part.empty() || part == "." || part == ".." || (first && part == kOwn)) {
      return absl::InvalidArgumentError(absl::StrCat("key \"", key, "\" leaves the store"));
    }
    first = false;
  }
  RETURN_IF_ERROR(CheckRoot());
  return absl::StrCat(root_, "/", key);
}

absl::StatusOr<std::string> FileStore::UploadDir(const std::string& upload_id) const {
  if (upload_id.empty() || !std::all_of(upload_id.begin(), upload_id.end(), [](char c) {
        return absl::ascii_isxdigit(static_cast<unsigned char>(c));
      })) {
    return absl::NotFoundError(absl::StrCat("no upload ", upload_id));
  }
  RETURN_IF_ERROR(CheckRoot());
  return absl::StrCat(root_, "/", kOwn, "/uploads/", upload_id);
}

absl::Status FileStore::Publish(const std::string& written, const std::string& key,
                                const std::string& etag) {
  ASSIGN_OR_RETURN(const std::string path, PathOf(key));
  // The ETag first: an object is never seen without its own (a crash between the two leaves an
  // ETag for an object never published, rewritten when it is).
  const fs::path etag_path = fs::path(root_) / kOwn / "etags" / key;
  RETURN_IF_ERROR(MakeDirs(etag_path.parent_path()));
  const std::string etag_written = written + ".etag";
  RETURN_IF_ERROR(WriteFlushed(etag_written, etag));
  if (::rename(etag_written.c_str(), etag_path.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename to ", etag_path.string()));
  }
  RETURN_IF_ERROR(MakeDirs(fs::path(path).parent_path()));
  if (::rename(written.c_str(), path.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename to ", path));
  }
  // Best effort: the object is in place; some filesystems refuse to flush a directory.
  (void)Flush(etag_path.parent_path());
  (void)Flush(fs::path(path).parent_path());
  return absl::OkStatus();
}

absl::Status FileStore::Put(const std::string& key, absl::string_view body) {
  RETURN_IF_ERROR(PathOf(key).status());
  const fs::path tmp = fs::path(root_) / kOwn / "tmp";
  RETURN_IF_ERROR(MakeDirs(tmp));
  const std::string written = (tmp / RandomHex()).string();
  RETURN_IF_ERROR(WriteFlushed(written, body));
  absl::Status published = Publish(written, key, Md5Hex(body));
  if (!published.ok()) ::unlink(written.c_str());
  return published;
}

absl::StatusOr<std::string> FileStore::Get(const std::string& key,
                                           std::optional<std::pair<int64_t, int64_t>> range) {
  ASSIGN_OR_RETURN(const std::string path, PathOf(key));
  if (!range) return ReadWhole(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no such key ", key));
  in.seekg(0, std::ios::end);
  const int64_t size = in.tellg();
  const int64_t offset = std::min(range->first, size);
  const int64_t length = std::min(range->second, size - offset);
  std::string data(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(data.data(), length);
  if (in.gcount() != length) return absl::InternalError(absl::StrCat("read ", path));
  return data;
}

absl::StatusOr<ObjectInfo> FileStore::Head(const std::string& key) {
  ASSIGN_OR_RETURN(const std::string path, PathOf(key));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("no such key ", key));
  }
  ObjectInfo info;
  info.key = key;
  info.size = st.st_size;
  info.last_modified = absl::TimeFromTimespec(st.st_mtim);
  if (auto etag = ReadWhole(fs::path(root_) / kOwn / "etags" / key); etag.ok()) {
    info.etag = *etag;
  } else {
    // Put there by something else than this store (a copy by hand): its MD5, as one PUT's.
    ASSIGN_OR_RETURN(const auto md5, Md5OfFile(path));
    info.etag = md5.first;
  }
  return info;
}

absl::StatusOr<ListPage> FileStore::List(const std::string& prefix, const std::string& token) {
  RETURN_IF_ERROR(CheckRoot());
  // Walk only the deepest directory the prefix names.
  const size_t slash = prefix.rfind('/');
  const std::string dir_part = slash == std::string::npos ? "" : prefix.substr(0, slash);
  if (!dir_part.empty()) RETURN_IF_ERROR(PathOf(dir_part).status());
  const fs::path start = dir_part.empty() ? fs::path(root_) : fs::path(root_) / dir_part;
  std::vector<std::string> keys;
  std::error_code ec;
  if (fs::is_directory(start, ec)) {
    fs::recursive_directory_iterator it(start, ec), end;
    if (ec) return absl::InternalError(absl::StrCat("list ", start.string(), ": ", ec.message()));
    for (; it != end; it.increment(ec)) {
      if (ec) return absl::InternalError(absl::StrCat("list ", start.string(), ": ", ec.message()));
      const std::string key = fs::relative(it->path(), root_).generic_string();
      if (it->is_directory(ec)) {
        if (key == kOwn) it.disable_recursion_pending();
        continue;
      }
      if (absl::StartsWith(key, prefix) && key > token && it->is_regular_file(ec)) {
        keys.push_back(key);
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  ListPage page;
  for (const std::string& key : keys) {
    if (page.objects.size() == kPageSize) {
      page.next_token = page.objects.back().key;
      break;
    }
    auto info = Head(key);
    if (absl::IsNotFound(info.status())) continue;  // deleted since the walk
    if (!info.ok()) return info.status();
    page.objects.push_back(*std::move(info));
  }
  return page;
}

absl::Status FileStore::Delete(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(const std::string path, PathOf(key));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(absl::StrCat("delete ", path));
    }
    const fs::path etag = fs::path(root_) / kOwn / "etags" / key;
    if (::unlink(etag.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(absl::StrCat("delete ", etag.string()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileStore::CreateMultipartUpload(const std::string& key) {
  RETURN_IF_ERROR(PathOf(key).status());
  const std::string id = RandomHex();
  ASSIGN_OR_RETURN(const std::string dir, UploadDir(id));
  RETURN_IF_ERROR(MakeDirs(dir));
  RETURN_IF_ERROR(WriteFlushed(fs::path(dir) / "key", key));
  return id;
}

absl::StatusOr<std::string> FileStore::UploadPart(const std::string& key,
                                                  const std::string& upload_id, int number,
                                                  absl::string_view data) {
  ASSIGN_OR_RETURN(const std::string dir, UploadDir(upload_id));
  auto owner = ReadWhole(fs::path(dir) / "key");
  if (!owner.ok() || *owner != key) {
    return absl::NotFoundError(absl::StrCat("no upload ", upload_id, " of ", key));
  }
  if (number < 1 || number > 10000) {
    return absl::InvalidArgumentError(absl::StrCat("part number ", number));
  }
  const fs::path part = fs::path(dir) / absl::StrCat(number);
  RETURN_IF_ERROR(WriteFlushed(part.string() + ".tmp", data));
  if (::rename((part.string() + ".tmp").c_str(), part.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename to ", part.string()));
  }
  return Md5Hex(data);
}

absl::Status FileStore::CompleteMultipartUpload(const std::string& key,
                                                const std::string& upload_id,
                                                const std::vector<CompletedPart>& parts) {
  ASSIGN_OR_RETURN(const std::string dir, UploadDir(upload_id));
  auto owner = ReadWhole(fs::path(dir) / "key");
  if (!owner.ok() || *owner != key) {
    return absl::NotFoundError(absl::StrCat("no upload ", upload_id, " of ", key));
  }
  if (parts.empty()) return absl::InvalidArgumentError("a multipart upload needs a part");
  const std::string written = (fs::path(dir) / "whole").string();
  std::ofstream out(written, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("create ", written));
  Md5 of_parts;  // S3's multipart ETag: the MD5 of the parts' binary MD5s
  int previous = 0;
  for (const CompletedPart& p : parts) {
    if (p.number <= previous) return absl::InvalidArgumentError("parts out of order");
    previous = p.number;
    ASSIGN_OR_RETURN(const std::string data, ReadWhole(fs::path(dir) / absl::StrCat(p.number)));
    Md5 md5;
    md5.Update(data);
    const std::string raw = md5.Raw();
    if (absl::BytesToHexString(raw) != p.etag) {
      return absl::InvalidArgumentError(
          absl::StrCat("part ", p.number, " of ", key, " is not the one uploaded"));
    }
    of_parts.Update(raw);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("write ", written));
  out.close();
  RETURN_IF_ERROR(Flush(written));
  RETURN_IF_ERROR(Publish(written, key, absl::StrCat(of_parts.Hex(), "-", parts.size())));
  std::error_code ec;
  fs::remove_all(dir, ec);
  return absl::OkStatus();
}

absl::Status FileStore::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  (void)key;
  ASSIGN_OR_RETURN(const std::string dir, UploadDir(upload_id));
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("remove ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace backup
