// Where guest console output goes: the PL011 and semihosting SYS_WRITEC/SYS_WRITE0 both
// write here, in program order, so output is identical whichever path a guest uses.
#pragma once

#include <functional>
#include <string_view>

namespace emu::core {

class Console {
 public:
  using Writer = std::function<void(std::string_view)>;

  /// Replaces the output; a default-constructed Console discards everything.
  void set_writer(Writer writer) { writer_ = std::move(writer); }
  void write(std::string_view text) {
    if (writer_) writer_(text);
  }
  void put(char c) { write(std::string_view(&c, 1)); }

 private:
  Writer writer_;
};

}  // namespace emu::core
