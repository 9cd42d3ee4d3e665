#pragma once
// Opening the directory a client names in `ls DIR`, beneath cmdserv's
// --root and never outside it, whatever the links in the tree do meanwhile.
#include <string>
#include <string_view>

namespace netlab::modes {

struct ConfinedDir {
  int fd = -1;        // open for reading; owned by the caller when >= 0
  std::string error;  // non-empty on failure
};

// Opens DIR, a path relative to `root` (which must be canonical, as
// realpath() gives it), as a directory beneath the root.
//
// The path is walked one component at a time from an fd of the root, each
// step an openat(O_NOFOLLOW | O_DIRECTORY) relative to the previous step's
// fd, so what was checked is what is opened: nothing is ever opened again by
// path. Symlinks are followed here, not by the kernel, at most 40 of them
// (Linux's own limit, then ELOOP). `..` is the real parent of the directory
// reached so far (so with s -> a/b, `s/..` is a), checked against the
// directory the walk came from; `..` from the root itself is outside.
//
// A relative link target continues from the link's directory. An absolute
// target is taken beneath the root only when it spells the root's canonical
// path (then the rest of it is walked from the root's fd): a link made as
// `ln -s $ROOT/sub` keeps working, and any other absolute target is outside.
// Nothing outside the root is ever looked up, so a missing name beyond a
// link that leaves is as "outside root" as an existing one.
//
// Errors: "outside root"; "invalid path" (a NUL byte); "directory moved
// during lookup" (a rename raced the walk); else a strerror text
// (ENAMETOOLONG for a DIR of PATH_MAX bytes or more, ENOTDIR, ELOOP, ...).
ConfinedDir open_confined_dir(const std::string& root, std::string_view dir);

inline constexpr int kMaxSymlinkHops = 40;  // Linux's MAXSYMLINKS
inline constexpr std::string_view kOutsideRoot = "outside root";

}  // namespace netlab::modes
