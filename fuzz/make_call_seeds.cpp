// Writes the seed inputs of fuzz_dispatcher: byte strings from a fixed xorshift generator
// (the target reads its configuration and steps from them with FuzzedDataProvider, so any bytes
// are a valid sequence; these give libFuzzer a first corpus of longer sequences to mutate).
// Usage: make_call_seeds DIR
#include <cstdint>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_call_seeds DIR\n");
    return 64;
  }
  std::uint64_t state = 0x9E37'79B9'7F4A'7C15ull;
  for (int n = 0; n < 16; ++n) {
    const std::string path = std::string(argv[1]) + "/calls-" + std::to_string(n);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      std::perror(path.c_str());
      return 73;
    }
    const int bytes = 256 << (n % 5);  // 256 B .. 4 KiB
    for (int i = 0; i < bytes; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      std::fputc(static_cast<int>(state & 0xFF), f);
    }
    if (std::fclose(f) != 0) {
      std::perror(path.c_str());
      return 74;
    }
  }
  return 0;
}
