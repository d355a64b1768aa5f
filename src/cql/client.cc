#include "cql/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/openssl_error.h"
#include "base/status_macros.h"

namespace cql {
namespace {

constexpr uint8_t kVersion = 0x04;
constexpr uint8_t kOpError = 0x00, kOpStartup = 0x01, kOpReady = 0x02, kOpAuthenticate = 0x03,
                  kOpQuery = 0x07, kOpResult = 0x08, kOpAuthResponse = 0x0F, kOpAuthSuccess = 0x10;

void PutShort(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void PutInt(std::string& out, int32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(static_cast<uint32_t>(v) >> s));
}
void PutString(std::string& out, const std::string& s) {
  PutShort(out, static_cast<uint16_t>(s.size()));
  out += s;
}

// A bounds-checked reader over a frame body.
class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool Need(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  uint16_t Short() {
    if (!Need(2)) return 0;
    uint16_t v = (static_cast<uint8_t>(data_[pos_]) << 8) | static_cast<uint8_t>(data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  int32_t Int() {
    if (!Need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += 4;
    return static_cast<int32_t>(v);
  }
  std::string Raw(size_t n) {
    if (!Need(n)) return "";
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string String() { return Raw(Short()); }
  // [bytes]: int length, negative = null.
  std::pair<bool, std::string> Bytes() {
    int32_t n = Int();
    if (n < 0) return {false, ""};
    return {true, Raw(static_cast<size_t>(n))};
  }

 private:
  const std::string& data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

struct Type {
  uint16_t id = 0;
  std::vector<Type> params;
};

bool ReadType(Reader& r, Type& t, int depth = 0) {
  if (depth > 16) return false;
  t.id = r.Short();
  switch (t.id) {
    case 0x0000:
      r.String();
      break;  // custom
    case 0x0020:
    case 0x0022:
      t.params.resize(1);
      return ReadType(r, t.params[0], depth + 1);
    case 0x0021:
      t.params.resize(2);
      return ReadType(r, t.params[0], depth + 1) && ReadType(r, t.params[1], depth + 1);
    case 0x0030:
      return false;  // UDT: not needed here
    case 0x0031: {
      int n = r.Short();
      t.params.resize(n);
      for (auto& p : t.params) {
        if (!ReadType(r, p, depth + 1)) return false;
      }
      break;
    }
    default:
      break;
  }
  return r.ok();
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Render(const Type& t, const std::string& v, bool quoted, int depth = 0) {
  Reader r(v);
  auto num = [&](int bytes) {
    int64_t x = 0;
    for (int i = 0; i < bytes && i < static_cast<int>(v.size()); ++i) {
      x = (x << 8) | static_cast<uint8_t>(v[i]);
    }
    if (bytes == 4) x = static_cast<int32_t>(x);
    return std::to_string(x);
  };
  switch (t.id) {
    case 0x0001:
    case 0x000D:
      return quoted ? Quote(v) : v;
    case 0x0009:
      return num(4);
    case 0x0002:
    case 0x0005:
    case 0x000B:
      return num(8);
    case 0x0004:
      return !v.empty() && v[0] ? "true" : "false";
    case 0x000C:
    case 0x000F: {
      if (v.size() != 16) return "";
      std::string s;
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += absl::StrFormat("%02x", static_cast<uint8_t>(v[i]));
      }
      return quoted ? Quote(s) : s;
    }
    case 0x0010: {
      if (v.size() != 4 && v.size() != 16) return "";  // inet_ntop would read past the value
      char buf[INET6_ADDRSTRLEN] = {0};
      inet_ntop(v.size() == 4 ? AF_INET : AF_INET6, v.data(), buf, sizeof(buf));
      return quoted ? Quote(buf) : buf;
    }
    case 0x0020:
    case 0x0022:
    case 0x0021: {
      if (depth > 16) return "";
      int32_t n = r.Int();
      std::string out = t.id == 0x0021 ? "{" : "[";
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        if (i) out += ",";
        auto [k_present, k] = r.Bytes();
        out += Render(t.params[0], k, true, depth + 1);
        if (t.id == 0x0021) {
          auto [v_present, val] = r.Bytes();
          out += ":" + Render(t.params[1], val, true, depth + 1);
        }
      }
      return out + (t.id == 0x0021 ? "}" : "]");
    }
    default: {
      std::string hex = "0x";
      for (char c : v) hex += absl::StrFormat("%02x", static_cast<uint8_t>(c));
      return quoted ? Quote(hex) : hex;
    }
  }
}

}  // namespace

bool Client::WriteAll(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const size_t want = data.size() - off;
    ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, data.data() + off, static_cast<int>(want))
                                : ::send(fd_, data.data() + off, want, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool Client::ReadAll(char* buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    const size_t want = len - off;
    ssize_t n = ssl_ != nullptr ? SSL_read(ssl_, buf + off, static_cast<int>(want))
                                : ::recv(fd_, buf + off, want, 0);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

absl::Status Client::StartTls(const TlsOptions& tls) {
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) return absl::InternalError("cql: no TLS context");
  SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
  // The CA from memory: every certificate in the PEM is trusted.
  BIO* bio = BIO_new_mem_buf(tls.ca_pem.data(), static_cast<int>(tls.ca_pem.size()));
  X509_STORE* store = SSL_CTX_get_cert_store(ssl_ctx_);
  int trusted = 0;
  while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    trusted += X509_STORE_add_cert(store, ca) == 1;
    X509_free(ca);
  }
  BIO_free(bio);
  ERR_clear_error();  // the loop ends on "no start line"
  if (trusted == 0) return absl::InvalidArgumentError("cql: the TLS CA has no certificate");
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr) return absl::InternalError("cql: no TLS session");
  if (!tls.server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_, tls.server_name.c_str());
    SSL_set1_host(ssl_, tls.server_name.c_str());
  }
  SSL_set_fd(ssl_, fd_);
  if (SSL_connect(ssl_) != 1) {
    const long verify = SSL_get_verify_result(ssl_);  // NOLINT(google-runtime-int): OpenSSL
    const std::string why =
        verify != X509_V_OK ? X509_verify_cert_error_string(verify) : base::OpenSslError();
    return absl::UnavailableError(absl::StrCat("cql: TLS: ", why));
  }
  return absl::OkStatus();
}

std::string EncodeFrame(uint8_t opcode, int16_t stream, const std::string& body) {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  out.push_back(0);
  PutShort(out, static_cast<uint16_t>(stream));
  out.push_back(static_cast<char>(opcode));
  PutInt(out, static_cast<int32_t>(body.size()));
  return out + body;
}

std::string EncodeStartup() {
  std::string body;
  PutShort(body, 1);
  PutString(body, "CQL_VERSION");
  PutString(body, "3.0.0");
  return body;
}

std::string EncodePlainAuth(const std::string& user, const std::string& password) {
  std::string token;
  token.push_back('\0');
  token += user;
  token.push_back('\0');
  token += password;
  std::string body;
  PutInt(body, static_cast<int32_t>(token.size()));
  return body + token;
}

std::string EncodeQuery(const std::string& cql, Consistency consistency) {
  std::string body;
  PutInt(body, static_cast<int32_t>(cql.size()));
  body += cql;
  PutShort(body, static_cast<uint16_t>(consistency));
  body.push_back(0);  // no flags: no values, default page size
  return body;
}

absl::Status DecodeError(const std::string& body) {
  Reader r(body);
  int32_t code = r.Int();
  std::string message = r.String();
  if (!r.ok()) return absl::InternalError("cql: malformed ERROR frame");
  if (code == 0x0100) return absl::UnauthenticatedError(absl::StrCat("cql: ", message));
  if (code == 0x1000 || code == 0x1001 || code == 0x1100 || code == 0x1200) {
    return absl::UnavailableError(absl::StrCat("cql: ", message));
  }
  return absl::FailedPreconditionError(absl::StrFormat("cql error 0x%04x: %s", code, message));
}

absl::StatusOr<ResultSet> DecodeResult(const std::string& body) {
  Reader r(body);
  ResultSet rs;
  int32_t kind = r.Int();
  if (!r.ok()) return absl::InternalError("cql: truncated RESULT");
  if (kind != 2) return rs;
  int32_t flags = r.Int();
  int32_t count = r.Int();
  if (!r.ok() || count < 0 || count > 10000) return absl::InternalError("cql: bad metadata");
  if (flags & 0x0002) r.Bytes();  // paging state
  std::vector<Type> types(count);
  if (!(flags & 0x0004)) {
    if (flags & 0x0001) {
      r.String();
      r.String();
    }
    for (int32_t i = 0; i < count; ++i) {
      if (!(flags & 0x0001)) {
        r.String();
        r.String();
      }
      rs.column_names.push_back(r.String());
      if (!ReadType(r, types[i])) return absl::InternalError("cql: unsupported column type");
    }
  }
  int32_t rows = r.Int();
  // Every cell is at least its 4-byte length: a count the remaining bytes cannot hold is a lie
  // (found by fuzzing: 2^31 column-less rows ran the decoder out of memory).
  if (!r.ok() || rows < 0 ||
      static_cast<size_t>(rows) > r.remaining() / (4 * std::max<size_t>(count, 1))) {
    return absl::InternalError("cql: bad row count");
  }
  for (int32_t i = 0; i < rows && r.ok(); ++i) {
    Row row;
    for (int32_t c = 0; c < count; ++c) {
      auto [present, value] = r.Bytes();
      std::string name =
          c < static_cast<int32_t>(rs.column_names.size()) ? rs.column_names[c] : std::to_string(c);
      row.columns[name] = present ? Render(types[c], value, false) : "";
    }
    rs.rows.push_back(std::move(row));
  }
  if (!r.ok()) return absl::InternalError("cql: truncated rows");
  return rs;
}

absl::StatusOr<std::string> StripFrameExtras(uint8_t flags, const std::string& body) {
  Reader r(body);
  // Cassandra's order (Message.Codec): tracing id, warnings, custom payload.
  if (flags & 0x02) r.Raw(16);  // tracing id
  if (flags & 0x08) {           // warnings: [string list]
    const int n = r.Short();
    for (int i = 0; i < n && r.ok(); ++i) r.String();
  }
  if (flags & 0x04) {  // custom payload: [bytes map]
    const int n = r.Short();
    for (int i = 0; i < n && r.ok(); ++i) {
      r.String();
      r.Bytes();
    }
  }
  if (!r.ok()) return absl::InternalError("cql: truncated frame extras");
  return body.substr(r.pos());
}

Client::~Client() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  if (fd_ >= 0) ::close(fd_);
}

absl::Status Client::Send(uint8_t opcode, const std::string& body) {
  stream_ = static_cast<int16_t>((stream_ + 1) & 0x7fff);
  if (!WriteAll(EncodeFrame(opcode, stream_, body))) {
    return absl::UnavailableError("cql: send failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<uint8_t, std::string>> Client::Receive() {
  char header[9];
  if (!ReadAll(header, sizeof(header))) return absl::UnavailableError("cql: connection lost");
  if ((header[0] & 0x7f) != kVersion) {
    return absl::InternalError(absl::StrCat("cql: unexpected protocol version ", header[0] & 0x7f));
  }
  if (header[1] & 0x01) return absl::InternalError("cql: compressed frames are not supported");
  uint32_t len = 0;
  for (int i = 5; i < 9; ++i) len = (len << 8) | static_cast<uint8_t>(header[i]);
  if (len > (256u << 20)) return absl::InternalError("cql: frame too large");
  std::string body(len, '\0');
  if (len && !ReadAll(body.data(), len)) return absl::UnavailableError("cql: connection lost");
  auto payload = StripFrameExtras(static_cast<uint8_t>(header[1]), body);
  if (!payload.ok()) return payload.status();
  return std::make_pair(static_cast<uint8_t>(header[4]), *std::move(payload));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& host, int port,
                                                        const std::string& user,
                                                        const std::string& password,
                                                        absl::Duration timeout,
                                                        const TlsOptions& tls) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) {
    return absl::UnavailableError(absl::StrCat("cql: cannot resolve ", host));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(absl::ToInt64Seconds(timeout)), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  std::unique_ptr<Client> client(new Client(fd));
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cql: connect ", host, ":", port, ": ", std::strerror(errno)));
  }
  if (!tls.ca_pem.empty()) RETURN_IF_ERROR(client->StartTls(tls));
  if (auto s = client->Send(kOpStartup, EncodeStartup()); !s.ok()) return s;
  auto reply = client->Receive();
  if (!reply.ok()) return reply.status();
  if (reply->first == kOpAuthenticate) {
    if (auto s = client->Send(kOpAuthResponse, EncodePlainAuth(user, password)); !s.ok()) return s;
    reply = client->Receive();
    if (!reply.ok()) return reply.status();
    if (reply->first == kOpError) return DecodeError(reply->second);
    if (reply->first != kOpAuthSuccess) {
      return absl::InternalError("cql: SASL challenge not supported (PLAIN only)");
    }
  } else if (reply->first == kOpError) {
    return DecodeError(reply->second);
  } else if (reply->first != kOpReady) {
    return absl::InternalError("cql: unexpected answer to STARTUP");
  }
  return client;
}

absl::StatusOr<ResultSet> Client::Query(const std::string& cql, Consistency consistency) {
  if (auto s = Send(kOpQuery, EncodeQuery(cql, consistency)); !s.ok()) return s;
  auto reply = Receive();
  if (!reply.ok()) return reply.status();
  if (reply->first == kOpError) return DecodeError(reply->second);
  if (reply->first != kOpResult) return absl::InternalError("cql: unexpected answer to QUERY");
  return DecodeResult(reply->second);
}

}  // namespace cql
