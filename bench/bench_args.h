#pragma once
// Command-line reading shared by the C++ benchmarks (explain_bench,
// perturbation_bench, ...), and the platform names of their JSON lines: `--flag value` pairs in any order, and on any mistake
// the benchmark's usage line on stderr with what was wrong, exit status 2.
//
//   BenchArgs args(argc, argv, "my_bench", "usage: my_bench --model DIR [--threads 1,2]");
//   while (args.next()) {
//     if (args.flag == "--model") o.model = args.value();
//     else if (args.flag == "--threads") o.threads = args.ints("threads");
//     else args.unknown();
//   }
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

// What every benchmark's JSON lines call the platform, and our
// implementation on it (the same program built natively or run by node).
#ifdef __EMSCRIPTEN__
inline constexpr const char* kPlatform = "wasm";
inline constexpr const char* kImpl = "ours-wasm";
#else
inline constexpr const char* kPlatform = "native";
inline constexpr const char* kImpl = "ours-native";
#endif

class BenchArgs {
 public:
  BenchArgs(int argc, char** argv, std::string name, std::string usage_line)
      : argc_(argc), argv_(argv), name_(std::move(name)), usage_(std::move(usage_line)) {}

  std::string flag;  // the current flag, after next()

  // The next flag; false after the last one. --help / -h print the usage.
  bool next() {
    if (++i_ >= argc_) return false;
    flag = argv_[i_];
    if (flag == "--help" || flag == "-h") fail("help");
    return true;
  }
  // The current flag's value.
  std::string value() {
    if (i_ + 1 >= argc_) fail(flag + " needs a value");
    return argv_[++i_];
  }
  int integer() { return std::atoi(value().c_str()); }
  // Comma-separated whole numbers in [1, 100000], at least one.
  std::vector<int> ints(const char* what) {
    std::vector<int> v;
    std::stringstream ss(value());
    std::string item;
    while (std::getline(ss, item, ',')) {
      char* end = nullptr;
      const long x = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || x < 1 || x > 100000) fail(std::string("bad ") + what + ": '" + item + "'");
      v.push_back(static_cast<int>(x));
    }
    if (v.empty()) fail(std::string("--") + what + " needs at least one value");
    return v;
  }
  [[noreturn]] void unknown() { fail("unknown argument '" + flag + "'"); }
  [[noreturn]] void fail(const std::string& msg) const {
    std::fprintf(stderr, "%s: %s\n%s\n", name_.c_str(), msg.c_str(), usage_.c_str());
    std::exit(2);
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string name_, usage_;
};

}  // namespace bench
