// The GDB Remote Serial Protocol, without sockets and without the engine: packet framing
// (`$payload#checksum`, acknowledgements, `}` escapes, the 0x03 interrupt byte), command parsing
// and reply building for an AArch64 target (GDB manual, "Remote Protocol", "Packets", "Stop
// Reply Packets", "General Query Packets", "Target Descriptions" / "AArch64 Features").
//
// A Session is fed the bytes the debugger sends and answers through a Sender; it asks a Target
// for registers, memory, breakpoints and execution. core/gdb_server.cpp connects both to a
// socket and a Machine; tests/core/gdb_protocol_test.cpp drives them with fakes.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emu::core::gdb {

/// The largest packet payload this stub accepts and announces (qSupported PacketSize).
inline constexpr std::size_t kPacketSize = 0x4000;

/// Register numbers of the target description: x0..x30, sp, pc, cpsr
/// (org.gnu.gdb.aarch64.core), v0..v31, fpsr, fpcr (org.gnu.gdb.aarch64.fpu).
inline constexpr unsigned kRegSp = 31;
inline constexpr unsigned kRegPc = 32;
inline constexpr unsigned kRegCpsr = 33;
inline constexpr unsigned kRegV0 = 34;
inline constexpr unsigned kRegFpsr = 66;
inline constexpr unsigned kRegFpcr = 67;
inline constexpr unsigned kRegisterCount = 68;

/// One vCPU's registers as the debugger sees them.
struct Registers {
  std::array<std::uint64_t, 31> x{};
  std::uint64_t sp = 0;
  std::uint64_t pc = 0;
  std::uint32_t cpsr = 0;
  std::array<std::array<std::uint64_t, 2>, 32> v{};  ///< low doubleword first
  std::uint32_t fpsr = 0;
  std::uint32_t fpcr = 0;
};
using RegisterMask = std::bitset<kRegisterCount>;

/// Why the target stopped, as a stop reply reports it.
struct StopEvent {
  enum class Kind : std::uint8_t {
    Signal,      ///< the target stopped: T packet (`thread` and `signal`)
    Exited,      ///< the program ended: W packet with `status`
    Terminated,  ///< the program was ended by `signal`: X packet
  };
  Kind kind = Kind::Signal;
  unsigned thread = 0;      ///< Signal: the vCPU (thread id thread + 1)
  int signal = 5;           ///< GDB signal number: 5 SIGTRAP, 2 SIGINT, 11 SIGSEGV
  int status = 0;           ///< Exited: the exit status
  bool breakpoint = false;  ///< Signal: stopped at one of the breakpoints set through Z0/Z1
};

/// What a Session debugs. Threads are vCPUs 0..thread_count()-1 (thread ids 1..N).
class Target {
 public:
  virtual ~Target() = default;
  virtual unsigned thread_count() = 0;
  virtual Registers registers(unsigned vcpu) = 0;
  /// Writes the registers whose bits are set in `which`.
  virtual void set_registers(unsigned vcpu, const Registers& regs, const RegisterMask& which) = 0;
  /// Memory at virtual address `address` as `vcpu` sees it; returns how many bytes were done
  /// (fewer at the first address that does not translate or is not RAM).
  virtual std::size_t read_memory(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out) = 0;
  virtual std::size_t write_memory(unsigned vcpu, std::uint64_t address, std::span<const std::uint8_t> bytes) = 0;
  /// A breakpoint at virtual address `address` on every vCPU; false if it cannot be set.
  virtual bool insert_breakpoint(std::uint64_t address) = 0;
  virtual void remove_breakpoint(std::uint64_t address) = 0;
  /// Runs: every vCPU (`step` empty), or one instruction of vCPU `*step`; returns when it stops.
  virtual StopEvent resume(std::optional<unsigned> step) = 0;
};

/// Where a Session writes what it sends (acknowledgements and framed replies).
class Sender {
 public:
  virtual ~Sender() = default;
  virtual void send(std::string_view bytes) = 0;
};

/// The modulo-256 sum of the payload's characters, which follows `#` as two hex digits.
std::uint8_t checksum(std::string_view payload);
/// `$payload#xx`, with `$`, `#`, `}` and `*` escaped as `}` and the character XOR 0x20.
std::string frame(std::string_view payload);
/// Lower-case hex of `bytes`, two digits each.
std::string to_hex(std::span<const std::uint8_t> bytes);
/// Bytes of an even-length hex string; none if it has any other character.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);
/// A hex number of at most 16 digits; none if empty, too long or not hex.
std::optional<std::uint64_t> parse_hex(std::string_view text);
/// The target description of the `qXfer:features:read:target.xml` object.
std::string_view target_xml();

/// Splits the byte stream into packets: `$...#xx` (checked and unescaped), the interrupt
/// byte 0x03 outside a packet, and `+`/`-` acknowledgements. Anything else between packets is
/// ignored. A packet longer than kPacketSize is discarded and reported as Overflow.
class PacketReader {
 public:
  struct Event {
    enum class Kind : std::uint8_t { Packet, Interrupt, Ack, Nack, BadChecksum, Overflow };
    Kind kind;
    std::string payload;  ///< Packet only
  };
  void feed(std::string_view bytes, std::vector<Event>& out);

 private:
  enum class State : std::uint8_t { Idle, Payload, Escape, Check1, Check2 };
  void check_digit(char c, std::vector<Event>& out);
  void start_packet();
  State state_ = State::Idle;
  std::string payload_;
  std::uint8_t sum_ = 0;       // of the payload as sent (escapes included)
  std::uint8_t expected_ = 0;  // the checksum the packet carries
  bool overflow_ = false;
};

/// One debugger connection: all-stop mode, acknowledgements on, one thread per vCPU.
class Session {
 public:
  /// `stopped` is the stop the debugger is told about first (`?`).
  Session(Target& target, Sender& sender, StopEvent stopped);

  /// Handles the bytes received; may run the target (c, s, vCont). Every reply is sent at once.
  void receive(std::string_view bytes);

  enum class End : std::uint8_t { None, Kill, Detach, Exited };
  /// Kill (k, vKill), Detach (D) or Exited (a W or X stop reply was sent): the session is over.
  End end() const { return end_; }
  /// The last stop reported.
  const StopEvent& last_stop() const { return stop_; }

  /// The reply to one packet's payload ("" for an unsupported command), after its effects.
  /// Public for tests; receive() frames and sends it.
  std::string handle(std::string_view packet);

 private:
  std::string read_registers();
  std::string write_registers(std::string_view hex);
  std::string read_register(std::string_view args);
  std::string write_register(std::string_view args);
  std::string read_memory(std::string_view args);
  std::string write_memory(std::string_view args, bool binary);
  std::string breakpoint(std::string_view args, bool insert);
  std::string set_thread(std::string_view args);
  std::string query(std::string_view packet);
  std::string features(std::string_view args);
  std::string thread_alive(std::string_view args);
  std::string continue_or_step(std::string_view args, bool step);
  std::string vcont(std::string_view args);
  std::string run(std::optional<unsigned> step);
  std::string stop_reply(const StopEvent& stop);
  /// A thread id of a packet: -1 (all), 0 (any) or a vCPU's id; none if malformed or unknown.
  std::optional<long> thread_id(std::string_view text);

  Target& target_;
  Sender& sender_;
  StopEvent stop_;
  PacketReader reader_;
  std::vector<PacketReader::Event> events_;
  std::string last_reply_;            // framed, for a retransmission after '-'
  unsigned general_thread_ = 0;       // Hg: registers and memory
  unsigned continue_thread_ = 0;      // Hc: what s steps
  std::set<std::uint64_t> software_;  // Z0 addresses
  std::set<std::uint64_t> hardware_;  // Z1 addresses
  End end_ = End::None;
  bool resuming_ = false;  // inside Target::resume()
};

}  // namespace emu::core::gdb
