#include "support/proc_stats.hpp"

#include <dirent.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace netlab::testing {

namespace {
// "/proc/PID/stat" after the command name, split on blanks: the command may
// hold blanks and parentheses itself, so everything up to the last ')' goes.
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all;
  if (!std::getline(in, all)) return std::nullopt;
  const size_t paren = all.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(all.substr(paren + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 of proc(5): the state
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

long status_kib(const std::string& status, std::string_view key) {
  const size_t at = status.find(std::string(key) + ":");
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + key.size() + 1, nullptr, 10);
}
}  // namespace

std::optional<MemoryUse> memory_use(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  std::stringstream all;
  all << in.rdbuf();
  const std::string status = all.str();
  MemoryUse m{status_kib(status, "VmRSS"), status_kib(status, "VmHWM")};
  if (m.rss_kib < 0) return std::nullopt;  // a zombie has no memory lines
  return m;
}

std::optional<double> cpu_seconds(pid_t pid) {
  const auto f = stat_fields(pid);
  // utime and stime are fields 14 and 15 of proc(5).
  if (!f || f->size() < 13) return std::nullopt;
  const double ticks =
      std::strtod((*f)[11].c_str(), nullptr) + std::strtod((*f)[12].c_str(), nullptr);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int open_fd_count(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

int wait_for_fd_count_at_most(pid_t pid, int want, Millis timeout) {
  // The server closes a connection when its event loop gets to it; nothing
  // signals that to us, so look every few milliseconds until the deadline.
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const int n = open_fd_count(pid);
    if (n <= want || Clock::now() >= deadline) return n;
    ::poll(nullptr, 0, std::min(ms_left(deadline), 5));
  }
}

std::vector<pid_t> live_processes_in_group(pid_t pgid, pid_t except) {
  std::vector<pid_t> found;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return found;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == except) continue;
    const auto f = stat_fields(static_cast<pid_t>(pid));
    // state is field 3, pgrp field 5.
    if (!f || f->size() < 3 || (*f)[0] == "Z" || (*f)[0] == "X") continue;
    if (std::strtol((*f)[2].c_str(), nullptr, 10) == pgid) found.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return found;
}

bool wait_exited_unreaped(pid_t pid, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      if (pidfd >= 0) ::close(pidfd);
      return true;
    }
    if (Clock::now() >= deadline) break;
    // A pidfd becomes readable when the process exits; without one (old
    // kernels) look again every 10 ms.
    pollfd p{pidfd, POLLIN, 0};
    ::poll(pidfd >= 0 ? &p : nullptr, pidfd >= 0 ? 1 : 0,
           pidfd >= 0 ? ms_left(deadline) : std::min(ms_left(deadline), 10));
  }
  if (pidfd >= 0) ::close(pidfd);
  return false;
}

::testing::AssertionResult rss_within(pid_t pid, std::string_view key, long bound_kib) {
  const auto m = memory_use(pid);
  if (!m) return ::testing::AssertionFailure() << "no /proc/" << pid << "/status";
  const std::string k(key);
  ::testing::Test::RecordProperty(k + "_rss_kib", std::to_string(m->rss_kib));
  ::testing::Test::RecordProperty(k + "_peak_rss_kib", std::to_string(m->peak_kib));
  std::printf("[   RSS    ] %s: %ld KiB (peak %ld KiB, bound %ld KiB)\n", k.c_str(), m->rss_kib,
              m->peak_kib, bound_kib);
  std::fflush(stdout);
  if (m->rss_kib >= bound_kib) {
    return ::testing::AssertionFailure()
           << k << ": server RSS " << m->rss_kib << " KiB is over the bound of " << bound_kib
           << " KiB (peak " << m->peak_kib << " KiB)";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace netlab::testing
