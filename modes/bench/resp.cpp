#include "modes/bench/resp.hpp"

#include <charconv>

namespace netlab::modes::bench {

namespace {
// Anything longer than a channel name or a sequence number is not ours, but
// must still parse; this only guards against absurd lengths in garbage.
constexpr long long kMaxBulk = 512LL * 1024 * 1024;

// The text of a "\r\n"-terminated header line starting at `pos` (after the
// type byte); false while the line is incomplete.
bool header(std::string_view in, size_t& pos, std::string_view& text) {
  const size_t end = in.find("\r\n", pos);
  if (end == std::string_view::npos) return false;
  text = in.substr(pos, end - pos);
  pos = end + 2;
  return true;
}

bool to_int(std::string_view s, long long& v) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// One non-array value at `pos`: a bulk string, integer, simple string or
// error. Returns kReply with `value` set and `pos` past it.
RespParse element(std::string_view in, size_t& pos, std::string_view& value) {
  if (pos >= in.size()) return RespParse::kNeedMore;
  const char type = in[pos++];
  std::string_view text;
  if (!header(in, pos, text)) return RespParse::kNeedMore;
  if (type == '+' || type == '-' || type == ':') {
    value = text;
    return RespParse::kReply;
  }
  if (type != '$') return RespParse::kMalformed;
  long long len = 0;
  if (!to_int(text, len) || len < -1 || len > kMaxBulk) return RespParse::kMalformed;
  if (len == -1) {  // the null bulk string
    value = {};
    return RespParse::kReply;
  }
  const auto n = static_cast<size_t>(len);
  if (in.size() < pos + n + 2) return RespParse::kNeedMore;
  if (in.compare(pos + n, 2, "\r\n") != 0) return RespParse::kMalformed;
  value = in.substr(pos, n);
  pos += n + 2;
  return RespParse::kReply;
}
}  // namespace

RespParse parse_resp(std::string_view in, RespReply& out, size_t& consumed) {
  if (in.empty()) return RespParse::kNeedMore;
  out = RespReply{};
  out.type = in[0];
  size_t pos = 0;
  if (out.type != '*') {
    const RespParse r = element(in, pos, out.scalar);
    if (r == RespParse::kReply) consumed = pos;
    return r;
  }
  pos = 1;
  std::string_view text;
  if (!header(in, pos, text)) return RespParse::kNeedMore;
  long long count = 0;
  if (!to_int(text, count) || count < -1) return RespParse::kMalformed;
  out.count = count < 0 ? 0 : static_cast<size_t>(count);
  for (size_t i = 0; i < out.count; ++i) {
    std::string_view value;
    const RespParse r = element(in, pos, value);
    if (r != RespParse::kReply) return r;
    if (i < 3) out.items[i] = value;
  }
  consumed = pos;
  return RespParse::kReply;
}

}  // namespace netlab::modes::bench
