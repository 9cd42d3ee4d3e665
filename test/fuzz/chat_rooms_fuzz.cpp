// Fuzzes the chat room model (RoomDirectory) with a fuzzed sequence of
// steps: protocol lines from members (login, say, /join, /who, /rooms, /msg,
// quit) handled the way RoomServer does, direct joins/moves/leaves with
// colliding names, oversized history lines, and bursts of rooms that empty
// with history (to reach the idle-room limit). A plain shadow model of who is
// where is kept alongside, and after every step:
//   - every member is in exactly one room, once; a name is taken at most
//     once per room (the same name in two rooms is allowed: names are
//     unique per room, see docs/chat.md);
//   - find(), members(), rooms() and member_count() agree with the model
//     and with each other; find_in_room() finds exactly the model's member;
//   - history never holds more than the history limit or kMaxHistoryBytes;
//     after a line is recorded it is exactly the longest suffix of (old
//     history + line) within both limits; it is always a suffix of what was
//     said in that room; a room that just emptied keeps its history;
//   - at most kMaxIdleRooms rooms without members keep a history.
// The server's --max-queue cap lives in RoomServer, on net::Connection and
// real sockets; it is not part of this model and is not fuzzed here.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "modes/chat/protocol.hpp"
#include "modes/chat/rooms.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

namespace chat = netlab::modes::chat;
using chat::JoinResult;
using chat::MemberId;
using chat::RoomDirectory;

constexpr std::string_view kCtime = "Wed Nov 25 11:31:22 2026";
constexpr MemberId kMembers = 8;       // ids 1..8 take part in every step
constexpr MemberId kBurstIds = 1000;   // ids for the room bursts, gone after each burst
constexpr size_t kMaxBurstRooms = 40;  // a few bursts pass kMaxIdleRooms (names go on)

class Harness {
 public:
  explicit Harness(size_t history_limit) : dir_(history_limit), limit_(history_limit) {}

  // ---- steps ---------------------------------------------------------------

  void protocol_line(MemberId id, const std::string& line) {
    if (!dir_.find(id)) {
      const auto login = chat::parse_login(line);
      if (const auto* l = std::get_if<chat::Login>(&login)) join(id, l->name, l->room);
      return;
    }
    const auto* m = dir_.find(id);
    const chat::Command cmd = chat::parse_command(line);
    switch (cmd.kind) {
      case chat::Command::Kind::kSay:
        if (!chat::trim(cmd.text).empty()) {
          record(m->room, chat::format_message(kCtime, m->name, cmd.text));
        }
        break;
      case chat::Command::Kind::kQuit:
        leave(id);
        break;
      case chat::Command::Kind::kJoin:
        if (!chat::name_problem(cmd.target)) move(id, std::string(cmd.target));
        break;
      case chat::Command::Kind::kMsg:
        if (!cmd.target.empty()) {
          FUZZ_CHECK(dir_.find_in_room(m->room, cmd.target) == model_find(m->room, cmd.target));
        }
        break;
      case chat::Command::Kind::kWho:
        for (MemberId other : dir_.members(m->room)) FUZZ_CHECK(dir_.find(other) != nullptr);
        break;
      case chat::Command::Kind::kRooms:
      case chat::Command::Kind::kHelp:
      case chat::Command::Kind::kUnknown:
        break;
    }
  }

  // Only valid names reach join(): parse_login and the server check them first.
  void join(MemberId id, const std::string& name, const std::string& room) {
    if (dir_.find(id) || chat::name_problem(name) || chat::name_problem(room)) return;
    note_room(room);
    const bool taken = model_find(room, name).has_value();
    const JoinResult r = dir_.join(id, name, room);
    FUZZ_CHECK((r == JoinResult::kNameTaken) == taken);
    if (!taken) {
      members_[id] = {name, room};
      rooms_[room].push_back(id);
    }
  }

  void move(MemberId id, const std::string& room) {
    if (chat::name_problem(room)) return;
    note_room(room);
    const auto it = members_.find(id);
    const JoinResult r = dir_.move(id, room);
    if (it == members_.end()) {
      FUZZ_CHECK(r == JoinResult::kNameTaken);  // not a member: nothing to move
      return;
    }
    if (it->second.room == room) {
      FUZZ_CHECK(r == JoinResult::kJoined);
      return;
    }
    const bool taken = model_find(room, it->second.name).has_value();
    FUZZ_CHECK((r == JoinResult::kNameTaken) == taken);
    if (taken) return;
    const std::string name = it->second.name;
    leave_model(id);
    members_[id] = {name, room};
    rooms_[room].push_back(id);
  }

  void leave(MemberId id) {
    const auto it = members_.find(id);
    if (it == members_.end()) {
      dir_.leave(id);  // not a member: a no-op
      return;
    }
    const std::string room = it->second.room;
    const std::deque<std::string> before = dir_.history(room);
    dir_.leave(id);
    leave_model(id);
    // The room just emptied is the most recently emptied: it keeps its history.
    if (!rooms_.count(room)) FUZZ_CHECK(dir_.history(room) == before);
  }

  void record(const std::string& room, std::string line) {
    note_room(room);
    std::deque<std::string> expected = dir_.history(room);
    const bool spoken = rooms_.count(room) > 0 && limit_ > 0;
    if (spoken) {
      said_[room].push_back(digest(line));
      expected.push_back(line);
      size_t bytes = 0;
      for (const auto& l : expected) bytes += l.size();
      while (expected.size() > limit_ || bytes > RoomDirectory::kMaxHistoryBytes) {
        bytes -= expected.front().size();
        expected.pop_front();
      }
    }
    dir_.record(room, std::move(line));
    FUZZ_CHECK(dir_.history(room) == expected);
  }

  // Rooms that each get one member, one line and then empty again. Names
  // go on from one burst to the next, so a few bursts pass kMaxIdleRooms.
  void burst(size_t rooms, size_t line_size) {
    for (size_t k = 0; k < rooms; ++k, ++bursts_) {
      const std::string room = "burst-" + std::to_string(bursts_);
      join(kBurstIds + k, "b", room);
      record(room, std::string(line_size, 'b'));
      leave(kBurstIds + k);
    }
  }

  // ---- invariants ----------------------------------------------------------

  void check() const {
    FUZZ_CHECK(dir_.member_count() == members_.size());
    for (MemberId id = 1; id <= kMembers; ++id) {
      const auto* m = dir_.find(id);
      const auto it = members_.find(id);
      FUZZ_CHECK((m != nullptr) == (it != members_.end()));
      if (!m) continue;
      FUZZ_CHECK(m->name == it->second.name && m->room == it->second.room);
      const auto& list = dir_.members(m->room);
      FUZZ_CHECK(std::count(list.begin(), list.end(), id) == 1);
      FUZZ_CHECK(dir_.find_in_room(m->room, m->name) == id);
    }
    std::vector<std::pair<std::string, size_t>> expected_rooms;
    for (const auto& [room, ids] : rooms_) expected_rooms.emplace_back(room, ids.size());
    FUZZ_CHECK(dir_.rooms() == expected_rooms);

    size_t idle_with_history = 0;
    for (const std::string& room : known_rooms_) {
      const auto it = rooms_.find(room);
      const auto& list = dir_.members(room);
      if (it == rooms_.end()) {
        FUZZ_CHECK(list.empty());
      } else {
        FUZZ_CHECK(list == it->second);
        std::set<std::string> names;
        for (MemberId id : list) FUZZ_CHECK(names.insert(dir_.find(id)->name).second);
      }
      const auto& history = dir_.history(room);
      FUZZ_CHECK(history.size() <= limit_);
      size_t bytes = 0;
      for (const auto& l : history) bytes += l.size();
      FUZZ_CHECK(bytes <= RoomDirectory::kMaxHistoryBytes);
      const auto said = said_.find(room);
      const size_t said_count = said == said_.end() ? 0 : said->second.size();
      FUZZ_CHECK(history.size() <= said_count);
      if (!history.empty()) {
        FUZZ_CHECK(
            std::equal(history.rbegin(), history.rend(), said->second.rbegin(),
                       [](const std::string& line, const Digest& d) { return digest(line) == d; }));
      }
      if (list.empty() && !history.empty()) ++idle_with_history;
    }
    FUZZ_CHECK(idle_with_history <= RoomDirectory::kMaxIdleRooms);
  }

 private:
  // What was said is remembered by its size and the hash of its start:
  // lines may be 1 MiB each, and the long ones are made of one byte anyway.
  using Digest = std::pair<size_t, size_t>;
  static Digest digest(const std::string& line) {
    return {line.size(), std::hash<std::string_view>{}(std::string_view(line).substr(0, 256))};
  }

  struct Seat {
    std::string name;
    std::string room;
  };

  std::optional<MemberId> model_find(std::string_view room, std::string_view name) const {
    const auto it = rooms_.find(std::string(room));
    if (it == rooms_.end()) return std::nullopt;
    for (MemberId id : it->second) {
      if (members_.at(id).name == name) return id;
    }
    return std::nullopt;
  }

  void leave_model(MemberId id) {
    const std::string room = members_.at(id).room;
    auto& list = rooms_.at(room);
    list.erase(std::find(list.begin(), list.end(), id));
    if (list.empty()) rooms_.erase(room);
    members_.erase(id);
  }

  void note_room(const std::string& room) { known_rooms_.insert(room); }

  RoomDirectory dir_;
  size_t limit_;
  std::map<MemberId, Seat> members_;
  std::map<std::string, std::vector<MemberId>> rooms_;  // non-empty rooms, in join order
  std::map<std::string, std::vector<Digest>> said_;     // every line recorded with members in
  std::set<std::string> known_rooms_;
  size_t bursts_ = 0;
};

// Few names and rooms, so collisions (reuse) and shared rooms are common.
const char* const kNames[] = {"alice", "bob", "张三", "李四", "x", "Alice"};
const char* const kRooms[] = {"lobby", "games", "聊天室", "r", "burst-0", "burst-150"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const size_t limit = fdp.PickValueInArray<size_t>({0, 1, 2, 3, 5, 100000});
  Harness h(limit);
  for (int step = 0; step < 200 && fdp.remaining_bytes() > 0; ++step) {
    const MemberId id = fdp.ConsumeIntegralInRange<MemberId>(1, kMembers);
    // Protocol lines are most of what a server sees; bursts cost the most.
    switch (fdp.ConsumeIntegralInRange(0, 9)) {
      case 0:
      case 1:
      case 2:
      case 3:
        h.protocol_line(id, fdp.ConsumeRandomLengthString(64));
        break;
      case 4: {
        // One statement per value: the order of function arguments (and of
        // `a + b`) is unspecified, and make_seeds.py relies on this order.
        const std::string name = fdp.PickValueInArray(kNames);
        const std::string room = fdp.PickValueInArray(kRooms);
        h.join(id, name, room);
        break;
      }
      case 5:
        h.move(id, fdp.PickValueInArray(kRooms));
        break;
      case 6:
        h.leave(id);
        break;
      case 7: {
        // Lines around the byte limit's edges (two halves fill it exactly).
        constexpr size_t kMax = RoomDirectory::kMaxHistoryBytes;
        const std::string room = fdp.PickValueInArray(kRooms);
        const size_t edge = fdp.PickValueInArray<size_t>({0, 1, 64, kMax / 3, kMax / 2, kMax});
        const size_t bytes = edge + fdp.ConsumeIntegralInRange<size_t>(0, 2);
        h.record(room, std::string(bytes, 'y'));
        break;
      }
      case 8: {
        const size_t rooms = fdp.ConsumeIntegralInRange<size_t>(1, kMaxBurstRooms);
        const size_t line_size = fdp.ConsumeIntegralInRange<size_t>(0, 8);
        h.burst(rooms, line_size);
        break;
      }
      default:
        break;
    }
    h.check();
  }
  return 0;
}
