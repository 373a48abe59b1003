// Args, the command registry and file helpers of cli.h.
#include "cli.h"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "wordlight/error.h"

namespace wordlight::cli {

std::string Args::get(const std::string& k, const std::string& def) const {
  auto it = values.find(k);
  return it == values.end() ? def : it->second;
}

std::string Args::need(const std::string& k) const {
  auto it = values.find(k);
  if (it == values.end()) throw Error("missing option --" + k);
  return it->second;
}

double Args::num(const std::string& k, double def) const {
  auto it = values.find(k);
  if (it == values.end()) return def;
  try {
    size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    return v;
  } catch (const std::exception&) {
    throw Error("option --" + k + ": '" + it->second + "' is not a number");
  }
}

long long Args::integer(const std::string& k, long long def) const {
  const double v = num(k, static_cast<double>(def));
  if (v != std::floor(v)) throw Error("option --" + k + ": '" + get(k) + "' is not an integer");
  return static_cast<long long>(v);
}

bool Args::boolean(const std::string& k, bool def) const {
  const std::string v = get(k, def ? "true" : "false");
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  throw Error("option --" + k + ": '" + v + "' (true or false)");
}

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace

RegisterCommand::RegisterCommand(Command c) { registry().push_back(std::move(c)); }
const std::vector<Command>& commands() { return registry(); }

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(path + ": read error");
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot create");
  f << text;
  f.close();
  if (!f) throw Error(path + ": write error");
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool stderr_is_tty() { return ::isatty(2) != 0; }

}  // namespace wordlight::cli
