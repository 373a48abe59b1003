#pragma once
// Text from a model or a user (labels, tokens, words, file names, texts) on
// a terminal: a control character in it would be obeyed by the terminal
// (ESC ] 0 ; retitles the window, ESC [ 2 J clears the screen), so it is
// shown escaped instead.
#include <string>

namespace wordlight {

// `s` with every C0 control (U+0000-U+001F, tabs and newlines included),
// DEL, every C1 control (U+0080-U+009F) and every byte that is not part of
// valid UTF-8 written as \xNN (the bytes, two hex digits each, e.g. ESC as
// \x1b). Everything else, backslashes included, is kept as it is.
std::string terminal_escape(const std::string& s);

}  // namespace wordlight
