// A small CQL native-protocol (v4) client for what JMX cannot do: create the generated superuser
// role, disable cassandra/cassandra, read keyspace replication, check schema agreement.
// Simple (unprepared) queries only; rows come back as strings (collections rendered as JSON).
//
// Errors: Unavailable for connection failures, Unauthenticated for bad credentials,
// FailedPrecondition with the server's message for a CQL error, Internal for a malformed frame.
// Not thread-safe: one connection, one caller.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct ssl_ctx_st;
struct ssl_st;

namespace cql {

struct Row {
  std::map<std::string, std::string> columns;  // column name -> value (empty string for null)
};

struct ResultSet {
  std::vector<std::string> column_names;
  std::vector<Row> rows;
};

// Client-to-node encryption: the node's certificate must chain to `ca_pem` and, when
// `server_name` is set, carry that name (nodes are dialled by address). Empty ca_pem: plain TCP.
struct TlsOptions {
  std::string ca_pem;
  std::string server_name;
};

enum class Consistency : uint16_t {
  kOne = 0x0001,
  kQuorum = 0x0004,
  kAll = 0x0005,
  kLocalQuorum = 0x0006,
  kLocalOne = 0x000A
};

class Client {
 public:
  ~Client();
  // Connects (over TLS with `tls.ca_pem`: Unavailable when the handshake or the verification
  // fails, with OpenSSL's reason), sends STARTUP, and answers AUTHENTICATE with SASL PLAIN.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& host, int port,
                                                         const std::string& user,
                                                         const std::string& password,
                                                         absl::Duration timeout = absl::Seconds(10),
                                                         const TlsOptions& tls = {});
  absl::StatusOr<ResultSet> Query(const std::string& cql,
                                  Consistency consistency = Consistency::kLocalQuorum);

 private:
  explicit Client(int fd) : fd_(fd) {}
  absl::Status StartTls(const TlsOptions& tls);
  bool WriteAll(const std::string& data);
  bool ReadAll(char* buf, size_t len);
  absl::Status Send(uint8_t opcode, const std::string& body);
  absl::StatusOr<std::pair<uint8_t, std::string>> Receive();
  int fd_;
  ssl_ctx_st* ssl_ctx_ = nullptr;  // with TLS (OpenSSL's SSL_CTX and SSL)
  ssl_st* ssl_ = nullptr;
  int16_t stream_ = 0;
};

// Frame-level codecs, exposed for tests and the fuzz target.
std::string EncodeFrame(uint8_t opcode, int16_t stream, const std::string& body);
std::string EncodeStartup();
std::string EncodePlainAuth(const std::string& user, const std::string& password);
std::string EncodeQuery(const std::string& cql, Consistency consistency);
// Decodes a RESULT body (kind Rows -> rows; other kinds -> empty set); errors on truncation.
absl::StatusOr<ResultSet> DecodeResult(const std::string& body);
// Skips what the header's flags say precedes the body (tracing id, custom payload, warnings).
absl::StatusOr<std::string> StripFrameExtras(uint8_t flags, const std::string& body);
// Decodes an ERROR body into a status.
absl::Status DecodeError(const std::string& body);

}  // namespace cql
