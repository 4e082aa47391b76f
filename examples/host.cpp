// A small host program on the installed smccc-emu library: it runs a guest, answers one
// hypercall itself, snapshots the VM and finishes the run from the snapshot in a new machine.
//
//   smccc-emu-host GUEST.elf STATE_FILE
//
// The SMCCC filter (KVM_ARM_VM_SMCCC_FILTER's model) forwards PSCI_VERSION to the host, which
// answers 0x10000 (PSCI 1.0) instead of the model's 1.1; a guest that prints its PSCI version,
// such as the project's demo.elf, then prints 1.0. At the first scheduling boundary after the
// answer the VM is saved to STATE_FILE, and a second machine restores it and runs to the end.
#include <core/machine.h>
#include <core/snapshot.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>

namespace {

constexpr std::uint32_t kPsciVersion = 0x8400'0000;  // PSCI_VERSION (DEN0022)

// Runs until the guest ends, answering every forwarded call with PSCI 1.0 and stopping at the
// first checkpoint; returns how the run ended.
emu::core::RunExit run(emu::core::Machine& machine) {
  for (;;) {
    const emu::core::RunExit exit = machine.run();
    if (exit.kind != emu::core::ExitKind::Hypercall) return exit;
    std::printf("host: vcpu%u called %#x; answering PSCI 1.0\n", exit.vcpu, exit.fid);
    machine.set_reg(exit.vcpu, emu::core::Reg::X0, 0x1'0000);
    machine.set_checkpoint(machine.instructions() + 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s GUEST.elf STATE_FILE\n", argv[0]);
    return 64;
  }
  try {
    // Short scheduling slices, so the checkpoint after the answer comes before the guest ends.
    emu::core::Machine machine(emu::core::MachineConfig{.quantum = 100});
    machine.console().set_writer([](std::string_view text) { std::cout << text << std::flush; });
    if (machine.add_filter_range(kPsciVersion, 1, emu::fw::FilterAction::ForwardToHost) != emu::fw::HostStatus::Ok) {
      std::fprintf(stderr, "host: the filter refused the range\n");
      return 70;
    }
    machine.load(emu::core::load_image(argv[1], emu::core::ImageFormat::Auto, machine.layout()));
    emu::core::RunExit exit = run(machine);
    if (exit.kind == emu::core::ExitKind::Checkpoint) {
      emu::core::save_snapshot(machine, argv[2]);
      std::printf("host: saved the VM after %llu instructions to %s\n",
                  static_cast<unsigned long long>(machine.instructions()), argv[2]);
      const std::unique_ptr<emu::core::Machine> resumed = emu::core::load_snapshot(argv[2]);
      resumed->console().set_writer([](std::string_view text) { std::cout << text << std::flush; });
      exit = run(*resumed);
    }
    std::printf("host: %s\n", exit.summary.c_str());
    return exit.kind == emu::core::ExitKind::SystemOff ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "host: %s\n", e.what());
    return 70;
  }
}
