#pragma once
// OpenSSL reports failures on a thread-local error queue; these helpers turn
// it into the one-line reasons netlab prints, and keep it empty between
// calls so a stale error never gets blamed on the next connection.
#include <string>

namespace netlab::net {

// The reason of the earliest queued error (the root cause; later entries
// are the callers' wrappers), e.g. "no start line"; `fallback` when the
// queue is empty. Clears the queue.
std::string take_openssl_error(const char* fallback = "unknown error");

// Empties the queue, as OpenSSL asks before every SSL_* I/O call whose
// result goes through SSL_get_error().
void clear_openssl_errors();

}  // namespace netlab::net
