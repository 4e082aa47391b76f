#include "core/direct_regs.h"

#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>

namespace emu::core {
namespace {

// Unicorn 2.1.1 (Debian's 2.1.1-1 and the upstream release): struct uc_struct holds the
// CPUState pointer `cpu` at 0x1a0; CPUState holds `env_ptr` (the CPUARMState) at 0x128;
// CPUARMState starts with uint32_t regs[16], then uint64_t xregs[32] and uint64_t pc.
// Taken from this release's uc_reg_write_batch and reg_read_aarch64, and checked below.
constexpr unsigned kVersion = (2u << 24) | (1u << 16) | (1u << 8) | 0xffu;  // uc_version(): 2.1.1 final
constexpr std::size_t kUcCpu = 0x1a0;
constexpr std::size_t kCpuEnvPtr = 0x128;
constexpr std::size_t kEnvXregs = 0x40;

constexpr bool kBuiltFor211 = UC_API_MAJOR == 2 && UC_API_MINOR == 1 && UC_API_PATCH == 1 && UC_API_EXTRA == 0xff;

// Reads `size` bytes at `address` of this process without faulting: process_vm_readv reports
// an unmapped address as an error instead of a SIGSEGV.
bool read_own(const void* address, void* out, std::size_t size) noexcept {
  iovec local{out, size};
  iovec remote{const_cast<void*>(address), size};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

// Follows uc → cpu → env_ptr → xregs, each load checked.
std::uint64_t* follow_layout(uc_engine* uc) noexcept {
  char* cpu = nullptr;
  char* env = nullptr;
  std::array<std::uint64_t, kRegFilePc + 1> probe{};
  if (!read_own(reinterpret_cast<char*>(uc) + kUcCpu, &cpu, sizeof cpu) || cpu == nullptr) return nullptr;
  if (!read_own(cpu + kCpuEnvPtr, &env, sizeof env) || env == nullptr) return nullptr;
  if (!read_own(env + kEnvXregs, probe.data(), sizeof probe)) return nullptr;  // the whole file is mapped
  return reinterpret_cast<std::uint64_t*>(env + kEnvXregs);
}

bool api_read(uc_engine* uc, int reg, std::uint64_t& value) noexcept {
  return uc_reg_read(uc, reg, &value) == UC_ERR_OK;
}
bool api_write(uc_engine* uc, int reg, std::uint64_t value) noexcept {
  return uc_reg_write(uc, reg, &value) == UC_ERR_OK;
}

// Sentinels written through the public API must appear in place (x0, x30, PC), and a value
// stored in place must come back through the API (x17).
bool sentinels_agree(uc_engine* uc, std::uint64_t* file) noexcept {
  constexpr std::uint64_t kX0 = 0x5eed'0000'0000'5a00, kX30 = 0x5eed'0000'0000'5a1e, kPc = 0x5eed'0000'0000'5c00;
  constexpr std::uint64_t kX17 = 0x5eed'0000'0000'5a11;
  if (!api_write(uc, UC_ARM64_REG_X0, kX0) || !api_write(uc, UC_ARM64_REG_X30, kX30) ||
      !api_write(uc, UC_ARM64_REG_PC, kPc))
    return false;
  std::array<std::uint64_t, kRegFilePc + 1> seen{};
  if (!read_own(file, seen.data(), sizeof seen) || seen[0] != kX0 || seen[30] != kX30 || seen[kRegFilePc] != kPc)
    return false;
  file[17] = kX17;
  std::uint64_t x17 = 0;
  return api_read(uc, UC_ARM64_REG_X17, x17) && x17 == kX17;
}

// The check, with the four registers it uses put back as they were.
bool layout_verified(uc_engine* uc, std::uint64_t* file) noexcept {
  std::array<int, 4> regs{UC_ARM64_REG_X0, UC_ARM64_REG_X17, UC_ARM64_REG_X30, UC_ARM64_REG_PC};
  std::array<std::uint64_t, 4> saved{};
  for (std::size_t i = 0; i < regs.size(); ++i)
    if (!api_read(uc, regs[i], saved[i])) return false;
  const bool agree = sentinels_agree(uc, file);
  bool restored = true;
  for (std::size_t i = 0; i < regs.size(); ++i) restored = api_write(uc, regs[i], saved[i]) && restored;
  return agree && restored;
}

}  // namespace

bool register_api_forced() noexcept {
  const char* choice = std::getenv("SMCCC_EMU_REGS");
  return choice != nullptr && std::strcmp(choice, "api") == 0;
}

std::uint64_t* locate_register_file(uc_engine* uc) noexcept {
  if (!kBuiltFor211 || uc_version(nullptr, nullptr) != kVersion || register_api_forced()) return nullptr;
  std::uint64_t* file = follow_layout(uc);
  return file != nullptr && layout_verified(uc, file) ? file : nullptr;
}

}  // namespace emu::core
