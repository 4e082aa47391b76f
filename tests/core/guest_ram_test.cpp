// Guest RAM that is already zero costs nothing (issue 14 F2, F13): an image's zero-fill does
// not commit host memory, and finding the pages a snapshot must hold does not touch the others.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "core/guest_ram.h"
#include "core/image.h"
#include "core/machine.h"
#include "core/platform.h"
#include "firmware/state_io.h"

using namespace emu;

namespace {

// This process's resident memory in bytes (/proc/self/statm, second field).
std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  REQUIRE(f != nullptr);
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  REQUIRE(got == 2);
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::vector<std::uint64_t> nonzero_pages(const core::GuestRam& ram) {
  std::vector<std::uint64_t> pages;
  ram.for_each_nonzero_page([&pages](std::uint64_t off) { pages.push_back(off); });
  return pages;
}

constexpr std::uint64_t kGiB = 1ull << 30;

}  // namespace

TEST_CASE("Guest RAM: loading an image with a 2 GiB zero-fill segment commits no host memory for it") {
  core::Machine machine({.memory = 4 * kGiB});
  core::Image image;
  image.name = "big-bss";
  image.entry = core::kRawImageAddress;
  image.segments.push_back({core::kRawImageAddress, 2 * kGiB, {0x7F, 0x20, 0x03, 0xD5}});  // wfi, then 2 GiB of zeros
  const std::uint8_t dirt[] = {0xFF};
  machine.write_memory(core::kRawImageAddress + kGiB, dirt);  // the zero-fill must clear what is there
  const std::uint64_t before = resident_bytes();
  const auto start = std::chrono::steady_clock::now();
  machine.load(image);
  const auto took = std::chrono::steady_clock::now() - start;
  const std::uint64_t grew = resident_bytes() - std::min(before, resident_bytes());
  INFO("resident memory grew by " << grew << " bytes");
  CHECK(grew < 64ull << 20);  // it was the whole 2 GiB
  CHECK(took < std::chrono::seconds(2));
  // And the zero-fill really is zero, also where memory had been written before.
  CHECK(machine.ram().host()[core::kRawImageOffset] == 0x7F);
  CHECK(machine.ram().at(core::kRawImageAddress + kGiB)[0] == 0);
}

TEST_CASE("Guest RAM: zero() clears partial pages at both ends and whole pages in between") {
  core::GuestRam ram(core::kRamBase, 1ull << 20);
  for (std::uint64_t i = 0; i < ram.size(); ++i) ram.host()[i] = 0xA5;
  REQUIRE(ram.zero(core::kRamBase + 100, 3 * core::kPageSize));
  for (std::uint64_t i = 0; i < ram.size(); ++i) {
    const bool inside = i >= 100 && i < 100 + 3 * core::kPageSize;
    if (ram.host()[i] != (inside ? 0 : 0xA5)) {
      FAIL("byte " << i << " is " << int{ram.host()[i]});
      break;
    }
  }
  CHECK_FALSE(ram.zero(core::kRamBase + ram.size() - 1, 2));  // not all RAM: nothing done
  CHECK(ram.host()[ram.size() - 1] == 0xA5);
}

TEST_CASE("Guest RAM: the non-zero pages of 64 GiB are found without touching the rest") {
  core::GuestRam ram(core::kRamBase, core::kMaxRamSize);
  ram.host()[0] = 1;                         // the first page
  ram.host()[5 * core::kPageSize + 17] = 2;  // page 5
  ram.host()[ram.size() - 1] = 3;            // the last page
  ram.host()[7 * core::kPageSize] = 4;       // written, then zeroed again
  ram.host()[7 * core::kPageSize] = 0;
  volatile std::uint8_t read = ram.host()[20 * kGiB];  // read only: populated, but zero
  (void)read;
  ram.host()[9 * core::kPageSize] = 5;  // written, then given back
  ram.zero(core::kRamBase + 9 * core::kPageSize, core::kPageSize);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::uint64_t> pages = nonzero_pages(ram);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(pages == std::vector<std::uint64_t>{0, 5 * core::kPageSize, ram.size() - core::kPageSize});
  // Reading every page (16 M of them) took 15-20 s; skipping the unpopulated ones takes well
  // under a second on the same host.
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("Guest RAM: a 64 GiB machine saves in well under the time it takes to read 64 GiB") {
  core::Machine machine({.memory = core::kMaxRamSize});
  core::Image image;
  image.name = "wfi";
  image.entry = core::kRawImageAddress;
  image.segments.push_back({core::kRawImageAddress, 4, {0x7F, 0x20, 0x03, 0xD5}});
  machine.load(image);
  const std::uint8_t marker[] = {0xEE};
  machine.write_memory(core::kRamBase + core::kMaxRamSize - 0x20000, marker);  // below the PV-time page
  fw::StateWriter out;
  const auto start = std::chrono::steady_clock::now();
  machine.save(out);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(5));
  CHECK(out.data().size() < (1u << 20));  // a few pages, not 64 GiB
}
