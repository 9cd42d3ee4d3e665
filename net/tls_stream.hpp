#pragma once
// TlsStream: one TLS connection over a non-blocking socket, as a state
// machine an event loop drives (the pattern of Redis's src/tls.c). It never
// waits: every call does what the socket allows now and says which
// direction to wait for before calling again. OpenSSL may need the other
// direction from the one the caller is using (a write during the handshake
// needs to read the server's reply; a read that receives a TLS 1.3
// KeyUpdate must send one back), so each result carries the direction to
// watch, and the caller must watch that one, not the one it "meant".
//
// Reads: read() drains until OpenSSL wants more bytes from the socket.
// When the caller's buffer fills first, OpenSSL may still hold decrypted
// bytes that the socket will never signal again (the kernel buffer is
// already empty), so the result says `more_pending` and the caller must
// read again without waiting for epoll.
//
// Writes: write() sends as much as it can, record by record (partial
// writes). After it reports a wait, the next write() must start with the
// same bytes that were not taken (more may follow; the buffer may have
// moved): OpenSSL has already encrypted part of them.
//
// The fd stays the caller's; call shutdown() before destroying a stream
// that finished its handshake, so the peer gets close_notify (and a TLS
// 1.2 session stays resumable).
#include <cstddef>
#include <string>
#include <string_view>

#include "net/tls_context.hpp"
#include "net/tls_handles.hpp"

namespace netlab::net {

class TlsStream {
 public:
  enum class Handshake { Done, WantRead, WantWrite, Failed };
  // What to wait for before calling again.
  enum class Wait { None, Read, Write };

  // `bytes` count even when `closed` or `failed` is set: deliver them first.
  struct ReadResult {
    size_t bytes = 0;           // plaintext stored at the start of the buffer
    bool closed = false;        // the peer closed (with or without close_notify)
    bool failed = false;        // a fatal error; error() says which
    bool more_pending = false;  // OpenSSL holds more plaintext: read again now
    Wait wait = Wait::Read;     // when none of the above: wait for this first
  };
  struct WriteResult {
    size_t bytes = 0;        // plaintext taken from the front of the data
    bool failed = false;     // a fatal error (peer gone, protocol error)
    Wait wait = Wait::None;  // not all taken: wait for this, then retry
  };

  // The side (accept or connect) follows the context. Throws
  // std::runtime_error if OpenSSL cannot allocate the connection.
  TlsStream(const TlsContext& context, int fd);
  ~TlsStream() = default;
  TlsStream(TlsStream&&) noexcept = default;
  TlsStream& operator=(TlsStream&&) noexcept = default;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Client only, before the handshake: the name the server's certificate
  // must carry. A DNS name is checked with SSL_set1_host and sent as SNI;
  // an IP literal (brackets allowed) is checked against the certificate's
  // IP addresses and never sent as SNI (RFC 6066 forbids it).
  void set_server_name(std::string_view host);

  Handshake handshake();
  bool handshake_done() const { return done_; }

  ReadResult read(char* buf, size_t len);
  WriteResult write(std::string_view data);

  // Sends close_notify if the connection is healthy (once; never after a
  // fatal error, which OpenSSL forbids). Does not wait for the peer's.
  void shutdown();

  // One line on why the handshake or a read/write failed, e.g.
  // "certificate verify failed (self-signed certificate)".
  const std::string& error() const { return error_; }

  // After the handshake: "TLSv1.3", "TLS_AES_256_GCM_SHA384".
  std::string version() const;
  std::string cipher() const;
  // Server side: the SNI name the client sent; empty when it sent none.
  std::string server_name() const;

  SSL* native() const { return ssl_.get(); }

 private:
  // Words a failed SSL_* call (SSL_get_error's code) into error_.
  void record_failure(int ssl_error, int saved_errno);

  SslPtr ssl_;
  std::string error_;
  bool done_ = false;
  bool fatal_ = false;
  bool shut_down_ = false;
};

}  // namespace netlab::net
