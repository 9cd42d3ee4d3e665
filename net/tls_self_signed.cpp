#include "net/tls_self_signed.hpp"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <string>

#include "net/tls_error.hpp"

namespace netlab::net {
namespace {

constexpr long kBackdateSeconds = 60L * 60;            // tolerate a peer's clock an hour behind
constexpr long kLifetimeSeconds = 30L * 24 * 60 * 60;  // 30 days

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string("cannot make self-signed certificate: ") + what + ": " +
                           take_openssl_error());
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "DNS:localhost,IP:127.0.0.1,IP:::1[,DNS:host|IP:host]"
std::string subject_alt_names(std::string_view extra_host) {
  std::string names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  std::string host(extra_host);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  // A wildcard bind address is no name a client can dial; a comma would
  // split the list and name something the user never asked for.
  if (host.empty() || host == "localhost" || host == "127.0.0.1" || host == "::1" ||
      host == "0.0.0.0" || host == "::" || host.find(',') != std::string::npos) {
    return names;
  }
  names += (is_ip_literal(host) ? ",IP:" : ",DNS:") + host;
  return names;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) fail("extension");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) fail("extension");
}

}  // namespace

SelfSignedCertificate make_self_signed_certificate(std::string_view extra_host) {
  SelfSignedCertificate out;
  out.key.reset(EVP_EC_gen("P-256"));
  if (!out.key) fail("key");
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  if (cert == nullptr) fail("certificate");

  // A random serial: two runs must never issue the same issuer+serial pair
  // (browsers and NSS refuse that).
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("serial");
  serial[0] &= 0x7f;  // positive, as RFC 5280 requires
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  if (!serial_ok) fail("serial");

  if (X509_set_version(cert, X509_VERSION_3) != 1) fail("version");
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -kBackdateSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), kLifetimeSeconds) == nullptr) {
    fail("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  const auto* cn = reinterpret_cast<const unsigned char*>("netlab self-signed");
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1) {
    fail("name");
  }
  if (X509_set_pubkey(cert, out.key.get()) != 1) fail("public key");

  // No keyUsage extension: one without keyCertSign would stop OpenSSL from
  // seeing the certificate as self-signed, and an untrusted client would
  // then report "unable to get local issuer certificate", hiding the cause.
  add_extension(cert, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert, NID_subject_key_identifier, "hash");
  add_extension(cert, NID_subject_alt_name, subject_alt_names(extra_host));

  if (X509_sign(cert, out.key.get(), EVP_sha256()) == 0) fail("signature");
  return out;
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0x0f];
  }
  return hex;
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace netlab::net
