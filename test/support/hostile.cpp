#include "support/hostile.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "support/proc_stats.hpp"

namespace netlab::testing {

namespace {
bool starts_like_a_command(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '/' ||
         (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
}  // namespace

std::string random_lines(size_t bytes, uint32_t seed) {
  // mt19937's output is fixed by the standard for a seed (unlike the
  // distributions), so a failure reproduces anywhere.
  std::mt19937 gen(seed);
  std::string out;
  out.reserve(bytes + 1);
  while (out.size() < bytes) {
    const uint32_t r = gen();
    for (int i = 0; i < 4 && out.size() < bytes; ++i)
      out.push_back(static_cast<char>(r >> (8 * i)));
  }
  out.push_back('\n');
  // Normalize (see the header): a '\n' right after another one, a first byte
  // that reads as a command, a last byte '\r' all become NULs.
  bool line_start = true;
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    if (c == '\n') {
      if (line_start && i + 1 < out.size()) {
        out[i] = '\0';  // would be an empty line; an empty last line is avoided below
        line_start = false;
        continue;
      }
      if (i > 0 && out[i - 1] == '\r') out[i - 1] = '\0';
      line_start = true;
      continue;
    }
    if (line_start && starts_like_a_command(c)) out[i] = '\0';
    line_start = false;
  }
  if (out.size() >= 2 && out[out.size() - 2] == '\n') out[out.size() - 2] = '\0';
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  size_t nl;
  while ((nl = text.find('\n')) != std::string_view::npos) {
    out.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  if (!text.empty()) out.emplace_back(text);
  return out;
}

const std::vector<std::string>& invalid_utf8_lines() {
  static const std::vector<std::string> lines = {
      "\x80 stray continuation byte",
      "\xc0\xaf overlong slash",
      "\xe0\x80\xaf overlong three-byte slash",
      "\xed\xa0\x80 UTF-16 surrogate D800",
      "\xe4\xbd truncated \xe5",
      "\xfe\xff"
      " bytes that never occur",
      "\xf8\x88\x80\x80\x80 five-byte form",
      "\xf4\x90\x80\x80 beyond U+10FFFF",
      std::string("\0 NUL, then latin-1 caf\xe9", 24),
  };
  return lines;
}

const std::vector<std::string>& chinese_lines() {
  static const std::vector<std::string> lines = {
      "你好，世界！",
      "时间戳服务器：每行都有回复。",
      "「网络编程」第十六章 — 套接字",
      "😀 表情符号也是 UTF-8",
  };
  return lines;
}

std::string send_reading_replies(Client& sender, Client& reader, std::string_view data,
                                 size_t chunk) {
  std::string got;
  for (size_t at = 0; at < data.size(); at += chunk) {
    const std::string_view piece = data.substr(at, chunk);
    if (!sender.send(piece)) return got;
    const size_t lines = static_cast<size_t>(std::count(piece.begin(), piece.end(), '\n'));
    if (lines == 0) continue;
    const std::string replies = reader.read_lines(lines);
    got += replies;
    if (static_cast<size_t>(std::count(replies.begin(), replies.end(), '\n')) != lines) return got;
  }
  return got;
}

std::string dribble(std::vector<Client>& clients, const std::vector<std::string>& lines,
                    Millis per_byte) {
  size_t longest = 0;
  for (const auto& l : lines) longest = std::max(longest, l.size());
  auto next_tick = Clock::now();
  for (size_t i = 0; i < longest; ++i) {
    // The pacing itself is the point here: one byte per client per tick.
    // The wait between ticks is a poll() on every client whose line is not
    // complete yet, which must stay silent.
    std::vector<pollfd> fds;
    std::vector<size_t> who;
    for (size_t k = 0; k < clients.size(); ++k) {
      if (i < lines[k].size()) {
        if (!clients[k].send(std::string_view(lines[k]).substr(i, 1)))
          return "client " + std::to_string(k) + ": send failed at byte " + std::to_string(i);
      }
      if (i + 1 < lines[k].size()) {
        fds.push_back({clients[k].fd(), POLLIN, 0});
        who.push_back(k);
      }
    }
    if (i + 1 == longest) break;
    next_tick += per_byte;
    while (Clock::now() < next_tick) {
      const int n = ::poll(fds.data(), fds.size(), ms_left(next_tick));
      if (n > 0) {
        for (size_t f = 0; f < fds.size(); ++f) {
          if (fds[f].revents != 0) {
            return "client " + std::to_string(who[f]) + " got a reply or a close after only " +
                   std::to_string(i + 1) + " of " + std::to_string(lines[who[f]].size()) + " bytes";
          }
        }
      }
    }
  }
  return "";
}

double idle_cpu_seconds(pid_t pid, const std::vector<Client*>& watch) {
  const auto before = cpu_seconds(pid);
  std::vector<pollfd> fds;
  for (Client* c : watch) fds.push_back({c->fd(), POLLIN, 0});
  const auto until = Clock::now() + std::chrono::seconds(1);
  while (Clock::now() < until) {
    if (::poll(fds.data(), fds.size(), ms_left(until)) > 0) {
      ADD_FAILURE() << "a client heard from the server during the idle second";
      break;
    }
  }
  const auto after = cpu_seconds(pid);
  if (!before || !after) {
    ADD_FAILURE() << "no CPU times for pid " << pid;
    return 0;
  }
  return *after - *before;
}

size_t max_of_sysctl(const char* path, size_t fallback) {
  std::ifstream in(path);
  size_t value = 0, largest = 0;
  while (in >> value) largest = std::max(largest, value);
  return largest > 0 ? largest : fallback;
}

std::vector<size_t> flood_without_reading(std::vector<Client>& clients, size_t give_up) {
  std::string chunk;
  while (chunk.size() < 64 * 1024) chunk += std::string(999, 'r') + "\n";
  std::vector<size_t> sent(clients.size(), 0);
  std::vector<bool> blocked(clients.size(), false);
  for (bool any = true; any;) {
    any = false;
    for (size_t k = 0; k < clients.size(); ++k) {
      if (blocked[k] || sent[k] >= give_up) continue;
      any = true;
      if (clients[k].send(chunk, Millis(200))) {
        sent[k] += chunk.size();
      } else {
        blocked[k] = true;
      }
    }
  }
  return sent;
}

size_t throttle_give_up() {
  return (size_t{1} << 20) + 2 * max_of_sysctl("/proc/sys/net/ipv4/tcp_rmem", 6u << 20);
}

// ------------------------------------------------------------ KeepTalking

KeepTalking::KeepTalking(Round round, Millis pause)
    : round_(std::move(round)), pause_(pause), thread_([this] { loop(); }) {}

KeepTalking::~KeepTalking() {
  if (!stopped_) stop();
}

void KeepTalking::loop() {
  std::unique_lock lock(mu_);
  for (uint64_t n = 0; !stopping_; ++n) {
    lock.unlock();
    const auto start = Clock::now();
    std::string failure = round_(n);
    const auto took = std::chrono::duration_cast<Millis>(Clock::now() - start);
    lock.lock();
    result_.slowest = std::max(result_.slowest, took);
    if (!failure.empty()) {
      result_.failure = "round " + std::to_string(n) + ": " + failure;
      cv_.notify_all();
      return;
    }
    ++result_.rounds;
    cv_.notify_all();
    // A pause between rounds, so the good clients do not compete with the
    // server for the CPU; stop() cuts it short.
    cv_.wait_for(lock, pause_, [this] { return stopping_; });
  }
}

bool KeepTalking::wait_for_rounds(uint64_t more, Millis timeout) {
  std::unique_lock lock(mu_);
  const uint64_t target = result_.rounds + more;
  cv_.wait_for(lock, timeout,
               [&] { return result_.rounds >= target || !result_.failure.empty() || stopping_; });
  return result_.rounds >= target;
}

uint64_t KeepTalking::rounds() {
  std::lock_guard lock(mu_);
  return result_.rounds;
}

KeepTalking::Result KeepTalking::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  stopped_ = true;
  std::printf("[   GOOD   ] %llu rounds, slowest %lld ms%s%s\n",
              static_cast<unsigned long long>(result_.rounds),
              static_cast<long long>(result_.slowest.count()), result_.failure.empty() ? "" : "; ",
              result_.failure.c_str());
  std::fflush(stdout);
  return result_;
}

::testing::AssertionResult talked_fine(const KeepTalking::Result& r, uint64_t min_rounds) {
  if (!r.failure.empty())
    return ::testing::AssertionFailure() << "a well-behaved client was hurt: " << r.failure;
  if (r.rounds < min_rounds) {
    return ::testing::AssertionFailure() << "the well-behaved clients completed only " << r.rounds
                                         << " rounds (want " << min_rounds << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace netlab::testing
