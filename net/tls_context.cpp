#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "net/tls_error.hpp"
#include "net/tls_self_signed.hpp"

namespace netlab::net {
namespace {

constexpr long kSessionCacheEntries = 1024;

int protocol_version(TlsVersion v) {
  return v == TlsVersion::k1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + take_openssl_error());
}

// OpenSSL's reason for a missing file is "system lib"; check first so the
// line says what is wrong ("No such file or directory").
void require_readable(const char* what, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    throw std::runtime_error(std::string("cannot load ") + what + " " + path + ": " +
                             std::strerror(errno));
  }
  std::fclose(f);
}

SslCtxPtr new_context(const SSL_METHOD* method, TlsVersion min, TlsVersion max) {
  clear_openssl_errors();
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) fail("cannot create TLS context");
  if (SSL_CTX_set_min_proto_version(ctx.get(), protocol_version(min)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), protocol_version(max)) != 1) {
    fail("cannot set TLS versions");
  }
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  // Read-ahead: one recv() takes every record the socket holds, not one
  // record header and body at a time (two system calls per record). The
  // records it takes are why TlsStream::read checks SSL_has_pending().
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  return ctx;
}

// Certificate chain and key from PEM files; the key must match.
void load_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  const std::string& key = key_file.empty() ? cert_file : key_file;
  require_readable("certificate", cert_file);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    fail("cannot load certificate " + cert_file);
  }
  require_readable("key", key);
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail("cannot load key " + key);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) fail("cannot load key " + key);
}

void load_ca_file(SSL_CTX* ctx, const std::string& ca_file) {
  require_readable("CA file", ca_file);
  if (SSL_CTX_load_verify_file(ctx, ca_file.c_str()) != 1) fail("cannot load CA file " + ca_file);
}

// Lowercase hex without colons, so a pin copied from `openssl x509
// -fingerprint` (uppercase, colon-separated) works as well.
std::string normalise_pin(std::string_view pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      throw std::runtime_error("invalid pin " + std::string(pin) + ": not a hex SHA-256 digest");
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (out.size() != 64) {
    throw std::runtime_error("invalid pin " + std::string(pin) +
                             ": a SHA-256 digest has 64 hex digits");
  }
  return out;
}

// With a pin, this replaces OpenSSL's chain verification (and the name
// check inside it): the leaf is accepted exactly when its fingerprint is
// the pin, whoever signed it. A mismatch fails the handshake as a verify
// failure with X509_V_ERR_APPLICATION_VERIFICATION, which TlsStream words.
int verify_pin(X509_STORE_CTX* store, void* arg) {
  const auto* pin = static_cast<const std::string*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (leaf != nullptr && sha256_fingerprint(leaf) == *pin) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

}  // namespace

std::optional<TlsVersion> parse_tls_version(std::string_view text) {
  if (text == "1.2") return TlsVersion::k1_2;
  if (text == "1.3") return TlsVersion::k1_3;
  return std::nullopt;
}

TlsContext TlsContext::server(const TlsServerConfig& config) {
  TlsContext out(new_context(TLS_server_method(), config.min_version, config.max_version), true);
  SSL_CTX* ctx = out.ctx_.get();
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Needed for session resumption once client certificates are verified
  // (OpenSSL refuses to resume a session without one).
  static const unsigned char kSessionContext[] = "netlab";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  // TLS 1.2 sessions are cached here (1.3 uses stateless tickets); OpenSSL's
  // default of 20,480 entries would let a handshake burst hold megabytes.
  SSL_CTX_sess_set_cache_size(ctx, kSessionCacheEntries);

  X509* leaf = nullptr;
  if (config.self_signed) {
    SelfSignedCertificate made = make_self_signed_certificate(config.self_signed_host);
    if (SSL_CTX_use_certificate(ctx, made.cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, made.key.get()) != 1) {
      fail("cannot use self-signed certificate");
    }
    out.certificate_pem_ = to_pem(made.cert.get());
  } else {
    load_certificate(ctx, config.cert_file, config.key_file);
  }
  leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf != nullptr) out.fingerprint_ = net::sha256_fingerprint(leaf);

  if (config.verify_client) {
    if (config.client_ca_file.empty()) {
      throw std::runtime_error("client certificate verification needs a CA file");
    }
    load_ca_file(ctx, config.client_ca_file);
    // Tell clients which CAs we accept, so one with several certificates
    // picks the right one.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names == nullptr) fail("cannot load CA file " + config.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  clear_openssl_errors();
  return out;
}

TlsContext TlsContext::client(const TlsClientConfig& config) {
  TlsContext out(new_context(TLS_client_method(), config.min_version, config.max_version), false);
  SSL_CTX* ctx = out.ctx_.get();
  // A pin wins over `insecure` (the stricter of two contradicting asks)
  // and replaces the CA check, which it makes pointless.
  if (!config.pin.empty()) {
    out.pin_ = std::make_unique<std::string>(normalise_pin(config.pin));
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, verify_pin, out.pin_.get());
  } else if (config.insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (config.ca_file.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) fail("cannot load the system trust store");
    } else {
      load_ca_file(ctx, config.ca_file);
    }
  }
  if (!config.cert_file.empty()) {
    load_certificate(ctx, config.cert_file, config.key_file);
    if (X509* leaf = SSL_CTX_get0_certificate(ctx)) {
      out.fingerprint_ = net::sha256_fingerprint(leaf);
    }
  }
  clear_openssl_errors();
  return out;
}

}  // namespace netlab::net
