// wordlight command-line tool: parses `wordlight <command> --option value
// ...`, checks the options against the command's list, and runs it. The
// commands live in cmd_*.cpp and register themselves (cli.h); `wordlight
// help` lists them.
#include <algorithm>
#include <cstdio>
#include <string>

#include "cli.h"
#include "wordlight/error.h"
#include "wordlight/thread_pool.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

void usage(FILE* f) {
  std::vector<const Command*> cmds;
  for (const Command& c : commands()) cmds.push_back(&c);
  std::stable_sort(cmds.begin(), cmds.end(), [](const Command* a, const Command* b) { return a->order < b->order; });
  std::fprintf(f, "usage: wordlight <command> [options]\n");
  for (const Command* c : cmds) {
    std::string u = c->usage;
    std::string out = "  ";
    for (char ch : u) {
      out += ch;
      if (ch == '\n') out += "      ";
    }
    std::fprintf(f, "%s\n", out.c_str());
  }
  std::fprintf(f,
               "data SPEC: sst2:PATH (stsa.binary.* or a .tsv), tsv:PATH, agnews:PATH (text<TAB>label, no header),\n"
               "           jsonl:PATH ({\"text\", \"label\"}),\n"
               "           dir:ROOT (ROOT/<class>/<files>), newsgroups:ROOT (the same, e-mail headers dropped),\n"
               "           newsgroups-subject:ROOT (headers dropped but the Subject line),\n"
               "           imdb:ROOT (ROOT/pos, ROOT/neg); several, comma-separated, are read as one set;\n"
               "           SPEC@first=N keeps the first N examples\n"
               "every command: --threads N (default 1)\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    usage(stdout);
    return 0;
  }
  const Command* cmd = nullptr;
  for (const Command& c : commands())
    if (c.name == name) cmd = &c;
  if (!cmd) {
    std::fprintf(stderr, "wordlight: unknown command '%s'\n", terminal_escape(name).c_str());
    usage(stderr);
    return 2;
  }
  try {
    Args args;
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind("--", 0) != 0) throw Error("unexpected argument '" + a + "'");
      const std::string key = a.substr(2);
      if (cmd->flags.count(key)) {
        args.flags.insert(key);
      } else if (key != "threads" && !cmd->options.count(key)) {
        throw Error("unknown option '" + a + "' for " + name + " (see wordlight help)");
      } else if (args.values.count(key)) {
        throw Error("option '" + a + "' given twice (each option takes one value; explain's --options takes a comma-separated list)");
      } else if (i + 1 < argc) {
        args.values[key] = argv[++i];
      } else {
        throw Error("option '" + a + "' needs a value");
      }
    }
    if (args.has("threads")) {
      const long long n = args.integer("threads", 1);
      if (n < 1 || n > 256) throw Error("option --threads: " + std::to_string(n) + " is not in [1, 256]");
      set_num_threads(static_cast<int>(n));
    }
    return cmd->run(args);
  } catch (const std::exception& e) {
    // A message quotes file names, labels and texts: escaped for the terminal.
    std::fprintf(stderr, "wordlight %s: %s\n", name.c_str(), terminal_escape(e.what()).c_str());
    return 1;
  }
}
