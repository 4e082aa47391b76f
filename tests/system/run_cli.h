// Helpers for system tests: run a program and capture what it prints, make throw-away files,
// and hand-craft small ELF images. The paths of the CLI and the guests come from CMake.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emu::systest {

/// How a child process ended and what it wrote.
struct Outcome {
  int status = -1;                       ///< exit status when it exited normally, else -1
  int signal = 0;                        ///< the signal that ended it, 0 if none
  bool timed_out = false;                ///< killed by run_command because it ran too long
  std::string out;                       ///< everything it wrote on stdout
  std::string err;                       ///< everything it wrote on stderr
  std::chrono::milliseconds elapsed{0};  ///< from the start until it ended
};

/// Something run_command does to the child once its stdout contains `after`: send it
/// `signal` (if not 0), and/or close the reading end of its stdout (as a reader that exits
/// does: the child's next write gets EPIPE or SIGPIPE). stderr is still read to the end.
struct Interaction {
  std::string after;
  int signal = 0;
  bool close_stdout = false;
  std::string stdin_path = "/dev/null";  ///< the child's stdin
};

/// Runs argv[0] (a path; no PATH search, no shell) with stdin from /dev/null, collects
/// stdout and stderr separately and waits for it. A child still running after `limit` is
/// killed with SIGKILL and reported as timed_out.
Outcome run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit = std::chrono::seconds(60));
Outcome run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                    const Interaction& interaction);

/// Runs the smccc-emu binary under test with `args`.
Outcome run_emu(const std::vector<std::string>& args, std::chrono::milliseconds limit = std::chrono::seconds(60));
Outcome run_emu(const std::vector<std::string>& args, std::chrono::milliseconds limit, const Interaction& interaction);

/// The smccc-emu binary and a guest built by the `guests` target (e.g. "demo.elf").
std::string emu_binary();
std::string guest_path(std::string_view name);

/// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Writes `bytes` to `name` inside the directory and returns the file's path.
  std::string write(std::string_view name, std::span<const std::uint8_t> bytes) const;
  std::string write(std::string_view name, std::string_view text) const;

 private:
  std::filesystem::path path_;
};

std::vector<std::uint8_t> read_file(const std::string& path);
/// Lines of `text`, without their '\n'.
std::vector<std::string> split_lines(std::string_view text);
std::string first_line(std::string_view text);
std::size_t count_lines_containing(std::string_view text, std::string_view needle);

/// What stderr must never show, whatever the input: an uncaught C++ exception or a
/// sanitizer report. Returns the offending marker, or an empty string.
std::string crash_marker(std::string_view err);

/// Instruction words as the little-endian bytes of a raw image.
std::vector<std::uint8_t> words(std::initializer_list<std::uint32_t> code);

/// A minimal ELF64 little-endian executable: the header, one PT_LOAD program header and
/// `code` as the segment's contents, loaded at `paddr` and entered at `entry`.
std::vector<std::uint8_t> minimal_elf64(std::uint64_t paddr, std::uint64_t entry, std::span<const std::uint8_t> code);

/// A minimal ELF32 (ELFCLASS32, 32-bit Arm) executable header with no segments.
std::vector<std::uint8_t> minimal_elf32();

}  // namespace emu::systest

/// For doctest: report how a run ended and what it printed when a check in scope fails.
#define SYSTEST_SHOW(r)                                                                          \
  INFO("status " << (r).status << ", signal " << (r).signal << ", timed out " << (r).timed_out); \
  INFO("stdout:\n" << (r).out);                                                                  \
  INFO("stderr:\n" << (r).err)
