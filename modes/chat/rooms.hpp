#pragma once
// The chat server's room model, free of sockets so it can be tested (and
// fuzzed) on its own. It knows who is in which room under which name, keeps
// each room's recent history, and enforces the naming rules. The server owns
// the connections; rooms refer to members only by MemberId.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace netlab::modes::chat {

using MemberId = uint64_t;

inline constexpr std::string_view kDefaultRoom = "lobby";
inline constexpr size_t kMaxNameChars = 32;

// nullopt when `name` is a valid user or room name: 1-32 characters of valid
// UTF-8, none of them spaces or control characters. Otherwise the reason.
std::optional<std::string> name_problem(std::string_view name);

enum class JoinResult { kJoined, kNameTaken };

class RoomDirectory {
 public:
  explicit RoomDirectory(size_t history_limit = 0) : history_limit_(history_limit) {}

  // The member must not be in a room; name and room must be valid.
  JoinResult join(MemberId id, std::string name, std::string room);
  // Moves a member to another room under the same name (the reuse rule of the new room applies).
  JoinResult move(MemberId id, std::string room);
  // Removes the member. A room left empty keeps its history for the next
  // newcomer; only the kMaxIdleRooms most recently emptied rooms do, so
  // memory stays bounded however many rooms are created.
  void leave(MemberId id);

  struct Member {
    std::string name;
    std::string room;
  };
  const Member* find(MemberId id) const;
  std::optional<MemberId> find_in_room(std::string_view room, std::string_view name) const;
  // Members of a room in the order they joined (empty for an unknown room).
  const std::vector<MemberId>& members(std::string_view room) const;
  // Every room that has members, with its member count, sorted by name.
  std::vector<std::pair<std::string, size_t>> rooms() const;
  size_t member_count() const { return members_.size(); }

  static constexpr size_t kMaxIdleRooms = 100;
  static constexpr size_t kMaxHistoryBytes = 1024 * 1024;

  // History: the last history_limit lines said in a room, oldest first, and
  // never more than kMaxHistoryBytes of them.
  void record(std::string_view room, std::string line);
  const std::deque<std::string>& history(std::string_view room) const;

 private:
  struct Room {
    std::vector<MemberId> members;
    // Allocated on the first line said: an empty std::deque already holds
    // ~600 bytes, which would be most of an idle member's cost when members
    // sit in rooms of their own.
    std::unique_ptr<std::deque<std::string>> history;
    size_t history_bytes = 0;
  };
  void forget_old_idle_rooms();
  size_t history_limit_;
  std::unordered_map<MemberId, Member> members_;
  std::map<std::string, Room, std::less<>> rooms_;
  std::deque<std::string>
      idle_;  // rooms emptied with history, oldest first (may name rooms in use again)
};

}  // namespace netlab::modes::chat
