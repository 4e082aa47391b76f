// The trap path's direct register access (core/direct_regs.h): found on the Unicorn release it
// was written for, agreeing with the public register API both ways, and off when asked.
#include "core/direct_regs.h"

#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

struct Engine {
  uc_engine* uc = nullptr;
  Engine() {
    REQUIRE(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) == UC_ERR_OK);
    REQUIRE(uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_MAX) == UC_ERR_OK);
    std::uint64_t zero = 0;
    REQUIRE(uc_reg_write(uc, UC_ARM64_REG_X0, &zero) == UC_ERR_OK);  // sets the engine up
  }
  ~Engine() { uc_close(uc); }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  std::uint64_t read(int reg) const {
    std::uint64_t value = 0;
    REQUIRE(uc_reg_read(uc, reg, &value) == UC_ERR_OK);
    return value;
  }
  void write(int reg, std::uint64_t value) const { REQUIRE(uc_reg_write(uc, reg, &value) == UC_ERR_OK); }
};

// X29 and X30 are not after X28 in Unicorn's register enumeration.
int x_reg(int n) {
  return n == 29 ? UC_ARM64_REG_X29 : n == 30 ? UC_ARM64_REG_X30 : UC_ARM64_REG_X0 + n;
}

bool built_for_211() {
  return UC_API_MAJOR == 2 && UC_API_MINOR == 1 && UC_API_PATCH == 1 && uc_version(nullptr, nullptr) == 0x020101ffu;
}

}  // namespace

TEST_CASE("direct registers: on Unicorn 2.1.1 the register file is found and agrees with the public API") {
  if (!built_for_211() || emu::core::register_api_forced()) {
    MESSAGE("not Unicorn 2.1.1 or SMCCC_EMU_REGS=api: the public API path is the only one");
    Engine e;
    CHECK(emu::core::locate_register_file(e.uc) == nullptr);
    return;
  }
  Engine e;
  e.write(UC_ARM64_REG_X5, 0x1234);
  e.write(UC_ARM64_REG_PC, 0x4000'0100);
  std::uint64_t* file = emu::core::locate_register_file(e.uc);
  REQUIRE(file != nullptr);
  // The check leaves the registers it used, and every other, as they were.
  CHECK(e.read(UC_ARM64_REG_X0) == 0);
  CHECK(e.read(UC_ARM64_REG_PC) == 0x4000'0100);
  CHECK(file[5] == 0x1234);
  CHECK(file[emu::core::kRegFilePc] == 0x4000'0100);
  for (int i = 0; i <= 30; ++i) e.write(x_reg(i), 0xAB00u + static_cast<unsigned>(i));
  for (int i = 0; i <= 30; ++i) CHECK(file[i] == 0xAB00u + static_cast<unsigned>(i));
  file[3] = 0xfeed;
  CHECK(e.read(UC_ARM64_REG_X3) == 0xfeed);
}

TEST_CASE("direct registers: SMCCC_EMU_REGS=api turns the direct path off") {
  const char* before = std::getenv("SMCCC_EMU_REGS");
  const std::string saved = before != nullptr ? before : "";
  REQUIRE(setenv("SMCCC_EMU_REGS", "api", 1) == 0);
  Engine e;
  CHECK(emu::core::register_api_forced());
  CHECK(emu::core::locate_register_file(e.uc) == nullptr);
  if (before != nullptr)
    setenv("SMCCC_EMU_REGS", saved.c_str(), 1);
  else
    unsetenv("SMCCC_EMU_REGS");
}
