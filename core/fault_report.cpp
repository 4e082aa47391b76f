#include "core/fault_report.h"

#include <capstone/capstone.h>

#include <fmt/format.h>
#include <cstring>

namespace emu::core {
namespace {

constexpr int kContext = 4;  // instructions shown either side of the PC

class Disassembler {
 public:
  Disassembler() { ok_ = cs_open(CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, &handle_) == CS_ERR_OK; }
  ~Disassembler() {
    if (ok_) cs_close(&handle_);
  }
  Disassembler(const Disassembler&) = delete;
  Disassembler& operator=(const Disassembler&) = delete;

  std::string text(std::uint32_t word, std::uint64_t address) const {
    std::string out = fmt::format(".inst {:#010x}", word);
    if (!ok_) return out;
    std::uint8_t bytes[4];
    std::memcpy(bytes, &word, 4);
    cs_insn* insn = nullptr;
    if (cs_disasm(handle_, bytes, 4, address, 1, &insn) == 1) {
      out = insn->op_str[0] != '\0' ? fmt::format("{} {}", insn->mnemonic, insn->op_str) : insn->mnemonic;
      cs_free(insn, 1);
    }
    return out;
  }

 private:
  csh handle_ = 0;
  bool ok_ = false;
};

const char* el_name(std::uint64_t pstate) {
  static constexpr const char* kModes[] = {"EL0t", "?",    "?", "?", "EL1t", "EL1h", "?", "?",
                                           "EL2t", "EL2h", "?", "?", "EL3t", "EL3h", "?", "?"};
  return kModes[pstate & 0xF];
}

}  // namespace

std::string disassemble_one(std::uint32_t word, std::uint64_t address) {
  return Disassembler().text(word, address);
}

std::string format_fault_report(unsigned vcpu, const RegisterSnapshot& r, const GuestRam& ram) {
  fmt::memory_buffer out;
  const auto put = [&out]<typename... Args>(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
  };
  put("vcpu{} registers:\n", vcpu);
  for (int i = 0; i < 31; ++i) {
    put(" x{:<2} {:016x}{}", i, r.x[static_cast<std::size_t>(i)], (i % 4 == 3) ? "\n" : "");
  }
  put(" sp  {:016x}\n", r.sp);
  put(" pc  {:016x}  pstate {:08x} ({}, DAIF={:x})\n", r.pc, r.pstate, el_name(r.pstate), (r.pstate >> 6) & 0xF);
  put(" elr_el1 {:016x}  spsr_el1 {:08x}  esr_el1 {:08x}  far_el1 {:016x}\n", r.elr_el1, r.spsr_el1, r.esr_el1,
      r.far_el1);
  put(" vbar_el1 {:016x}  sctlr_el1 {:08x}\n", r.vbar_el1, r.sctlr_el1);

  put("code around pc:\n");
  const Disassembler dis;
  bool any = false;
  for (int i = -kContext; i <= kContext; ++i) {
    const std::uint64_t addr = r.pc + static_cast<std::uint64_t>(static_cast<std::int64_t>(i) * 4);
    const std::uint8_t* p = ram.at(addr, 4);
    if (p == nullptr) continue;
    std::uint32_t word = 0;
    std::memcpy(&word, p, 4);
    put(" {} {:016x}: {:08x}  {}\n", i == 0 ? "=>" : "  ", addr, word, dis.text(word, addr));
    any = true;
  }
  if (!any) put(" (pc {:#x} is not in RAM; no code to show)\n", r.pc);
  return fmt::to_string(out);
}

}  // namespace emu::core
