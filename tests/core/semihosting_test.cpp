// Semihosting's host side (core/semihosting.h) on its own: every operation against a fake guest
// memory, the root's confinement, guest-supplied lengths and pointers, handle exhaustion and the
// errno values. Expected results come from "Semihosting for AArch32 and AArch64", version 2.0
// (§6.x per operation) and, for SYS_ERRNO, Linux's errno numbers (the host's, as QEMU reports).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/semihosting.h"
#include "firmware/platform.h"

namespace emu::core {
namespace {

namespace fs = std::filesystem;
namespace sh = semihosting;
constexpr std::uint64_t kFail = ~std::uint64_t{0};

// Three readable and writable regions, as a guest's translation might map them: 64 KiB at
// kLow, the top page of the address space and the page at 0 (what a buffer that wrapped past
// 2^64 would reach).
class FakeMemory final : public GuestMemoryReader {
 public:
  static constexpr std::uint64_t kLow = 0x10000;
  static constexpr std::uint64_t kLowSize = 0x10000;
  static constexpr std::uint64_t kTop = 0xFFFF'FFFF'FFFF'F000;

  std::size_t read(std::uint64_t va, std::span<std::uint8_t> out) override {
    std::uint8_t* p = at(va);
    const std::size_t n = p == nullptr ? 0 : std::min<std::size_t>(out.size(), room(va));
    if (n != 0) std::memcpy(out.data(), p, n);
    return n;
  }
  std::size_t write(std::uint64_t va, std::span<const std::uint8_t> bytes) override {
    std::uint8_t* p = at(va);
    const std::size_t n = p == nullptr ? 0 : std::min<std::size_t>(bytes.size(), room(va));
    if (n != 0) std::memcpy(p, bytes.data(), n);
    return n;
  }
  void put(std::uint64_t va, std::string_view s) {
    REQUIRE(write(va, std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())) == s.size());
  }
  void put_words(std::uint64_t va, std::initializer_list<std::uint64_t> words) {
    for (const std::uint64_t w : words) {
      put(va, std::string_view(reinterpret_cast<const char*>(&w), 8));
      va += 8;
    }
  }
  std::string get(std::uint64_t va, std::size_t n) {
    std::string s(n, '\0');
    REQUIRE(read(va, std::span(reinterpret_cast<std::uint8_t*>(s.data()), n)) == n);
    return s;
  }
  std::uint64_t word(std::uint64_t va) {
    std::uint64_t w = 0;
    std::memcpy(&w, get(va, 8).data(), 8);
    return w;
  }

 private:
  std::uint8_t* at(std::uint64_t va) {
    if (va >= kLow && va - kLow < kLowSize) return low_.data() + (va - kLow);
    if (va >= kTop) return top_.data() + (va - kTop);
    if (va < 0x1000) return zero_.data() + va;
    return nullptr;
  }
  static std::uint64_t room(std::uint64_t va) {
    return va >= kTop ? 0 - va : va < 0x1000 ? 0x1000 - va : kLow + kLowSize - va;
  }
  std::vector<std::uint8_t> low_ = std::vector<std::uint8_t>(kLowSize);
  std::vector<std::uint8_t> top_ = std::vector<std::uint8_t>(0x1000);
  std::vector<std::uint8_t> zero_ = std::vector<std::uint8_t>(0x1000, 'z');
};

class StringInput final : public ConsoleInput {
 public:
  explicit StringInput(std::string text) : text_(std::move(text)) {}
  Read read(std::uint8_t& byte) override {
    if (pos_ == text_.size()) return Read::Later;
    byte = static_cast<std::uint8_t>(text_[pos_++]);
    return Read::Byte;
  }
  void wait(int /*wake_fd*/) override {}

 private:
  std::string text_;
  std::size_t pos_ = 0;
};

// A fresh directory under /tmp, removed with its contents at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string name = (fs::temp_directory_path() / "semihosting-test-XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~TempDir() { fs::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
  std::string read(const std::string& name) const {
    std::ostringstream s;
    s << std::ifstream(path / name).rdbuf();
    return s.str();
  }
};

std::size_t open_descriptors() {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{}));
}

// The host with its console captured. Parameter blocks go at kBlock, names at kName, buffers at kBuf.
struct Host {
  static constexpr std::uint64_t kBlock = FakeMemory::kLow;
  static constexpr std::uint64_t kName = FakeMemory::kLow + 0x100;
  static constexpr std::uint64_t kBuf = FakeMemory::kLow + 0x1000;

  FakeMemory memory;
  Console console;
  std::string out;
  Semihosting sh;
  SemihostingContext context;

  explicit Host(SemihostingConfig config = {}) : sh(std::move(config)) {
    console.set_writer([this](std::string_view s) { out.append(s); });
  }
  std::uint64_t call(std::uint32_t op, std::uint64_t param) { return sh.call(op, param, memory, console, context).x0; }
  std::uint64_t block(std::uint32_t op, std::initializer_list<std::uint64_t> words) {
    memory.put_words(kBlock, words);
    return call(op, kBlock);
  }
  std::uint64_t open(std::string_view name, std::uint64_t mode) {
    memory.put(kName, name);
    memory.put(kName + name.size(), std::string_view("\0", 1));
    return block(sh::kSysOpen, {kName, mode, name.size()});
  }
  std::uint64_t write(std::uint64_t handle, std::string_view text) {
    memory.put(kBuf, text);
    return block(sh::kSysWrite, {handle, kBuf, text.size()});
  }
  // SYS_READ of up to n bytes; returns what arrived and sets `left` to X0.
  std::string read(std::uint64_t handle, std::size_t n, std::uint64_t& left) {
    left = block(sh::kSysRead, {handle, kBuf, n});
    return left > n ? std::string() : memory.get(kBuf, n - static_cast<std::size_t>(left));
  }
  std::uint64_t close(std::uint64_t handle) { return block(sh::kSysClose, {handle}); }
  std::uint64_t name_op(std::uint32_t op, std::string_view name) {
    memory.put(kName, name);
    return block(op, {kName, name.size()});
  }
  std::uint64_t rename(std::string_view from, std::string_view to) {
    memory.put(kName, from);
    memory.put(kName + 0x80, to);
    return block(sh::kSysRename, {kName, from.size(), kName + 0x80, to.size()});
  }
  int err() { return static_cast<int>(call(sh::kSysErrno, 0)); }
};

SemihostingConfig rooted(const TempDir& dir) {
  return {.root = dir.path.string(), .cmdline = {}};
}

}  // namespace

TEST_CASE("Semihosting without a root refuses every host file name (EACCES) and creates nothing") {
  TempDir cwd_probe;
  const fs::path before = fs::current_path();
  fs::current_path(cwd_probe.path);  // a relative name must not land in the working directory
  Host h;
  CHECK(h.open("made-by-guest.txt", 4) == kFail);
  CHECK(h.err() == 13);  // EACCES
  CHECK(h.open("made-by-guest.txt", 0) == kFail);
  CHECK(h.name_op(sh::kSysRemove, "made-by-guest.txt") == kFail);
  CHECK(h.rename("a", "b") == kFail);
  CHECK(h.err() == 13);
  CHECK(fs::is_empty(cwd_probe.path));
  fs::current_path(before);
  CHECK(h.open(":tt", 4) != kFail);  // the console needs no root
}

TEST_CASE("Semihosting SYS_OPEN, SYS_WRITE, SYS_FLEN, SYS_SEEK, SYS_READ and SYS_CLOSE on a file under the root") {
  TempDir root;
  Host h(rooted(root));
  const std::uint64_t w = h.open("f.txt", 4);  // "w"
  REQUIRE(w != kFail);
  CHECK(w != 0);  // §6.12: a non-zero handle
  CHECK(h.write(w, "hello world") == 0);
  CHECK(h.block(sh::kSysFlen, {w}) == 11);
  CHECK(h.block(sh::kSysIsTty, {w}) == 0);
  CHECK(h.close(w) == 0);
  CHECK(root.read("f.txt") == "hello world");
  CHECK(h.close(w) == kFail);  // closed already
  CHECK(h.err() == 9);         // EBADF

  const std::uint64_t r = h.open("f.txt", 1);  // "rb"
  REQUIRE(r != kFail);
  CHECK(h.block(sh::kSysSeek, {r, 6}) == 0);
  std::uint64_t left = 0;
  CHECK(h.read(r, 10, left) == "world");
  CHECK(left == 5);  // §6.13: the bytes not filled
  CHECK(h.read(r, 10, left).empty());
  CHECK(left == 10);            // end of file: the whole length
  CHECK(h.write(r, "x") == 1);  // not open for writing: §6.22, the byte not written
  CHECK(h.err() == 9);          // EBADF from the host
  CHECK(h.close(r) == 0);
  CHECK(h.sh.open_handles() == 0);
}

TEST_CASE("Semihosting SYS_OPEN modes: append, read-write, create and the refused ones") {
  TempDir root;
  root.write("log", "one\n");
  Host h(rooted(root));
  const std::uint64_t a = h.open("log", 8);  // "a"
  CHECK(h.write(a, "two\n") == 0);
  h.close(a);
  CHECK(root.read("log") == "one\ntwo\n");
  CHECK(h.open("missing", 0) == kFail);
  CHECK(h.err() == 2);                        // ENOENT
  CHECK(h.open("missing", 2) == kFail);       // "r+" does not create
  const std::uint64_t rw = h.open("new", 6);  // "w+" creates and reads back
  CHECK(h.write(rw, "abc") == 0);
  CHECK(h.block(sh::kSysSeek, {rw, 1}) == 0);
  std::uint64_t left = 0;
  CHECK(h.read(rw, 2, left) == "bc");
  CHECK(h.open("log", 12) == kFail);                        // §6.12: modes are 0..11
  CHECK(h.err() == 22);                                     // EINVAL
  CHECK(h.block(sh::kSysSeek, {rw, 1ull << 63}) == kFail);  // no off_t for it
  CHECK(h.err() == 22);
}

TEST_CASE("Semihosting names cannot leave the root: absolute names, .. and symbolic links") {
  TempDir outside;
  outside.write("secret", "outside");
  fs::create_directory(outside.path / "dir");
  outside.write("dir/secret", "outside too");
  TempDir root;
  fs::create_directory(root.path / "sub");
  root.write("sub/inside", "inside");
  fs::create_symlink(outside.path / "secret", root.path / "link");
  fs::create_symlink(outside.path / "dir", root.path / "dirlink");
  fs::create_symlink(outside.path / "created", root.path / "dangling");
  Host h(rooted(root));

  CHECK(h.open((outside.path / "secret").string(), 0) == kFail);
  CHECK(h.err() == 13);
  CHECK(h.open("../" + outside.path.filename().string() + "/secret", 0) == kFail);
  CHECK(h.err() == 13);
  CHECK(h.open("sub/../../x", 4) == kFail);
  CHECK(h.err() == 13);
  CHECK(h.open("link", 0) == kFail);
  CHECK(h.err() == 40);  // ELOOP: O_NOFOLLOW on the last component
  CHECK(h.open("dirlink/secret", 0) == kFail);
  CHECK(h.err() == 20);                   // ENOTDIR: a link on the way is not a directory
  CHECK(h.open("dangling", 4) == kFail);  // creating through a link
  CHECK(!fs::exists(outside.path / "created"));
  CHECK(h.rename("sub/inside", "dirlink/moved") == kFail);
  CHECK(!fs::exists(outside.path / "dir" / "moved"));
  CHECK(h.name_op(sh::kSysRemove, "dirlink/secret") == kFail);
  CHECK(fs::exists(outside.path / "dir" / "secret"));
  CHECK(h.name_op(sh::kSysRemove, "link") == 0);  // the link itself is inside the root
  CHECK(fs::exists(outside.path / "secret"));
  CHECK(h.sh.open_handles() == 0);
  // What is inside is reachable through subdirectories and "." components.
  const std::uint64_t in = h.open("./sub//inside", 0);
  std::uint64_t left = 0;
  CHECK(h.read(in, 6, left) == "inside");
}

TEST_CASE("Semihosting opens only regular files: a directory or a FIFO is refused without blocking") {
  TempDir root;
  fs::create_directory(root.path / "d");
  REQUIRE(::mkfifo((root.path / "fifo").c_str(), 0600) == 0);
  Host h(rooted(root));
  CHECK(h.open("d", 0) == kFail);
  CHECK(h.open("fifo", 0) == kFail);  // would block the machine without O_NONBLOCK
  CHECK(h.err() == 13);
  CHECK(h.open("", 0) == kFail);  // an empty name
  CHECK(h.err() == 2);
  CHECK(h.sh.open_handles() == 0);
}

TEST_CASE("Semihosting SYS_REMOVE and SYS_RENAME inside the root") {
  TempDir root;
  root.write("a", "A");
  fs::create_directory(root.path / "sub");
  Host h(rooted(root));
  CHECK(h.rename("a", "sub/b") == 0);
  CHECK(root.read("sub/b") == "A");
  CHECK(h.rename("missing", "c") == kFail);
  CHECK(h.err() == 2);
  CHECK(h.name_op(sh::kSysRemove, "sub/b") == 0);
  CHECK(!fs::exists(root.path / "sub" / "b"));
  CHECK(h.name_op(sh::kSysRemove, "sub") == kFail);  // unlink, not rmdir
  CHECK(h.err() == 21);                              // EISDIR
}

TEST_CASE("Semihosting guest lengths: huge ones cost nothing and stop where guest memory does") {
  TempDir root;
  root.write("ten", "0123456789");
  Host h(rooted(root));
  const std::uint64_t tt = h.open(":tt", 4);
  const std::uint64_t last = FakeMemory::kLow + FakeMemory::kLowSize - 4;
  h.memory.put(last, "WXYZ");
  // SYS_WRITE of 2^63 bytes from 4 bytes before the end of readable memory: 4 bytes go out.
  CHECK(h.block(sh::kSysWrite, {tt, last, 1ull << 63}) == (1ull << 63) - 4);
  CHECK(h.out == "WXYZ");
  CHECK(h.err() == 14);  // EFAULT
  // A buffer that would wrap past 2^64 stops at the top; address 0 is never reached.
  h.out.clear();
  h.memory.put(~std::uint64_t{0} - 7, "topbytes");
  CHECK(h.block(sh::kSysWrite, {tt, ~std::uint64_t{0} - 7, 16}) == 8);
  CHECK(h.out == "topbytes");
  // SYS_READ into the last 4 bytes: 4 arrive, and the file position is after them only.
  const std::uint64_t f = h.open("ten", 0);
  CHECK(h.block(sh::kSysRead, {f, last, ~std::uint64_t{0}}) == ~std::uint64_t{0} - 4);
  CHECK(h.memory.get(last, 4) == "0123");
  std::uint64_t left = 0;
  CHECK(h.read(f, 6, left) == "456789");
  // A name longer than PATH_MAX is refused before anything is read or allocated.
  CHECK(h.block(sh::kSysOpen, {Host::kName, 0, 1ull << 40}) == kFail);
  CHECK(h.err() == 36);  // ENAMETOOLONG
}

TEST_CASE("Semihosting bad guest pointers fail with EFAULT and change nothing") {
  TempDir root;
  root.write("f", "data");
  Host h(rooted(root));
  constexpr std::uint64_t kBad = 0x8000;  // unmapped
  for (const std::uint32_t op : {sh::kSysOpen, sh::kSysClose, sh::kSysWrite, sh::kSysRead, sh::kSysIsError,
                                 sh::kSysIsTty, sh::kSysSeek, sh::kSysFlen, sh::kSysTmpnam, sh::kSysRemove,
                                 sh::kSysRename, sh::kSysGetCmdline, sh::kSysHeapinfo, sh::kSysWritec}) {
    CAPTURE(op);
    CHECK(h.call(op, kBad) == kFail);
    CHECK(h.err() == 14);
  }
  // A block that starts readable and runs off the end of memory is a bad pointer too.
  CHECK(h.call(sh::kSysSeek, FakeMemory::kLow + FakeMemory::kLowSize - 8) == kFail);
  CHECK(h.block(sh::kSysOpen, {kBad, 0, 1}) == kFail);  // the name's pointer
  CHECK(h.err() == 14);
  const std::uint64_t f = h.open("f", 0);
  CHECK(h.block(sh::kSysRead, {f, kBad, 4}) == 4);  // nothing delivered...
  std::uint64_t left = 0;
  CHECK(h.read(f, 4, left) == "data");  // ...so nothing was consumed
  const SemihostingOutcome elapsed = h.sh.call(sh::kSysElapsed, kBad, h.memory, h.console, h.context);
  CHECK(elapsed.x0 == kFail);
  CHECK(elapsed.x1 == kFail);  // §6.3: X1 is -1 too
}

TEST_CASE("Semihosting hands out 64 handles at most, then EMFILE, and leaks no host descriptor") {
  TempDir root;
  root.write("f", "x");
  const std::size_t fds = open_descriptors();
  {
    Host h(rooted(root));
    std::vector<std::uint64_t> handles;
    for (std::size_t i = 0; i < sh::kMaxHandles; ++i) handles.push_back(h.open(i % 2 ? "f" : ":tt", 0));
    CHECK(std::count(handles.begin(), handles.end(), kFail) == 0);
    CHECK(std::set<std::uint64_t>(handles.begin(), handles.end()).size() == sh::kMaxHandles);
    CHECK(h.open("f", 0) == kFail);
    CHECK(h.err() == 24);  // EMFILE
    CHECK(h.open(":tt", 0) == kFail);
    CHECK(h.close(handles[5]) == 0);
    CHECK(h.open("f", 0) == handles[5]);  // the freed slot again
    h.sh.reset();                         // a machine reset closes everything
    CHECK(h.sh.open_handles() == 0);
    CHECK(h.close(handles[1]) == kFail);
    CHECK(open_descriptors() == fds + 1);  // only the root's own descriptor is left
  }
  CHECK(open_descriptors() == fds);
}

TEST_CASE("Semihosting SYS_SYSTEM is refused (EPERM) and runs nothing") {
  TempDir root;
  Host h(rooted(root));
  const std::string command = "touch " + (root.path / "ran").string();
  h.memory.put(Host::kName, command);
  CHECK(h.block(sh::kSysSystem, {Host::kName, command.size()}) == kFail);
  CHECK(h.err() == 1);  // EPERM
  CHECK(!fs::exists(root.path / "ran"));
}

TEST_CASE("Semihosting SYS_ERRNO: ENOSYS for an unknown operation, and success leaves it alone") {
  Host h;
  CHECK(h.err() == 0);
  CHECK(h.call(0x100, 0) == kFail);
  CHECK(h.err() == 38);  // ENOSYS
  CHECK(h.open(":tt", 0) != kFail);
  CHECK(h.err() == 38);  // §6.4: errno reports the last failure
  h.sh.reset();
  CHECK(h.err() == 0);
}

TEST_CASE("Semihosting time is virtual: SYS_CLOCK, SYS_ELAPSED, SYS_TICKFREQ and SYS_TIME from the counter") {
  Host h;
  h.context.counter = 3 * fw::kCounterHz + 5;  // 3 s and 80 ns of virtual time
  h.context.epoch_ns = 1'700'000'000'000'000'000ull + 999'999'999;
  CHECK(h.call(sh::kSysClock, 0) == 300);  // centiseconds
  CHECK(h.call(sh::kSysTickfreq, 0) == 62'500'000);
  CHECK(h.call(sh::kSysTime, 0) == 1'700'000'004ull);  // epoch + 3 s, carried past a whole second
  CHECK(h.call(sh::kSysElapsed, Host::kBuf) == 0);
  CHECK(h.memory.word(Host::kBuf) == 3 * 62'500'000ull + 5);
  // The same virtual time gives the same answers: no host clock is read.
  Host again;
  again.context = h.context;
  CHECK(again.call(sh::kSysTime, 0) == h.call(sh::kSysTime, 0));
  CHECK(again.call(sh::kSysClock, 0) == h.call(sh::kSysClock, 0));
}

TEST_CASE("Semihosting SYS_TMPNAM, SYS_GET_CMDLINE, SYS_HEAPINFO and SYS_ISERROR") {
  Host h({.root = {}, .cmdline = "prog a b"});
  CHECK(h.block(sh::kSysTmpnam, {Host::kBuf, 7, 64}) == 0);
  CHECK(h.memory.get(Host::kBuf, 18) == std::string("smccc-emu-tmp-007\0", 18));
  CHECK(h.block(sh::kSysTmpnam, {Host::kBuf, 256, 64}) == kFail);  // ids are 0..255
  CHECK(h.block(sh::kSysTmpnam, {Host::kBuf, 7, 10}) == kFail);    // too short a buffer
  CHECK(h.err() == 22);

  CHECK(h.block(sh::kSysGetCmdline, {Host::kBuf, 64}) == 0);
  CHECK(h.memory.get(Host::kBuf, 9) == std::string("prog a b\0", 9));
  CHECK(h.memory.word(Host::kBlock + 8) == 8);  // §6.8: field 2 becomes the length
  h.memory.put(Host::kBuf, "untouched");
  CHECK(h.block(sh::kSysGetCmdline, {Host::kBuf, 8}) == kFail);  // no room for the NUL
  CHECK(h.memory.get(Host::kBuf, 9) == "untouched");

  h.context.heap = {0x4010'0000, 0x47F0'0000, 0x4800'0000, 0x47F0'0000};
  h.memory.put_words(Host::kBlock + 0x40, {Host::kBuf});  // §6.9: X1 -> pointer -> block
  CHECK(h.call(sh::kSysHeapinfo, Host::kBlock + 0x40) == 0);
  CHECK(h.memory.word(Host::kBuf) == 0x4010'0000);
  CHECK(h.memory.word(Host::kBuf + 16) == 0x4800'0000);
  CHECK(h.memory.word(Host::kBuf + 24) == 0x47F0'0000);

  CHECK(h.block(sh::kSysIsError, {kFail}) != 0);
  CHECK(h.block(sh::kSysIsError, {0}) == 0);
  CHECK(h.block(sh::kSysIsError, {5}) == 0);
}

TEST_CASE("Semihosting :semihosting-features reads SHFB and EXIT_EXTENDED plus STDOUT_STDERR") {
  Host h;
  const std::uint64_t f = h.open(":semihosting-features", 0);
  REQUIRE(f != kFail);
  CHECK(h.block(sh::kSysFlen, {f}) == 5);
  CHECK(h.block(sh::kSysIsTty, {f}) == 0);  // §5.2: always 0
  std::uint64_t left = 0;
  CHECK(h.read(f, 8, left) == "SHFB\x03");
  CHECK(left == 3);
  CHECK(h.block(sh::kSysSeek, {f, 0}) == 0);
  CHECK(h.block(sh::kSysRead, {f, 0x8000, 5}) == 5);  // an unmapped buffer takes nothing...
  CHECK(h.read(f, 5, left) == "SHFB\x03");            // ...so the position stays
  CHECK(h.block(sh::kSysSeek, {f, 4}) == 0);
  CHECK(h.read(f, 1, left) == "\x03");
  CHECK(h.open(":semihosting-features", 4) == kFail);  // §5.2: only modes r and rb open it
  CHECK(h.write(f, "x") == kFail);
}

TEST_CASE("Semihosting :tt is the console: input for r modes, output for w and a, SYS_READC") {
  Host h;
  h.console.set_input(std::make_unique<StringInput>("ab\ncd"));
  const std::uint64_t in = h.open(":tt", 0);
  const std::uint64_t out = h.open(":tt", 4);
  const std::uint64_t err = h.open(":tt", 8);
  CHECK(h.block(sh::kSysIsTty, {in}) == 1);
  CHECK(h.write(out, "to stdout ") == 0);
  CHECK(h.write(err, "to stderr") == 0);
  CHECK(h.out == "to stdout to stderr");
  CHECK(h.write(in, "x") == kFail);
  std::uint64_t left = 0;
  CHECK(h.read(in, 16, left) == "ab\n");  // up to a newline, as a terminal's line
  CHECK(h.call(sh::kSysReadc, 0) == 'c');
  CHECK(h.read(in, 16, left) == "d");
  CHECK(h.read(in, 16, left).empty());  // nothing now: never blocks
  CHECK(h.call(sh::kSysReadc, 0) == kFail);
  CHECK(h.block(sh::kSysFlen, {out}) == kFail);
  CHECK(h.block(sh::kSysSeek, {out, 0}) == kFail);
  CHECK(h.err() == 29);  // ESPIPE
}

TEST_CASE("Semihosting :tt reads end at a newline even when it fills a whole page-sized piece") {
  Host h;
  const std::string line = std::string(4095, 'a') + "\n";  // the newline is the piece's last byte
  h.console.set_input(std::make_unique<StringInput>(line + "next"));
  const std::uint64_t in = h.open(":tt", 0);
  std::uint64_t left = 0;
  CHECK(h.read(in, 8192, left) == line);
  CHECK(left == 8192 - line.size());
  CHECK(h.read(in, 16, left) == "next");
}

TEST_CASE("Semihosting refuses a root that is not a directory") {
  TempDir dir;
  dir.write("file", "x");
  CHECK_THROWS_AS(Semihosting({.root = (dir.path / "file").string(), .cmdline = {}}), fw::ConfigError);
  CHECK_THROWS_AS(Semihosting({.root = (dir.path / "missing").string(), .cmdline = {}}), fw::ConfigError);
  CHECK_NOTHROW(Semihosting({.root = dir.path.string(), .cmdline = {}}));
}

}  // namespace emu::core
