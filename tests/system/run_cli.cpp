#include "tests/system/run_cli.h"

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace emu::systest {
namespace {

[[noreturn]] void sys_fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Closes a file descriptor once.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct Pipe {
  Fd read, write;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) sys_fail("pipe2");
    read.fd = fds[0];
    write.fd = fds[1];
  }
};

// posix_spawn's file actions with automatic destruction.
struct FileActions {
  posix_spawn_file_actions_t actions;
  FileActions() {
    if (posix_spawn_file_actions_init(&actions) != 0) throw std::runtime_error("posix_spawn_file_actions_init");
  }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

void put_le(std::vector<std::uint8_t>& out, std::size_t offset, const void* object, std::size_t size) {
  std::memcpy(out.data() + offset, object, size);  // the host is little-endian, as the images are
}

}  // namespace

Outcome run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  return run_command(argv, limit, Interaction{});
}

Outcome run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                    const Interaction& interaction) {
  if (argv.empty()) throw std::invalid_argument("run_command: empty argv");
  Pipe out, err;
  FileActions fa;
  // dup2 onto 1 and 2 clears O_CLOEXEC there; the pipe ends themselves close on exec.
  if (posix_spawn_file_actions_addopen(&fa.actions, 0, interaction.stdin_path.c_str(), O_RDONLY, 0) != 0 ||
      posix_spawn_file_actions_adddup2(&fa.actions, out.write.fd, 1) != 0 ||
      posix_spawn_file_actions_adddup2(&fa.actions, err.write.fd, 2) != 0) {
    throw std::runtime_error("posix_spawn_file_actions");
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  if (const int rc = posix_spawn(&pid, args[0], &fa.actions, nullptr, args.data(), environ); rc != 0) {
    errno = rc;
    sys_fail("posix_spawn");
  }
  out.write.reset();
  err.write.reset();

  Outcome result;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + limit;
  bool interacted = interaction.after.empty() && interaction.signal == 0 && !interaction.close_stdout;
  std::array<pollfd, 2> fds{{{out.read.fd, POLLIN, 0}, {err.read.fd, POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      result.timed_out = true;
      break;
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      sys_fail("poll");
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(got));
        if (i == 0 && !interacted && result.out.find(interaction.after) != std::string::npos) {
          interacted = true;
          if (interaction.signal != 0) ::kill(pid, interaction.signal);
          if (interaction.close_stdout) {
            out.read.reset();
            fds[0].fd = -1;
            --open_pipes;
          }
        }
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;  // EOF (or a broken pipe): poll ignores negative descriptors
        --open_pipes;
      }
    }
  }

  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) sys_fail("waitpid");
  }
  if (WIFEXITED(wstatus)) result.status = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) result.signal = WTERMSIG(wstatus);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return result;
}

std::string emu_binary() {
  return SMCCC_EMU_CLI;
}

std::string guest_path(std::string_view name) {
  return (std::filesystem::path(SMCCC_EMU_GUEST_DIR) / name).string();
}

Outcome run_emu(const std::vector<std::string>& args, std::chrono::milliseconds limit) {
  std::vector<std::string> argv{emu_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, limit);
}

Outcome run_emu(const std::vector<std::string>& args, std::chrono::milliseconds limit, const Interaction& interaction) {
  std::vector<std::string> argv{emu_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, limit, interaction);
}

TempDir::TempDir() {
  std::string pattern = "/tmp/smccc-emu-system-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) sys_fail("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(std::string_view name, std::span<const std::uint8_t> bytes) const {
  const std::filesystem::path file = path_ / name;
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw std::runtime_error("cannot write " + file.string());
  return file.string();
}

std::string TempDir::write(std::string_view name, std::string_view text) const {
  return write(name, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string first_line(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

std::size_t count_lines_containing(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (const std::string& line : split_lines(text)) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

std::string crash_marker(std::string_view err) {
  for (const char* marker : {"terminate called", "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                             "runtime error:", "Segmentation fault", "internal error"}) {
    if (err.find(marker) != std::string_view::npos) return marker;
  }
  return {};
}

std::vector<std::uint8_t> words(std::initializer_list<std::uint32_t> code) {
  std::vector<std::uint8_t> bytes;
  for (std::uint32_t w : code) {
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<std::uint8_t>(w >> shift));
  }
  return bytes;
}

std::vector<std::uint8_t> minimal_elf64(std::uint64_t paddr, std::uint64_t entry, std::span<const std::uint8_t> code) {
  constexpr std::size_t kCodeOffset = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_AARCH64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = entry;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;

  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_flags = PF_R | PF_X;
  ph.p_offset = kCodeOffset;
  ph.p_vaddr = paddr;
  ph.p_paddr = paddr;
  ph.p_filesz = code.size();
  ph.p_memsz = code.size();
  ph.p_align = 4;

  std::vector<std::uint8_t> file(kCodeOffset + code.size());
  put_le(file, 0, &eh, sizeof eh);
  put_le(file, sizeof eh, &ph, sizeof ph);
  std::copy(code.begin(), code.end(), file.begin() + static_cast<std::ptrdiff_t>(kCodeOffset));
  return file;
}

std::vector<std::uint8_t> minimal_elf32() {
  Elf32_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS32;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_ARM;
  eh.e_version = EV_CURRENT;
  eh.e_entry = 0x40080000;
  eh.e_ehsize = sizeof(Elf32_Ehdr);
  eh.e_phentsize = sizeof(Elf32_Phdr);
  std::vector<std::uint8_t> file(sizeof eh);
  put_le(file, 0, &eh, sizeof eh);
  return file;
}

}  // namespace emu::systest
