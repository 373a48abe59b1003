#pragma once
// One writer per output folder: `wordlight evaluate --out DIR` appends to
// DIR/results.jsonl, and two runs on the same folder would both do all the
// work and interleave duplicate lines. DirLock holds an exclusive flock() on
// DIR/lock (holding the holder's PID) for its lifetime. The kernel drops
// the lock when the process dies, however it dies, so a lock left by a
// crashed run (kill -9, power loss) is found stale and taken over.
#include <functional>
#include <string>

namespace wordlight {

class DirLock {
 public:
  // Throws Error "<dir> is in use by another run (PID n) ..." when a live
  // process holds the lock. `warning` hears of a stale lock taken over.
  DirLock(const std::string& dir, const std::function<void(const std::string&)>& warning = {});
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  const std::string& path() const { return path_; }
  // The PID written in a lock file ("" when there is none or it is unreadable).
  static std::string holder(const std::string& lock_path);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace wordlight
