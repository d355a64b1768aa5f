#include "pki/pki.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/openssl_error.h"
#include "base/status_macros.h"

namespace ringkeeper::pki {
namespace {

// OpenSSL objects, freed by their owners.
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using Store = std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)>;
using StoreContext = std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)>;

using base::OpenSslError;

absl::Status Failed(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpenSslError()));
}

Bio ReadBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

absl::StatusOr<Cert> ParseCert(const std::string& pem) {
  Bio bio = ReadBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a PEM certificate");
  }
  return cert;
}

absl::StatusOr<Key> ParseKey(const std::string& pem) {
  Bio bio = ReadBio(pem);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();  // never the key's bytes in a message
    return absl::InvalidArgumentError("not a PEM private key");
  }
  return key;
}

absl::StatusOr<Key> NewKey() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  if (!key) return Failed("EC P-256 key");
  return key;
}

absl::StatusOr<std::string> Pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return Failed("certificate PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int)
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> Pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Failed("private key PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int)
  return std::string(data, static_cast<size_t>(size));
}

absl::Status SetName(X509_NAME* name, const std::string& common_name) {
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return Failed("common name");
  }
  return absl::OkStatus();
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (!ext) {
    return absl::InvalidArgumentError(
        absl::StrCat("extension ", OBJ_nid2sn(nid), " = ", value, ": ", OpenSslError()));
  }
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) return Failed("add extension");
  return absl::OkStatus();
}

// The parts every certificate shares: v3, a random 127-bit serial, the validity window (from a
// few minutes before `now`: a verifier's clock may lag), the subject and its public key.
absl::StatusOr<Cert> NewCertificate(const std::string& common_name, EVP_PKEY* key, absl::Time now,
                                    absl::Duration validity) {
  Cert cert(X509_new(), &X509_free);
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return Failed("X509");
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), &BN_free);
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return Failed("serial number");
  }
  const time_t from = absl::ToTimeT(now - absl::Minutes(5));
  const time_t to = absl::ToTimeT(now + validity);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), from) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), to)) {
    return Failed("validity");
  }
  RETURN_IF_ERROR(SetName(X509_get_subject_name(cert.get()), common_name));
  if (X509_set_pubkey(cert.get(), key) != 1) return Failed("public key");
  return cert;
}

std::string CommonName(X509_NAME* name) {
  const int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

absl::Time TimeOf(const ASN1_TIME* t) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<KeyPair> MakeCertificateAuthority(const std::string& common_name, absl::Time now,
                                                 absl::Duration validity) {
  ASSIGN_OR_RETURN(Key key, NewKey());
  ASSIGN_OR_RETURN(Cert cert, NewCertificate(common_name, key.get(), now, validity));
  RETURN_IF_ERROR(SetName(X509_get_issuer_name(cert.get()), common_name));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return Failed("sign the CA");
  KeyPair out;
  ASSIGN_OR_RETURN(out.cert_pem, Pem(cert.get()));
  ASSIGN_OR_RETURN(out.key_pem, Pem(key.get()));
  return out;
}

absl::StatusOr<KeyPair> Issue(const KeyPair& ca, const CertificateRequest& request,
                              absl::Time now) {
  if (!request.server && !request.client) {
    return absl::InvalidArgumentError("a certificate for neither a server nor a client");
  }
  ASSIGN_OR_RETURN(Cert ca_cert, ParseCert(ca.cert_pem));
  ASSIGN_OR_RETURN(Key ca_key, ParseKey(ca.key_pem));
  ASSIGN_OR_RETURN(Key key, NewKey());
  ASSIGN_OR_RETURN(Cert cert,
                   NewCertificate(request.common_name, key.get(), now, request.validity));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) != 1) {
    return Failed("issuer");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert.get(), cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyAgreement"));
  std::vector<std::string> uses;
  if (request.server) uses.push_back("serverAuth");
  if (request.client) uses.push_back("clientAuth");
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, absl::StrJoin(uses, ",")));
  std::vector<std::string> names;
  for (const std::string& dns : request.dns_names) names.push_back("DNS:" + dns);
  for (const std::string& ip : request.ip_addresses) names.push_back("IP:" + ip);
  if (!names.empty()) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_subject_alt_name, absl::StrJoin(names, ",")));
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) return Failed("sign");
  KeyPair out;
  ASSIGN_OR_RETURN(out.cert_pem, Pem(cert.get()));
  ASSIGN_OR_RETURN(out.key_pem, Pem(key.get()));
  return out;
}

absl::StatusOr<CertificateInfo> Inspect(const std::string& cert_pem) {
  ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem));
  CertificateInfo info;
  info.subject_common_name = CommonName(X509_get_subject_name(cert.get()));
  info.issuer_common_name = CommonName(X509_get_issuer_name(cert.get()));
  info.not_before = TimeOf(X509_get0_notBefore(cert.get()));
  info.not_after = TimeOf(X509_get0_notAfter(cert.get()));
  info.is_ca = X509_check_ca(cert.get()) != 0;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = name->d.iPAddress;
      const int length = ASN1_STRING_length(s);
      char text[INET6_ADDRSTRLEN] = {};
      if ((length == 4 || length == 16) &&
          inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text,
                    sizeof(text))) {
        info.ip_addresses.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return info;
}

absl::Status Verify(const std::string& cert_pem, const std::string& ca_pem, absl::Time now) {
  ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem));
  ASSIGN_OR_RETURN(Cert ca, ParseCert(ca_pem));
  Store store(X509_STORE_new(), &X509_STORE_free);
  StoreContext ctx(X509_STORE_CTX_new(), &X509_STORE_CTX_free);
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return Failed("verify");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return absl::OkStatus();
}

absl::Status KeyMatches(const KeyPair& pair) {
  ASSIGN_OR_RETURN(Cert cert, ParseCert(pair.cert_pem));
  ASSIGN_OR_RETURN(Key key, ParseKey(pair.key_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError("the private key is not the certificate's");
  }
  return absl::OkStatus();
}

}  // namespace ringkeeper::pki
