#pragma once
// The tutorial's reply format: "[<ctime>] <data>", ctime exactly like
// Python's time.ctime() in local time ("Thu Nov  5 11:31:22 2026": the day of
// the month is space-padded, names are English whatever the locale).
#include <ctime>
#include <string>
#include <string_view>

namespace netlab::modes {

std::string format_ctime(std::time_t t);

// ctime of now, formatted at most once per second per thread (the hot path of
// every timestamp server).
const std::string& ctime_now();
// "[<ctime>] ", the reply prefix, cached the same way.
const std::string& timestamp_prefix();

std::string timestamp_reply(std::string_view data);
// The same, appended to `out`: servers reuse one string per thread, so a
// reply costs no allocation.
void append_timestamp_reply(std::string& out, std::string_view data);

}  // namespace netlab::modes
