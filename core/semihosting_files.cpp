// Semihosting's host files (spec §6.12 SYS_OPEN and the handle operations), confined to
// SemihostingConfig::root: every name is walked one component at a time with O_NOFOLLOW from a
// descriptor of the root, so no absolute name, `..` or symbolic link can leave it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/semihosting.h"
#include "core/semihosting_internal.h"

namespace emu::core {
namespace {

using semihosting::kError;
using semihosting::kPiece;

// SYS_OPEN modes 0..11 (spec §6.12 table "Value of mode", the ISO C fopen modes r, rb, r+, r+b, w, wb, w+, w+b, a,
// ab, a+, a+b); binary and text are the same on the host.
int open_flags(std::uint64_t mode) {
  switch (mode / 2) {
    case 0: return O_RDONLY;
    case 1: return O_RDWR;
    case 2: return O_WRONLY | O_CREAT | O_TRUNC;
    case 3: return O_RDWR | O_CREAT | O_TRUNC;
    case 4: return O_WRONLY | O_CREAT | O_APPEND;
    default: return O_RDWR | O_CREAT | O_APPEND;
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

bool Semihosting::guest_name(GuestMemoryReader& memory, std::uint64_t va, std::uint64_t len, std::string& name) {
  if (len == 0 || len > semihosting::kMaxPath) {
    errno_ = len == 0 ? ENOENT : ENAMETOOLONG;
    return false;
  }
  name.assign(static_cast<std::size_t>(len), '\0');
  if (memory.read(va, std::span(reinterpret_cast<std::uint8_t*>(name.data()), name.size())) != name.size()) {
    errno_ = EFAULT;
    return false;
  }
  if (name.find('\0') != std::string::npos) {
    errno_ = ENOENT;
    return false;
  }
  return true;
}

int Semihosting::parent_of(const std::string& name, std::string& leaf) {
  if (root_fd_ < 0 || name.front() == '/') {
    errno_ = EACCES;  // no root given, or an absolute name
    return -1;
  }
  int dir = ::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0);
  if (dir < 0) {
    errno_ = errno;
    return -1;
  }
  std::string_view rest = name;
  leaf.clear();
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      ::close(dir);
      errno_ = EACCES;
      return -1;
    }
    if (!leaf.empty()) {  // the previous component was a directory on the way
      const int next = ::openat(dir, leaf.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      ::close(dir);
      if (next < 0) {
        errno_ = errno;
        return -1;
      }
      dir = next;
    }
    leaf.assign(part);
  }
  if (leaf.empty()) {
    ::close(dir);
    errno_ = ENOENT;
    return -1;
  }
  return dir;
}

// SYS_OPEN (spec §6.12): {name, mode, length of name; the name needs no NUL}. `:tt` is the console (modes r* input, w*
// output, a* error output, both to the console); `:semihosting-features` reads kFeatures.
SemihostingOutcome Semihosting::open(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 3> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  std::string name;
  if (block[1] > 11) return fail(EINVAL);
  if (!guest_name(memory, block[0], block[2], name)) return {.x0 = kError};
  if (name == ":tt")
    return new_handle(block[1] < 4 ? Kind::ConsoleIn : block[1] < 8 ? Kind::ConsoleOut : Kind::ConsoleErr, -1);
  if (name == ":semihosting-features") return block[1] < 2 ? new_handle(Kind::Features, -1) : fail(EACCES);
  if (open_handles() == handles_.size()) return fail(EMFILE);
  std::string leaf;
  const Fd parent(parent_of(name, leaf));
  if (parent.get() < 0) return {.x0 = kError};
  // O_NONBLOCK: a FIFO must not block the machine; anything but a regular file is refused.
  const int fd =
      ::openat(parent.get(), leaf.c_str(), open_flags(block[1]) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
  if (fd < 0) return fail(errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(EACCES);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return new_handle(Kind::File, fd);
}

// SYS_CLOSE (spec §6.2): {handle}; 0, or -1 (EBADF) for a handle that is not open.
SemihostingOutcome Semihosting::close(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 1> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  Handle* h = handle(block[0]);
  if (h == nullptr) return fail(EBADF);
  if (h->kind == Kind::File) ::close(h->fd);
  *h = Handle{};
  return {};
}

// SYS_WRITE (spec §6.22): {handle, buffer, length}; returns how many bytes were NOT written (0: all).
// A page of guest memory at a time: a huge length costs no host memory and stops at the end
// of readable guest memory (EFAULT).
SemihostingOutcome Semihosting::write(std::uint64_t param, GuestMemoryReader& memory, Console& console) {
  std::array<std::uint64_t, 3> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  const Handle* h = handle(block[0]);
  if (h == nullptr || h->kind == Kind::ConsoleIn || h->kind == Kind::Features) return fail(EBADF);
  const std::uint64_t len = block[2];
  std::array<std::uint8_t, kPiece> buf{};
  std::uint64_t done = 0;
  while (done < len) {
    const std::uint64_t at = block[1] + done;
    if (at < block[1]) {  // past the top of the address space: nothing is there
      errno_ = EFAULT;
      break;
    }
    const auto want = static_cast<std::size_t>(std::min(kPiece - at % kPiece, len - done));
    const std::size_t got = memory.read(at, std::span(buf.data(), want));
    if (got == 0) {
      errno_ = EFAULT;
      break;
    }
    if (h->kind != Kind::File) {
      console.write(std::string_view(reinterpret_cast<const char*>(buf.data()), got));
      done += got;
      continue;
    }
    const ssize_t n = ::write(h->fd, buf.data(), got);
    if (n <= 0) {
      errno_ = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::uint64_t>(n);
  }
  return {.x0 = len - done};
}

// SYS_READ (spec §6.13): {handle, buffer, length}; returns how many bytes were NOT read (length: end of
// file). The console gives what its input holds now, up to and including a newline.
SemihostingOutcome Semihosting::read(std::uint64_t param, GuestMemoryReader& memory, Console& console) {
  std::array<std::uint64_t, 3> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  Handle* h = handle(block[0]);
  if (h == nullptr || h->kind == Kind::ConsoleOut || h->kind == Kind::ConsoleErr) return fail(EBADF);
  const std::uint64_t len = block[2];
  std::array<std::uint8_t, kPiece> buf{};
  std::uint64_t done = 0;
  bool end = false;
  while (done < len && !end) {
    const std::uint64_t at = block[1] + done;
    if (at < block[1]) {  // past the top of the address space: nothing is there
      errno_ = EFAULT;
      break;
    }
    const auto want = static_cast<std::size_t>(std::min(kPiece - at % kPiece, len - done));
    std::size_t got = 0;
    if (h->kind == Kind::File) {
      const ssize_t n = ::read(h->fd, buf.data(), want);
      if (n < 0) errno_ = errno;
      got = n > 0 ? static_cast<std::size_t>(n) : 0;
      end = n <= 0;
    } else if (h->kind == Kind::Features) {
      const std::uint64_t from = std::min<std::uint64_t>(h->pos, semihosting::kFeatures.size());
      got = static_cast<std::size_t>(std::min<std::uint64_t>(semihosting::kFeatures.size() - from, want));
      std::copy_n(semihosting::kFeatures.begin() + static_cast<std::ptrdiff_t>(from), got, buf.begin());
      h->pos += got;
      end = got < want;
    } else {
      ConsoleInput* input = console.input();
      bool newline = false;
      while (!newline && input != nullptr && got < want && input->read(buf[got]) == ConsoleInput::Read::Byte)
        newline = buf[got++] == '\n';
      end = newline || got < want;  // a newline that fills the piece ends the read too
    }
    const std::size_t put = memory.write(at, std::span<const std::uint8_t>(buf.data(), got));
    if (put < got) {
      errno_ = EFAULT;
      // What did not reach the guest was not read: the next read starts there.
      if (h->kind == Kind::File) ::lseek(h->fd, -static_cast<off_t>(got - put), SEEK_CUR);
      if (h->kind == Kind::Features) h->pos -= got - put;
      end = true;
    }
    done += put;
  }
  return {.x0 = len - done};
}

// SYS_SEEK (spec §6.17): {handle, absolute position}; 0, or -1 with the error.
SemihostingOutcome Semihosting::seek(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 2> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  Handle* h = handle(block[0]);
  if (h == nullptr) return fail(EBADF);
  if (static_cast<std::int64_t>(block[1]) < 0) return fail(EINVAL);
  if (h->kind == Kind::Features) {
    h->pos = block[1];
    return {};
  }
  if (h->kind != Kind::File) return fail(ESPIPE);
  if (::lseek(h->fd, static_cast<off_t>(block[1]), SEEK_SET) < 0) return fail(errno);
  return {};
}

// SYS_FLEN (spec §6.7): {handle}; the file's length (`:semihosting-features`: 5), or -1.
SemihostingOutcome Semihosting::flen(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 1> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  const Handle* h = handle(block[0]);
  if (h == nullptr) return fail(EBADF);
  if (h->kind == Kind::Features) return {.x0 = semihosting::kFeatures.size()};
  if (h->kind != Kind::File) return fail(EINVAL);
  struct stat st {};
  if (::fstat(h->fd, &st) != 0) return fail(errno);
  return {.x0 = static_cast<std::uint64_t>(st.st_size)};
}

// SYS_REMOVE (spec §6.15): {name, length}; 0, or -1 with the error.
SemihostingOutcome Semihosting::remove(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 2> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  std::string name;
  std::string leaf;
  if (!guest_name(memory, block[0], block[1], name)) return {.x0 = kError};
  const Fd parent(parent_of(name, leaf));
  if (parent.get() < 0) return {.x0 = kError};
  if (::unlinkat(parent.get(), leaf.c_str(), 0) != 0) return fail(errno);
  return {};
}

// SYS_RENAME (spec §6.16): {old name, its length, new name, its length}; both under the root.
SemihostingOutcome Semihosting::rename(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 4> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  std::string from;
  std::string to;
  std::string from_leaf;
  std::string to_leaf;
  if (!guest_name(memory, block[0], block[1], from) || !guest_name(memory, block[2], block[3], to))
    return {.x0 = kError};
  const Fd from_dir(parent_of(from, from_leaf));
  if (from_dir.get() < 0) return {.x0 = kError};
  const Fd to_dir(parent_of(to, to_leaf));
  if (to_dir.get() < 0) return {.x0 = kError};
  if (::renameat(from_dir.get(), from_leaf.c_str(), to_dir.get(), to_leaf.c_str()) != 0) return fail(errno);
  return {};
}

}  // namespace emu::core
