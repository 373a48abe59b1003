#pragma once
// Lines of a text file held in memory (the user's API: the CLI's readers and
// the core's share it). A line ends at "\n" or "\r\n"; the last line needs
// no terminator; an empty text has no line.
#include <string>
#include <vector>

namespace wordlight {

// The lines without their terminators; line i of the file is [i - 1].
std::vector<std::string> split_lines(const std::string& text);

// Only spaces and tabs (or nothing): the readers skip such lines.
bool blank_line(const std::string& line);

}  // namespace wordlight
