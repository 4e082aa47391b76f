#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

namespace emu::core {
namespace {

// Writes all of `data` to `fd`; false on any error.
bool write_all(int fd, std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

// Only a regular file is replaced: renaming over a directory fails anyway, and renaming over
// a device node, FIFO or symbolic link would silently turn it into a regular file.
std::string not_replaceable(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return S_ISDIR(st.st_mode) ? "cannot write: it is a directory"
                               : "cannot write: it exists and is not a regular file";
  }
  return {};
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

// A new unique temporary file beside `path` (its name in `temp`), or -1 with errno set.
int make_temp(const std::filesystem::path& path, std::string& temp) {
  temp = (directory_of(path) / (path.filename().string() + ".XXXXXX")).string();
  return ::mkstemp(temp.data());
}

}  // namespace

std::string replace_problem(const std::filesystem::path& path) {
  if (std::string problem = not_replaceable(path); !problem.empty()) return problem;
  std::string temp;
  const int fd = make_temp(path, temp);
  if (fd < 0) return fmt::format("cannot write: {}", std::strerror(errno));
  ::close(fd);
  ::unlink(temp.c_str());
  return {};
}

std::string write_file_replacing(const std::filesystem::path& path,
                                 std::initializer_list<std::span<const std::uint8_t>> parts) {
  if (std::string problem = not_replaceable(path); !problem.empty()) return problem;
  const std::filesystem::path dir = directory_of(path);
  std::string temp;
  const int fd = make_temp(path, temp);
  if (fd < 0) return fmt::format("cannot write: {}", std::strerror(errno));
  // mkstemp makes the file 0600; give it the mode any new file of the user's gets.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  bool written = true;
  for (const auto part : parts) written = written && write_all(fd, part);
  written = written && ::fsync(fd) == 0;
  int failure = written ? 0 : errno;
  const bool closed = ::close(fd) == 0;
  if (!closed && failure == 0) failure = errno;
  std::error_code ec;
  if (!written || !closed) {
    std::filesystem::remove(temp, ec);
    return fmt::format("cannot write: {}", std::strerror(failure));
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    const std::string why = ec.message();  // before remove() reuses ec
    std::filesystem::remove(temp, ec);
    return fmt::format("cannot write: {}", why);
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace emu::core
