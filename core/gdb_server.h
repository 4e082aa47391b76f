// A gdb remote stub over TCP for a Machine: the socket, the wait for a debugger, the Ctrl-C
// watch while the guest runs, and the Target that maps the protocol (core/gdb_protocol.h)
// onto Machine's debugging methods. One debugger connection per run.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "core/machine.h"

namespace emu::core {

/// The stub cannot listen (a bad address, the port in use): the message says why.
class GdbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GdbConfig {
  std::string host = "127.0.0.1";  ///< IPv4 address to listen on; default loopback only
  std::uint16_t port = 0;          ///< TCP port; 0 = any free one (port() says which)
  /// Stop before the guest's first instruction until a debugger attaches. Otherwise the guest
  /// runs at once, and stops where it is when a debugger connects.
  bool wait = false;
  /// The status a W stop reply gives for a run that ended (default: 0 for SYSTEM_OFF, the
  /// guest's status for a semihosting exit, 1 otherwise).
  std::function<int(const RunExit&)> exit_status;
};

class GdbServer {
 public:
  /// Listens on config.host:config.port (throws GdbError).
  GdbServer(Machine& machine, GdbConfig config);
  ~GdbServer();
  GdbServer(const GdbServer&) = delete;
  GdbServer& operator=(const GdbServer&) = delete;

  /// The port listened on (the one picked when config.port is 0).
  std::uint16_t port() const { return port_; }

  /// Runs the machine under the debugger and returns how the run ended: as Machine::run()
  /// does when the guest ends (the debugger is told W or X), ExitKind::Stopped with status 9
  /// when the debugger kills it (k), and after a detach (D) or a lost connection the guest runs
  /// on to its end without breakpoints. Whatever the debugger sends, the stub answers or
  /// refuses it; nothing it sends ends the process.
  RunExit serve();

 private:
  int accept_waiting();
  RunExit session(int client);
  RunExit run_free();

  Machine& machine_;
  GdbConfig config_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace emu::core
