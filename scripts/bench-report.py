#!/usr/bin/python3
"""Renders `make bench` results: docs/bench/bench.png (plot) and docs/bench/results.md (the
table of medians and ratios, with the machine they were taken on), and copies the table
into README.md between the bench markers.

Input: Google Benchmark JSON (aggregates) from build/bench/{dispatch,trap,smp}.json and
bench/compare-qemu.sh's build/bench/compare-qemu.json; bench/callgrind-calls.sh's
build/bench/callgrind-calls.json and build/bench/boot.json (the Linux boots)
when present. Runs with Debian's python3 (matplotlib
from python3-matplotlib)."""
import json
import os
import platform
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
OUT_DIR = "docs/bench"


def medians(name):
    """{benchmark name: median record} of one Google Benchmark JSON file."""
    with open(os.path.join(BUILD, "bench", name + ".json")) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"]] = b
    return out


def ns(record):
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[record["time_unit"]]
    return record["real_time"] * scale


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    unicorn = subprocess.run(["pkg-config", "--modversion", "unicorn"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Unicorn {unicorn}, commit {commit}"


def boot_rows():
    """bench_boot's rows: the Debian kernel to /init under smccc-emu and under QEMU, same run."""
    if not os.path.exists(os.path.join(BUILD, "bench", "boot.json")):
        return []
    boot = medians("boot")
    rows = []
    for pauth, cpu in ((1, "max"), (0, "max,pauth=off")):
        for c in (1, 4):
            key = f"cpus:{c}/pauth:{pauth}/iterations:1/manual_time"
            emu, qemu = boot.get(f"BM_Boot_SmcccEmu/{key}"), boot.get(f"BM_Boot_Qemu/{key}")
            if not emu or not qemu:
                continue
            target = "≤ 1.3× (goal ≤ 1.0×)" if c == 1 and pauth == 1 else ""
            rows.append(f"| `BM_Boot_SmcccEmu/cpus:{c}/pauth:{pauth}`: Debian's kernel to `/init`, {c} vCPU(s), "
                        f"`--cpu {cpu}` | {ns(emu) / 1e9:.2f} s ({emu['guest_instr_per_s'] / 1e6:.0f} M guest "
                        f"instr/s) | QEMU `-cpu {cpu}`: {ns(qemu) / 1e9:.2f} s | {ns(emu) / ns(qemu):.2f}× | {target} |")
    return rows


# compare-qemu.sh's and callgrind-calls.sh's guests: what each loop is, and its target against QEMU.
LOOP_GUESTS = {
    "psci-loop": ("PSCI_VERSION through the guest's smccc() helper", "≥ 1.0× (goal 1.1×)"),
    "trap-loop": ("PSCI_VERSION in a five-instruction loop", "≥ 1.6× (goal 1.9×)"),
}


def qemu_rows(qemu):
    """Calls per second against QEMU, and host instructions per call when callgrind ran."""
    rows = []
    for guest, (what, target) in LOOP_GUESTS.items():
        r = qemu[guest]
        rows.append(f"| `compare-qemu.sh` `{guest}`: {what} | {r['smccc_emu_calls_per_s'] / 1e6:.2f} M calls/s | "
                    f"QEMU 7.2 virt `-cpu max`: {r['qemu_calls_per_s'] / 1e6:.2f} M calls/s | {r['ratio']:.2f}× | "
                    f"{target} |")
    path = os.path.join(BUILD, "bench", "callgrind-calls.json")
    if os.path.exists(path):
        with open(path) as f:
            cg = json.load(f)
        for guest, (what, target) in LOOP_GUESTS.items():
            r = cg[guest]
            rows.append(f"| `callgrind-calls.sh` `{guest}`: host instructions per call ({cg['registers']} "
                        f"register path) | {r['smccc_emu']} | QEMU 7.2: {r['qemu']} | {r['ratio']:.2f}× | {target} |")
    return rows


def main():
    dispatch = medians("dispatch")
    trap = medians("trap")
    smp = medians("smp")
    with open(os.path.join(BUILD, "bench", "compare-qemu.json")) as f:
        qemu = json.load(f)

    baseline = ns(dispatch["BM_Baseline_IndirectCall"])
    rows = []
    rows.append("| benchmark | median | baseline (same run) | ratio | target |")
    rows.append("| --- | --- | --- | --- | --- |")
    table_only = {"SmcccVersion", "SmcccArchFeatures", "PsciVersion", "PsciFeatures", "AffinityInfo", "Unknown",
                  "DeniedByFilter"}
    disp_names, disp_ns = [], []
    for name, rec in dispatch.items():
        if name == "BM_Baseline_IndirectCall":
            continue
        short = name.split("/", 1)[1]
        target = "≤ 5 ns" if short in table_only else ("≤ 25 ns" if short == "TrngRnd64" else "")
        allocs = rec.get("allocs_per_call", 0.0)
        rows.append(f"| `{name}` ({allocs:g} allocations per call) | {ns(rec):.1f} ns | empty indirect call "
                    f"{baseline:.2f} ns | {ns(rec) / baseline:.0f}× | {target} |")
        disp_names.append(short)
        disp_ns.append(ns(rec))

    raw = trap["BM_Trap_RawUnicornHvc"]
    emu = trap["BM_Trap_SmcccEmuHvc"]
    raw_call = 1e9 / raw["items_per_second"]
    emu_call = 1e9 / emu["items_per_second"]
    rows.append(f"| `BM_Trap_SmcccEmuHvc`: HVC round trip through the emulator | {emu_call:.1f} ns per call | raw "
                f"Unicorn trap, hook writes x0: {raw_call:.1f} ns | {emu_call / raw_call:.2f}× | ≤ 1.3× |")
    sdei = trap.get("BM_Trap_SdeiSignalRoundTrip")
    if sdei:
        sdei_trip = 1e9 / sdei["items_per_second"]
        rows.append(f"| `BM_Trap_SdeiSignalRoundTrip`: SDEI_EVENT_SIGNAL, handler entry, SDEI_EVENT_COMPLETE | "
                    f"{sdei_trip:.1f} ns per round trip | one HVC through the emulator: {emu_call:.1f} ns | "
                    f"{sdei_trip / emu_call:.2f}× | |")
        if "virtual_ns_per_item" in sdei and "virtual_ns_per_item" in emu:
            rows.append(f"| the same, in guest virtual time (`--trap-cost` 100 ns, 1 ns per instruction) | "
                        f"{sdei['virtual_ns_per_item']:.0f} virtual ns per round trip | one HVC loop iteration: "
                        f"{emu['virtual_ns_per_item']:.0f} virtual ns | "
                        f"{sdei['virtual_ns_per_item'] / emu['virtual_ns_per_item']:.2f}× | |")
    abort = trap.get("BM_Trap_DataAbortRoundTrip/1")
    if abort:
        abort_trip = 1e9 / abort["items_per_second"]
        rows.append(f"| `BM_Trap_DataAbortRoundTrip`: MMU translation fault delivered, handler ERETs | "
                    f"{abort_trip:.1f} ns per abort | one HVC through the emulator: {emu_call:.1f} ns | "
                    f"{abort_trip / emu_call:.2f}× | |")
        if "virtual_ns_per_item" in abort:
            rows.append(f"| the same, in guest virtual time | {abort['virtual_ns_per_item']:.0f} virtual ns per abort "
                        f"loop iteration | one HVC loop iteration: {emu['virtual_ns_per_item']:.0f} virtual ns | "
                        f"{abort['virtual_ns_per_item'] / emu['virtual_ns_per_item']:.2f}× | |")
    rows.extend(qemu_rows(qemu))
    cpus = [1, 2, 4, 8]
    smp_emu, smp_raw, calls = [], [], []
    for c in cpus:
        e = smp[f"BM_Smp_Emulator/{c}/32/real_time"]["items_per_second"]
        r = smp[f"BM_Smp_RawUnicorn/{c}/32/real_time"]["items_per_second"]
        smp_emu.append(e / 1e9)
        smp_raw.append(r / 1e9)
        calls.append(smp[f"BM_Smp_Calls/{c}/real_time"]["items_per_second"] / 1e6)
        rows.append(f"| `BM_Smp_Emulator/{c}/32`: guest throughput, {c} vCPU(s), 32-instruction blocks | "
                    f"{e / 1e9:.2f} G instr/s | bare engines: {r / 1e9:.2f} G instr/s | {e / r:.2f}× | ≥ 0.90× |")
    for c, v in zip(cpus, calls):
        rows.append(f"| `BM_Smp_Calls/{c}`: every vCPU calling PSCI_VERSION | {v:.2f} M calls/s | | | |")
    rows.extend(boot_rows())

    os.makedirs(OUT_DIR, exist_ok=True)
    fig, ax = plt.subplots(2, 2, figsize=(12, 8))
    ax[0][0].barh(disp_names, disp_ns, color="tab:blue")
    ax[0][0].axvline(5, color="tab:red", linestyle="--", label="5 ns target")
    ax[0][0].set_xlabel("ns per call (median)")
    ax[0][0].set_title("Firmware dispatch, fake platform")
    ax[0][0].legend()
    trap_names, trap_ns = ["raw Unicorn\ntrap", "smccc-emu\nHVC"], [raw_call, emu_call]
    if sdei:
        trap_names.append("SDEI signal +\nhandler + complete")
        trap_ns.append(sdei_trip)
    ax[0][1].bar(trap_names, trap_ns, color=["tab:gray", "tab:blue", "tab:purple"][: len(trap_ns)])
    ax[0][1].axhline(raw_call * 1.3, color="tab:red", linestyle="--", label="1.3× raw")
    ax[0][1].set_ylabel("ns per call")
    ax[0][1].set_title("HVC round trip")
    ax[0][1].legend()
    guests = list(LOOP_GUESTS)
    gx = range(len(guests))
    ax[1][0].bar([x - 0.2 for x in gx], [qemu[g]["qemu_calls_per_s"] / 1e6 for g in guests], 0.4,
                 label="QEMU 7.2 virt", color="tab:gray")
    ax[1][0].bar([x + 0.2 for x in gx], [qemu[g]["smccc_emu_calls_per_s"] / 1e6 for g in guests], 0.4,
                 label="smccc-emu", color="tab:blue")
    ax[1][0].set_xticks(list(gx), guests)
    ax[1][0].set_ylabel("M calls per second")
    ax[1][0].set_title("PSCI_VERSION loop guests")
    ax[1][0].legend()
    width = 0.38
    xs = range(len(cpus))
    ax[1][1].bar([x - width / 2 for x in xs], smp_raw, width, label="bare engines", color="tab:gray")
    ax[1][1].bar([x + width / 2 for x in xs], smp_emu, width, label="smccc-emu", color="tab:blue")
    ax[1][1].set_xticks(list(xs), [f"{c} vCPU" for c in cpus])
    ax[1][1].set_ylabel("G guest instructions per second")
    ax[1][1].set_title("Throughput with scheduling and virtual time")
    ax[1][1].legend()
    fig.suptitle(machine(), fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT_DIR, "bench.png"), dpi=100)

    table = "\n".join(rows)
    text = f"Measured on: {machine()}. Medians of 5 repetitions; ratios against a baseline measured in the same run.\n\n{table}\n"
    with open(os.path.join(OUT_DIR, "results.md"), "w") as f:
        f.write(text)
    with open("README.md") as f:
        readme = f.read()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in readme and end in readme:
        head, rest = readme.split(start, 1)
        _, tail = rest.split(end, 1)
        with open("README.md", "w") as f:
            f.write(f"{head}{start}\n{text}{end}{tail}")
    print(text)


if __name__ == "__main__":
    main()
