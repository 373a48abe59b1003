#pragma once
// Errors at the API edge: every invalid argument or shape mismatch throws
// wordlight::Error with a message naming the op and the shapes involved.
#include <stdexcept>
#include <string>

namespace wordlight {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace wordlight
