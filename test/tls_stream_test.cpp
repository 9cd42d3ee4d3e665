#include "net/tls_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <random>
#include <string>

#include "support/process.hpp"
#include "support/tls_pair.hpp"

namespace netlab::net {
namespace {

using testing::HandshakeOutcome;
using testing::pump_handshake;
using testing::read_available;
using testing::SocketPair;
using testing::TempDir;
using testing::TestPki;
using testing::write_file;
using Handshake = TlsStream::Handshake;
using Wait = TlsStream::Wait;

// A self-signed server, as --tls-self-signed makes it.
const TlsContext& self_signed_server() {
  static const TlsContext ctx = TlsContext::server({.self_signed = true});
  return ctx;
}

TlsContext pinned_client() {
  return TlsContext::client({.pin = self_signed_server().sha256_fingerprint()});
}

// True when no byte waits in the socket: what a level-triggered epoll sees.
bool socket_is_drained(int fd) {
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK) < 0 && errno == EAGAIN;
}

TEST(TlsStream, SelfSignedHandshakeThenDataBothWays) {
  SocketPair pair;
  const TlsContext client_ctx = pinned_client();
  TlsStream client(client_ctx, pair.client);
  TlsStream server(self_signed_server(), pair.server);
  const HandshakeOutcome h = pump_handshake(client, server);
  ASSERT_TRUE(h.both_done()) << client.error() << " / " << server.error();
  EXPECT_TRUE(client.handshake_done());
  EXPECT_EQ(client.version(), "TLSv1.3");
  EXPECT_EQ(server.version(), "TLSv1.3");
  EXPECT_EQ(client.cipher(), server.cipher());
  EXPECT_EQ(client.cipher().rfind("TLS_", 0), 0u) << client.cipher();

  EXPECT_EQ(client.write("ping\n").bytes, 5u);
  EXPECT_EQ(read_available(server), "ping\n");
  EXPECT_EQ(server.write("pong\n").bytes, 5u);
  EXPECT_EQ(read_available(client), "pong\n");
  // Nothing more: the reader is told to wait for the socket.
  char buf[16];
  const TlsStream::ReadResult idle = client.read(buf, sizeof buf);
  EXPECT_EQ(idle.bytes, 0u);
  EXPECT_FALSE(idle.closed || idle.failed || idle.more_pending);
  EXPECT_EQ(idle.wait, Wait::Read);
}

TEST(TlsStream, PinAcceptsExactlyThatCertificateInAnyCaseOrColons) {
  std::string colons;  // AB:CD:... as `openssl x509 -fingerprint` prints it
  for (size_t i = 0; i < 64; i += 2) {
    colons += (i != 0 ? ":" : "") + self_signed_server().sha256_fingerprint().substr(i, 2);
  }
  for (char& c : colons) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  SocketPair pair;
  const TlsContext client_ctx = TlsContext::client({.pin = colons});
  TlsStream client(client_ctx, pair.client);
  client.set_server_name("not-in-the-certificate.example");  // a pin replaces the name check
  TlsStream server(self_signed_server(), pair.server);
  EXPECT_TRUE(pump_handshake(client, server).both_done()) << client.error();
}

TEST(TlsStream, WrongPinIsRefusedWithAClearReason) {
  const TlsContext other = TlsContext::server({.self_signed = true});  // a different key
  const std::string pin = self_signed_server().sha256_fingerprint();
  // Alone, and next to insecure: the stricter ask wins.
  for (const bool insecure : {false, true}) {
    SocketPair pair;
    const TlsContext client_ctx = TlsContext::client({.insecure = insecure, .pin = pin});
    TlsStream client(client_ctx, pair.client);
    TlsStream server(other, pair.server);
    const HandshakeOutcome h = pump_handshake(client, server);
    EXPECT_EQ(h.client, Handshake::Failed) << "insecure=" << insecure;
    EXPECT_EQ(
        client.error(),
        "certificate verify failed (certificate does not match the pinned sha256 fingerprint)");
    EXPECT_NE(h.server, Handshake::Done);
  }
}

TEST(TlsStream, UntrustedSelfSignedCertificateNamesTheCause) {
  SocketPair pair;
  const TlsContext client_ctx = TlsContext::client({});  // the system store
  TlsStream client(client_ctx, pair.client);
  client.set_server_name("localhost");
  TlsStream server(self_signed_server(), pair.server);
  const HandshakeOutcome h = pump_handshake(client, server);
  EXPECT_EQ(h.client, Handshake::Failed);
  EXPECT_EQ(client.error(), "certificate verify failed (self-signed certificate)");
  // The server learns of it from the client's alert.
  EXPECT_EQ(h.server, Handshake::Failed);
  EXPECT_NE(server.error().find("alert"), std::string::npos) << server.error();
}

class TlsTrustedSelfSigned : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir_.path("trust.pem"), self_signed_server().certificate_pem());
  }
  // A handshake with a client that trusts the self-signed certificate as
  // its CA and checks `name`.
  HandshakeOutcome connect(const std::string& name) {
    client_ctx_ =
        std::make_unique<TlsContext>(TlsContext::client({.ca_file = dir_.path("trust.pem")}));
    client_ = std::make_unique<TlsStream>(*client_ctx_, pair_.client);
    client_->set_server_name(name);
    server_ = std::make_unique<TlsStream>(self_signed_server(), pair_.server);
    return pump_handshake(*client_, *server_);
  }
  TempDir dir_;
  SocketPair pair_;
  std::unique_ptr<TlsContext> client_ctx_;
  std::unique_ptr<TlsStream> client_, server_;
};

TEST_F(TlsTrustedSelfSigned, DnsNameMatchedAndSentAsSni) {
  EXPECT_TRUE(connect("localhost").both_done()) << client_->error();
  EXPECT_EQ(server_->server_name(), "localhost");
}

TEST_F(TlsTrustedSelfSigned, HostnameMismatchIsRefused) {
  EXPECT_EQ(connect("wrong.example").client, Handshake::Failed);
  EXPECT_EQ(client_->error(), "certificate verify failed (hostname mismatch)");
}

TEST_F(TlsTrustedSelfSigned, Ipv4LiteralMatchedWithoutSni) {
  EXPECT_TRUE(connect("127.0.0.1").both_done()) << client_->error();
  EXPECT_EQ(server_->server_name(), "") << "RFC 6066: no SNI for an IP address";
}

TEST_F(TlsTrustedSelfSigned, BracketedIpv6LiteralMatchedWithoutSni) {
  EXPECT_TRUE(connect("[::1]").both_done()) << client_->error();
  EXPECT_EQ(server_->server_name(), "");
}

TEST_F(TlsTrustedSelfSigned, IpMismatchIsRefused) {
  EXPECT_EQ(connect("10.9.8.7").client, Handshake::Failed);
  EXPECT_EQ(client_->error(), "certificate verify failed (IP address mismatch)");
}

TEST(TlsStream, MinimumVersion13RefusesATls12OnlyClient) {
  const TlsContext strict =
      TlsContext::server({.self_signed = true, .min_version = TlsVersion::k1_3});
  const TlsContext old_client =
      TlsContext::client({.insecure = true, .max_version = TlsVersion::k1_2});
  {
    SocketPair pair;
    TlsStream client(old_client, pair.client);
    TlsStream server(strict, pair.server);
    const HandshakeOutcome h = pump_handshake(client, server);
    EXPECT_EQ(h.server, Handshake::Failed);
    EXPECT_EQ(server.error(), "unsupported protocol");
    EXPECT_EQ(h.client, Handshake::Failed);
    EXPECT_FALSE(client.error().empty());
  }
  {  // the same client is fine with the default minimum, over TLS 1.2
    SocketPair pair;
    TlsStream client(old_client, pair.client);
    TlsStream server(self_signed_server(), pair.server);
    ASSERT_TRUE(pump_handshake(client, server).both_done()) << server.error();
    EXPECT_EQ(server.version(), "TLSv1.2");
  }
}

struct Transfer {
  bool intact = false;
  int want_write = 0;  // writes that stopped at a full socket
  int partial = 0;     // writes that took some bytes, then stopped
};

// 4 MiB client -> server through kernel buffers of `buffer_bytes`, the
// writer retrying from a fresh copy each time: the bytes come from another
// address, as they do when a Buffer compacts between retries
// (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
Transfer send_four_mib(int buffer_bytes) {
  SocketPair pair;
  pair.shrink_buffers(buffer_bytes);
  const TlsContext client_ctx = pinned_client();
  TlsStream client(client_ctx, pair.client);
  TlsStream server(self_signed_server(), pair.server);
  Transfer out;
  if (!pump_handshake(client, server).both_done()) return out;

  std::string payload(4 << 20, '\0');
  std::mt19937 rng(14);
  for (char& c : payload) c = static_cast<char>(rng());

  size_t sent = 0;
  std::string received;
  char buf[64 * 1024];
  for (int round = 0; round < 100'000 && received.size() < payload.size(); ++round) {
    if (sent < payload.size()) {
      const std::string rest = payload.substr(sent, 1 << 20);
      const TlsStream::WriteResult w = client.write(rest);
      if (w.failed) return out;
      sent += w.bytes;
      if (w.wait == Wait::Write) ++out.want_write;
      if (w.bytes > 0 && w.bytes < rest.size()) ++out.partial;
    }
    for (;;) {  // drain what arrived, as a reactor would before waiting
      const TlsStream::ReadResult r = server.read(buf, sizeof buf);
      if (r.failed || r.closed) return out;
      received.append(buf, r.bytes);
      if (r.bytes == 0 || r.wait == Wait::Read) break;
    }
  }
  out.intact = received == payload;
  return out;
}

// A socket smaller than one record: every write stops at WANT_WRITE with
// a record half sent, which OpenSSL finishes on the retry.
TEST(TlsStream, LargePayloadThroughTinyBuffersArrivesIntact) {
  const Transfer t = send_four_mib(4096);
  EXPECT_TRUE(t.intact) << "bytes lost, changed or reordered";
  EXPECT_GT(t.want_write, 0);
}

// A socket of a few records: a write takes the records that fit and
// reports them (a partial write) instead of holding them back.
TEST(TlsStream, LargePayloadInPartialWritesArrivesIntact) {
  const Transfer t = send_four_mib(48 * 1024);
  EXPECT_TRUE(t.intact) << "bytes lost, changed or reordered";
  EXPECT_GT(t.partial, 0);
}

// Several records already read from the socket: a small read buffer must
// be told that OpenSSL still holds plaintext (the socket is empty, so
// epoll would never wake the reader for it).
TEST(TlsStream, SeveralRecordsInOneReadAreAllDelivered) {
  SocketPair pair;
  const TlsContext client_ctx = pinned_client();
  TlsStream client(client_ctx, pair.client);
  TlsStream server(self_signed_server(), pair.server);
  ASSERT_TRUE(pump_handshake(client, server).both_done());

  std::string expected;
  for (int i = 0; i < 5; ++i) {  // five writes, five records
    const std::string line = "record " + std::to_string(i) + "\n";
    ASSERT_EQ(client.write(line).bytes, line.size());
    expected += line;
  }
  char big[4096];
  const TlsStream::ReadResult all = server.read(big, sizeof big);
  EXPECT_EQ(std::string(big, all.bytes), expected) << "all five records in one read";

  // Now a reader with a 4-byte buffer: after the first read the socket is
  // empty (read-ahead took every record), so only more_pending can tell
  // the caller to come back for the other 41 bytes.
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client.write("record x\n").bytes, 9u);
  std::string got;
  char small[4];
  TlsStream::ReadResult r = server.read(small, sizeof small);
  got.append(small, r.bytes);
  EXPECT_TRUE(r.more_pending);
  EXPECT_EQ(r.wait, Wait::None);
  EXPECT_TRUE(socket_is_drained(pair.server)) << "only OpenSSL holds the rest";
  for (int i = 0; i < 100 && r.more_pending; ++i) {
    r = server.read(small, sizeof small);
    got.append(small, r.bytes);
  }
  EXPECT_EQ(got, "record x\nrecord x\nrecord x\nrecord x\nrecord x\n");
  EXPECT_EQ(r.wait, Wait::Read);
}

TEST(TlsStream, PeerVanishingWithoutCloseNotifyIsANormalClose) {
  SocketPair pair;
  const TlsContext client_ctx = pinned_client();
  TlsStream client(client_ctx, pair.client);
  TlsStream server(self_signed_server(), pair.server);
  ASSERT_TRUE(pump_handshake(client, server).both_done());
  ASSERT_EQ(server.write("last words\n").bytes, 11u);
  pair.close_server();  // no close_notify

  char buf[64];
  const TlsStream::ReadResult r = client.read(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, r.bytes), "last words\n") << "data before the EOF is delivered";
  EXPECT_TRUE(r.closed);
  EXPECT_FALSE(r.failed) << client.error();
  EXPECT_EQ(SSL_get_shutdown(client.native()) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);
}

TEST(TlsStream, ShutdownSendsCloseNotify) {
  SocketPair pair;
  const TlsContext client_ctx = pinned_client();
  TlsStream client(client_ctx, pair.client);
  TlsStream server(self_signed_server(), pair.server);
  ASSERT_TRUE(pump_handshake(client, server).both_done());
  server.shutdown();
  EXPECT_EQ(SSL_get_shutdown(server.native()) & SSL_SENT_SHUTDOWN, SSL_SENT_SHUTDOWN);
  // The socket stays open: only a close_notify can end the client's read.
  char buf[64];
  const TlsStream::ReadResult r = client.read(buf, sizeof buf);
  EXPECT_TRUE(r.closed);
  EXPECT_FALSE(r.failed);
  client.shutdown();  // answering a close_notify is allowed
}

// A write before the handshake has finished makes OpenSSL handshake first:
// it sends the ClientHello and then must READ. The caller is told to wait
// for readability, not writability (which would spin).
TEST(TlsStream, WriteBeforeTheHandshakeWaitsForRead) {
  SocketPair pair;
  const TlsContext client_ctx = pinned_client();
  TlsStream client(client_ctx, pair.client);
  TlsStream server(self_signed_server(), pair.server);
  const TlsStream::WriteResult first = client.write("early\n");
  EXPECT_EQ(first.bytes, 0u);
  EXPECT_FALSE(first.failed);
  EXPECT_EQ(first.wait, Wait::Read);

  size_t sent = 0;
  for (int round = 0; round < 50 && sent == 0; ++round) {
    server.handshake();
    sent = client.write("early\n").bytes;
  }
  EXPECT_EQ(sent, 6u);
  EXPECT_TRUE(client.handshake_done());
  ASSERT_EQ(server.handshake(), Handshake::Done) << server.error();
  EXPECT_EQ(read_available(server), "early\n");
}

TEST(TlsStream, ClientCertificateRequiredAndMissingFails) {
  TempDir dir;
  TestPki pki(dir);
  ASSERT_TRUE(pki.ok) << pki.log;
  const TlsContext server_ctx = TlsContext::server({.cert_file = pki.server_cert,
                                                    .key_file = pki.server_key,
                                                    .client_ca_file = pki.ca,
                                                    .verify_client = true});
  {  // no client certificate
    const TlsContext client_ctx = TlsContext::client({.ca_file = pki.ca});
    SocketPair pair;
    TlsStream client(client_ctx, pair.client);
    client.set_server_name("localhost");
    TlsStream server(server_ctx, pair.server);
    const HandshakeOutcome h = pump_handshake(client, server);
    EXPECT_EQ(h.server, Handshake::Failed);
    EXPECT_EQ(server.error(), "peer did not return a certificate");
    // A TLS 1.3 client finishes first and hears the refusal on its first read.
    ASSERT_EQ(h.client, Handshake::Done);
    char buf[16];
    const TlsStream::ReadResult r = client.read(buf, sizeof buf);
    EXPECT_TRUE(r.failed);
    EXPECT_EQ(client.error(), "tlsv13 alert certificate required");
  }
  {  // with one the CA signed
    const TlsContext client_ctx = TlsContext::client(
        {.ca_file = pki.ca, .cert_file = pki.client_cert, .key_file = pki.client_key});
    SocketPair pair;
    TlsStream client(client_ctx, pair.client);
    client.set_server_name("localhost");
    TlsStream server(server_ctx, pair.server);
    EXPECT_TRUE(pump_handshake(client, server).both_done())
        << client.error() << " / " << server.error();
    EXPECT_NE(SSL_get0_peer_certificate(server.native()), nullptr);
  }
}

}  // namespace
}  // namespace netlab::net

namespace netlab::net {
namespace {

// Plain text where a ClientHello belongs (a client without --tls): the
// server's handshake fails with OpenSSL's reason; nothing else happens.
TEST(TlsStream, PlainTextClientFailsTheServerHandshake) {
  SocketPair pair;
  TlsStream server(self_signed_server(), pair.server);
  EXPECT_EQ(server.handshake(), Handshake::WantRead);
  const std::string hello = "hello, this is not TLS\n";
  ASSERT_EQ(::send(pair.client, hello.data(), hello.size(), MSG_NOSIGNAL), 23);
  EXPECT_EQ(server.handshake(), Handshake::Failed);
  EXPECT_EQ(server.error(), "wrong version number");
  char buf[16];
  EXPECT_TRUE(server.read(buf, sizeof buf).failed) << "a failed stream stays failed";
  server.shutdown();  // harmless: no close_notify after a fatal error
}

// A TLS client against a plain server: the reply is not TLS, or there is
// no reply and the server hangs up. Either is a failed handshake with a
// reason, never a clean close.
TEST(TlsStream, TlsClientToAPlainServerFails) {
  const TlsContext client_ctx = pinned_client();
  {
    SocketPair pair;
    TlsStream client(client_ctx, pair.client);
    EXPECT_EQ(client.handshake(), Handshake::WantRead);
    const std::string reply = "Fri Dec  4 17:00:00 2026\r\n";
    ASSERT_GT(::send(pair.server, reply.data(), reply.size(), MSG_NOSIGNAL), 0);
    EXPECT_EQ(client.handshake(), Handshake::Failed);
    EXPECT_EQ(client.error(), "wrong version number");
  }
  {
    SocketPair pair;
    TlsStream client(client_ctx, pair.client);
    EXPECT_EQ(client.handshake(), Handshake::WantRead);
    pair.close_server();
    EXPECT_EQ(client.handshake(), Handshake::Failed);
    EXPECT_EQ(client.error(), "connection closed during handshake");
  }
}

// The read that must write. OpenSSL 3 defers its answer to a KeyUpdate to
// the next write, and netlab never renegotiates, so the one way a TLS 1.3
// read has to send is post-handshake authentication: the server asks for
// a client certificate mid-connection and the client's read answers at
// once. With the client's send direction full, that read must say "wait
// for WRITE"; a caller that kept waiting for readability would hang.
// (Enabled here through the native handles; netlab's contexts never ask.)
TEST(TlsStream, ReadThatMustAnswerWaitsForWrite) {
  SocketPair pair;
  pair.shrink_buffers(4096);
  const TlsContext client_ctx = pinned_client();
  TlsStream client(client_ctx, pair.client);
  TlsStream server(self_signed_server(), pair.server);
  SSL_set_post_handshake_auth(client.native(), 1);
  SSL_set_verify(server.native(), SSL_VERIFY_PEER | SSL_VERIFY_POST_HANDSHAKE, nullptr);
  ASSERT_TRUE(pump_handshake(client, server).both_done());
  EXPECT_EQ(read_available(client), "") << "session tickets only";

  // Fill client -> server straight through the kernel, so OpenSSL itself
  // holds nothing unsent and only the socket is full.
  const std::string filler(1024, 'f');
  while (::send(pair.client, filler.data(), filler.size(), MSG_NOSIGNAL) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  ASSERT_EQ(SSL_verify_client_post_handshake(server.native()), 1);
  ASSERT_EQ(SSL_do_handshake(server.native()), 1) << "CertificateRequest sent";

  char buf[256];
  const TlsStream::ReadResult r = client.read(buf, sizeof buf);
  EXPECT_FALSE(r.failed) << client.error();
  EXPECT_FALSE(r.closed);
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_EQ(r.wait, Wait::Write);
}

}  // namespace
}  // namespace netlab::net
