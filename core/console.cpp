#include "core/console.h"

#include <cerrno>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace emu::core {

namespace {
// /dev/null by its device number, so that other character devices (which can block in read, as
// /dev/kmsg does at its end) are polled.
bool is_dev_null(const struct stat& st) {
  struct stat null {};
  return S_ISCHR(st.st_mode) && ::stat("/dev/null", &null) == 0 && S_ISCHR(null.st_mode) && st.st_rdev == null.st_rdev;
}
}  // namespace

FdInput::FdInput(int fd) : fd_(fd) {
  struct stat st {};
  if (fstat(fd, &st) == 0) deterministic_ = S_ISREG(st.st_mode) || is_dev_null(st);
}

ConsoleInput::Read FdInput::read(std::uint8_t& byte) {
  if (end_) return Read::End;
  if (!deterministic_) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 0);
    if (ready == 0 || (ready < 0 && errno == EINTR)) return Read::Later;
    if (ready < 0) {
      end_ = true;
      return Read::End;
    }
  }
  for (;;) {
    const ssize_t n = ::read(fd_, &byte, 1);
    if (n == 1) return Read::Byte;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Read::Later;
    end_ = true;  // end of file, or an error: no more input either way
    return Read::End;
  }
}

void FdInput::wait() {
  if (end_ || deterministic_) return;
  pollfd p{fd_, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

}  // namespace emu::core
