// The words of --trace lines (net/trace_format.hpp): every call kind, the
// payload escaping and cut, errno names, the line prefix and the colours.
#include "net/trace_format.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace netlab::net {
namespace {

Address v4(const char* host, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, host, &sin.sin_addr);
  return Address(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
}

Address v6(const char* host, uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  inet_pton(AF_INET6, host, &sin6.sin6_addr);
  return Address(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}

std::string quote(std::string_view bytes, size_t limit = 32) {
  return quote_payload(bytes, limit);
}

// ------------------------------------------------------------------ names

TEST(TraceNames, UseTheTutorialsConstants) {
  EXPECT_EQ(family_name(AF_INET), "AF_INET");
  EXPECT_EQ(family_name(AF_INET6), "AF_INET6");
  EXPECT_EQ(family_name(AF_UNIX), "AF_UNIX");
  EXPECT_EQ(family_name(12345), "12345");
  EXPECT_EQ(socket_type_name(SOCK_STREAM), "SOCK_STREAM");
  EXPECT_EQ(socket_type_name(SOCK_DGRAM), "SOCK_DGRAM");
  EXPECT_EQ(socket_type_name(SOCK_STREAM | SOCK_NONBLOCK), "SOCK_STREAM|SOCK_NONBLOCK");
  EXPECT_EQ(sockopt_level_name(SOL_SOCKET), "SOL_SOCKET");
  EXPECT_EQ(sockopt_name(SOL_SOCKET, SO_REUSEADDR), "SO_REUSEADDR");
  EXPECT_EQ(sockopt_name(IPPROTO_TCP, TCP_NODELAY), "TCP_NODELAY");
  EXPECT_EQ(sockopt_name(IPPROTO_IPV6, IPV6_V6ONLY), "IPV6_V6ONLY");
  EXPECT_EQ(sockopt_name(IPPROTO_TCP, 9999), "9999");
}

TEST(TraceNames, ErrnoShowsItsNameAndItsReason) {
  EXPECT_EQ(errno_text(ECONNREFUSED), "ECONNREFUSED (Connection refused)");
  EXPECT_EQ(errno_text(EADDRINUSE), "EADDRINUSE (Address already in use)");
  EXPECT_EQ(errno_text(EAGAIN), "EAGAIN (Resource temporarily unavailable)");
  EXPECT_TRUE(is_would_block(EAGAIN));
  EXPECT_TRUE(is_would_block(EWOULDBLOCK));
  EXPECT_FALSE(is_would_block(EINTR));
}

// ------------------------------------------------------------------ payload

TEST(TracePayload, EscapesControlCharactersLikePythonsRepr) {
  EXPECT_EQ(quote("hello\n"), R"("hello\n")");
  EXPECT_EQ(quote("a\r\n\tb"), R"("a\r\n\tb")");
  EXPECT_EQ(quote(std::string_view("nul\0!", 5)), R"("nul\x00!")");
  EXPECT_EQ(quote("\x01\x1b[31m\x7f"), R"("\x01\x1b[31m\x7f")");
  EXPECT_EQ(quote(R"(say "hi" \o/)"), R"("say \"hi\" \\o/")");
  EXPECT_EQ(quote(""), R"("")");
}

TEST(TracePayload, ShowsValidUtf8AsItIs) {
  EXPECT_EQ(quote("你好，世界\n"), "\"你好，世界\\n\"");
  EXPECT_EQ(quote("café 🙂"), "\"café 🙂\"");
}

TEST(TracePayload, ShowsInvalidUtf8AsBytes) {
  EXPECT_EQ(quote("\xff\xfe"), R"("\xff\xfe")");
  EXPECT_EQ(quote("\xc0\xaf"), R"("\xc0\xaf")");          // overlong '/'
  EXPECT_EQ(quote("\xed\xa0\x80"), R"("\xed\xa0\x80")");  // a UTF-16 surrogate
  EXPECT_EQ(quote("ok\xe4\xbd"), R"("ok\xe4\xbd")");      // cut short by the read
}

TEST(TracePayload, EscapesCodePointsThatSteerTheTerminal) {
  EXPECT_EQ(quote("abc\u202edcba"), R"("abc\u202edcba")");  // right-to-left override
  EXPECT_EQ(quote("\u0085"), R"("\u0085")");                // C1 next line
  EXPECT_EQ(quote("a\u2028b"), R"("a\u2028b")");            // line separator
}

TEST(TracePayload, CutsAtTheLimitWithAMarker) {
  EXPECT_EQ(quote("hello world", 5), R"("hello"...)");
  EXPECT_EQ(quote("hello", 5), R"("hello")");  // exactly the limit: nothing cut
  EXPECT_EQ(quote("a\nb", 2), R"("a\n"...)");  // counts bytes, not escapes
  EXPECT_EQ(quote("x", 0), R"(""...)");
}

TEST(TracePayload, NeverSplitsACharacterAtTheLimit) {
  // "你" is 3 bytes: with 4 bytes allowed, the second one does not fit.
  EXPECT_EQ(quote("你好", 4), "\"你\"...");
  EXPECT_EQ(quote("你好", 6), "\"你好\"");
}

// ------------------------------------------------------------------ setup calls

TEST(TraceCalls, SocketShowsFamilyTypeAndTheNewFd) {
  const CallText ok = socket_call(AF_INET, SOCK_STREAM, 3, 0);
  EXPECT_EQ(ok.text, "socket(AF_INET, SOCK_STREAM) = fd 3");
  EXPECT_EQ(ok.kind, CallKind::kSetup);
  EXPECT_FALSE(ok.error);
  const CallText bad = socket_call(AF_INET6, SOCK_DGRAM, -1, EAFNOSUPPORT);
  EXPECT_EQ(bad.text,
            "socket(AF_INET6, SOCK_DGRAM) = EAFNOSUPPORT (Address family not supported by "
            "protocol)");
  EXPECT_TRUE(bad.error);
}

TEST(TraceCalls, SetsockoptShowsLevelNameAndValue) {
  EXPECT_EQ(setsockopt_call(3, SOL_SOCKET, SO_REUSEADDR, 1, 0, 0).text,
            "setsockopt(fd 3, SOL_SOCKET, SO_REUSEADDR, 1)");
  EXPECT_EQ(setsockopt_call(4, IPPROTO_IPV6, IPV6_V6ONLY, 0, 0, 0).text,
            "setsockopt(fd 4, IPPROTO_IPV6, IPV6_V6ONLY, 0)");
  const CallText bad = setsockopt_call(5, IPPROTO_TCP, TCP_NODELAY, 1, -1, EOPNOTSUPP);
  EXPECT_EQ(bad.text,
            "setsockopt(fd 5, IPPROTO_TCP, TCP_NODELAY, 1) = EOPNOTSUPP (Operation not "
            "supported)");
  EXPECT_TRUE(bad.error);
}

TEST(TraceCalls, BindAndListenShowNothingOnSuccessAndTheErrorOtherwise) {
  EXPECT_EQ(bind_call(3, v4("127.0.0.1", 21567), 0, 0).text, "bind(fd 3, 127.0.0.1:21567)");
  EXPECT_EQ(bind_call(4, v6("::1", 21567), 0, 0).text, "bind(fd 4, [::1]:21567)");
  const CallText in_use = bind_call(3, v4("127.0.0.1", 21567), -1, EADDRINUSE);
  EXPECT_EQ(in_use.text, "bind(fd 3, 127.0.0.1:21567) = EADDRINUSE (Address already in use)");
  EXPECT_TRUE(in_use.error);
  EXPECT_EQ(listen_call(3, 128, 0, 0).text, "listen(fd 3, backlog 128)");
  EXPECT_FALSE(listen_call(3, 128, 0, 0).error);
}

TEST(TraceCalls, AcceptShowsTheNewFdAndThePeer) {
  const CallText ok = accept_call(3, 5, v4("127.0.0.1", 50122), 0);
  EXPECT_EQ(ok.text, "accept(fd 3) = fd 5 from 127.0.0.1:50122");
  EXPECT_EQ(ok.kind, CallKind::kSetup);
  // Nothing to accept is normal flow for a non-blocking socket; out of fds is not.
  const CallText again = accept_call(3, -1, Address(), EAGAIN);
  EXPECT_EQ(again.text, "accept(fd 3) = EAGAIN (Resource temporarily unavailable)");
  EXPECT_FALSE(again.error);
  EXPECT_TRUE(accept_call(3, -1, Address(), EMFILE).error);
}

TEST(TraceCalls, ConnectShowsHowItStartedAndSoErrorHowItEnded) {
  EXPECT_EQ(connect_call(3, v4("127.0.0.1", 21567), 0, 0).text, "connect(fd 3, 127.0.0.1:21567)");
  const CallText pending = connect_call(3, v6("::1", 21567), -1, EINPROGRESS);
  EXPECT_EQ(pending.text, "connect(fd 3, [::1]:21567) = EINPROGRESS (Operation now in progress)");
  EXPECT_FALSE(pending.error);
  const CallText refused = connect_call(3, v6("::1", 21567), -1, ECONNREFUSED);
  EXPECT_EQ(refused.text, "connect(fd 3, [::1]:21567) = ECONNREFUSED (Connection refused)");
  EXPECT_TRUE(refused.error);

  EXPECT_EQ(so_error_call(3, 0, 0, 0).text, "getsockopt(fd 3, SOL_SOCKET, SO_ERROR) = 0");
  const CallText ended = so_error_call(3, 0, ECONNREFUSED, 0);
  EXPECT_EQ(ended.text,
            "getsockopt(fd 3, SOL_SOCKET, SO_ERROR) = ECONNREFUSED (Connection refused)");
  EXPECT_TRUE(ended.error);
}

TEST(TraceCalls, AddressQueriesShowTheAddress) {
  EXPECT_EQ(getsockname_call(3, v4("127.0.0.1", 40123), 0, 0).text,
            "getsockname(fd 3) = 127.0.0.1:40123");
  EXPECT_EQ(getpeername_call(3, v6("::1", 21567), 0, 0).text, "getpeername(fd 3) = [::1]:21567");
  EXPECT_EQ(getpeername_call(3, Address(), -1, ENOTCONN).text,
            "getpeername(fd 3) = ENOTCONN (Transport endpoint is not connected)");
}

// ------------------------------------------------------------------ data calls

TEST(TraceCalls, RecvShowsBufferSizeByteCountAndPayload) {
  const std::string data = "hello\n";
  const CallText ok = recv_call(5, 65536, data.data(), 6, 0, true, 32);
  EXPECT_EQ(ok.text, R"(recv(fd 5, 65536) = 6 bytes "hello\n")");
  EXPECT_EQ(ok.kind, CallKind::kData);
  EXPECT_EQ(recv_call(5, 65536, "x", 1, 0, true, 32).text, R"(recv(fd 5, 65536) = 1 byte "x")");
  // Only the n bytes received, whatever else the buffer holds.
  EXPECT_EQ(recv_call(5, 1024, "abcdef", 3, 0, true, 32).text,
            R"(recv(fd 5, 1024) = 3 bytes "abc")");
  EXPECT_EQ(recv_call(5, 65536, data.data(), 6, 0, true, 0).text, "recv(fd 5, 65536) = 6 bytes");
}

TEST(TraceCalls, RecvOfNothingEndsAStreamButNotADatagram) {
  EXPECT_EQ(recv_call(5, 65536, "", 0, 0, true, 32).text,
            "recv(fd 5, 65536) = 0 bytes (peer closed)");
  EXPECT_EQ(recv_call(4, 65536, "", 0, 0, false, 32).text, R"(recv(fd 4, 65536) = 0 bytes "")");
}

TEST(TraceCalls, RecvErrorsAreRedButWouldBlockIsNot) {
  const CallText reset = recv_call(5, 65536, "", -1, ECONNRESET, true, 32);
  EXPECT_EQ(reset.text, "recv(fd 5, 65536) = ECONNRESET (Connection reset by peer)");
  EXPECT_TRUE(reset.error);
  EXPECT_FALSE(recv_call(5, 65536, "", -1, EAGAIN, true, 32).error);
}

TEST(TraceCalls, SendShowsWhatItWasGivenAndHowMuchWent) {
  const std::string reply = "[Wed Nov 25 11:31:22 2026] hello\n";
  const CallText ok = send_call(5, reply.data(), reply.size(), 33, 0, 32);
  EXPECT_EQ(ok.text, R"(send(fd 5, 33 bytes "[Wed Nov 25 11:31:22 2026] hello"...) = 33)");
  EXPECT_EQ(send_call(5, reply.data(), reply.size(), 20, 0, 0).text,
            "send(fd 5, 33 bytes) = 20");  // partial write
  const CallText pipe = send_call(5, "x", 1, -1, EPIPE, 32);
  EXPECT_EQ(pipe.text, R"(send(fd 5, 1 byte "x") = EPIPE (Broken pipe))");
  EXPECT_TRUE(pipe.error);
}

TEST(TraceCalls, DatagramCallsShowThePeerAddress) {
  EXPECT_EQ(recvfrom_call(4, 65536, "hello", 5, v4("127.0.0.1", 40001), 0, 32).text,
            R"(recvfrom(fd 4, 65536) = 5 bytes "hello" from 127.0.0.1:40001)");
  EXPECT_EQ(sendto_call(4, "hi\n", 3, v6("::1", 40001), 3, 0, 32).text,
            R"(sendto(fd 4, 3 bytes "hi\n", [::1]:40001) = 3)");
  EXPECT_EQ(sendto_call(4, "hi", 2, v4("127.0.0.1", 9), -1, ECONNREFUSED, 32).text,
            R"(sendto(fd 4, 2 bytes "hi", 127.0.0.1:9) = ECONNREFUSED (Connection refused))");
}

// ------------------------------------------------------------------ teardown

TEST(TraceCalls, TeardownCalls) {
  const CallText closed = close_call(5, 0, 0);
  EXPECT_EQ(closed.text, "close(fd 5)");
  EXPECT_EQ(closed.kind, CallKind::kTeardown);
  EXPECT_EQ(close_call(5, -1, EBADF).text, "close(fd 5) = EBADF (Bad file descriptor)");
  EXPECT_EQ(shutdown_call(3, SHUT_WR, 0, 0).text, "shutdown(fd 3, SHUT_WR)");
  EXPECT_EQ(shutdown_call(3, SHUT_WR, 0, 0).kind, CallKind::kTeardown);
}

// ------------------------------------------------------------------ the event loop

TEST(TraceCalls, EventLoopCalls) {
  EXPECT_EQ(epoll_create_call(4, 0).text, "epoll_create1(EPOLL_CLOEXEC) = fd 4");
  EXPECT_EQ(epoll_ctl_call(4, EPOLL_CTL_ADD, 3, EPOLLIN, 0, 0).text,
            "epoll_ctl(fd 4, EPOLL_CTL_ADD, fd 3, EPOLLIN)");
  EXPECT_EQ(epoll_ctl_call(4, EPOLL_CTL_MOD, 5, EPOLLIN | EPOLLOUT, 0, 0).text,
            "epoll_ctl(fd 4, EPOLL_CTL_MOD, fd 5, EPOLLIN|EPOLLOUT)");
  EXPECT_EQ(epoll_ctl_call(4, EPOLL_CTL_MOD, 5, 0, 0, 0).text,
            "epoll_ctl(fd 4, EPOLL_CTL_MOD, fd 5, 0x0)");
  EXPECT_EQ(epoll_ctl_call(4, EPOLL_CTL_DEL, 5, 0, 0, 0).text,
            "epoll_ctl(fd 4, EPOLL_CTL_DEL, fd 5)");
  EXPECT_EQ(epoll_wait_call(4, -1, 2, 0).text, "epoll_wait(fd 4, no timeout) = 2 ready");
  EXPECT_EQ(epoll_wait_call(4, 250, 0, 0).text, "epoll_wait(fd 4, timeout 250 ms) = 0 ready");
  EXPECT_EQ(epoll_wait_call(4, 250, 0, 0).kind, CallKind::kLoop);
  EXPECT_FALSE(epoll_wait_call(4, -1, -1, EINTR).error);  // a signal: wait again

  const pollfd fds[] = {{5, POLLIN, 0}, {-1, POLLIN, 0}, {7, POLLOUT, 0}};
  EXPECT_EQ(poll_call(fds, 3, 10000, 1, 0).text,
            "poll(fd 5 POLLIN, fd 7 POLLOUT; timeout 10000 ms) = 1 ready");
  EXPECT_EQ(poll_call(fds, 1, -1, 1, 0).text, "poll(fd 5 POLLIN; no timeout) = 1 ready");
}

// ------------------------------------------------------------------ whole lines

TEST(TraceLine, StartsWithMillisecondsSinceStart) {
  LinePrefix p;
  p.ms = 12.3456;
  EXPECT_EQ(format_trace_line(p, close_call(5, 0, 0), false), "   12.346 ms close(fd 5)\n");
  p.ms = 123456.5;
  EXPECT_EQ(format_trace_line(p, close_call(5, 0, 0), false), "123456.500 ms close(fd 5)\n");
}

TEST(TraceLine, NamesTheThreadOrProcessWhenAsked) {
  LinePrefix p;
  p.ms = 1;
  p.id_kind = LinePrefix::Id::kThread;
  p.id = 4242;
  EXPECT_EQ(format_trace_line(p, close_call(5, 0, 0), false),
            "    1.000 ms [tid 4242] close(fd 5)\n");
  p.id_kind = LinePrefix::Id::kProcess;
  EXPECT_EQ(format_trace_line(p, close_call(5, 0, 0), false),
            "    1.000 ms [pid 4242] close(fd 5)\n");
}

TEST(TraceLine, ColoursTheCallByKindAndErrorsInRed) {
  const LinePrefix p;
  EXPECT_EQ(format_trace_line(p, listen_call(3, 128, 0, 0), true),
            "    0.000 ms \033[36mlisten(fd 3, backlog 128)\033[0m\n");
  EXPECT_EQ(format_trace_line(p, recv_call(5, 9, "hi", 2, 0, true, 32), true),
            "    0.000 ms \033[32mrecv(fd 5, 9) = 2 bytes \"hi\"\033[0m\n");
  EXPECT_EQ(format_trace_line(p, close_call(5, 0, 0), true),
            "    0.000 ms \033[33mclose(fd 5)\033[0m\n");
  EXPECT_EQ(format_trace_line(p, epoll_wait_call(4, -1, 1, 0), true),
            "    0.000 ms \033[2mepoll_wait(fd 4, no timeout) = 1 ready\033[0m\n");
  EXPECT_EQ(format_trace_line(p, connect_call(3, v4("127.0.0.1", 1), -1, ECONNREFUSED), true),
            "    0.000 ms \033[31mconnect(fd 3, 127.0.0.1:1) = ECONNREFUSED (Connection "
            "refused)\033[0m\n");
}

TEST(TraceLine, HasNoEscapeSequencesWithoutColour) {
  const LinePrefix p;
  for (const CallText& c :
       {listen_call(3, 1, 0, 0), close_call(5, -1, EBADF), recv_call(5, 9, "hi", 2, 0, true, 32)}) {
    EXPECT_EQ(format_trace_line(p, c, false).find('\033'), std::string::npos) << c.text;
  }
}

}  // namespace
}  // namespace netlab::net
