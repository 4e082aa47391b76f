// Writing files the user names, whole or not at all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>

namespace emu::core {

/// Writes the concatenation of `parts` to `path` through a unique temporary file beside it,
/// fsync'd, then renamed over it (and the directory fsync'd): `path` is afterwards either what
/// it was or the complete new file, also after a power loss. The file gets mode 0666 minus the
/// umask; a symbolic link at `path` is replaced, not followed. Returns an empty string on
/// success, else one line for the user ("cannot write: ...").
std::string write_file_replacing(const std::filesystem::path& path,
                                 std::initializer_list<std::span<const std::uint8_t>> parts);

/// What would keep write_file_replacing(path, ...) from writing, checked without writing it: an
/// empty string, or the same line it would return for something other than a regular file at
/// `path` or a directory in which no file can be created (probed by creating and removing a
/// temporary file beside `path`). For checking a target before long work (--save-at).
std::string replace_problem(const std::filesystem::path& path);

}  // namespace emu::core
