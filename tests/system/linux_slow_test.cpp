// Debian's own arm64 kernel on 8 vCPUs: a CTest of its own with the label linux-slow
// (tests/CMakeLists.txt), so `ctest -LE slow` leaves it out. See linux_test.cpp.
#include <doctest/doctest.h>

#include "tests/system/linux_boot.h"

using namespace emu;
using namespace emu::linuxtest;

TEST_CASE("Debian's kernel boots to our /init on 8 vCPUs with every firmware service detected") {
  if (!linux_ready()) return;
  const Outcome r = boot({.cpus = 8});
  check_booted_with_every_service(r, 8);
}
