#include "wordlight/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "io_util.h"
#include "wordlight/error.h"

namespace wordlight {

std::string DirLock::holder(const std::string& lock_path) {
  std::ifstream in(lock_path);
  std::string pid;
  if (!(in >> pid)) return "";
  for (char c : pid)
    if (c < '0' || c > '9') return "";
  return pid;
}

DirLock::DirLock(const std::string& dir, const std::function<void(const std::string&)>& warning)
    : path_(io::join_path(dir, "lock")) {
  // A few tries: the file may be replaced between open() and flock() by a
  // run that releases it (it unlinks the file), and then we hold a lock on
  // a file nobody else will see.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const bool existed = io::file_exists(path_);
    const std::string previous = existed ? holder(path_) : "";
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(path_ + ": cannot create the lock file (" + std::strerror(errno) + ")");
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK || err == EAGAIN) {
        const std::string pid = holder(path_);
        throw Error(dir + " is in use by another run (PID " + (pid.empty() ? std::string("unknown") : pid) +
                    ", lock " + path_ + "); wait for it to finish, stop it, or give another --out");
      }
      // A file system without locks (some network mounts, the wasm build's
      // in-memory one): go on unlocked, and say so.
      if (warning) warning(path_ + ": cannot lock (" + std::strerror(err) + "); two runs on this folder would collide");
      return;
    }
    struct stat held, now;
    if (::fstat(fd, &held) != 0 || ::stat(path_.c_str(), &now) != 0 || held.st_ino != now.st_ino ||
        held.st_dev != now.st_dev) {
      ::close(fd);  // it was unlinked under us: try the new one
      continue;
    }
    if (existed && warning)
      warning("took over the lock " + path_ + " left by " +
              (previous.empty() ? std::string("a run") : "PID " + previous) +
              ", which ended without releasing it (a crash or kill -9); its results so far are kept");
    const std::string mine = std::to_string(static_cast<long long>(::getpid())) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, mine.data(), mine.size(), 0) != static_cast<ssize_t>(mine.size())) {
      ::close(fd);
      throw Error(path_ + ": cannot write the lock file");
    }
    fd_ = fd;
    return;
  }
  throw Error(path_ + ": the lock file keeps being replaced; is another run starting and stopping?");
}

DirLock::~DirLock() {
  if (fd_ < 0) return;
  // Unlink while still holding the lock, so a run that opens the path next
  // creates a fresh file (and one that opened the old file sees the inode
  // change and retries).
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace wordlight
