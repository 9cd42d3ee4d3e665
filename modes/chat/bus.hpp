#pragma once
// ChatBus: how a room server reaches every member of a room, wherever that
// member is connected. The server keeps its local members in a
// RoomDirectory; the bus decides who else hears what they say.
//
// LocalBus (one node) delivers to the local members and answers from the
// directory. ClusterBus (chat_cluster_bus.hpp) does the same and carries the
// traffic to other nodes through Redis. Both deliver through the same
// BusDelivery calls, so there is one delivery path either way.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modes/chat/rooms.hpp"

namespace netlab::modes::chat {

// Implemented by the server: what the bus hands back for local members.
class BusDelivery {
 public:
  // A line (no terminator) for every local member of `room` except `except`
  // (0: nobody); recorded in the room's history when `record`.
  virtual void deliver(const std::string& room, std::string_view line, MemberId except,
                       bool record) = 0;
  // A private line for a local member; false when nobody of that name is here.
  virtual bool deliver_private(const std::string& room, std::string_view user,
                               std::string_view line) = 0;
  // A notice for every local member (cluster link lost / restored).
  virtual void notify_all(std::string_view line) = 0;
  // After a partition Redis gave `name` in `room` to a member of another
  // node, while the local member of that name was let in on this node alone
  // (its claim could not reach Redis): the local one must go. Only this
  // node's members ever saw it join, so only they hear it leave.
  virtual void name_taken_elsewhere(const std::string& room, std::string_view name) = 0;
  // A message from another node has been delivered: the moment to drop
  // members it pushed past --max-queue (never in the middle of a delivery).
  virtual void end_of_remote_delivery() = 0;

 protected:
  ~BusDelivery() = default;
};

class ChatBus {
 public:
  using RoomCounts = std::vector<std::pair<std::string, size_t>>;
  enum class Kind { kMessage, kNotice };  // messages go into history, notices do not

  virtual ~ChatBus() = default;

  // The name is free in the room on this node; is it free everywhere? Holds
  // it for this node when it is. `done` may run before claim() returns.
  virtual void claim(const std::string& room, const std::string& name,
                     std::function<void(bool claimed)> done) = 0;
  // The member left the room (or the node): give the name back; `done`
  // (if any) once it is free everywhere.
  virtual void release(const std::string& room, const std::string& name,
                       std::function<void()> done = {}) = 0;
  // To every member of the room but `except`: the local ones at once.
  // `done` (if any) once every node has it: whatever happens after it, on
  // any node, comes after this line for everyone.
  virtual void publish(const std::string& room, std::string_view line, MemberId except, Kind kind,
                       std::function<void()> done = {}) = 0;
  // A private line for `user` in `room`, who is not on this node.
  virtual void send_private(const std::string& room, const std::string& user, std::string line,
                            std::function<void(bool found)> done) = 0;
  // Members of a room in the order they joined, and every room with members.
  virtual void who(const std::string& room,
                   std::function<void(std::vector<std::string> names)> done) = 0;
  virtual void rooms(std::function<void(RoomCounts)> done) = 0;
  // The server is stopping: `done` once the bus has said goodbye.
  virtual void shut_down(std::function<void()> done) = 0;
  // False while the other nodes cannot be reached (members are told).
  virtual bool linked() const { return true; }
  // fn once the bus can serve: at once for one node; for a cluster node
  // once Redis first answered (or the first attempt failed).
  virtual void when_ready(std::function<void()> fn) { fn(); }
};

// The single-node bus: everything is answered from the server's directory.
class LocalBus final : public ChatBus {
 public:
  LocalBus(const RoomDirectory& rooms, BusDelivery& delivery)
      : rooms_(rooms), delivery_(delivery) {}

  void claim(const std::string&, const std::string&, std::function<void(bool)> done) override {
    done(true);
  }
  void release(const std::string&, const std::string&, std::function<void()> done) override {
    if (done) done();
  }
  void publish(const std::string& room, std::string_view line, MemberId except, Kind kind,
               std::function<void()> done) override {
    delivery_.deliver(room, line, except, kind == Kind::kMessage);
    if (done) done();
  }
  void send_private(const std::string&, const std::string&, std::string,
                    std::function<void(bool)> done) override {
    done(false);
  }
  void who(const std::string& room, std::function<void(std::vector<std::string>)> done) override {
    done(local_names(rooms_, room));
  }
  void rooms(std::function<void(RoomCounts)> done) override { done(rooms_.rooms()); }
  void shut_down(std::function<void()> done) override { done(); }

  static std::vector<std::string> local_names(const RoomDirectory& rooms, const std::string& room) {
    std::vector<std::string> names;
    for (MemberId m : rooms.members(room)) names.push_back(rooms.find(m)->name);
    return names;
  }

 private:
  const RoomDirectory& rooms_;
  BusDelivery& delivery_;
};

}  // namespace netlab::modes::chat
