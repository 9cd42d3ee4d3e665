#pragma once
// TlsContext: the TLS settings one server or one client shares across all
// its connections (an SSL_CTX: certificate, key, trust store, versions).
// Made once at start, where a bad file is a runtime error (exit 1) with
// one line, e.g. "cannot load certificate server.pem: no start line";
// each connection then gets a TlsStream from it.
//
// Both sides: TLS 1.2 and 1.3 only, no compression (CRIME), no
// renegotiation (a client could make the server redo the expensive part of
// a handshake for free), partial writes and a moving write buffer (the
// caller's output Buffer may compact between retries), buffers released
// while a connection is idle (thousands of idle TLS clients stay cheap),
// and a peer that closes without close_notify is an ordinary close.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/tls_handles.hpp"

namespace netlab::net {

enum class TlsVersion { k1_2, k1_3 };

// "1.2" or "1.3" (what --tls-min takes); nullopt for anything else.
std::optional<TlsVersion> parse_tls_version(std::string_view text);

struct TlsServerConfig {
  std::string cert_file = {};  // PEM chain, leaf first; ignored with self_signed
  std::string key_file = {};   // PEM key; empty: in cert_file
  bool self_signed = false;
  std::string self_signed_host = {};  // extra name for the self-signed certificate (--host)
  std::string client_ca_file = {};  // with verify_client: the CA client certificates must chain to
  bool verify_client = false;
  TlsVersion min_version = TlsVersion::k1_2;
  TlsVersion max_version = TlsVersion::k1_3;
};

struct TlsClientConfig {
  std::string ca_file = {};  // empty: the system store (/etc/ssl/certs)
  bool insecure = false;     // no verification at all (-k)
  // SHA-256 of the server's leaf certificate (64 hex digits, colons and
  // case ignored); wins over insecure and ca_file.
  std::string pin = {};
  std::string cert_file = {};  // client certificate (PEM chain), optional
  std::string key_file = {};   // its key; empty: in cert_file
  TlsVersion min_version = TlsVersion::k1_2;
  TlsVersion max_version = TlsVersion::k1_3;
};

// Must outlive every TlsStream made from it (a client's pin lives here).
class TlsContext {
 public:
  // Both throw std::runtime_error with one line naming the file and
  // OpenSSL's reason.
  static TlsContext server(const TlsServerConfig& config);
  static TlsContext client(const TlsClientConfig& config);

  bool is_server() const { return server_; }
  SSL_CTX* native() const { return ctx_.get(); }

  // The server's own certificate fingerprint (64 lowercase hex digits): the
  // value a client passes as its pin. Empty on a client without a cert.
  const std::string& sha256_fingerprint() const { return fingerprint_; }
  // The self-signed certificate in PEM (empty otherwise), for a client
  // that wants to trust it as a CA file.
  const std::string& certificate_pem() const { return certificate_pem_; }

 private:
  TlsContext(SslCtxPtr ctx, bool server) : ctx_(std::move(ctx)), server_(server) {}

  SslCtxPtr ctx_;
  bool server_ = false;
  std::string fingerprint_ = {};
  std::string certificate_pem_ = {};
  // The client's pin, normalised to lowercase without colons. Heap-held so
  // the address the SSL_CTX verify callback keeps survives moves.
  std::unique_ptr<std::string> pin_;
};

}  // namespace netlab::net
