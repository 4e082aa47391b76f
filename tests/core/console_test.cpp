// The console's host input: FdInput over a regular file, /dev/null, a pipe and a terminal (a
// pseudo-terminal, left in its default mode), and a Console without input.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/console.h"

namespace emu::core {
namespace {
using Read = ConsoleInput::Read;

// A descriptor closed at the end of the test.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string read_all(FdInput& in) {
  std::string got;
  std::uint8_t b = 0;
  while (in.read(b) == Read::Byte) got.push_back(static_cast<char>(b));
  return got;
}
}  // namespace

TEST_CASE("Console input from a regular file is deterministic: its bytes in order, then End for ever") {
  char path[] = "/tmp/console-input-XXXXXX";
  Fd file(::mkstemp(path));
  REQUIRE(file.fd >= 0);
  ::unlink(path);
  REQUIRE(::write(file.fd, "ab\n", 3) == 3);
  REQUIRE(::lseek(file.fd, 0, SEEK_SET) == 0);
  FdInput in(file.fd);
  CHECK(in.deterministic());
  CHECK(read_all(in) == "ab\n");
  std::uint8_t b = 0;
  CHECK(in.read(b) == Read::End);
  in.wait(-1);  // returns at once
}

TEST_CASE("Console input from /dev/null is deterministic and ends at once") {
  Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(null.fd >= 0);
  FdInput in(null.fd);
  CHECK(in.deterministic());
  std::uint8_t b = 0;
  CHECK(in.read(b) == Read::End);
}

TEST_CASE("Console input from another character device (/dev/zero) is polled, not called deterministic") {
  Fd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
  REQUIRE(zero.fd >= 0);
  FdInput in(zero.fd);
  CHECK_FALSE(in.deterministic());
  std::uint8_t b = 0xFF;
  CHECK(in.read(b) == Read::Byte);  // poll says it is readable
  CHECK(b == 0);
}

TEST_CASE("Console input from a pipe never blocks: Later while empty, the bytes once written, End once closed") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  Fd reader(p[0]);
  Fd writer(p[1]);
  FdInput in(reader.fd);
  CHECK_FALSE(in.deterministic());
  std::uint8_t b = 0;
  CHECK(in.read(b) == Read::Later);
  REQUIRE(::write(writer.fd, "xy", 2) == 2);
  CHECK(in.read(b) == Read::Byte);
  CHECK(b == 'x');
  CHECK(in.read(b) == Read::Byte);
  CHECK(b == 'y');
  CHECK(in.read(b) == Read::Later);
  ::close(writer.fd);
  writer.fd = -1;
  CHECK(in.read(b) == Read::End);
  CHECK(in.read(b) == Read::End);
  in.wait(-1);  // ended: returns at once
}

TEST_CASE("Console input wait() blocks until the pipe has a byte") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  Fd reader(p[0]);
  Fd writer(p[1]);
  FdInput in(reader.fd);
  std::thread typist([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    (void)!::write(writer.fd, "k", 1);
  });
  in.wait(-1);
  std::uint8_t b = 0;
  CHECK(in.read(b) == Read::Byte);  // Later if wait() had returned before the byte came
  CHECK(b == 'k');
  typist.join();
}

TEST_CASE("Console input from a terminal is not deterministic and does not block (its mode is left alone)") {
  Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  REQUIRE(master.fd >= 0);
  REQUIRE(::grantpt(master.fd) == 0);
  REQUIRE(::unlockpt(master.fd) == 0);
  Fd tty(::open(::ptsname(master.fd), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  REQUIRE(tty.fd >= 0);
  FdInput in(tty.fd);
  CHECK_FALSE(in.deterministic());
  std::uint8_t b = 0;
  CHECK(in.read(b) == Read::Later);
  REQUIRE(::write(master.fd, "q\n", 2) == 2);  // canonical mode: the line is there after the newline
  in.wait(-1);
  CHECK(in.read(b) == Read::Byte);
  CHECK(b == 'q');
  CHECK(in.read(b) == Read::Byte);
  CHECK(b == '\n');
  CHECK(in.read(b) == Read::Later);
}

TEST_CASE("A Console has no input until one is set, and set_input replaces it") {
  Console console;
  CHECK(console.input() == nullptr);
  Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto in = std::make_unique<FdInput>(null.fd);
  FdInput* raw = in.get();
  console.set_input(std::move(in));
  CHECK(console.input() == raw);
  console.set_input(nullptr);
  CHECK(console.input() == nullptr);
}

}  // namespace emu::core

namespace emu::core {
// Issue 14 F15: the Machine flushes the console at each slice end; the flusher runs only when
// something was written since the last flush, so an idle slice costs a flag test.
TEST_CASE("Console flush calls the writer's flusher once per batch of output, never when nothing was written") {
  Console console;
  std::string out;
  int flushes = 0;
  console.flush();  // no writer: nothing to do
  console.set_writer([&out](std::string_view t) { out.append(t); }, [&flushes] { ++flushes; });
  console.flush();
  CHECK(flushes == 0);
  console.put('a');
  console.write("bc");
  console.flush();
  console.flush();
  CHECK(out == "abc");
  CHECK(flushes == 1);
  console.put('\n');
  console.flush();
  CHECK(flushes == 2);
  console.set_writer([&out](std::string_view t) { out.append(t); });  // no flusher: flush() is harmless
  console.put('d');
  console.flush();
  CHECK(out == "abc\nd");
  CHECK(flushes == 2);
}
}  // namespace emu::core
