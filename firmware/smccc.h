// The data that crosses the trap boundary: a call as the guest made it, and the answer.
// Core fills SmcccCall from the guest registers and writes SmcccResult back; services never
// see registers or the PC (docs/architecture.md, "The call path").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "firmware/function_id.h"

namespace emu::fw {

/// Which instruction trapped. Both reach the same dispatcher, as in KVM since Linux 6.4.
enum class Conduit : std::uint8_t { Hvc, Smc };

inline constexpr int kCallRegisters = 18;  ///< SMCCC 1.2: x0..x17 carry arguments and results

struct SmcccCall;

/// Where the argument registers of a call come from when they were not read at the trap.
/// Core implements it over the engine; reading every register on every trap would cost more
/// than the rest of the call (Unicorn reads registers one by one).
class RegisterSource {
 public:
  virtual ~RegisterSource() = default;
  /// Fills call.x[call.loaded .. count) with the guest's values and sets call.loaded = count.
  virtual void load(SmcccCall& call, int count) = 0;
};

struct SmcccCall {
  /// x0..x17 at the trap; only x[0 .. loaded) are valid. The dispatcher loads the argument
  /// registers the matched function reads, then narrows them to 32 bits for SMC32 calls.
  std::array<std::uint64_t, kCallRegisters> x{};
  std::uint8_t loaded = kCallRegisters;  ///< x0..x(loaded-1) hold the guest's values
  RegisterSource* source = nullptr;      ///< reads the rest; may be null when loaded = 18
  Conduit conduit = Conduit::Hvc;
  std::uint16_t imm = 0;   ///< immediate of the HVC/SMC; SMCCC calls use #0 (DEN0028)
  std::uint32_t vcpu = 0;  ///< index of the calling vCPU
  FunctionId id{};         ///< filled by the dispatcher
};

/// What core must do after writing the result registers. Services never stop the machine
/// or move a PC themselves (docs/architecture.md, "The call path").
enum class RequestKind : std::uint8_t {
  None,
  SystemOff,              ///< PSCI SYSTEM_OFF or SYSTEM_OFF2 (`hibernate`): stop every vCPU
  SystemReset,            ///< PSCI SYSTEM_RESET / SYSTEM_RESET2: `reset`, `context` = cookie
  CpuOn,                  ///< PSCI CPU_ON accepted: start `target` at `entry` with x0 = `context`
  CpuOff,                 ///< PSCI CPU_OFF: stop the caller; tell the firmware when it has stopped
  CpuSuspend,             ///< PSCI CPU_SUSPEND: sleep `duration_ns`; `power_down`: then resume at
                          ///< `entry` with x0 = `context`, else return (x0 already written)
  SystemSuspend,          ///< PSCI SYSTEM_SUSPEND: as a power-down CpuSuspend of the caller
  ForwardToHost,          ///< the SMCCC filter forwards the call: stop, let the host answer (KVM_EXIT_HYPERCALL)
  SdeiComplete,           ///< SDEI_EVENT_COMPLETE: restore the caller's SdeiVcpu::resume context
  SdeiCompleteAndResume,  ///< SDEI_EVENT_COMPLETE_AND_RESUME: restore x0..x17 from SdeiVcpu::resume,
                          ///< ELR/SPSR_EL1 = its PC/PSTATE, continue at `entry` in EL1h, DAIF
                          ///< masked (DEN0054C SDEI_EVENT_COMPLETE_AND_RESUME)
};

enum class ResetType : std::uint8_t { Cold, Warm };

/// A request's fields; each kind uses the ones its comment names, the rest stay default.
struct Request {
  RequestKind kind = RequestKind::None;  ///< default: nothing to do
  std::uint32_t target = 0;              ///< CpuOn: the vCPU to start
  bool power_down = false;               ///< CpuSuspend: a power-down state (does not return)
  ResetType reset = ResetType::Cold;     ///< SystemReset: cold or warm
  std::uint64_t entry = 0;               ///< CpuOn, power-down, SdeiCompleteAndResume: where execution (re)starts
  std::uint64_t context = 0;             ///< CpuOn, power-down: x0 at entry; SystemReset: cookie
  std::uint64_t duration_ns = 0;         ///< CpuSuspend, SystemSuspend: virtual time asleep
  /// SystemOff: the guest asked with PSCI 1.3 SYSTEM_OFF2 (type HIBERNATE_OFF), not SYSTEM_OFF,
  /// so the host may keep the guest's hibernation image (KVM's KVM_SYSTEM_EVENT_SHUTDOWN_FLAG_PSCI_OFF2).
  bool hibernate = false;

  /// True when the caller does not continue after its call.
  constexpr bool ends_caller() const {
    return kind == RequestKind::SystemOff || kind == RequestKind::SystemReset || kind == RequestKind::CpuOff ||
           kind == RequestKind::SystemSuspend || (kind == RequestKind::CpuSuspend && power_down) ||
           kind == RequestKind::SdeiComplete || kind == RequestKind::SdeiCompleteAndResume;
  }
};

struct SmcccResult {
  /// Result registers. Only x[0..count) are meaningful and written back; a service that sets
  /// count above 4 must fill every register up to it.
  std::array<std::uint64_t, kCallRegisters> x{};
  /// Number of registers, from x0, that core writes back. 1 for NOT_SUPPORTED (only x0
  /// changes), 4 for most defined calls (x1..x3 zeroed when unused, the KVM-compatible choice
  /// of KVM's smccc_set_retval), up to 18 for SMCCC 1.2 results such as SOC_ID's name.
  std::uint8_t count = 1;
  Request request{};
};

/// Encodes a negative status code as SMCCC requires: sign-extended to 64 bits (DEN0028 return
/// codes are signed; Linux and KVM compare all 64 bits).
constexpr std::uint64_t status_reg(std::int32_t code) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(code));
}

/// A specification's status-code enum (PsciStatus, SdeiStatus, ...): signed 32-bit codes.
template <typename E>
concept StatusEnum = std::is_enum_v<E> && std::is_same_v<std::underlying_type_t<E>, std::int32_t>;

/// The one encoding of every specification's status codes (see the int32 form above).
template <StatusEnum E>
constexpr std::uint64_t status_reg(E status) {
  return status_reg(static_cast<std::int32_t>(status));
}

/// A guest-visible status code and the name its specification gives it, for the trace.
struct StatusName {
  std::int32_t code = 0;
  std::string_view name;
};

/// The specification's name of `code` in `table` ("" if the table has none).
constexpr std::string_view status_name_in(std::span<const StatusName> table, std::int64_t code) {
  for (const StatusName& s : table) {
    if (s.code == code) return s.name;
  }
  return {};
}

// Each specification lists its status codes once, as rows X(Enumerator, value, "NAME"); these
// expand such a list into the enum and into its StatusName table, so the two cannot disagree.
#define EMU_FW_STATUS_ENUMERATOR(id, value, text) id = (value),
#define EMU_FW_STATUS_ROW(id, value, text) ::emu::fw::StatusName{(value), (text)},

/// DEN0028 return codes: the codes of the Arm architecture calls, the general service
/// queries and the services that reuse them (KVM's vendor calls).
#define EMU_FW_SMCCC_STATUSES(X)       \
  X(Success, 0, "SUCCESS")             \
  X(NotSupported, -1, "NOT_SUPPORTED") \
  X(NotRequired, -2, "NOT_REQUIRED")   \
  X(InvalidParameter, -3, "INVALID_PARAMETER")

enum class SmcccStatus : std::int32_t { EMU_FW_SMCCC_STATUSES(EMU_FW_STATUS_ENUMERATOR) };
inline constexpr StatusName kSmcccStatuses[] = {EMU_FW_SMCCC_STATUSES(EMU_FW_STATUS_ROW)};

/// The model's one NOT_SUPPORTED answer: x0 = -1 and nothing else written back (DEN0028 Unknown
/// Function Identifier; docs/architecture.md, "Model decisions"). The dispatcher uses it for
/// anything unmatched.
inline void set_not_supported(SmcccResult& result) {
  result.x[0] = status_reg(SmcccStatus::NotSupported);
  result.count = 1;
}

}  // namespace emu::fw
