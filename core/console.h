// The machine's console: where guest output goes (the PL011 and semihosting SYS_WRITEC /
// SYS_WRITE0 both write here, in program order, so output is identical whichever path a guest
// uses) and where the PL011's receiver takes its input from.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace emu::core {

/// Bytes typed at the console, pulled by the PL011 when its receiver can take one.
class ConsoleInput {
 public:
  enum class Read : std::uint8_t {
    Byte,   ///< `byte` holds the next input byte
    Later,  ///< nothing yet; more may come (an interactive terminal or a pipe)
    End,    ///< no more input, ever
  };
  virtual ~ConsoleInput() = default;
  /// Never blocks.
  virtual Read read(std::uint8_t& byte) = 0;
  /// Blocks until read() would not return Later. Only called when the whole machine is idle
  /// and host input is the one thing that could wake it.
  virtual void wait() = 0;
  /// Whether the same source gives the same bytes again (a regular file): then a resumed run
  /// skips what the saved run had already taken from it. Default false.
  virtual bool replayable() const { return false; }
};

/// Input from a file descriptor the caller owns: a regular file (or /dev/null) is read as it is,
/// so a run with it is deterministic; anything else (a terminal, pipe, socket or other device)
/// is read only when poll(2) says a read will not block, so what arrives when depends on the
/// host (the user typing, the writer's speed). Reads one byte at a time: what the guest has not
/// taken stays in the descriptor.
class FdInput final : public ConsoleInput {
 public:
  explicit FdInput(int fd);
  Read read(std::uint8_t& byte) override;
  void wait() override;
  /// True for a regular file or /dev/null (whose reads never block and never depend on timing).
  bool deterministic() const { return deterministic_; }
  bool replayable() const override { return deterministic_; }

 private:
  int fd_;                      // not owned: the caller closes it after the run
  bool deterministic_ = false;  // a regular file or /dev/null; false
  bool end_ = false;            // end of file or an error seen: End from now on; false
};

class Console {
 public:
  using Writer = std::function<void(std::string_view)>;
  using Flusher = std::function<void()>;

  /// Replaces the output; a default-constructed Console discards everything. A writer that
  /// buffers (stdio) gives `flusher`, which pushes out what it holds: the Machine calls flush()
  /// at the end of every scheduling slice in which the guest wrote, so output is never held
  /// longer than one slice (a run killed from outside loses at most the current slice's).
  void set_writer(Writer writer, Flusher flusher = {}) {
    writer_ = std::move(writer);
    flusher_ = std::move(flusher);
    unflushed_ = false;
  }
  void write(std::string_view text) {
    if (!writer_) return;
    unflushed_ = true;
    writer_(text);
  }
  void put(char c) { write(std::string_view(&c, 1)); }
  /// Calls the flusher if anything was written since the last flush (cheap otherwise).
  void flush() {
    if (!unflushed_) return;
    unflushed_ = false;
    if (flusher_) flusher_();
  }

  /// Replaces the input; by default there is none (the receiver never gets a byte).
  void set_input(std::unique_ptr<ConsoleInput> input) { input_ = std::move(input); }
  ConsoleInput* input() { return input_.get(); }

 private:
  Writer writer_;                        // none: output is discarded
  Flusher flusher_;                      // none: the writer holds nothing back
  bool unflushed_ = false;               // written since the last flush(); false
  std::unique_ptr<ConsoleInput> input_;  // none: the receiver never gets a byte
};

}  // namespace emu::core
