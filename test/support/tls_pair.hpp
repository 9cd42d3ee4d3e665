#pragma once
// TLS unit-test support: two TlsStreams over a socketpair(AF_UNIX) driven
// by hand on one thread (no network, no threads, no sleeps), and test
// certificates made with the real `openssl` command in a TempDir (never
// committed).
#include <string>
#include <string_view>

#include "net/tls_stream.hpp"
#include "support/process.hpp"

namespace netlab::testing {

// Both ends non-blocking; closed by the destructor unless released.
struct SocketPair {
  SocketPair();
  ~SocketPair();
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  // Both directions' kernel buffers as small as the kernel allows, so a
  // large transfer hits WANT_WRITE and partial writes.
  void shrink_buffers(int bytes);
  void close_server();  // the server end vanishes (no close_notify)
  int client = -1;
  int server = -1;
};

struct HandshakeOutcome {
  net::TlsStream::Handshake client = net::TlsStream::Handshake::WantWrite;
  net::TlsStream::Handshake server = net::TlsStream::Handshake::WantRead;
  bool both_done() const {
    return client == net::TlsStream::Handshake::Done && server == net::TlsStream::Handshake::Done;
  }
};

// Steps both handshakes in turn until each is Done or Failed, or neither
// can move any more (a bounded number of rounds).
HandshakeOutcome pump_handshake(net::TlsStream& client, net::TlsStream& server);

// Reads everything `reader` can deliver now (following more_pending).
std::string read_available(net::TlsStream& reader);

// Runs a shell command; its stdout (stderr too, for failure messages).
// `ok` says whether it exited 0.
std::string run_shell(const std::string& command, bool* ok = nullptr);

void write_file(const std::string& path, std::string_view text);

// The lowercase hex SHA-256 fingerprint `openssl x509` prints for a PEM file.
std::string openssl_fingerprint(const std::string& pem_path);

// A test CA (ca.pem, ca.key), a server leaf it signed for localhost and
// 127.0.0.1 (server.pem, server.key) and a client certificate it signed
// (client.pem, client.key), all P-256, made by the openssl command.
struct TestPki {
  explicit TestPki(const TempDir& dir);
  std::string ca, ca_key, server_cert, server_key, client_cert, client_key;
  bool ok = false;
  std::string log;  // the commands' output, for a failure message
};

}  // namespace netlab::testing
