// Trace writers (core/trace.h): text lines and Chrome trace event JSON.
#include "core/trace.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

namespace emu::core {

namespace {
constexpr std::array<std::string_view, kTraceCategoryCount> kCategoryNames{"calls", "exceptions", "irq", "psci",
                                                                           "sdei"};
constexpr unsigned kPid = 1;  // one process: the VM

// Virtual ns as the microseconds the format's "ts" is in, exact to the ns.
std::string micros(std::uint64_t ns) {
  return fmt::format("{}.{:03}", ns / 1000, ns % 1000);
}
}  // namespace

std::string_view trace_category_name(TraceCategory c) {
  return kCategoryNames.at(static_cast<std::size_t>(c));
}

std::optional<TraceCategory> trace_category_by_name(std::string_view name) {
  for (std::size_t i = 0; i < kCategoryNames.size(); ++i) {
    if (kCategoryNames[i] == name) return static_cast<TraceCategory>(i);
  }
  return std::nullopt;
}

void TextTraceWriter::event(const TraceEvent& e) {
  if (e.text.empty()) return;  // a span's end that says nothing more (an IRQ entry's)
  line_.clear();
  fmt::format_to(std::back_inserter(line_), "{:012} ", e.ns);
  line_.append(e.text);
  out_(line_);
}

PerfettoTraceWriter::PerfettoTraceWriter(ChunkOut out, unsigned vcpus) : out_(std::move(out)), tracks_(vcpus) {
  out_("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
  // Metadata first: the process and one named thread per vCPU, in vCPU order, so every vCPU has
  // its track even if it never runs.
  std::string first =
      nlohmann::json{
          {"ph", "M"}, {"pid", kPid}, {"tid", 0}, {"name", "process_name"}, {"args", {{"name", "smccc-emu VM"}}}}
          .dump();
  out_(first);
  for (unsigned i = 0; i < vcpus; ++i) {
    emit(nlohmann::json{{"ph", "M"},
                        {"pid", kPid},
                        {"tid", i},
                        {"name", "thread_name"},
                        {"args", {{"name", fmt::format("vCPU {}", i)}}}}
             .dump());
    emit(nlohmann::json{
        {"ph", "M"}, {"pid", kPid}, {"tid", i}, {"name", "thread_sort_index"}, {"args", {{"sort_index", i}}}}
             .dump());
  }
}

PerfettoTraceWriter::~PerfettoTraceWriter() {
  try {
    finish();
  } catch (...) {  // a destructor must not throw; the writer's own error path reports the output
  }
}

void PerfettoTraceWriter::emit(std::string_view json_object) {
  std::string chunk(",\n");
  chunk.append(json_object);
  out_(chunk);
}

// "ts" is written as a JSON number with three decimals (microseconds.nanoseconds): nlohmann
// would print a double, which cannot hold large ns values exactly.
void PerfettoTraceWriter::event(const TraceEvent& e) {
  if (finished_ || e.vcpu >= tracks_.size()) return;
  Track& track = tracks_[e.vcpu];
  std::string name(e.name);
  if (e.phase == TracePhase::End) {
    if (track.open.empty()) return;  // an end without its begin (tracing started inside the span)
    name = track.open.back();
    track.open.pop_back();
  } else if (e.phase == TracePhase::Begin) {
    track.open.push_back(name);
  }
  track.last_ns = std::max(track.last_ns, e.ns);
  const char* ph = e.phase == TracePhase::Begin ? "B" : e.phase == TracePhase::End ? "E" : "i";
  nlohmann::json head{
      {"ph", ph}, {"pid", kPid}, {"tid", e.vcpu}, {"name", name}, {"cat", trace_category_name(e.category)}};
  if (e.phase == TracePhase::Instant) head["s"] = "t";
  if (e.phase != TracePhase::End) head["args"] = {{"detail", e.text}};
  std::string object = head.dump();
  object.pop_back();  // the closing brace: "ts" goes last
  fmt::format_to(std::back_inserter(object), ",\"ts\":{}}}", micros(track.last_ns));
  emit(object);
}

void PerfettoTraceWriter::finish() {
  if (finished_) return;
  finished_ = true;
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    Track& track = tracks_[i];
    while (!track.open.empty()) {
      emit(fmt::format("{{\"ph\":\"E\",\"pid\":{},\"tid\":{},\"ts\":{}}}", kPid, i, micros(track.last_ns)));
      track.open.pop_back();
    }
  }
  out_("\n]}\n");
}

void CallStats::count(unsigned vcpu, std::uint32_t fid, std::string_view name) {
  Function& f = functions[fid];
  if (f.name.empty()) f.name = name;
  ++f.count;
  if (f.per_vcpu.size() <= vcpu) f.per_vcpu.resize(vcpu + 1);
  ++f.per_vcpu[vcpu];
}

}  // namespace emu::core
