// Image loading failures that the CLI tests cannot see: resources and special files.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/image.h"
#include "core/platform.h"

using namespace emu;

namespace {

core::ImageLayout layout() {
  return {.ram_base = core::kRamBase, .ram_size = core::kDefaultRamSize,
          .devices = {{core::kUartBase, core::kUartSize, "PL011 UART"}}};
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::string temp_path(const char* stem) {
  return (std::filesystem::temp_directory_path() / (std::string(stem) + std::to_string(::getpid()))).string();
}

}  // namespace

TEST_CASE("Loader: refusing an image leaks no file descriptor") {
  const std::string path = temp_path("smccc-emu-empty-");
  std::fclose(std::fopen(path.c_str(), "w"));
  const std::size_t before = open_descriptors();
  for (int i = 0; i < 50; ++i) CHECK_THROWS_AS(core::load_image(path, core::ImageFormat::Auto, layout()), core::ImageError);
  CHECK(open_descriptors() == before);
  std::filesystem::remove(path);
}

TEST_CASE("Loader: a FIFO is refused at once instead of waiting for a writer") {
  const std::string path = temp_path("smccc-emu-fifo-");
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(core::load_image(path, core::ImageFormat::Auto, layout()),
                       doctest::Contains("not a regular file"), core::ImageError);
  std::filesystem::remove(path);
}
