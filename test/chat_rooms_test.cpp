#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "modes/chat/rooms.hpp"

namespace netlab::modes::chat {
namespace {

using namespace std::string_literals;
using RoomList = std::vector<std::pair<std::string, size_t>>;
using Ids = std::vector<MemberId>;

// The UTF-8 encoding of one code point.
std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// ---- RoomDirectory: join / leave / move ------------------------------------

TEST(RoomDirectory, StartsEmpty) {
  const RoomDirectory d;
  EXPECT_EQ(d.member_count(), 0u);
  EXPECT_TRUE(d.rooms().empty());
  EXPECT_TRUE(d.members("lobby").empty());
  EXPECT_EQ(d.find(1), nullptr);
  EXPECT_FALSE(d.find_in_room("lobby", "alice").has_value());
}

TEST(RoomDirectory, DefaultRoomIsLobbyAndNamesMayHave32Characters) {
  EXPECT_EQ(kDefaultRoom, "lobby");
  EXPECT_EQ(kMaxNameChars, 32u);
}

TEST(RoomDirectory, JoinPutsTheMemberInTheRoomUnderItsName) {
  RoomDirectory d;
  EXPECT_EQ(d.join(7, "alice", "lobby"), JoinResult::kJoined);
  const auto* m = d.find(7);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "alice");
  EXPECT_EQ(m->room, "lobby");
  EXPECT_EQ(d.members("lobby"), Ids{7});
  EXPECT_EQ(d.find_in_room("lobby", "alice"), std::optional<MemberId>(7));
  EXPECT_FALSE(d.find_in_room("lobby", "bob").has_value());
  EXPECT_FALSE(d.find_in_room("games", "alice").has_value());
  EXPECT_EQ(d.member_count(), 1u);
  EXPECT_EQ(d.rooms(), (RoomList{{"lobby", 1}}));
}

TEST(RoomDirectory, SameNameInTheSameRoomIsRefused) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.join(2, "alice", "lobby"), JoinResult::kNameTaken);
  // The refused member is nowhere; the first one is untouched.
  EXPECT_EQ(d.find(2), nullptr);
  EXPECT_EQ(d.members("lobby"), Ids{1});
  EXPECT_EQ(d.find_in_room("lobby", "alice"), std::optional<MemberId>(1));
  EXPECT_EQ(d.member_count(), 1u);
  EXPECT_EQ(d.rooms(), (RoomList{{"lobby", 1}}));
}

TEST(RoomDirectory, RefusedMemberMayRetryWithAnotherName) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "alice", "lobby"), JoinResult::kNameTaken);
  EXPECT_EQ(d.join(2, "alice2", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.members("lobby"), (Ids{1, 2}));
}

TEST(RoomDirectory, SameNameInAnotherRoomIsAllowed) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.join(2, "alice", "games"), JoinResult::kJoined);
  EXPECT_EQ(d.find_in_room("lobby", "alice"), std::optional<MemberId>(1));
  EXPECT_EQ(d.find_in_room("games", "alice"), std::optional<MemberId>(2));
  EXPECT_EQ(d.member_count(), 2u);
}

TEST(RoomDirectory, NamesAreComparedExactly) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.join(2, "alic", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.join(3, "alice1", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.join(4, "张三", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.join(5, "张三", "lobby"), JoinResult::kNameTaken);
  EXPECT_EQ(d.members("lobby"), (Ids{1, 2, 3, 4}));
}

TEST(RoomDirectory, NameIsFreeAgainAfterItsOwnerLeaves) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  d.leave(1);
  EXPECT_EQ(d.join(3, "alice", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.find_in_room("lobby", "alice"), std::optional<MemberId>(3));
}

TEST(RoomDirectory, LeaveRemovesOnlyThatMember) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(3, "carol", "lobby"), JoinResult::kJoined);
  d.leave(2);
  EXPECT_EQ(d.find(2), nullptr);
  EXPECT_FALSE(d.find_in_room("lobby", "bob").has_value());
  EXPECT_EQ(d.members("lobby"), (Ids{1, 3}));  // order of the others kept
  EXPECT_EQ(d.member_count(), 2u);
  EXPECT_EQ(d.rooms(), (RoomList{{"lobby", 2}}));
}

TEST(RoomDirectory, LeavingAnUnknownMemberChangesNothing) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  d.leave(99);
  d.leave(1);
  d.leave(1);  // twice
  EXPECT_EQ(d.member_count(), 0u);
  EXPECT_TRUE(d.rooms().empty());
}

TEST(RoomDirectory, MembersAreListedInJoinOrder) {
  RoomDirectory d;
  ASSERT_EQ(d.join(30, "carol", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(10, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(20, "bob", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(40, "dave", "games"), JoinResult::kJoined);
  EXPECT_EQ(d.members("lobby"), (Ids{30, 10, 20}));  // neither by id nor by name
  EXPECT_EQ(d.members("games"), Ids{40});
  EXPECT_TRUE(d.members("nowhere").empty());
}

TEST(RoomDirectory, RoomsAreSortedByNameWithMemberCounts) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "a", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "b", "games"), JoinResult::kJoined);
  ASSERT_EQ(d.join(3, "c", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(4, "d", "聊天室"), JoinResult::kJoined);
  ASSERT_EQ(d.join(5, "e", "art"), JoinResult::kJoined);
  ASSERT_EQ(d.join(6, "f", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.rooms(), (RoomList{{"art", 1}, {"games", 1}, {"lobby", 3}, {"聊天室", 1}}));
  EXPECT_EQ(d.member_count(), 6u);
}

TEST(RoomDirectory, RoomNamesAreCaseSensitive) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "Lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "alice", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.rooms(), (RoomList{{"Lobby", 1}, {"lobby", 1}}));
}

TEST(RoomDirectory, EmptyRoomIsForgotten) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "games"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  d.leave(1);
  EXPECT_EQ(d.rooms(), (RoomList{{"lobby", 1}}));
  EXPECT_TRUE(d.members("games").empty());
}

TEST(RoomDirectory, MoveTakesTheNameToTheNewRoom) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(3, "carol", "games"), JoinResult::kJoined);
  EXPECT_EQ(d.move(1, "games"), JoinResult::kJoined);
  const auto* m = d.find(1);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "alice");
  EXPECT_EQ(m->room, "games");
  EXPECT_EQ(d.members("lobby"), Ids{2});
  EXPECT_EQ(d.members("games"), (Ids{3, 1}));  // the newcomer comes last
  EXPECT_FALSE(d.find_in_room("lobby", "alice").has_value());
  EXPECT_EQ(d.find_in_room("games", "alice"), std::optional<MemberId>(1));
  EXPECT_EQ(d.member_count(), 3u);
  EXPECT_EQ(d.rooms(), (RoomList{{"games", 2}, {"lobby", 1}}));
}

TEST(RoomDirectory, MoveCreatesANewRoomAndTheEmptiedOneKeepsItsHistory) {
  RoomDirectory d(5);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  d.record("lobby", "old lobby line");
  EXPECT_EQ(d.move(1, "games"), JoinResult::kJoined);
  EXPECT_EQ(d.rooms(), (RoomList{{"games", 1}}));  // an empty room is not listed
  EXPECT_TRUE(d.history("games").empty());         // a new room starts without history
  // Back to the lobby: its history waited for the next newcomer.
  EXPECT_EQ(d.move(1, "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.history("lobby"), std::deque<std::string>{"old lobby line"});
  EXPECT_EQ(d.rooms(), (RoomList{{"lobby", 1}}));
}

TEST(RoomDirectory, OnlyTheMostRecentlyEmptiedRoomsKeepTheirHistory) {
  RoomDirectory d(5);
  const size_t rooms = RoomDirectory::kMaxIdleRooms + 1;
  for (size_t i = 0; i < rooms; ++i) {
    const std::string room = "r" + std::to_string(i);
    ASSERT_EQ(d.join(1, "alice", room), JoinResult::kJoined);
    d.record(room, "said in " + room);
    d.leave(1);
  }
  EXPECT_TRUE(d.history("r0").empty());  // the oldest idle room was forgotten
  EXPECT_EQ(d.history("r1"), std::deque<std::string>{"said in r1"});
  EXPECT_EQ(d.history("r" + std::to_string(rooms - 1)),
            std::deque<std::string>{"said in r" + std::to_string(rooms - 1)});
  EXPECT_TRUE(d.rooms().empty());
}

TEST(RoomDirectory, HistoryIsCappedInBytes) {
  RoomDirectory d(1000);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  const std::string line(64 * 1024, 'x');
  for (int i = 0; i < 40; ++i) d.record("lobby", line);  // 2.5 MiB offered
  size_t bytes = 0;
  for (const auto& l : d.history("lobby")) bytes += l.size();
  EXPECT_LE(bytes, RoomDirectory::kMaxHistoryBytes);
  EXPECT_EQ(d.history("lobby").size(), RoomDirectory::kMaxHistoryBytes / line.size());
}

TEST(RoomDirectory, MoveIntoARoomWhereTheNameIsTakenLeavesTheMemberWhereItWas) {
  RoomDirectory d(3);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(3, "alice", "games"), JoinResult::kJoined);
  d.record("lobby", "hello");
  EXPECT_EQ(d.move(1, "games"), JoinResult::kNameTaken);
  const auto* m = d.find(1);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "alice");
  EXPECT_EQ(m->room, "lobby");
  EXPECT_EQ(d.members("lobby"), (Ids{1, 2}));  // place in the join order kept
  EXPECT_EQ(d.members("games"), Ids{3});
  EXPECT_EQ(d.find_in_room("games", "alice"), std::optional<MemberId>(3));
  EXPECT_EQ(d.history("lobby"), std::deque<std::string>{"hello"});
  EXPECT_EQ(d.member_count(), 3u);
  EXPECT_EQ(d.rooms(), (RoomList{{"games", 1}, {"lobby", 2}}));
}

TEST(RoomDirectory, RefusedMoveOfALoneMemberKeepsItsRoomAndHistory) {
  RoomDirectory d(3);
  ASSERT_EQ(d.join(1, "alice", "quiet"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "alice", "games"), JoinResult::kJoined);
  d.record("quiet", "only me here");
  EXPECT_EQ(d.move(1, "games"), JoinResult::kNameTaken);
  const auto* m = d.find(1);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->room, "quiet");
  EXPECT_EQ(d.members("quiet"), Ids{1});
  EXPECT_EQ(d.history("quiet"), std::deque<std::string>{"only me here"});
}

TEST(RoomDirectory, MoveToTheCurrentRoomIsANoOp) {
  RoomDirectory d(3);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  d.record("lobby", "kept");
  // Not refused as "name taken" by itself, and not moved to the end.
  EXPECT_EQ(d.move(1, "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.members("lobby"), (Ids{1, 2}));
  EXPECT_EQ(d.history("lobby"), std::deque<std::string>{"kept"});
}

TEST(RoomDirectory, MovedMemberCanLeave) {
  RoomDirectory d;
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.move(1, "games"), JoinResult::kJoined);
  d.leave(1);
  EXPECT_EQ(d.member_count(), 0u);
  EXPECT_TRUE(d.rooms().empty());
  EXPECT_EQ(d.join(2, "alice", "games"), JoinResult::kJoined);
}

// ---- RoomDirectory: history --------------------------------------------------

TEST(RoomDirectory, HistoryKeepsTheLastNLinesOldestFirst) {
  RoomDirectory d(3);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  d.record("lobby", "one");
  d.record("lobby", "two");
  EXPECT_EQ(d.history("lobby"), (std::deque<std::string>{"one", "two"}));
  d.record("lobby", "three");
  d.record("lobby", "four");
  d.record("lobby", "five");
  EXPECT_EQ(d.history("lobby"), (std::deque<std::string>{"three", "four", "five"}));
}

TEST(RoomDirectory, HistoryIsKeptPerRoom) {
  RoomDirectory d(2);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "games"), JoinResult::kJoined);
  d.record("lobby", "l1");
  d.record("games", "g1");
  d.record("lobby", "l2");
  EXPECT_EQ(d.history("lobby"), (std::deque<std::string>{"l1", "l2"}));
  EXPECT_EQ(d.history("games"), (std::deque<std::string>{"g1"}));
}

TEST(RoomDirectory, HistoryOfOneKeepsOnlyTheLatestLine) {
  RoomDirectory d(1);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  d.record("lobby", "a");
  d.record("lobby", "b");
  EXPECT_EQ(d.history("lobby"), (std::deque<std::string>{"b"}));
}

TEST(RoomDirectory, HistoryZeroRecordsNothing) {
  RoomDirectory d(0);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  for (int i = 0; i < 10; ++i) d.record("lobby", "line " + std::to_string(i));
  EXPECT_TRUE(d.history("lobby").empty());
  RoomDirectory by_default;
  ASSERT_EQ(by_default.join(1, "alice", "lobby"), JoinResult::kJoined);
  by_default.record("lobby", "x");
  EXPECT_TRUE(by_default.history("lobby").empty());
}

TEST(RoomDirectory, HistoryOfAnEmptiedRoomWaitsForTheNextNewcomer) {
  RoomDirectory d(5);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  d.record("lobby", "m1");
  d.record("lobby", "m2");
  d.leave(1);
  EXPECT_TRUE(d.rooms().empty());
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.history("lobby"), (std::deque<std::string>{"m1", "m2"}));
}

TEST(RoomDirectory, HistorySurvivesWhileSomeoneStays) {
  RoomDirectory d(5);
  ASSERT_EQ(d.join(1, "alice", "lobby"), JoinResult::kJoined);
  ASSERT_EQ(d.join(2, "bob", "lobby"), JoinResult::kJoined);
  d.record("lobby", "kept");
  d.leave(1);
  ASSERT_EQ(d.join(3, "carol", "lobby"), JoinResult::kJoined);
  EXPECT_EQ(d.history("lobby"), std::deque<std::string>{"kept"});
}

TEST(RoomDirectory, RecordingInAnUnknownRoomCreatesNoRoom) {
  RoomDirectory d(5);
  d.record("ghost", "boo");
  EXPECT_TRUE(d.rooms().empty());
  EXPECT_TRUE(d.history("ghost").empty());
  ASSERT_EQ(d.join(1, "alice", "ghost"), JoinResult::kJoined);
  EXPECT_TRUE(d.history("ghost").empty());
}

// ---- RoomDirectory: randomized model check ---------------------------------

// A reference model, deliberately naive: who is where, in join order.
struct Model {
  struct Entry {
    std::string name;
    std::string room;
  };
  std::map<MemberId, Entry> members;
  std::map<std::string, std::vector<MemberId>> rooms;  // join order
  std::map<std::string, std::deque<std::string>> history;

  bool taken(const std::string& room, const std::string& name) const {
    auto it = rooms.find(room);
    if (it == rooms.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](MemberId m) { return members.at(m).name == name; });
  }
  void add(MemberId id, const std::string& name, const std::string& room) {
    members[id] = Entry{name, room};
    rooms[room].push_back(id);
  }
  void remove(MemberId id) {
    const std::string room = members.at(id).room;
    auto& list = rooms[room];
    list.erase(std::find(list.begin(), list.end(), id));
    if (list.empty()) rooms.erase(room);  // its history stays (fewer rooms here than kMaxIdleRooms)
    members.erase(id);
  }
};

void expect_matches_model(const RoomDirectory& d, const Model& model, size_t step) {
  SCOPED_TRACE("step " + std::to_string(step));
  ASSERT_EQ(d.member_count(), model.members.size());

  RoomList expected_rooms;
  for (const auto& [room, ids] : model.rooms) expected_rooms.emplace_back(room, ids.size());
  const RoomList listed = d.rooms();
  ASSERT_EQ(listed, expected_rooms);
  ASSERT_TRUE(std::is_sorted(listed.begin(), listed.end()));

  size_t total = 0;
  std::set<MemberId> seen;
  for (const auto& [room, count] : listed) {
    ASSERT_GT(count, 0u) << "empty room " << room << " still listed";
    const auto& ids = d.members(room);
    ASSERT_EQ(ids.size(), count);
    ASSERT_EQ(ids, model.rooms.at(room)) << "join order in " << room;
    std::set<std::string> names;
    for (MemberId id : ids) {
      // Each member is in exactly one room: the one find() reports.
      ASSERT_TRUE(seen.insert(id).second) << "member " << id << " in two rooms";
      const auto* m = d.find(id);
      ASSERT_NE(m, nullptr);
      ASSERT_EQ(m->room, room);
      ASSERT_EQ(m->name, model.members.at(id).name);
      ASSERT_TRUE(names.insert(m->name).second) << "duplicate name " << m->name << " in " << room;
      ASSERT_EQ(d.find_in_room(room, m->name), std::optional<MemberId>(id));
    }
    total += count;
    const auto h = model.history.find(room);
    const std::deque<std::string> expected_history =
        h == model.history.end() ? std::deque<std::string>{} : h->second;
    ASSERT_EQ(d.history(room), expected_history) << "history of " << room;
  }
  ASSERT_EQ(total, d.member_count());
  ASSERT_EQ(seen.size(), model.members.size());
}

TEST(RoomDirectoryModel, RandomJoinsMovesAndLeavesKeepEveryInvariant) {
  constexpr size_t kHistory = 3;
  constexpr MemberId kIds = 16;
  const std::vector<std::string> names = {"alice", "bob", "carol", "dave", "张三", "eve"};
  const std::vector<std::string> rooms = {"lobby", "games", "art", "聊天室"};

  std::mt19937_64 rng(20240601);  // fixed seed: a failure reproduces
  const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

  RoomDirectory d(kHistory);
  Model model;
  size_t joins = 0, refused_joins = 0, moves = 0, refused_moves = 0, leaves = 0, lines = 0;
  for (size_t step = 0; step < 6000; ++step) {
    const MemberId id = pick(kIds) + 1;
    const bool present = model.members.count(id) != 0;
    switch (pick(10)) {
      case 0:
      case 1:
      case 2:
      case 3: {  // join (or a leave for one already in)
        if (present) {
          d.leave(id);
          model.remove(id);
          ++leaves;
          break;
        }
        const std::string& name = names[pick(names.size())];
        const std::string& room = rooms[pick(rooms.size())];
        const bool taken = model.taken(room, name);
        ASSERT_EQ(d.join(id, name, room), taken ? JoinResult::kNameTaken : JoinResult::kJoined)
            << "step " << step << ": join " << name << " to " << room;
        if (taken) {
          ASSERT_EQ(d.find(id), nullptr);
          ++refused_joins;
        } else {
          model.add(id, name, room);
          ++joins;
        }
        break;
      }
      case 4:
      case 5:
      case 6: {  // move
        if (!present) break;
        const std::string& room = rooms[pick(rooms.size())];
        const auto old = model.members.at(id);
        if (old.room == room) {
          ASSERT_EQ(d.move(id, room), JoinResult::kJoined);
          break;
        }
        const bool taken = model.taken(room, old.name);
        ASSERT_EQ(d.move(id, room), taken ? JoinResult::kNameTaken : JoinResult::kJoined)
            << "step " << step << ": move " << old.name << " from " << old.room << " to " << room;
        if (taken) {
          ++refused_moves;
        } else {
          model.remove(id);
          model.add(id, old.name, room);
          ++moves;
        }
        break;
      }
      case 7: {  // leave (of anyone, present or not)
        d.leave(id);
        if (present) {
          model.remove(id);
          ++leaves;
        }
        break;
      }
      default: {  // someone says something
        const std::string& room = rooms[pick(rooms.size())];
        const std::string line = "line " + std::to_string(step);
        d.record(room, line);
        if (model.rooms.count(room) != 0) {
          auto& h = model.history[room];
          h.push_back(line);
          if (h.size() > kHistory) h.pop_front();
        }
        ++lines;
        break;
      }
    }
    expect_matches_model(d, model, step);
    if (HasFatalFailure()) return;
  }
  // The walk really exercised every path.
  EXPECT_GT(joins, 500u);
  EXPECT_GT(refused_joins, 100u);
  EXPECT_GT(moves, 200u);
  EXPECT_GT(refused_moves, 50u);
  EXPECT_GT(leaves, 500u);
  EXPECT_GT(lines, 500u);
}

// ---- name_problem ----------------------------------------------------------

TEST(NameProblem, OrdinaryNamesAreValid) {
  for (const char* name :
       {"a", "alice", "Bob_2", "x-y.z", "o'neil", "#room", "/who", "quit", "a@b", "~"}) {
    EXPECT_EQ(name_problem(name), std::nullopt) << name;
  }
}

TEST(NameProblem, OneTo32CharactersAreValid) {
  EXPECT_EQ(name_problem("a"), std::nullopt);
  EXPECT_EQ(name_problem(std::string(31, 'a')), std::nullopt);
  EXPECT_EQ(name_problem(std::string(32, 'a')), std::nullopt);
}

TEST(NameProblem, ThirtyThreeCharactersAreRejected) {
  const auto why = name_problem(std::string(33, 'a'));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("32"), std::string::npos) << *why;
  EXPECT_TRUE(name_problem(std::string(1000, 'a')).has_value());
}

TEST(NameProblem, EmptyIsRejected) {
  const auto why = name_problem("");
  ASSERT_TRUE(why.has_value());
  EXPECT_FALSE(why->empty());
}

TEST(NameProblem, SpacesAndTabsAreRejected) {
  for (const std::string& name : {"al ice"s, " alice"s, "alice "s, " "s, "al\tice"s, "\t"s}) {
    EXPECT_TRUE(name_problem(name).has_value()) << '"' << name << '"';
  }
}

TEST(NameProblem, EveryAsciiControlCharacterIsRejected) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string name = "al"s + static_cast<char>(c) + "ice";
    EXPECT_TRUE(name_problem(name).has_value()) << "control 0x" << std::hex << c;
    EXPECT_TRUE(name_problem(std::string(1, static_cast<char>(c))).has_value())
        << "alone 0x" << std::hex << c;
  }
  EXPECT_TRUE(name_problem("alice\r"s).has_value());
  EXPECT_TRUE(name_problem("alice\n"s).has_value());
  EXPECT_TRUE(name_problem("ali\0ce"s).has_value());
  EXPECT_TRUE(name_problem("\x1b[2J"s).has_value());
}

TEST(NameProblem, DelIsRejected) {
  EXPECT_TRUE(name_problem("alice\x7f"s).has_value());
  EXPECT_TRUE(name_problem("\x7f"s).has_value());
}

TEST(NameProblem, EveryC1ControlIsRejected) {
  for (char32_t cp = 0x80; cp <= 0x9F; ++cp) {
    EXPECT_TRUE(name_problem("al" + utf8(cp) + "ice").has_value())
        << "U+" << std::hex << static_cast<uint32_t>(cp);
  }
  EXPECT_TRUE(name_problem("\xc2\x9b"
                           "2J")
                  .has_value());  // CSI
}

TEST(NameProblem, IdeographicSpaceIsRejected) {
  EXPECT_TRUE(name_problem("张" + utf8(0x3000) + "三").has_value());
  EXPECT_TRUE(name_problem(utf8(0x3000)).has_value());
}

TEST(NameProblem, OtherSpaceAndSeparatorCharactersAreRejected) {
  // NBSP, line/paragraph separators, zero-width no-break space (BOM).
  for (char32_t cp : {char32_t{0xA0}, char32_t{0x2028}, char32_t{0x2029}, char32_t{0xFEFF}}) {
    EXPECT_TRUE(name_problem("al" + utf8(cp) + "ice").has_value())
        << "U+" << std::hex << static_cast<uint32_t>(cp);
  }
}

// SPEC: names are "printable non-space characters". Every code point with the
// Unicode White_Space property is a space, whatever its width.
TEST(NameProblem, EveryUnicodeWhiteSpaceCharacterIsRejected) {
  std::vector<char32_t> spaces = {0x09, 0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,
                                  0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
  for (char32_t cp = 0x2000; cp <= 0x200A; ++cp) spaces.push_back(cp);  // EN QUAD ... HAIR SPACE
  for (char32_t cp : spaces) {
    EXPECT_TRUE(name_problem("al" + utf8(cp) + "ice").has_value())
        << "U+" << std::hex << static_cast<uint32_t>(cp);
  }
}

// Invisible format characters are not printable: with them "al<ZWSP>ice"
// looks exactly like "alice", and a bidi override reverses what follows it
// on the reader's screen. Either one lets a member pose as another.
TEST(NameProblem, InvisibleFormatCharactersAreRejected) {
  for (char32_t cp : {char32_t{0x200B}, char32_t{0x200E}, char32_t{0x202E}, char32_t{0x2066}}) {
    EXPECT_TRUE(name_problem("al" + utf8(cp) + "ice").has_value())
        << "U+" << std::hex << static_cast<uint32_t>(cp);
  }
}

TEST(NameProblem, ChineseNamesAreValid) {
  EXPECT_EQ(name_problem("张三"), std::nullopt);
  EXPECT_EQ(name_problem("聊天室"), std::nullopt);
  EXPECT_EQ(name_problem("alice_中文"), std::nullopt);
  EXPECT_EQ(name_problem("café"), std::nullopt);
  EXPECT_EQ(name_problem("😀"), std::nullopt);  // four bytes, one character
}

TEST(NameProblem, LengthIsCountedInCharactersNotBytes) {
  const std::string zhong = "中";  // 3 bytes
  ASSERT_EQ(zhong.size(), 3u);
  EXPECT_EQ(name_problem(repeat(zhong, 32)), std::nullopt);  // 96 bytes, 32 characters
  EXPECT_TRUE(name_problem(repeat(zhong, 33)).has_value());
  EXPECT_EQ(name_problem(repeat(utf8(0x1F600), 32)), std::nullopt);  // 128 bytes
  EXPECT_TRUE(name_problem(repeat(utf8(0x1F600), 33)).has_value());
  EXPECT_EQ(name_problem(repeat("é", 16) + repeat("a", 16)), std::nullopt);
  EXPECT_TRUE(name_problem(repeat("é", 16) + repeat("a", 17)).has_value());
}

TEST(NameProblem, InvalidUtf8IsRejected) {
  const std::vector<std::string> bad = {
      "\xff"s,
      "alice\xff"s,
      "\xfe"s,
      "\x80"s,      // lone continuation byte
      "ab\xbf"s,    // continuation byte after ASCII
      "\xe4\xb8"s,  // truncated 3-byte sequence
      "\xe4\xb8"
      "a"s,                 // truncated, then ASCII
      "\xc3"s,              // truncated 2-byte sequence
      "\xc0\xaf"s,          // overlong '/'
      "\xc1\xbf"s,          // overlong
      "\xe0\x80\xaf"s,      // overlong '/'
      "\xf0\x80\x80\xaf"s,  // overlong '/'
      "\xed\xa0\x80"s,      // UTF-16 surrogate U+D800
      "\xed\xbf\xbf"s,      // UTF-16 surrogate U+DFFF
      "\xf4\x90\x80\x80"s,  // U+110000, past Unicode
      "\xf8\x88\x80\x80\x80"s,
  };
  for (const auto& name : bad) {
    EXPECT_TRUE(name_problem(name).has_value()) << testing::PrintToString(name);
  }
}

TEST(NameProblem, ReasonsTellWhatIsWrong) {
  EXPECT_EQ(name_problem(""), "empty name");
  EXPECT_EQ(name_problem(std::string(33, 'a')), "longer than 32 characters");
  EXPECT_EQ(name_problem("al ice"), "spaces and control characters are not allowed");
  EXPECT_EQ(name_problem("\xff"), "not valid UTF-8");
}

}  // namespace
}  // namespace netlab::modes::chat
