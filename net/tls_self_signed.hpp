#pragma once
// The throw-away certificate of --tls-self-signed: a fresh P-256 key and a
// self-signed certificate for it, made in memory at start and never
// written to disk. Clients trust it by its fingerprint (--tls-pin), so its
// names only matter to a client that checks them against a CA file holding
// this very certificate.
#include <string>
#include <string_view>

#include "net/tls_handles.hpp"

namespace netlab::net {

struct SelfSignedCertificate {
  EvpPkeyPtr key;
  X509Ptr cert;
};

// Subject alternative names: localhost, 127.0.0.1, ::1 and `extra_host`
// (a DNS name or an IP literal; ignored when empty, a wildcard address or
// already listed). Valid from an hour ago (clocks disagree) for 30 days.
// Throws std::runtime_error if OpenSSL fails.
SelfSignedCertificate make_self_signed_certificate(std::string_view extra_host);

// SHA-256 of the DER certificate as 64 lowercase hex digits: what
// `openssl x509 -fingerprint -sha256` prints, without the colons.
std::string sha256_fingerprint(X509* cert);

// The certificate in PEM, e.g. for a client's CA file.
std::string to_pem(X509* cert);

}  // namespace netlab::net
