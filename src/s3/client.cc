#include "s3/client.h"

#include <openssl/evp.h>
#include <tinyxml2.h>

#include <map>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/stop_signals.h"
#include "httplib.h"

namespace s3 {

struct Client::Response {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased
};

// One request: what is signed and sent.
struct Client::Call {
  std::string method;
  std::string bucket, key;  // key "" for bucket requests
  Params query;
  Params headers;
  absl::string_view body;
};

namespace {

std::string Unquoted(absl::string_view etag) {
  absl::ConsumePrefix(&etag, "\"");
  absl::ConsumeSuffix(&etag, "\"");
  return std::string(etag);
}

std::string Md5Base64(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

const char* Text(const tinyxml2::XMLElement* parent, const char* name) {
  const tinyxml2::XMLElement* e = parent ? parent->FirstChildElement(name) : nullptr;
  const char* text = e ? e->GetText() : nullptr;
  return text ? text : "";
}

// The status of a refused request, from its HTTP status and S3's <Error><Code>.
absl::Status ErrorOf(const std::string& what, int http, const std::string& body) {
  tinyxml2::XMLDocument doc;
  std::string code, message;
  if (doc.Parse(body.data(), body.size()) == tinyxml2::XML_SUCCESS) {
    code = Text(doc.FirstChildElement("Error"), "Code");
    message = Text(doc.FirstChildElement("Error"), "Message");
  }
  const std::string text = absl::StrCat(what, ": HTTP ", http, code.empty() ? "" : " ", code,
                                        message.empty() ? "" : ": ", message);
  // Credentials first: versitygw answers an unknown access key with 404 XAdminUserNotFound
  // where AWS says 403 InvalidAccessKeyId, and it must not read as a missing object.
  static constexpr const char* kCredentialCodes[] = {
      "InvalidAccessKeyId",          "SignatureDoesNotMatch", "AccessDenied",
      "XAdminUserNotFound",          "InvalidToken",          "ExpiredToken",
      "AuthorizationHeaderMalformed"};
  if (http == 401 || http == 403 || absl::c_linear_search(kCredentialCodes, code)) {
    return absl::PermissionDeniedError(text);
  }
  if (http == 404 || absl::StartsWith(code, "NoSuch")) return absl::NotFoundError(text);
  if (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists") {
    return absl::AlreadyExistsError(text);
  }
  if (http >= 500 || code == "SlowDown") return absl::UnavailableError(text);
  if (http == 400) return absl::InvalidArgumentError(text);
  return absl::FailedPreconditionError(text);
}

absl::StatusOr<tinyxml2::XMLElement*> Root(tinyxml2::XMLDocument& doc, const std::string& body,
                                           const char* name) {
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS ||
      !doc.FirstChildElement(name)) {
    return absl::DataLossError(absl::StrCat("S3 answer is not a ", name, " document"));
  }
  return doc.FirstChildElement(name);
}

std::string Describe(const std::string& method, const std::string& bucket, const std::string& key) {
  return absl::StrCat(method, " ", bucket, key.empty() ? "" : "/", key);
}

// <name>text</name> inside the element `xml` has open.
void TextElement(tinyxml2::XMLPrinter& xml, const char* name, const std::string& text) {
  xml.OpenElement(name);
  xml.PushText(text.c_str());
  xml.CloseElement();
}

// The document `xml` printed (without the terminating NUL CStrSize counts).
absl::string_view BodyOf(const tinyxml2::XMLPrinter& xml) {
  return absl::string_view(xml.CStr(), static_cast<size_t>(xml.CStrSize() - 1));
}

}  // namespace

Client::Client(Endpoint endpoint, Credentials credentials)
    : endpoint_(std::move(endpoint)), credentials_(std::move(credentials)) {
  base::IgnoreBrokenPipes();
  absl::string_view url = endpoint_.url;
  const auto sep = url.find("://");
  scheme_ = sep == absl::string_view::npos ? "https" : std::string(url.substr(0, sep));
  if (sep != absl::string_view::npos) url.remove_prefix(sep + 3);
  host_ = std::string(url.substr(0, url.find('/')));
}

Client::~Client() = default;

// The connection to `host` ("127.0.0.1:7070", "bucket.s3.amazonaws.com"): the one kept alive
// when it is the same host as the last request's, else a new one.
httplib::Client& Client::ConnectionTo(const std::string& host) {
  if (connection_ && connection_host_ == host) return *connection_;
  connection_ = std::make_unique<httplib::Client>(absl::StrCat(scheme_, "://", host));
  connection_host_ = host;
  httplib::Client& c = *connection_;
  c.set_keep_alive(true);
  c.set_url_encode(false);  // the path is encoded already: it is what was signed
  c.set_decompress(false);  // an object's bytes as stored
  c.set_connection_timeout(
      std::chrono::microseconds(absl::ToInt64Microseconds(endpoint_.connect_timeout)));
  // A transfer that stalls (no byte either way) for the stall timeout fails.
  const auto stall = std::chrono::microseconds(absl::ToInt64Microseconds(endpoint_.stall_timeout));
  c.set_read_timeout(stall);
  c.set_write_timeout(stall);
  if (!endpoint_.ca_file.empty()) c.set_ca_cert_path(endpoint_.ca_file);
  return c;
}

absl::StatusOr<Client::Response> Client::Do(const Call& call) {
  std::string path = "/", host = host_;
  if (endpoint_.path_style) {
    path = absl::StrCat("/", call.bucket, call.key.empty() ? "" : "/", call.key);
  } else {
    host = absl::StrCat(call.bucket, ".", host_);
    path = absl::StrCat("/", call.key);
  }
  Request request{call.method, path, call.query, call.headers, Sha256Hex(call.body)};
  request.headers.emplace_back("host", host);
  const Signature signature = Sign(request, credentials_, endpoint_.region, absl::Now());

  httplib::Request req;
  req.method = call.method;
  req.path = EncodePath(path);
  if (!call.query.empty()) absl::StrAppend(&req.path, "?", EncodeQuery(call.query));
  const Params* lists[] = {&request.headers, &signature.added_headers};
  for (const Params* list : lists) {
    for (const auto& [name, value] : *list) req.headers.emplace(name, value);
  }
  req.headers.emplace("Authorization", signature.authorization);
  if (!call.body.empty()) {
    // Sent from the caller's bytes, not a copy of them (a part is 16 MiB, four at once): the
    // provider httplib's own Put(path, headers, length, provider, type) sets up.
    req.content_length_ = call.body.size();
    req.content_provider_ = [body = call.body](size_t offset, size_t length,
                                               httplib::DataSink& sink) {
      return sink.write(body.data() + offset, length);
    };
    if (!req.has_header("Content-Type")) {
      req.headers.emplace("Content-Type", "application/octet-stream");
    }
  }

  Response response;
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const std::string what = Describe(call.method, call.bucket, call.key);
  if (!ConnectionTo(host).send(req, res, error)) {
    connection_.reset();  // whatever state it was left in
    return absl::UnavailableError(absl::StrCat(what, ": ", httplib::to_string(error)));
  }
  response.status = res.status;
  response.body = std::move(res.body);
  for (const auto& [name, value] : res.headers) {
    response.headers[absl::AsciiStrToLower(name)] = value;
  }
  if (response.status < 200 || response.status > 299) {
    return ErrorOf(what, response.status, response.body);
  }
  return response;
}

absl::Status Client::CreateBucket(const std::string& bucket) {
  return Do({"PUT", bucket, "", {}, {}, ""}).status();
}

absl::Status Client::HeadBucket(const std::string& bucket) {
  return Do({"HEAD", bucket, "", {}, {}, ""}).status();
}

absl::Status Client::PutObject(const std::string& bucket, const std::string& key,
                               absl::string_view body) {
  return Do({"PUT", bucket, key, {}, {{"content-md5", Md5Base64(body)}}, body}).status();
}

absl::StatusOr<std::string> Client::GetObject(const std::string& bucket, const std::string& key,
                                              std::optional<std::pair<int64_t, int64_t>> range) {
  Params headers;
  if (range) {
    headers.emplace_back(
        "range", absl::StrCat("bytes=", range->first, "-", range->first + range->second - 1));
  }
  auto response = Do({"GET", bucket, key, {}, headers, ""});
  if (!response.ok()) return response.status();
  return std::move(response->body);
}

absl::StatusOr<ObjectInfo> Client::HeadObject(const std::string& bucket, const std::string& key) {
  auto response = Do({"HEAD", bucket, key, {}, {}, ""});
  if (!response.ok()) return response.status();
  ObjectInfo info{key, 0, Unquoted(response->headers["etag"])};
  if (!absl::SimpleAtoi(response->headers["content-length"], &info.size)) {
    return absl::DataLossError(absl::StrCat("HEAD ", bucket, "/", key, ": no Content-Length"));
  }
  return info;
}

absl::StatusOr<ListPage> Client::ListObjects(const std::string& bucket, const std::string& prefix,
                                             const std::string& token, const std::string& delimiter,
                                             int max_keys) {
  Params query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", absl::StrCat(max_keys)}};
  if (!token.empty()) query.emplace_back("continuation-token", token);
  if (!delimiter.empty()) query.emplace_back("delimiter", delimiter);
  auto response = Do({"GET", bucket, "", query, {}, ""});
  if (!response.ok()) return response.status();
  tinyxml2::XMLDocument doc;
  auto root = Root(doc, response->body, "ListBucketResult");
  if (!root.ok()) return root.status();
  ListPage page;
  for (auto* c = (*root)->FirstChildElement("Contents"); c; c = c->NextSiblingElement("Contents")) {
    ObjectInfo o{Text(c, "Key"), 0, Unquoted(Text(c, "ETag"))};
    // "2026-12-04T19:00:00.000Z"
    if (absl::Time t; absl::ParseTime(absl::RFC3339_full, Text(c, "LastModified"), &t, nullptr)) {
      o.last_modified = t;
    }
    if (!absl::SimpleAtoi(Text(c, "Size"), &o.size)) {
      return absl::DataLossError(absl::StrCat("list ", bucket, ": no size for ", o.key));
    }
    page.objects.push_back(std::move(o));
  }
  for (auto* p = (*root)->FirstChildElement("CommonPrefixes"); p;
       p = p->NextSiblingElement("CommonPrefixes")) {
    page.common_prefixes.emplace_back(Text(p, "Prefix"));
  }
  if (std::string(Text(*root, "IsTruncated")) == "true") {
    page.next_token = Text(*root, "NextContinuationToken");
    if (page.next_token.empty()) {
      return absl::DataLossError(absl::StrCat("list ", bucket, ": truncated without a token"));
    }
  }
  return page;
}

absl::Status Client::DeleteObjects(const std::string& bucket,
                                   const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::OkStatus();
  if (keys.size() > 1000) return absl::InvalidArgumentError("DeleteObjects: over 1000 keys");
  tinyxml2::XMLPrinter xml(nullptr, /*compact=*/true);
  xml.OpenElement("Delete");
  TextElement(xml, "Quiet", "true");
  for (const std::string& key : keys) {
    xml.OpenElement("Object");
    TextElement(xml, "Key", key);
    xml.CloseElement();
  }
  xml.CloseElement();
  const absl::string_view body = BodyOf(xml);
  auto response = Do({"POST",
                      bucket,
                      "",
                      {{"delete", ""}},
                      {{"content-md5", Md5Base64(body)}, {"content-type", "application/xml"}},
                      body});
  if (!response.ok()) return response.status();
  // Quiet mode lists only the keys that failed.
  tinyxml2::XMLDocument doc;
  auto root = Root(doc, response->body, "DeleteResult");
  if (!root.ok()) return root.status();
  if (auto* e = (*root)->FirstChildElement("Error")) {
    return absl::FailedPreconditionError(absl::StrCat("delete ", bucket, "/", Text(e, "Key"), ": ",
                                                      Text(e, "Code"), ": ", Text(e, "Message")));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Client::CreateMultipartUpload(const std::string& bucket,
                                                          const std::string& key) {
  auto response = Do({"POST", bucket, key, {{"uploads", ""}}, {}, ""});
  if (!response.ok()) return response.status();
  tinyxml2::XMLDocument doc;
  auto root = Root(doc, response->body, "InitiateMultipartUploadResult");
  if (!root.ok()) return root.status();
  std::string id = Text(*root, "UploadId");
  if (id.empty()) return absl::DataLossError("CreateMultipartUpload: no UploadId");
  return id;
}

absl::StatusOr<std::string> Client::UploadPart(const std::string& bucket, const std::string& key,
                                               const std::string& upload_id, int number,
                                               absl::string_view data) {
  auto response = Do({"PUT",
                      bucket,
                      key,
                      {{"partNumber", absl::StrCat(number)}, {"uploadId", upload_id}},
                      {{"content-md5", Md5Base64(data)}},
                      data});
  if (!response.ok()) return response.status();
  std::string etag = Unquoted(response->headers["etag"]);
  if (etag.empty()) return absl::DataLossError("UploadPart: no ETag");
  return etag;
}

absl::Status Client::CompleteMultipartUpload(const std::string& bucket, const std::string& key,
                                             const std::string& upload_id,
                                             const std::vector<CompletedPart>& parts) {
  tinyxml2::XMLPrinter xml(nullptr, /*compact=*/true);
  xml.OpenElement("CompleteMultipartUpload");
  for (const CompletedPart& part : parts) {
    xml.OpenElement("Part");
    TextElement(xml, "PartNumber", absl::StrCat(part.number));
    TextElement(xml, "ETag", absl::StrCat("\"", part.etag, "\""));
    xml.CloseElement();
  }
  xml.CloseElement();
  const absl::string_view body = BodyOf(xml);
  auto response = Do({"POST",
                      bucket,
                      key,
                      {{"uploadId", upload_id}},
                      {{"content-type", "application/xml"}},
                      body});
  if (!response.ok()) return response.status();
  // S3 may answer 200 with an <Error> body when the completion failed after it started.
  tinyxml2::XMLDocument doc;
  if (doc.Parse(response->body.data(), response->body.size()) == tinyxml2::XML_SUCCESS &&
      doc.FirstChildElement("Error")) {
    return ErrorOf(Describe("POST", bucket, key), 500, response->body);
  }
  return absl::OkStatus();
}

absl::Status Client::AbortMultipartUpload(const std::string& bucket, const std::string& key,
                                          const std::string& upload_id) {
  return Do({"DELETE", bucket, key, {{"uploadId", upload_id}}, {}, ""}).status();
}

}  // namespace s3
