#pragma once
// Small helpers shared by the readers in core/src/io (internal).
#include <string>

namespace wordlight {
namespace io {

// The whole file as bytes. Throws Error naming `path` when it cannot be
// opened or read.
std::string read_file(const std::string& path);
// Throws Error naming `path` when it cannot be written.
void write_file(const std::string& path, const void* data, size_t size);
bool file_exists(const std::string& path);
// "dir/name" without doubling the separator.
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace io
}  // namespace wordlight
