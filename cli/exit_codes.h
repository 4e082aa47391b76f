// Exit statuses of `smccc-emu` (documented in --help and README). Guest statuses 0..63 pass
// through unchanged; the emulator's own outcomes use 64..71 and 74, after BSD sysexits where
// one fits; a run stopped by SIGINT or SIGTERM exits 128 + the signal, as a shell reports it.
#pragma once

namespace emu::cli {

inline constexpr int kExitOk = 0;                 ///< SYSTEM_OFF, or the guest exited with 0
inline constexpr int kExitUsage = 64;             ///< bad command line (EX_USAGE)
inline constexpr int kExitBadInput = 65;          ///< image or configuration unusable (EX_DATAERR)
inline constexpr int kExitGuestFault = 66;        ///< the guest faulted and cannot continue
inline constexpr int kExitInstructionLimit = 67;  ///< --max-instructions reached
inline constexpr int kExitDeadlock = 68;          ///< every vCPU waits and nothing can wake it
inline constexpr int kExitReset = 69;             ///< SYSTEM_RESET with --on-reset=exit
inline constexpr int kExitInternal = 70;          ///< emulator or engine failure (EX_SOFTWARE)
inline constexpr int kExitForwarded = 71;         ///< --filter forwarded a call; the CLI has no host handler
inline constexpr int kExitHibernated = 72;        ///< PSCI SYSTEM_OFF2 (HIBERNATE_OFF): off, image kept
inline constexpr int kExitOutput = 74;            ///< an output (stdout, stderr, trace file) could not be
                                                  ///< written: EPIPE, ENOSPC, ... (EX_IOERR)
inline constexpr int kExitSigint = 128 + 2;       ///< stopped by SIGINT (130)
inline constexpr int kExitSigterm = 128 + 15;     ///< stopped by SIGTERM (143)

}  // namespace emu::cli
