#include "support/tls_pair.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>

namespace netlab::testing {

using net::TlsStream;

SocketPair::SocketPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0) {
    client = fds[0];
    server = fds[1];
  }
}

SocketPair::~SocketPair() {
  if (client >= 0) ::close(client);
  close_server();
}

void SocketPair::shrink_buffers(int bytes) {
  for (int fd : {client, server}) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
}

void SocketPair::close_server() {
  if (server >= 0) ::close(server);
  server = -1;
}

namespace {
bool finished(TlsStream::Handshake h) {
  return h == TlsStream::Handshake::Done || h == TlsStream::Handshake::Failed;
}
}  // namespace

HandshakeOutcome pump_handshake(TlsStream& client, TlsStream& server) {
  HandshakeOutcome out;
  // A full handshake is a few round trips; 50 rounds means it is stuck.
  for (int round = 0; round < 50 && !(finished(out.client) && finished(out.server)); ++round) {
    if (!finished(out.client)) out.client = client.handshake();
    if (!finished(out.server)) out.server = server.handshake();
  }
  return out;
}

std::string read_available(TlsStream& reader) {
  std::string got;
  char buf[4096];
  for (int i = 0; i < 10000; ++i) {
    const TlsStream::ReadResult r = reader.read(buf, sizeof buf);
    got.append(buf, r.bytes);
    if (!r.more_pending) break;
  }
  return got;
}

std::string run_shell(const std::string& command, bool* ok) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    if (ok != nullptr) *ok = false;
    return "popen failed";
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (ok != nullptr) *ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return out;
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string openssl_fingerprint(const std::string& pem_path) {
  // "sha256 Fingerprint=AB:CD:..." (the label's case varies by version)
  const std::string line = run_shell("openssl x509 -noout -fingerprint -sha256 -in " + pem_path);
  const size_t eq = line.find('=');
  if (eq == std::string::npos) return "unexpected output: " + line;
  std::string hex;
  for (char c : line.substr(eq + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return hex;
}

TestPki::TestPki(const TempDir& dir)
    : ca(dir.path("ca.pem")),
      ca_key(dir.path("ca.key")),
      server_cert(dir.path("server.pem")),
      server_key(dir.path("server.key")),
      client_cert(dir.path("client.pem")),
      client_key(dir.path("client.key")) {
  const std::string newkey = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  write_file(dir.path("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  write_file(dir.path("client.ext"), "extendedKeyUsage=clientAuth\n");
  const std::string commands[] = {
      "openssl req -x509" + newkey + " -keyout " + ca_key + " -out " + ca +
          " -days 2 -subj /CN=netlab-test-ca",
      "openssl req" + newkey + " -keyout " + server_key + " -out " + dir.path("server.csr") +
          " -subj /CN=localhost",
      "openssl x509 -req -in " + dir.path("server.csr") + " -CA " + ca + " -CAkey " + ca_key +
          " -CAcreateserial -days 2 -extfile " + dir.path("server.ext") + " -out " + server_cert,
      "openssl req" + newkey + " -keyout " + client_key + " -out " + dir.path("client.csr") +
          " -subj /CN=client",
      "openssl x509 -req -in " + dir.path("client.csr") + " -CA " + ca + " -CAkey " + ca_key +
          " -CAcreateserial -days 2 -extfile " + dir.path("client.ext") + " -out " + client_cert,
  };
  ok = true;
  for (const std::string& command : commands) {
    bool step_ok = false;
    log += run_shell(command, &step_ok);
    if (!step_ok) {
      ok = false;
      log += "\nfailed: " + command;
      return;
    }
  }
}

}  // namespace netlab::testing
