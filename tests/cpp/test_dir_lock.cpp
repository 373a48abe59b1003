// DirLock (wordlight evaluate's --out lock, issue 14): a second holder is
// refused with the first one's PID; a lock left by a process killed with
// SIGKILL is found stale and taken over.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "wordlight/dir_lock.h"
#include "wordlight/error.h"

using namespace wordlight;

namespace {

std::string fresh_dir(const std::string& name) {
  const char* t = std::getenv("TMPDIR");
  const std::string d = std::string(t && *t ? t : "/tmp") + "/wordlight_lock_" + std::to_string(::getpid()) + "_" + name;
  ::mkdir(d.c_str(), 0755);
  std::remove((d + "/lock").c_str());
  return d;
}

std::string refusal(const std::string& dir) {
  try {
    DirLock second(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DirLock, SecondHolderIsRefusedWithTheFirstPid) {
  const std::string dir = fresh_dir("same");
  std::vector<std::string> warnings;
  {
    DirLock first(dir, [&](const std::string& w) { warnings.push_back(w); });
    ASSERT_TRUE(warnings.empty()) << warnings[0];
    EXPECT_EQ(DirLock::holder(dir + "/lock"), std::to_string(::getpid()));
#ifndef __EMSCRIPTEN__
    const std::string msg = refusal(dir);
    EXPECT_NE(msg.find("in use by another run (PID " + std::to_string(::getpid()) + ","), std::string::npos) << msg;
#endif
    // (Emscripten's flock() succeeds without locking: the wasm build, which
    // has no CLI and no second process, gets the PID file only.)
  }
  // Released at the end of its scope: the next one gets it, with no warning.
  warnings.clear();
  { DirLock again(dir, [&](const std::string& w) { warnings.push_back(w); }); }
  EXPECT_TRUE(warnings.empty());
  std::remove((dir + "/lock").c_str());
  ::rmdir(dir.c_str());
}

#ifndef __EMSCRIPTEN__
TEST(DirLock, LockOfAKilledProcessIsTakenOver) {
  const std::string dir = fresh_dir("killed");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child holds the lock until it is killed.
    try {
      DirLock held(dir);
      (void)!::write(ready[1], "x", 1);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const std::string msg = refusal(dir);
  EXPECT_NE(msg.find("(PID " + std::to_string(child) + ","), std::string::npos) << msg;

  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  // Its lock file is still there, naming it; the lock itself is gone.
  EXPECT_EQ(DirLock::holder(dir + "/lock"), std::to_string(child));
  std::vector<std::string> warnings;
  {
    DirLock taken(dir, [&](const std::string& w) { warnings.push_back(w); });
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("took over"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("PID " + std::to_string(child)), std::string::npos) << warnings[0];
    EXPECT_EQ(DirLock::holder(dir + "/lock"), std::to_string(::getpid()));
  }
  ::close(ready[0]);
  ::close(ready[1]);
  ::rmdir(dir.c_str());
}
#endif
