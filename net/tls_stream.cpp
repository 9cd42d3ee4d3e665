#include "net/tls_stream.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "net/tls_error.hpp"
#include "net/tls_socket_bio.hpp"

namespace netlab::net {
namespace {

// A peer that resets or hangs up mid-stream is gone, not broken: the
// plaintext paths treat it as a close, so TLS does too.
bool is_disconnect(int err) {
  return err == 0 || err == ECONNRESET || err == EPIPE;
}

std::string ip_literal(std::string_view host) {
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1) return h;
  return {};
}

}  // namespace

TlsStream::TlsStream(const TlsContext& context, int fd) {
  clear_openssl_errors();
  ssl_.reset(SSL_new(context.native()));
  BIO* bio = ssl_ ? make_socket_bio(fd) : nullptr;
  if (bio == nullptr) {
    throw std::runtime_error("cannot create TLS connection: " + take_openssl_error());
  }
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways; SSL_free frees it once
  if (context.is_server()) {
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
  }
}

void TlsStream::set_server_name(std::string_view host) {
  SSL* ssl = ssl_.get();
  const std::string ip = ip_literal(host);
  if (!ip.empty()) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.c_str());
    return;
  }
  const std::string name(host);
  // "*.example.com" matches one label, never "foo*.example.com".
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(ssl, name.c_str());
  SSL_set_tlsext_host_name(ssl, name.c_str());
}

TlsStream::Handshake TlsStream::handshake() {
  if (done_) return Handshake::Done;
  if (fatal_) return Handshake::Failed;
  clear_openssl_errors();
  errno = 0;
  const int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    done_ = true;
    return Handshake::Done;
  }
  const int saved_errno = errno;
  const int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ) return Handshake::WantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Handshake::WantWrite;
  record_failure(err, saved_errno);
  fatal_ = true;
  // A peer that hangs up mid-handshake never finished it: that is a
  // failed handshake, not a clean close.
  if (error_.empty()) error_ = "connection closed during handshake";
  return Handshake::Failed;
}

TlsStream::ReadResult TlsStream::read(char* buf, size_t len) {
  ReadResult out;
  if (fatal_) {
    out.failed = true;
    return out;
  }
  while (out.bytes < len) {
    clear_openssl_errors();
    errno = 0;
    size_t n = 0;
    if (SSL_read_ex(ssl_.get(), buf + out.bytes, len - out.bytes, &n) == 1) {
      out.bytes += n;
      continue;
    }
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), 0);
    if (err == SSL_ERROR_WANT_READ) return out;  // wait = Read
    if (err == SSL_ERROR_WANT_WRITE) {           // e.g. the reply to a KeyUpdate
      out.wait = Wait::Write;
      return out;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify, or EOF (IGNORE_UNEXPECTED_EOF)
      out.closed = true;
      return out;
    }
    record_failure(err, saved_errno);
    if (error_.empty()) {
      out.closed = true;
    } else {
      out.failed = true;
    }
    return out;
  }
  if (SSL_is_init_finished(ssl_.get())) done_ = true;  // a read may finish the handshake
  // The buffer is full. Decrypted bytes (or whole records already read
  // from the socket) left inside OpenSSL would never wake a level-triggered
  // epoll again.
  out.more_pending = SSL_has_pending(ssl_.get()) == 1;
  out.wait = out.more_pending ? Wait::None : Wait::Read;
  return out;
}

TlsStream::WriteResult TlsStream::write(std::string_view data) {
  WriteResult out;
  if (fatal_) {
    out.failed = true;
    return out;
  }
  while (out.bytes < data.size()) {
    clear_openssl_errors();
    errno = 0;
    size_t n = 0;
    if (SSL_write_ex(ssl_.get(), data.data() + out.bytes, data.size() - out.bytes, &n) == 1) {
      out.bytes += n;
      continue;
    }
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), 0);
    if (err == SSL_ERROR_WANT_WRITE) {
      out.wait = Wait::Write;
      return out;
    }
    if (err == SSL_ERROR_WANT_READ) {  // e.g. a write before the handshake finished
      out.wait = Wait::Read;
      return out;
    }
    record_failure(err, saved_errno);
    fatal_ = true;
    if (error_.empty()) error_ = "connection closed by peer";
    out.failed = true;
    return out;
  }
  if (SSL_is_init_finished(ssl_.get())) done_ = true;
  return out;
}

void TlsStream::shutdown() {
  if (shut_down_ || fatal_ || !SSL_is_init_finished(ssl_.get())) return;
  shut_down_ = true;
  clear_openssl_errors();
  // One call: queues and tries to send close_notify. Waiting for the peer's
  // reply would hold the connection open for nothing; if the socket is
  // full the alert is simply lost, which the peer sees as an EOF.
  SSL_shutdown(ssl_.get());
  clear_openssl_errors();
}

void TlsStream::record_failure(int ssl_error, int saved_errno) {
  error_.clear();
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    clear_openssl_errors();
    return;  // an orderly close; the caller decides what that means
  }
  fatal_ = true;
  if (ssl_error == SSL_ERROR_SYSCALL) {
    clear_openssl_errors();
    if (!is_disconnect(saved_errno)) error_ = std::strerror(saved_errno);
    return;
  }
  const unsigned long first = ERR_peek_error();
  if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
      ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    clear_openssl_errors();
    return;  // peer vanished without close_notify: an ordinary close
  }
  if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
      ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    clear_openssl_errors();
    const long result = SSL_get_verify_result(ssl_.get());
    // Only the pin callback (TlsContext) sets this code.
    const char* why = result == X509_V_ERR_APPLICATION_VERIFICATION
                          ? "certificate does not match the pinned sha256 fingerprint"
                          : X509_verify_cert_error_string(result);
    error_ = std::string("certificate verify failed (") + why + ")";
    return;
  }
  error_ = take_openssl_error("TLS protocol error");
}

std::string TlsStream::version() const {
  return SSL_get_version(ssl_.get());
}

std::string TlsStream::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_.get());
  return name != nullptr ? name : "";
}

std::string TlsStream::server_name() const {
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? name : "";
}

}  // namespace netlab::net
