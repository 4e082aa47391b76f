// The gdb stub (`smccc-emu run --gdb PORT`) end to end: Debian's gdb-multiarch in batch mode
// against a 2-vCPU guest (a breakpoint on a symbol, registers, a single step, memory, threads,
// the guest's exit), and a raw Remote Serial Protocol client for what a batch gdb cannot do
// (Ctrl-C while the guest runs, malformed packets, kill, detach, attaching to a running guest).
// Without gdb-multiarch the gdb session fails, unless SMCCC_EMU_SKIP_GDB=1 skips it.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <elf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/core/a64.h"
#include "tests/system/run_cli.h"

extern char** environ;

using namespace emu;
using systest::Outcome;
using systest::TempDir;

namespace {

constexpr const char* kGdb = "/usr/bin/gdb-multiarch";

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// smccc-emu in the background, stdout and stderr to files in `dir`.
class Emulator {
 public:
  Emulator(const std::vector<std::string>& args, const TempDir& dir)
      : out_(dir.path() / "out"), err_(dir.path() / "err") {
    std::vector<std::string> argv{systest::emu_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn smccc-emu");
  }
  ~Emulator() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  /// The port from "gdb stub listening on 127.0.0.1:PORT" (0 if it is not printed in 10 s).
  int port() const {
    const std::regex line("gdb stub listening on 127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 1000; ++i) {
      std::smatch m;
      const std::string err = slurp(err_);
      if (std::regex_search(err, m, line)) return std::stoi(m[1]);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }

  /// Waits up to `limit` for the exit; a child still running then is killed (timed_out).
  Outcome wait(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    Outcome o;
    const auto end = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        o.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    o.out = slurp(out_);
    o.err = slurp(err_);
    return o;
  }

 private:
  std::filesystem::path out_;
  std::filesystem::path err_;
  pid_t pid_ = -1;
};

// The words at virtual address `address` of an ELF's PT_LOAD segments, read from the file
// itself (what x/4wx must show, independently of the emulator).
std::vector<std::uint32_t> elf_words(const std::string& path, std::uint64_t address, unsigned count) {
  const std::vector<std::uint8_t> f = systest::read_file(path);
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof eh);
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, f.data() + eh.e_phoff + i * eh.e_phentsize, sizeof ph);
    if (ph.p_type != PT_LOAD || address < ph.p_vaddr || address + 4 * count > ph.p_vaddr + ph.p_filesz) continue;
    std::vector<std::uint32_t> words(count);
    std::memcpy(words.data(), f.data() + ph.p_offset + (address - ph.p_vaddr), 4 * count);
    return words;
  }
  return {};
}

bool have_gdb() {
  return ::access(kGdb, X_OK) == 0;
}

bool skip_without_gdb() {
  if (have_gdb()) return false;
  const char* skip = std::getenv("SMCCC_EMU_SKIP_GDB");
  if (skip != nullptr && std::string(skip) == "1") {
    MESSAGE("SKIPPED: gdb-multiarch is not installed (scripts/setup-deps.sh installs it) and SMCCC_EMU_SKIP_GDB=1");
    return true;
  }
  FAIL("gdb-multiarch is not installed: run scripts/setup-deps.sh (or set SMCCC_EMU_SKIP_GDB=1 to skip)");
  return true;
}

// ---- a raw Remote Serial Protocol client ----

class RspClient {
 public:
  explicit RspClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RspClient() { ::close(fd_); }
  RspClient(const RspClient&) = delete;
  RspClient& operator=(const RspClient&) = delete;
  bool connected() const { return connected_; }

  void raw(std::string_view bytes) {
    CHECK(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size()));
  }
  void packet(std::string_view payload) {
    unsigned sum = 0;
    for (const char c : payload) sum += static_cast<unsigned char>(c);
    char cs[3];
    std::snprintf(cs, sizeof cs, "%02x", sum & 0xFF);
    raw("$" + std::string(payload) + "#" + cs);
  }
  /// The next reply packet's payload, after acknowledging it; "+" and "-" before it are kept
  /// in acks(). Empty with timed_out() after 10 s.
  std::string reply() {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      const std::size_t start = buf_.find('$');
      if (start != std::string::npos) {
        acks_ += buf_.substr(0, start);
        const std::size_t hash = buf_.find('#', start);
        if (hash != std::string::npos && buf_.size() >= hash + 3) {
          std::string payload = buf_.substr(start + 1, hash - start - 1);
          buf_.erase(0, hash + 3);
          raw("+");
          return payload;
        }
      }
      if (std::chrono::steady_clock::now() > end) {
        timed_out_ = true;
        return {};
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char b[4096];
        const ssize_t n = ::read(fd_, b, sizeof b);
        if (n <= 0) return {};
        buf_.append(b, static_cast<std::size_t>(n));
      }
    }
  }
  /// Reads for up to `ms` and returns what came (acknowledgements).
  std::string drain(int ms) {
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, ms) > 0) {
      char b[512];
      const ssize_t n = ::read(fd_, b, sizeof b);
      if (n <= 0) break;
      buf_.append(b, static_cast<std::size_t>(n));
    }
    return std::exchange(buf_, {});
  }
  std::string& acks() { return acks_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buf_;
  std::string acks_;
};

// An ELF whose one instruction branches to itself forever, at the raw-image address.
std::string spin_elf(const TempDir& dir) {
  const auto code = systest::words({test::a64::b(0)});
  return dir.write("spin.elf", systest::minimal_elf64(0x4008'0000, 0x4008'0000, code));
}

// x0 = PSCI SYSTEM_OFF (DEN0022 §5.10), HVC.
std::string off_elf(const TempDir& dir) {
  using namespace test::a64;
  const auto code = systest::words({movz(0, 0x0008), movk(0, 0x8400, 1), hvc(0)});
  return dir.write("off.elf", systest::minimal_elf64(0x4008'0000, 0x4008'0000, code));
}

}  // namespace

TEST_CASE("gdb-multiarch: a breakpoint on a symbol, registers, a step, memory and two vCPU threads") {
  if (skip_without_gdb()) return;
  TempDir dir;
  const std::string guest = systest::guest_path("smp-conformance.elf");
  Emulator emu({"run", "--gdb", "0", "--gdb-wait", "--cpus", "2", guest}, dir);
  const int port = emu.port();
  REQUIRE(port > 0);
  // psci_entry_main(cpu, context): every vCPU that CPU_ON starts enters it, vCPU 1 first.
  const std::string script = dir.write("session.gdb",
                                       "set pagination off\n"
                                       "set confirm off\n"
                                       "target remote 127.0.0.1:" +
                                           std::to_string(port) +
                                           "\n"
                                           "info threads\n"
                                           "break psci_entry_main\n"
                                           "continue\n"
                                           "echo @regs\\n\n"
                                           "info registers x0 pc\n"
                                           "echo @pc\\n\n"
                                           "p/x $pc\n"
                                           "stepi\n"
                                           "echo @stepped\\n\n"
                                           "p/x $pc\n"
                                           "echo @mem\\n\n"
                                           "x/4wx $pc\n"
                                           "echo @threads\\n\n"
                                           "info threads\n"
                                           "thread 1\n"
                                           "echo @thread1\\n\n"
                                           "p/x $pc\n"
                                           "thread 2\n"
                                           "delete\n"
                                           "continue\n");
  const Outcome g = systest::run_command({kGdb, "-batch", "-nx", "-x", script, guest}, std::chrono::seconds(60));
  const Outcome e = emu.wait();
  INFO("gdb stdout:\n" << g.out);
  INFO("gdb stderr:\n" << g.err);
  INFO("emulator stderr:\n" << e.err);
  CHECK(g.status == 0);

  // The breakpoint: gdb's own address for the symbol, hit by vCPU 1 (thread 2), x0 = 1.
  std::smatch m;
  REQUIRE(std::regex_search(g.out, m, std::regex("Breakpoint 1 at (0x[0-9a-f]+)")));
  const std::uint64_t bp = std::stoull(m[1], nullptr, 16);
  CHECK(g.out.find("Thread 2 hit Breakpoint 1, psci_entry_main") != std::string::npos);
  REQUIRE(std::regex_search(g.out, m, std::regex("@regs\\nx0 +0x([0-9a-f]+)[^\\n]*\\npc +(0x[0-9a-f]+)")));
  CHECK(m[1] == "1");
  CHECK(std::stoull(m[2], nullptr, 16) == bp);
  REQUIRE(std::regex_search(g.out, m, std::regex("@pc\\n\\$1 = (0x[0-9a-f]+)")));
  CHECK(std::stoull(m[1], nullptr, 16) == bp);
  // stepi: the first instruction of psci_entry_main is not a branch (an STP of its prologue).
  REQUIRE(std::regex_search(g.out, m, std::regex("@stepped\\n\\$2 = (0x[0-9a-f]+)")));
  CHECK(std::stoull(m[1], nullptr, 16) == bp + 4);
  // x/4wx: the words the ELF file holds there.
  const std::vector<std::uint32_t> words = elf_words(guest, bp + 4, 4);
  REQUIRE(words.size() == 4);
  REQUIRE(std::regex_search(
      g.out, m, std::regex("@mem\\n[^\\n]*:\\s+(0x[0-9a-f]+)\\s+(0x[0-9a-f]+)\\s+(0x[0-9a-f]+)\\s+(0x[0-9a-f]+)")));
  for (unsigned i = 0; i < 4; ++i) CHECK(std::stoull(m[i + 1], nullptr, 16) == words[i]);
  // Two threads, one per vCPU; thread 1 (vCPU 0) has its own PC inside the image.
  const std::size_t threads_at = g.out.find("@threads");
  REQUIRE(threads_at != std::string::npos);
  const std::string threads = g.out.substr(threads_at, g.out.find("@thread1") - threads_at);
  CHECK(threads.find("Thread 1 (vcpu0)") != std::string::npos);
  CHECK(threads.find("Thread 2 (vcpu1)") != std::string::npos);
  CHECK(threads.find("  3 ") == std::string::npos);
  REQUIRE(std::regex_search(g.out, m, std::regex("@thread1\\n\\$3 = (0x[0-9a-f]+)")));
  const std::uint64_t pc0 = std::stoull(m[1], nullptr, 16);
  CHECK(pc0 >= 0x4008'0000);
  CHECK(pc0 < 0x4008'0000 + 0x8457);
  // The guest runs to its end and gdb sees it exit.
  CHECK(g.out.find("exited normally") != std::string::npos);
  CHECK(e.status == 0);
  CHECK(e.out.find("# failed 0 of") != std::string::npos);
  CHECK(systest::crash_marker(e.err).empty());
}

TEST_CASE(
    "gdb stub: Ctrl-C stops a running guest, malformed packets get errors, a breakpoint stops the loop, k kills") {
  TempDir dir;
  Emulator emu({"run", "--gdb", "0", "--gdb-wait", spin_elf(dir)}, dir);
  const int port = emu.port();
  REQUIRE(port > 0);
  RspClient c(port);
  REQUIRE(c.connected());
  c.packet("?");
  CHECK(c.reply() == "T05thread:1;core:0;");
  c.packet("c");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  c.raw("\x03");
  CHECK(c.reply() == "T02thread:1;core:0;");
  c.raw("$m0,4#00");  // a wrong checksum: '-', and the packet is forgotten
  CHECK(c.drain(200) == "-");
  c.packet("mzz,4");
  CHECK(c.reply() == "E16");
  c.packet("m0,4");  // no RAM at 0
  CHECK(c.reply() == "E0e");
  c.packet(std::string(0x5000, 'a'));  // longer than PacketSize
  CHECK(c.reply() == "E16");
  c.raw(std::string("\x00\xff}}#$#", 7));  // noise, an empty-ish packet with a bad checksum
  c.drain(100);
  c.packet("m40080000,4");
  CHECK(c.reply() == "00000014");  // b . (0x14000000), little-endian
  c.packet("P21=10000000");        // cpsr = AArch32 user mode: refused, never given to the engine
  CHECK(c.reply() == "E16");
  c.packet("P21=c5030000");  // EL1h with DAIF masked: accepted
  CHECK(c.reply() == "OK");
  c.packet("Z0,40080000,4");
  CHECK(c.reply() == "OK");
  c.packet("c");  // the loop comes back to its breakpoint at once
  CHECK(c.reply() == "T05thread:1;core:0;swbreak:;");
  c.packet("k");
  const Outcome e = emu.wait();
  SYSTEST_SHOW(e);
  CHECK(e.status == 128 + SIGKILL);
  CHECK(e.err.find("killed by the debugger") != std::string::npos);
  CHECK(systest::crash_marker(e.err).empty());
}

TEST_CASE("gdb stub: D detaches and the guest runs to its end without the debugger") {
  TempDir dir;
  Emulator emu({"run", "--gdb", "0", "--gdb-wait", off_elf(dir)}, dir);
  const int port = emu.port();
  REQUIRE(port > 0);
  RspClient c(port);
  REQUIRE(c.connected());
  c.packet("Z0,40080008,4");  // the HVC: cleared by the detach
  CHECK(c.reply() == "OK");
  c.packet("D");
  CHECK(c.reply() == "OK");
  const Outcome e = emu.wait();
  SYSTEST_SHOW(e);
  CHECK(e.status == 0);
  CHECK(e.err.find("guest powered off") != std::string::npos);
}

TEST_CASE("gdb stub: without --gdb-wait the guest runs and stops when gdb connects") {
  TempDir dir;
  Emulator emu({"run", "--gdb", "0", spin_elf(dir)}, dir);
  const int port = emu.port();
  REQUIRE(port > 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  RspClient c(port);
  REQUIRE(c.connected());
  c.packet("?");
  CHECK(c.reply() == "T05thread:1;core:0;");
  c.packet("p20");  // the PC: in the one-instruction loop
  CHECK(c.reply() == "0000084000000000");
  c.packet("k");
  const Outcome e = emu.wait();
  SYSTEST_SHOW(e);
  CHECK(e.status == 128 + SIGKILL);
}

TEST_CASE("gdb stub: the guest's exit is reported as W with the run's exit status") {
  TempDir dir;
  Emulator emu({"run", "--gdb", "0", "--gdb-wait", off_elf(dir)}, dir);
  const int port = emu.port();
  REQUIRE(port > 0);
  RspClient c(port);
  REQUIRE(c.connected());
  c.packet("vCont;c");
  CHECK(c.reply() == "W00");
  const Outcome e = emu.wait();
  SYSTEST_SHOW(e);
  CHECK(e.status == 0);
}

TEST_CASE("gdb stub: a guest fault stops with SIGSEGV, its registers readable, and the run ends at the next continue") {
  TempDir dir;
  // UDF #0 with VBAR_EL1 = 0: no vector table in RAM, so the run cannot go on (status 66).
  const std::string guest =
      dir.write("udf.elf", systest::minimal_elf64(0x4008'0000, 0x4008'0000, systest::words({test::a64::kUdf0})));
  Emulator emu({"run", "--gdb", "0", "--gdb-wait", guest}, dir);
  const int port = emu.port();
  REQUIRE(port > 0);
  RspClient c(port);
  REQUIRE(c.connected());
  c.packet("c");
  CHECK(c.reply() == "T0bthread:1;core:0;");
  c.packet("p20");  // the PC is readable after the fault
  CHECK(c.reply().size() == 16);
  c.packet("c");
  CHECK(c.reply() == "X0b");
  const Outcome e = emu.wait();
  SYSTEST_SHOW(e);
  CHECK(e.status == 66);
  CHECK(e.err.find("guest fault") != std::string::npos);
}

TEST_CASE("gdb stub options: --gdb-wait and --gdb-host need --gdb, ports end at 65535, a bad host is refused") {
  TempDir dir;
  const std::string guest = off_elf(dir);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "--gdb-wait", guest},
        {"run", "--gdb-host", "0.0.0.0", guest},
        {"run", "--gdb", "65536", guest},
        {"run", "--gdb", "0", "--gdb-host", "nowhere", guest},
        {"run", "--gdb", "0", "--save-at", "10", (dir.path() / "s").string(), guest}}) {
    const Outcome o = systest::run_emu(args);
    SYSTEST_SHOW(o);
    CHECK(o.status == 64);
    CHECK(systest::crash_marker(o.err).empty());
  }
}
