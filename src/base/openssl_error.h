// OpenSSL's reason for the last failure, for an error message. Header-only: only code that links
// OpenSSL includes it.
#pragma once

#include <openssl/err.h>

#include <string>

namespace base {

// The oldest error OpenSSL queued (the cause), and the queue cleared; never key material.
inline std::string OpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

}  // namespace base
