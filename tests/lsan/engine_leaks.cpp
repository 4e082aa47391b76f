// For the asan preset's leak check (check-engine-leaks.sh): creates and destroys N machines of
// one vCPU, each with its own Unicorn engine; with "leak-one" the first machine is never
// destroyed, as a missing uc_close or delete in our code would leave it.
#include <cstdlib>
#include <string_view>

#include "core/machine.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const long n = std::strtol(argv[1], nullptr, 10);
  const bool leak_one = argc > 2 && std::string_view(argv[2]) == "leak-one";
  for (long i = 0; i < n; ++i) {
    auto* machine = new emu::core::Machine(emu::core::MachineConfig{});
    if (leak_one && i == 0) continue;  // the only pointer to it goes out of scope
    delete machine;
  }
  return 0;
}
