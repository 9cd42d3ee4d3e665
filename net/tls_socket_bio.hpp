#pragma once
// A BIO over a non-blocking socket fd that it does not own, for TlsStream.
// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when
// the peer has gone; netlab never ignores SIGPIPE (every send uses
// MSG_NOSIGNAL, see Socket::send), so this BIO uses send(MSG_NOSIGNAL) and
// recv(). EAGAIN becomes a retry (OpenSSL's WANT_READ/WANT_WRITE), a 0 from
// recv() marks end of file so OpenSSL can tell a peer that vanished
// without close_notify (SSL_OP_IGNORE_UNEXPECTED_EOF) from an error.
// It is also the one place that sees the raw records, for a future
// --trace=all.
#include <openssl/bio.h>

namespace netlab::net {

// A new BIO reading and writing `fd`; nullptr if OpenSSL is out of memory.
// Freed by SSL_free once handed to SSL_set_bio.
BIO* make_socket_bio(int fd);

}  // namespace netlab::net
