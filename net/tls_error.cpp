#include "net/tls_error.hpp"

#include <openssl/err.h>

namespace netlab::net {

std::string take_openssl_error(const char* fallback) {
  const unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return fallback;
  // For ERR_LIB_SYS errors OpenSSL 3 gives strerror()'s text here.
  const char* reason = ERR_reason_error_string(first);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof buf);
  return buf;
}

void clear_openssl_errors() {
  ERR_clear_error();
}

}  // namespace netlab::net
