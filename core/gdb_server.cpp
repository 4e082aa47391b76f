// The gdb stub's socket side and its Target over Machine (see gdb_server.h). Everything runs on
// the thread that calls serve(), except a watcher thread that exists only while the guest runs:
// it polls the connection (or the listening socket) and calls Machine::request_stop(), the one
// Machine method that is safe from another thread, when the debugger interrupts (0x03) or
// connects.
#include "core/gdb_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <atomic>
#include <optional>
#include <thread>
#include <utility>

#include "core/gdb_protocol.h"

namespace emu::core {
namespace {

// GDB's signal numbers (include/gdb/signals.def; the same as Linux's for these).
constexpr int kGdbSigInt = 2;
constexpr int kGdbSigTrap = 5;
constexpr int kGdbSigSegv = 11;

int default_exit_status(const RunExit& e) {
  if (e.kind == ExitKind::SystemOff) return 0;
  if (e.kind == ExitKind::SemihostingExit) return e.status;
  return 1;
}

// Polls `fd` on a thread of its own while the machine runs: a debugger that connects (on a
// listening socket) or sends 0x03 stops the run at the end of the slice. Other bytes are kept
// for the session. finish() ends the thread.
class Watch {
 public:
  Watch(Machine& machine, int fd, bool listening) : machine_(machine), fd_(fd), listening_(listening) {
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_ < 0) throw GdbError(fmt::format("gdb stub: eventfd: {}", std::strerror(errno)));
    thread_ = std::thread([this] { loop(); });
  }
  ~Watch() { finish(); }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  void finish() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_, &one, sizeof one);
    thread_.join();
    ::close(wake_);
  }
  int accepted() const { return accepted_; }
  bool interrupted() const { return interrupted_; }
  bool disconnected() const { return disconnected_; }
  std::string& rest() { return rest_; }

 private:
  void loop() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents == 0) continue;
      if (listening_) {
        accepted_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (accepted_ < 0) continue;
        machine_.request_stop();
        return;
      }
      char buf[512];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // the debugger has gone: the guest runs on
        disconnected_ = true;
        return;
      }
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == 0x03) {
          interrupted_ = true;
          machine_.request_stop();
        } else {
          rest_ += buf[i];
        }
      }
    }
  }

  Machine& machine_;
  int fd_;
  bool listening_;
  int wake_ = -1;
  std::thread thread_;
  int accepted_ = -1;
  bool interrupted_ = false;
  bool disconnected_ = false;
  std::string rest_;
};

class SocketSender final : public gdb::Sender {
 public:
  explicit SocketSender(int fd) : fd_(fd) {}
  void send(std::string_view bytes) override {
    while (!broken_ && !bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken_ = true;
        return;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  bool broken() const { return broken_; }

 private:
  int fd_;
  bool broken_ = false;
};

// The protocol's view of the machine: vCPUs are threads; resume runs the machine (watching the
// connection for 0x03) or steps one vCPU.
class MachineTarget final : public gdb::Target {
 public:
  MachineTarget(Machine& machine, int client, const GdbConfig& config)
      : machine_(machine), client_(client), config_(config) {}

  unsigned thread_count() override { return machine_.config().cpus; }

  gdb::Registers registers(unsigned vcpu) override {
    gdb::Registers r;
    for (unsigned i = 0; i <= 30; ++i) r.x[i] = machine_.reg(vcpu, xreg(i));
    r.sp = machine_.reg(vcpu, Reg::Sp);
    r.pc = machine_.reg(vcpu, Reg::Pc);
    r.cpsr = static_cast<std::uint32_t>(machine_.reg(vcpu, Reg::Pstate));
    for (unsigned i = 0; i < 32; ++i) r.v[i] = machine_.vreg(vcpu, i);
    r.fpsr = static_cast<std::uint32_t>(machine_.reg(vcpu, Reg::Fpsr));
    r.fpcr = static_cast<std::uint32_t>(machine_.reg(vcpu, Reg::Fpcr));
    return r;
  }

  void set_registers(unsigned vcpu, const gdb::Registers& r, const gdb::RegisterMask& which) override {
    // PSTATE.nRW and M (Arm ARM D1.4): the guest runs AArch64 at EL0 or EL1 only (EL0t, EL1t,
    // EL1h), as a restored snapshot must; any other mode is refused before it reaches the engine.
    const std::uint32_t mode = r.cpsr & 0x1F;
    if (which[gdb::kRegCpsr] && mode != 0x0 && mode != 0x4 && mode != 0x5) {
      throw std::invalid_argument("cpsr: only EL0t, EL1t and EL1h in AArch64");
    }
    for (unsigned i = 0; i <= 30; ++i) {
      if (which[i]) machine_.set_reg(vcpu, xreg(i), r.x[i]);
    }
    if (which[gdb::kRegSp]) machine_.set_reg(vcpu, Reg::Sp, r.sp);
    if (which[gdb::kRegPc]) machine_.set_reg(vcpu, Reg::Pc, r.pc);
    if (which[gdb::kRegCpsr]) machine_.set_reg(vcpu, Reg::Pstate, r.cpsr);
    for (unsigned i = 0; i < 32; ++i) {
      if (which[gdb::kRegV0 + i]) machine_.set_vreg(vcpu, i, r.v[i]);
    }
    if (which[gdb::kRegFpsr]) machine_.set_reg(vcpu, Reg::Fpsr, r.fpsr);
    if (which[gdb::kRegFpcr]) machine_.set_reg(vcpu, Reg::Fpcr, r.fpcr);
  }

  std::size_t read_memory(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out) override {
    return machine_.read_virtual(vcpu, address, out);
  }
  std::size_t write_memory(unsigned vcpu, std::uint64_t address, std::span<const std::uint8_t> bytes) override {
    return machine_.write_virtual(vcpu, address, bytes);
  }
  bool insert_breakpoint(std::uint64_t address) override {
    machine_.set_breakpoint(address);
    return true;
  }
  void remove_breakpoint(std::uint64_t address) override { machine_.clear_breakpoint(address); }

  gdb::StopEvent resume(std::optional<unsigned> step) override {
    if (ended_) return terminal(*last_);
    bool interrupted = false;
    if (step) {
      last_ = machine_.step(*step);
    } else {
      Watch watch(machine_, client_, false);
      last_ = machine_.run();
      watch.finish();
      interrupted = watch.interrupted();
      disconnected_ = watch.disconnected();
      pending_ += watch.rest();
    }
    return stop_event(*last_, interrupted);
  }

  const std::optional<RunExit>& last() const { return last_; }
  bool ended() const { return ended_; }
  bool disconnected() const { return disconnected_; }
  std::string take_pending() { return std::exchange(pending_, {}); }

 private:
  gdb::StopEvent stop_event(const RunExit& e, bool interrupted) {
    using Kind = gdb::StopEvent::Kind;
    switch (e.kind) {
      case ExitKind::Breakpoint: return {Kind::Signal, e.vcpu, kGdbSigTrap, 0, true};
      case ExitKind::Stepped: return {Kind::Signal, e.vcpu, kGdbSigTrap, 0, false};
      case ExitKind::Stopped:
        // 0x03 from the debugger: stopped, the machine can go on. A signal to the emulator (or
        // an output it cannot write) ends the run.
        if (e.status == 0 && interrupted) return {Kind::Signal, e.vcpu, kGdbSigInt, 0, false};
        break;
      case ExitKind::GuestFault:
        // The debugger may look at the faulting state; the run ends when it resumes.
        ended_ = true;
        return {Kind::Signal, e.vcpu, kGdbSigSegv, 0, false};
      default: break;
    }
    ended_ = true;
    return terminal(e);
  }

  gdb::StopEvent terminal(const RunExit& e) const {
    using Kind = gdb::StopEvent::Kind;
    if (e.kind == ExitKind::Stopped) return {Kind::Terminated, e.vcpu, e.status != 0 ? e.status : kGdbSigInt, 0, false};
    if (e.kind == ExitKind::GuestFault) return {Kind::Terminated, e.vcpu, kGdbSigSegv, 0, false};
    const int status = config_.exit_status ? config_.exit_status(e) : default_exit_status(e);
    return {Kind::Exited, e.vcpu, 0, status, false};
  }

  Machine& machine_;
  int client_;
  const GdbConfig& config_;
  std::optional<RunExit> last_;
  bool ended_ = false;
  bool disconnected_ = false;
  std::string pending_;  // bytes the watcher read that were not 0x03
};

}  // namespace

GdbServer::GdbServer(Machine& machine, GdbConfig config) : machine_(machine), config_(std::move(config)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(config_.port);
  const std::string host = config_.host == "localhost" ? "127.0.0.1" : config_.host;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    throw GdbError(fmt::format("--gdb-host '{}' is not an IPv4 address", config_.host));
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw GdbError(fmt::format("gdb stub: socket: {}", std::strerror(errno)));
  const int on = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 1) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(listen_fd_);
    throw GdbError(fmt::format("gdb stub: cannot listen on {}:{}: {}", config_.host, config_.port, std::strerror(err)));
  }
  port_ = ntohs(addr.sin_port);
}

GdbServer::~GdbServer() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

// Blocks until a debugger connects; -1 if a stop was requested meanwhile (a signal).
int GdbServer::accept_waiting() {
  for (;;) {
    if (machine_.stop_requested()) return -1;
    pollfd fd{listen_fd_, POLLIN, 0};
    const int n = ::poll(&fd, 1, -1);
    if (n < 0 && errno != EINTR) throw GdbError(fmt::format("gdb stub: poll: {}", std::strerror(errno)));
    if (n <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client >= 0) return client;
  }
}

RunExit GdbServer::serve() {
  int client = -1;
  if (config_.wait) {
    client = accept_waiting();
    if (client < 0) return machine_.run();  // returns Stopped at once: the request is pending
  } else {
    Watch watch(machine_, listen_fd_, true);
    RunExit exit = machine_.run();
    watch.finish();
    client = watch.accepted();
    const bool attached = exit.kind == ExitKind::Stopped && exit.status == 0 && client >= 0;
    if (!attached) {
      if (client >= 0) ::close(client);
      return exit;  // the run ended before a debugger came
    }
  }
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_client{client};
  const int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A debugger that stops reading its replies is treated as gone (then the guest runs on)
  // rather than blocking the emulator for ever.
  const timeval send_limit{.tv_sec = 30, .tv_usec = 0};
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit);
  return session(client);
}

RunExit GdbServer::session(int client) {
  MachineTarget target(machine_, client, config_);
  SocketSender sender(client);
  gdb::Session session(target, sender, {gdb::StopEvent::Kind::Signal, 0, kGdbSigTrap, 0, false});
  char buf[4096];
  for (;;) {
    if (std::string pending = target.take_pending(); !pending.empty()) session.receive(pending);
    if (session.end() != gdb::Session::End::None || target.disconnected() || sender.broken()) break;
    pollfd fd{client, POLLIN, 0};
    if (::poll(&fd, 1, -1) < 0) {
      if (errno != EINTR) break;
      if (machine_.stop_requested()) {  // SIGINT/SIGTERM to the emulator: the run ends
        const RunExit exit = machine_.run();
        sender.send(gdb::frame(fmt::format("X{:02x}", exit.status & 0xFF)));
        return exit;
      }
      continue;
    }
    const ssize_t n = ::read(client, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the debugger has gone
    session.receive({buf, static_cast<std::size_t>(n)});
  }
  if (session.end() == gdb::Session::End::Kill) {
    return {ExitKind::Stopped, SIGKILL, 0,
            fmt::format("killed by the debugger after {} instructions", machine_.instructions())};
  }
  if (target.ended()) return *target.last();
  return run_free();  // detached, or the connection is gone: the guest runs on
}

RunExit GdbServer::run_free() {
  const std::vector<std::uint64_t> left = machine_.breakpoints();
  for (const std::uint64_t address : left) machine_.clear_breakpoint(address);
  return machine_.run();
}

}  // namespace emu::core
