#include "core/console.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>

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

void FdInput::wait(int wake_fd) {
  if (end_ || deterministic_) return;
  // poll ignores a negative descriptor. EINTR returns too: the caller looks at why it was
  // woken (a stop request from a signal handler) and calls again if there is nothing to do.
  pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  ::poll(p, 2, -1);
}

}  // namespace emu::core
