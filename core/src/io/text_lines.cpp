// split_lines(), blank_line(): the one line splitter of the file readers
// (data sets, vocabularies, merges, JSON lines) and the CLI's inputs.
#include "wordlight/text_lines.h"

namespace wordlight {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    size_t end = nl;
    if (end > start && text[end - 1] == '\r') --end;
    lines.push_back(text.substr(start, end - start));
    start = nl + 1;
  }
  return lines;
}

bool blank_line(const std::string& line) { return line.find_first_not_of(" \t") == std::string::npos; }

}  // namespace wordlight
