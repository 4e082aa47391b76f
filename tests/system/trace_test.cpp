// Traces and statistics (issue 15 item 5) through the CLI: the text trace's time stamps and
// categories, the Perfetto JSON (parsed and checked as Perfetto reads it: one track per vCPU,
// spans nested and in time order), --stats=json, console interleaving and determinism.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/system/run_cli.h"

using namespace emu;

using systest::count_lines_containing;
using systest::guest_path;
using systest::run_emu;

namespace {

// The SDEI guest as tests/system/sdei_test.cpp runs it: events 1 and 2 declared, 2 signalled.
std::vector<std::string> sdei_args(std::vector<std::string> extra) {
  std::vector<std::string> args{"run",
                                "--cpus",
                                "4",
                                "--sdei-event",
                                "1:private:critical:signalable",
                                "--sdei-event",
                                "2:shared:normal",
                                "--sdei-signal",
                                "2@3000000",
                                "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(guest_path("sdei-conformance.elf"));
  return args;
}

std::string file_text(const std::string& path) {
  const std::vector<std::uint8_t> bytes = systest::read_file(path);
  return {bytes.begin(), bytes.end()};
}

// What a Perfetto trace of `vcpus` vCPUs must be; counts of the spans begun per category.
std::map<std::string, int> check_perfetto(const std::string& text, unsigned vcpus) {
  const nlohmann::json doc = nlohmann::json::parse(text);  // throws (fails the test) if not JSON
  REQUIRE(doc.contains("traceEvents"));
  std::map<std::uint64_t, std::vector<std::string>> open;  // per track: the spans begun
  std::map<std::uint64_t, double> last_ts;
  std::map<std::uint64_t, int> named;
  std::map<std::string, int> begun;
  for (const nlohmann::json& e : doc["traceEvents"]) {
    const std::string ph = e.at("ph");
    const std::uint64_t tid = e.at("tid");
    CHECK(e.at("pid") == 1);
    if (ph == "M") {
      if (e.at("name") == "thread_name") {
        ++named[tid];
        CHECK(e["args"]["name"] == "vCPU " + std::to_string(tid));
      }
      continue;
    }
    REQUIRE(tid < vcpus);
    const double ts = e.at("ts");
    CHECK(ts >= last_ts[tid]);  // time never goes back on a track
    last_ts[tid] = ts;
    if (ph == "B") {
      open[tid].push_back(e.at("name"));
      ++begun[e.at("cat")];
    } else if (ph == "E") {
      REQUIRE(!open[tid].empty());  // every end closes a span of its own track
      open[tid].pop_back();
    } else {
      CHECK(ph == "i");
      CHECK(e.at("s") == "t");
      ++begun["instant " + e.at("cat").get<std::string>()];
    }
  }
  for (unsigned i = 0; i < vcpus; ++i) {
    CHECK(named[i] == 1);  // one named track per vCPU
    CHECK(open[i].empty());
  }
  CHECK(named.size() == vcpus);
  return begun;
}

}  // namespace

TEST_CASE("Perfetto trace of the SDEI guest: valid JSON, one track per vCPU, balanced spans in time order") {
  const systest::TempDir dir;
  const std::string json = (dir.path() / "t.json").string();
  const systest::Outcome r = run_emu(sdei_args({"--trace=all", "--trace-format=perfetto", "--trace-file", json}));
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  const std::map<std::string, int> begun = check_perfetto(file_text(json), 4);
  // The same run's text trace: one span per call line and per SDEI handler entry.
  const systest::Outcome t = run_emu(sdei_args({"--trace=all"}));
  CHECK(begun.at("calls") ==
        static_cast<int>(count_lines_containing(t.err, " hvc > ") + count_lines_containing(t.err, " smc > ")));
  CHECK(begun.at("sdei") == static_cast<int>(count_lines_containing(t.err, " sdei > event")));
  CHECK(begun.at("sdei") > 0);
  CHECK(begun.at("instant psci") == static_cast<int>(count_lines_containing(t.err, " psci ")));
}

TEST_CASE("Perfetto trace of a run cut short inside an SDEI handler is still complete JSON, its spans closed") {
  const systest::TempDir dir;
  const std::string json = (dir.path() / "t.json").string();
  // The instruction limit ends the run inside the handler of the host's event 2 (signalled at
  // 3 ms): the text trace's last sdei line is that entry.
  const std::vector<std::string> cut{"--max-instructions", "4006000"};
  std::vector<std::string> text = cut;
  text.emplace_back("--trace=sdei");
  const std::vector<std::string> lines = systest::split_lines(run_emu(sdei_args(text)).err);
  REQUIRE(!lines.empty());
  CHECK(lines.back().find("cpu0 sdei > event 2") != std::string::npos);
  std::vector<std::string> perfetto = cut;
  perfetto.insert(perfetto.end(), {"--trace=all", "--trace-format=perfetto", "--trace-file", json});
  const systest::Outcome r = run_emu(sdei_args(perfetto));
  CHECK(r.status == 67);
  check_perfetto(file_text(json), 4);
}

TEST_CASE("Text trace: every line starts with the virtual time in ns and the vCPU") {
  const systest::Outcome r = run_emu(sdei_args({"--trace=calls,sdei,psci,irq,exceptions"}));
  CHECK(r.status == 0);
  const std::regex line(R"(^[0-9]{12} cpu[0-3] (hvc|smc|sdei|psci|irq|exception) .*)");
  std::size_t lines = 0;
  for (const std::string& l : systest::split_lines(r.err)) {
    CHECK_MESSAGE(std::regex_match(l, line), l);
    ++lines;
  }
  CHECK(lines > 100);
  // A category alone: only its lines.
  const systest::Outcome p = run_emu(sdei_args({"--trace=psci"}));
  CHECK(count_lines_containing(p.err, " psci CPU_ON cpu1") > 0);
  CHECK(count_lines_containing(p.err, " hvc ") == 0);
}

TEST_CASE("Trace categories: exceptions and irq show what the guests take") {
  const systest::Outcome a = run_emu({"run", "-q", "--trace=exceptions", guest_path("aborts.elf")});
  CHECK(count_lines_containing(a.err, "cpu0 exception > data abort at pc") > 0);
  CHECK(count_lines_containing(a.err, " hvc ") == 0);
  const systest::Outcome t = run_emu({"run", "-q", "--trace=irq", guest_path("timer-irq.elf")});
  CHECK(count_lines_containing(t.err, "cpu0 irq > IRQ taken at pc") > 0);
  CHECK(count_lines_containing(t.err, "cpu0 irq ack intid 27") > 0);  // the virtual timer's PPI
  CHECK(count_lines_containing(t.err, "cpu0 irq EOI intid 27") > 0);
}

TEST_CASE("Trace options: usage errors are status 64") {
  const std::string guest = guest_path("psci-loop-1000.elf");
  const systest::Outcome f = run_emu({"run", "--trace-file", "/dev/null", guest});
  CHECK(f.status == 64);
  CHECK(count_lines_containing(f.err, "--trace-file needs --trace") == 1);
  const systest::Outcome u = run_emu({"run", "--trace=calls,bogus", guest});
  CHECK(u.status == 64);
  CHECK(count_lines_containing(u.err, "unknown trace category 'bogus'") == 1);
  const systest::Outcome p = run_emu({"run", "--trace=calls", "--trace-format=perfetto", guest});
  CHECK(p.status == 64);
  CHECK(run_emu({"run", "--stats=yaml", guest}).status == 64);
}

TEST_CASE("A refused Perfetto --trace-file that is the console's stdout keeps what the file held") {
  // The shell appends stdout to the file, and the same file is named as the Perfetto trace:
  // refused (status 64) before anything is truncated.
  const systest::TempDir dir;
  const std::string file = dir.write("console.log", "kept\n");
  const std::string command = systest::emu_binary() + " run --trace=calls --trace-format=perfetto --trace-file " +
                              file + " " + guest_path("psci-loop-1000.elf") + " >> " + file;
  const systest::Outcome r = systest::run_command({"/bin/sh", "-c", command});
  CHECK(r.status == 64);
  CHECK(count_lines_containing(r.err, "must not be the console's stdout") == 1);
  const std::vector<std::uint8_t> bytes = systest::read_file(file);
  CHECK(std::string(bytes.begin(), bytes.end()) == "kept\n");
}

TEST_CASE("--stats=json counts the PSCI loop guest's calls per vCPU and per function ID") {
  // psci-loop-1000 makes exactly 1000 PSCI_VERSION calls (guests/bench/psci_loop.c) and no other.
  const systest::Outcome r = run_emu({"run", "-q", "--stats=json", guest_path("psci-loop-1000.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  const nlohmann::json doc = nlohmann::json::parse(systest::first_line(r.err));
  REQUIRE(doc["vcpus"].size() == 1);
  CHECK(doc["vcpus"][0]["calls"] == 1000);
  CHECK(doc["vcpus"][0]["virtual_ns"] > 1000 * 100);  // each call costs the default trap cost
  CHECK(doc["instructions"] == doc["vcpus"][0]["instructions"]);
  REQUIRE(doc["functions"].size() == 1);
  CHECK(doc["functions"][0]["fid"] == "0x84000000");  // DEN0022 PSCI_VERSION
  CHECK(doc["functions"][0]["name"] == "PSCI_VERSION");
  CHECK(doc["functions"][0]["count"] == 1000);
  CHECK(doc["functions"][0]["per_vcpu"] == nlohmann::json::array({1000}));
  // The text form stays as it was.
  const systest::Outcome t = run_emu({"run", "-q", "--stats", guest_path("psci-loop-1000.elf")});
  CHECK(systest::first_line(t.err).starts_with("vcpu0: instructions="));
}

TEST_CASE("Two runs give byte-identical text traces, Perfetto traces and JSON stats") {
  const systest::TempDir dir;
  std::string json[2];
  std::string err[2];
  for (int i = 0; i < 2; ++i) {
    std::string name = "t";
    name += std::to_string(i);
    name += ".json";
    json[i] = (dir.path() / name).string();
    const systest::Outcome p =
        run_emu(sdei_args({"--trace=all", "--trace-format=perfetto", "--trace-file", json[i], "--stats=json"}));
    const systest::Outcome t = run_emu(sdei_args({"--trace=all", "--stats=json"}));
    err[i] = p.err + t.err;
  }
  CHECK(file_text(json[0]) == file_text(json[1]));
  CHECK(err[0] == err[1]);
  // Tracing changes nothing the guest sees: the same console output and per-vCPU figures.
  const systest::Outcome untraced = run_emu(sdei_args({"--stats"}));
  const systest::Outcome traced = run_emu(sdei_args({"--stats", "--trace=all", "--trace-file", json[0]}));
  CHECK(untraced.out == traced.out);
  CHECK(untraced.err == traced.err);
  CHECK(count_lines_containing(err[0], "\"functions\":[{\"count\"") == 2);
}

TEST_CASE("Trace and console on one stream: whole lines, the console's text unchanged") {
  // --trace-file /dev/stdout: the trace reaches the console's pipe.
  const systest::Outcome plain = run_emu(sdei_args({}));
  const systest::Outcome both = run_emu(sdei_args({"--trace=all", "--trace-file", "/dev/stdout"}));
  CHECK(both.status == 0);
  const std::regex trace_line(R"(^[0-9]{12} cpu[0-3] .*)");
  std::string console;
  std::size_t traced = 0;
  for (const std::string& l : systest::split_lines(both.out)) {
    if (std::regex_match(l, trace_line)) {
      ++traced;
    } else {
      console += l + "\n";
      CHECK_MESSAGE(l.find(" cpu0 hvc ") == std::string::npos, l);  // never a trace line cut into a console line
    }
  }
  CHECK(console == plain.out);
  const systest::Outcome alone = run_emu(sdei_args({"--trace=all"}));
  CHECK(traced == systest::split_lines(alone.err).size());
}
