// libFuzzer target: the state-file reader of `smccc-emu resume` (core/snapshot.h, with the
// firmware's and devices' StateReader streams behind it). The input is a state file; before it
// is read, the target writes the correct FNV-1a hash into header bytes 32..39, so mutations get
// past the checksum to the parsers behind it (the checksum itself, and every other header
// check, is tested in tests/system/snapshot_test.cpp). The file is a memfd opened by path, a
// regular file as the CLI's are.
// Invariants: a file is refused with SnapshotError and nothing else (the CLI's status 65); a
// file that is accepted gives a machine that runs (a bounded number of instructions) without
// an exception escaping, and saving that machine and loading the result back gives the same
// file again (nothing half-restored: the restored state is whole).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/machine.h"
#include "core/snapshot.h"

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_state_file: invariant violated: %s\n", what);
  std::abort();
}

constexpr std::size_t kHeaderSize = 40;
constexpr std::size_t kHashOffset = 32;

std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n, std::uint64_t h = 0xCBF2'9CE4'8422'2325ull) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100'0000'01B3ull;
  }
  return h;
}

// The header's hash covers its first 32 bytes and the payload (core/snapshot.h).
void fix_hash(std::vector<std::uint8_t>& file) {
  if (file.size() < kHeaderSize) return;
  const std::uint64_t h = fnv1a(file.data() + kHeaderSize, file.size() - kHeaderSize, fnv1a(file.data(), kHashOffset));
  for (int i = 0; i < 8; ++i) file[kHashOffset + i] = static_cast<std::uint8_t>(h >> (8 * i));
}

// A memfd holding `bytes`, named by a path that opens it as a regular file.
class MemFile {
 public:
  explicit MemFile(const std::vector<std::uint8_t>& bytes) : fd_(::memfd_create("fuzz-state", MFD_CLOEXEC)) {
    if (fd_ < 0) violated("memfd_create failed");
    if (!bytes.empty() && ::write(fd_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      violated("writing the memfd failed");
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  std::vector<std::uint8_t> contents() const {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(::lseek(fd_, 0, SEEK_END)));
    if (::pread(fd_, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size()))
      violated("reading the memfd failed");
    return out;
  }

 private:
  int fd_;
};

// The state file save_snapshot writes for `m`.
std::vector<std::uint8_t> saved(const emu::core::Machine& m) {
  // save_snapshot writes a temporary file and renames it over the path, so it needs a real
  // directory: /dev/shm (tmpfs); the bytes are read back from there.
  char name[] = "/dev/shm/fuzz-state-XXXXXX";
  const int tmp = ::mkstemp(name);
  if (tmp < 0) violated("mkstemp failed");
  ::close(tmp);
  emu::core::save_snapshot(m, name);
  std::FILE* f = std::fopen(name, "rb");
  std::vector<std::uint8_t> out;
  if (f != nullptr) {
    std::uint8_t buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.insert(out.end(), buf, buf + n);
    std::fclose(f);
  }
  ::unlink(name);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> file(data, data + size);
  fix_hash(file);
  const MemFile input(file);
  std::unique_ptr<emu::core::Machine> machine;
  try {
    // A bounded run: the limit is a run policy, not VM state (load_snapshot's argument).
    machine = emu::core::load_snapshot(input.path(), 20'000);
  } catch (const emu::core::SnapshotError& e) {
    if (std::strchr(e.what(), '\n') != nullptr) violated("a SnapshotError message of several lines");
    return 0;
  }
  // Accepted: the state must be whole. Saved again it reads back to the same machine.
  const std::vector<std::uint8_t> first = saved(*machine);
  {
    const MemFile again(first);
    const auto reloaded = emu::core::load_snapshot(again.path(), 20'000);
    if (saved(*reloaded) != first) violated("save -> resume -> save changed the state file");
  }
  // And it runs: a guest fault, a limit or an exit are all fine; an exception is not.
  (void)machine->run();
  return 0;
}
