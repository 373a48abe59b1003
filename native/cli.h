#pragma once
// The pieces every `wordlight` subcommand shares: parsed options (Args),
// file helpers, and the command registry. Each command lives in its own
// cmd_*.cpp and registers itself with a static RegisterCommand, so adding
// a command never touches main.cpp.
#include <map>
#include <set>
#include <string>
#include <vector>

namespace wordlight::cli {

// Options of the form --name value, and bare flags (--f16), in order.
struct Args {
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  bool has(const std::string& k) const { return values.count(k) > 0; }
  bool flag(const std::string& k) const { return flags.count(k) > 0; }
  std::string get(const std::string& k, const std::string& def = "") const;
  std::string need(const std::string& k) const;  // throws "missing option --k"
  double num(const std::string& k, double def) const;
  long long integer(const std::string& k, long long def) const;
  bool boolean(const std::string& k, bool def) const;  // true|1 or false|0
};

struct Command {
  std::string name;
  // Usage lines shown by `wordlight help`: the first starts with the
  // command's synopsis; continuation lines are indented by the caller.
  std::string usage;
  std::set<std::string> options;  // --name value
  std::set<std::string> flags;    // --name alone
  int (*run)(const Args&) = nullptr;
  int order = 100;  // position in `wordlight help`
};

struct RegisterCommand {
  explicit RegisterCommand(Command c);
};
const std::vector<Command>& commands();

std::string read_text(const std::string& path);                   // whole file; throws naming it
void write_text(const std::string& path, const std::string& text);  // throws naming it
std::string base_name(const std::string& path);
bool stderr_is_tty();

}  // namespace wordlight::cli
