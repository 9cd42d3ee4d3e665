#include "modes/chat/rooms.hpp"

#include <algorithm>

#include "net/utf8.hpp"

namespace netlab::modes::chat {

namespace {
const std::vector<MemberId> kNoMembers;
const std::deque<std::string> kNoHistory;

// Spaces, controls and invisible format characters: a name made with them
// could look like somebody else's, or reorder the text around it (bidi).
bool is_space_or_control(uint32_t cp) {
  return cp <= 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
         (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0xFEFF;
}
}  // namespace

std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty()) return "empty name";
  size_t chars = 0;
  for (size_t i = 0; i < name.size();) {
    uint32_t cp = 0;
    const size_t len = net::utf8_decode(name, i, cp);
    if (len == 0) return "not valid UTF-8";
    if (is_space_or_control(cp)) return "spaces and control characters are not allowed";
    i += len;
    ++chars;
  }
  if (chars > kMaxNameChars) return "longer than 32 characters";
  return std::nullopt;
}

JoinResult RoomDirectory::join(MemberId id, std::string name, std::string room) {
  if (find_in_room(room, name)) return JoinResult::kNameTaken;
  rooms_[room].members.push_back(id);
  members_[id] = Member{std::move(name), std::move(room)};
  return JoinResult::kJoined;
}

JoinResult RoomDirectory::move(MemberId id, std::string room) {
  auto it = members_.find(id);
  if (it == members_.end()) return JoinResult::kNameTaken;
  if (it->second.room == room) return JoinResult::kJoined;
  if (find_in_room(room, it->second.name)) return JoinResult::kNameTaken;
  std::string name = it->second.name;
  leave(id);
  return join(id, std::move(name), std::move(room));
}

void RoomDirectory::leave(MemberId id) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  auto room = rooms_.find(it->second.room);
  if (room != rooms_.end()) {
    auto& list = room->second.members;
    list.erase(std::remove(list.begin(), list.end(), id), list.end());
    if (list.empty()) {
      if (!room->second.history || room->second.history->empty()) {
        rooms_.erase(room);
      } else {
        // Most recently emptied last; one entry per room, so a busy room
        // that empties again and again cannot push the others out.
        idle_.erase(std::remove(idle_.begin(), idle_.end(), room->first), idle_.end());
        idle_.push_back(room->first);
        forget_old_idle_rooms();
      }
    }
  }
  members_.erase(it);
}

void RoomDirectory::forget_old_idle_rooms() {
  while (idle_.size() > kMaxIdleRooms) {
    auto room = rooms_.find(idle_.front());
    if (room != rooms_.end() && room->second.members.empty()) rooms_.erase(room);
    idle_.pop_front();
  }
}

const RoomDirectory::Member* RoomDirectory::find(MemberId id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::optional<MemberId> RoomDirectory::find_in_room(std::string_view room,
                                                    std::string_view name) const {
  for (MemberId m : members(room)) {
    if (members_.at(m).name == name) return m;
  }
  return std::nullopt;
}

const std::vector<MemberId>& RoomDirectory::members(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? kNoMembers : it->second.members;
}

std::vector<std::pair<std::string, size_t>> RoomDirectory::rooms() const {
  std::vector<std::pair<std::string, size_t>> out;
  for (const auto& [name, room] : rooms_) {
    if (!room.members.empty()) out.emplace_back(name, room.members.size());
  }
  return out;
}

void RoomDirectory::record(std::string_view room, std::string line) {
  if (history_limit_ == 0) return;
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.members.empty()) return;  // only members speak
  Room& r = it->second;
  if (!r.history) r.history = std::make_unique<std::deque<std::string>>();
  auto& history = *r.history;
  r.history_bytes += line.size();
  history.push_back(std::move(line));
  while (history.size() > history_limit_ || r.history_bytes > kMaxHistoryBytes) {
    r.history_bytes -= history.front().size();
    history.pop_front();
  }
}

const std::deque<std::string>& RoomDirectory::history(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() || !it->second.history ? kNoHistory : *it->second.history;
}

}  // namespace netlab::modes::chat
