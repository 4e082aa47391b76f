// /init of the Linux system tests' initramfs: reports what the kernel detected of the firmware
// model, then powers off through PSCI SYSTEM_OFF (smccc-emu then exits with status 0).
//
// Every line it prints starts with "init: " so a test can tell them from the kernel's. In order:
//   mounts of /proc, /sys and /dev; finit_module of /lib/modules/arm_smccc_trng.ko;
//   /proc/cpuinfo between "init: ---- /proc/cpuinfo" and "init: ---- end";
//   the kernel log lines about the firmware services ("init: klog: ...");
//   the PTP clock's and the hwrng's names from sysfs;
//   the first line of /proc/kallsyms (the kernel's _text, which KASLR moves);
//   with smccc.busy_ms=N, N ms of wall time spinning on every CPU at once (one pinned child
//   each), so that --pcpus below --cpus shows as steal;
//   the steal column of /proc/stat per CPU and in total;
//   32 bytes read from /dev/hwrng in hex;
//   with smccc.shell=1 on the kernel command line, busybox sh on the console until it exits;
//   "init: powering off".
// A step that fails prints "init: <step>: error <errno>" and /init carries on, so one run shows
// every problem; the tests decide what is fatal.
//
// Freestanding: no aarch64 C library is installed on the build host (guests/linux/sys.h).
#include "sys.h"

#define MODULE_PATH "/lib/modules/arm_smccc_trng.ko"
#define HWRNG_BYTES 32

// --- output ----------------------------------------------------------------------------------

static size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') n++;
  return n;
}

static void put(const char* s) {
  sys_write(1, s, str_len(s));
}

static void put_dec(long v) {
  char buf[24];
  int i = sizeof buf;
  unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
  buf[--i] = '\0';
  do {
    buf[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) buf[--i] = '-';
  put(&buf[i]);
}

static void put_hex_byte(unsigned char b) {
  static const char digits[] = "0123456789abcdef";
  char s[3] = {digits[b >> 4], digits[b & 15], '\0'};
  put(s);
}

/// "init: <what>: ok" or "init: <what>: error <errno>" for a raw syscall result.
static void report(const char* what, long ret) {
  put("init: ");
  put(what);
  if (ret >= 0) {
    put(": ok\n");
  } else {
    put(": error ");
    put_dec(-ret);
    put("\n");
  }
}

// --- strings ---------------------------------------------------------------------------------

static int starts_with(const char* s, size_t n, const char* prefix) {
  size_t k = str_len(prefix);
  if (k > n) return 0;
  for (size_t i = 0; i < k; i++)
    if (s[i] != prefix[i]) return 0;
  return 1;
}

static int contains(const char* s, size_t n, const char* needle) {
  for (size_t i = 0; i < n; i++)
    if (starts_with(s + i, n - i, needle)) return 1;
  return 0;
}

// --- files -----------------------------------------------------------------------------------

/// Reads all of `path` into buf (NUL-terminated, at most cap - 1 bytes); the length or -errno.
static long read_all(const char* path, char* buf, size_t cap) {
  long fd = sys_open(path, O_RDONLY);
  if (fd < 0) return fd;
  size_t len = 0;
  for (;;) {
    ssize_t n = sys_read((int)fd, buf + len, cap - 1 - len);
    if (n < 0) {
      sys_close((int)fd);
      return n;
    }
    if (n == 0 || len + (size_t)n == cap - 1) {
      len += (size_t)n;
      break;
    }
    len += (size_t)n;
  }
  sys_close((int)fd);
  buf[len] = '\0';
  return (long)len;
}

static char file_buf[64 * 1024];

static void print_file(const char* path) {
  put("init: ---- ");
  put(path);
  put("\n");
  long n = read_all(path, file_buf, sizeof file_buf);
  if (n < 0)
    report(path, n);
  else
    sys_write(1, file_buf, (size_t)n);
  put("init: ---- end\n");
}

/// "init: <label>: <first line of path>", for one-line sysfs attributes.
static void print_attr(const char* label, const char* path) {
  long n = read_all(path, file_buf, sizeof file_buf);
  if (n < 0) {
    report(label, n);
    return;
  }
  while (n > 0 && (file_buf[n - 1] == '\n' || file_buf[n - 1] == ' ')) file_buf[--n] = '\0';
  put("init: ");
  put(label);
  put(": ");
  put(file_buf);
  put("\n");
}

// --- steps -----------------------------------------------------------------------------------

// Only the first line: the whole file is megabytes. As root with kptr_restrict 0 it shows the
// real address, so two boots with the same --seed must print the same one.
static void print_kernel_base(void) {
  char line[128];
  long fd = sys_open("/proc/kallsyms", O_RDONLY);
  if (fd < 0) {
    report("open /proc/kallsyms", fd);
    return;
  }
  ssize_t n = sys_read((int)fd, line, sizeof line - 1);
  sys_close((int)fd);
  if (n < 0) {
    report("read /proc/kallsyms", n);
    return;
  }
  ssize_t end = 0;
  while (end < n && line[end] != '\n') end++;
  put("init: kallsyms: ");
  sys_write(1, line, (size_t)end);
  put("\n");
}

static void mount_filesystems(void) {
  sys_mkdir("/proc", 0555);
  sys_mkdir("/sys", 0555);
  sys_mkdir("/dev", 0755);
  report("mount proc /proc", sys_mount("proc", "/proc", "proc"));
  report("mount sysfs /sys", sys_mount("sysfs", "/sys", "sysfs"));
  report("mount devtmpfs /dev", sys_mount("devtmpfs", "/dev", "devtmpfs"));
}

static void load_trng_module(void) {
  long fd = sys_open(MODULE_PATH, O_RDONLY);
  if (fd < 0) {
    report("open " MODULE_PATH, fd);
    return;
  }
  report("finit_module arm_smccc_trng.ko", sys_finit_module((int)fd, "", 0));
  sys_close((int)fd);
}

// The log lines of the firmware drivers (their pr_fmt prefixes, kernel 6.1): psci.c "psci: ",
// smccc/kvm_guest.c "smccc: KVM: ", paravirt.c "arm-pv: ", arm_sdei.c "sdei: ", and anything
// naming PTP or the TRNG.
static const char* const klog_keys[] = {"psci:", "smccc", "arm-pv:", "sdei:", "ptp", "PTP", "trng", "hwrng"};

static int is_service_line(const char* line, size_t n) {
  for (size_t k = 0; k < sizeof klog_keys / sizeof klog_keys[0]; k++)
    if (contains(line, n, klog_keys[k])) return 1;
  return 0;
}

static char klog_buf[1024 * 1024];

// syslog(2) rather than /dev/kmsg: one call returns the whole buffer as text lines.
static void print_service_log(void) {
  long size = sys_syslog(SYSLOG_ACTION_SIZE_BUFFER, 0, 0);
  if (size <= 0 || size > (long)sizeof klog_buf) size = sizeof klog_buf;
  long n = sys_syslog(SYSLOG_ACTION_READ_ALL, klog_buf, (int)size);
  if (n < 0) {
    report("syslog READ_ALL", n);
    return;
  }
  for (long start = 0; start < n;) {
    long end = start;
    while (end < n && klog_buf[end] != '\n') end++;
    const char* line = klog_buf + start;
    size_t len = (size_t)(end - start);
    // "<6>[    0.000000] text": the level prefix is dropped, the timestamp kept.
    if (len > 3 && line[0] == '<' && line[2] == '>') line += 3, len -= 3;
    if (is_service_line(line, len)) {
      put("init: klog: ");
      sys_write(1, line, len);
      put("\n");
    }
    start = end + 1;
  }
}

/// The n-th (0-based) decimal field after the name on a /proc/stat line, or -1.
static long stat_field(const char* line, size_t len, int n) {
  size_t i = 0;
  while (i < len && line[i] != ' ') i++;  // the "cpuN" name
  for (int f = 0; f <= n; f++) {
    while (i < len && line[i] == ' ') i++;
    if (i == len) return -1;
    long v = 0;
    while (i < len && line[i] >= '0' && line[i] <= '9') v = v * 10 + (line[i++] - '0');
    if (f == n) return v;
  }
  return -1;
}

// /proc/stat "cpu" lines: user nice system idle iowait irq softirq steal ... (in USER_HZ ticks,
// Documentation/filesystems/proc.rst); steal is field 7.
static void print_steal(void) {
  long n = read_all("/proc/stat", file_buf, sizeof file_buf);
  if (n < 0) {
    report("read /proc/stat", n);
    return;
  }
  for (long start = 0; start < n;) {
    long end = start;
    while (end < n && file_buf[end] != '\n') end++;
    const char* line = file_buf + start;
    size_t len = (size_t)(end - start);
    if (starts_with(line, len, "cpu")) {
      size_t name = 0;
      while (name < len && line[name] != ' ') name++;
      put("init: steal ");
      sys_write(1, line, name);
      put(" ");
      put_dec(stat_field(line, len, 7));
      put("\n");
    }
    start = end + 1;
  }
}

static void print_hwrng(void) {
  unsigned char bytes[HWRNG_BYTES];
  long fd = sys_open("/dev/hwrng", O_RDONLY);
  if (fd < 0) {
    report("open /dev/hwrng", fd);
    return;
  }
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t r = sys_read((int)fd, bytes + got, sizeof bytes - got);
    if (r <= 0) {
      report("read /dev/hwrng", r < 0 ? r : -5 /* EIO: end of file */);
      break;
    }
    got += (size_t)r;
  }
  sys_close((int)fd);
  put("init: hwrng ");
  put_dec((long)got);
  put(" bytes:");
  for (size_t i = 0; i < got; i++) {
    put(" ");
    put_hex_byte(bytes[i]);
  }
  put("\n");
}

// Module-style parameters ("x.y=z") are not passed to init, so the command line is read from
// /proc/cmdline once.
static char cmdline[4096];
static size_t cmdline_len;

static void read_cmdline(void) {
  long n = read_all("/proc/cmdline", cmdline, sizeof cmdline);
  cmdline_len = n > 0 ? (size_t)n : 0;
}

/// The decimal value of "<key>N" on the command line, or 0 if absent.
static long cmdline_number(const char* key) {
  size_t k = str_len(key);
  for (size_t i = 0; i + k <= cmdline_len; i++) {
    if ((i == 0 || cmdline[i - 1] == ' ') && starts_with(cmdline + i, cmdline_len - i, key)) {
      long v = 0;
      for (size_t j = i + k; j < cmdline_len && cmdline[j] >= '0' && cmdline[j] <= '9'; j++)
        v = v * 10 + (cmdline[j] - '0');
      return v;
    }
  }
  return 0;
}

// The virtual counter, readable at EL0 (Linux sets CNTKCTL_EL1.EL0VCTEN for its vDSO). Spinning
// on clock_gettime(2) instead costs a system call per iteration, each a page-table switch under
// KPTI, which is slow to emulate.
static unsigned long counter_ticks(void) {
  unsigned long v;
  __asm__ volatile("isb\n mrs %0, cntvct_el0" : "=r"(v));
  return v;
}

static unsigned long counter_hz(void) {
  unsigned long v;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
  return v;
}

// One child pinned to each CPU spins until `ms` of virtual counter time passed. With fewer modelled
// physical CPUs than vCPUs, the vCPUs then wait for one another, which PV time reports as steal
// (DEN0057A); idle vCPUs would not compete, so without this the boot shows almost none.
static void spin_every_cpu(long ms) {
  unsigned long mask = 0;
  long err = sys_sched_getaffinity(&mask);
  if (err < 0) {
    report("sched_getaffinity", err);
    return;
  }
  unsigned long deadline = counter_ticks() + (unsigned long)ms * (counter_hz() / 1000);
  int children = 0;
  for (int cpu = 0; cpu < 64; cpu++) {
    if (!(mask & (1UL << cpu))) continue;
    long pid = sys_fork();
    if (pid == 0) {
      if (sys_sched_setaffinity(1UL << cpu) < 0) sys_exit(1);
      while (counter_ticks() < deadline) {
      }
      sys_exit(0);
    }
    if (pid < 0)
      report("fork", pid);
    else
      children++;
  }
  int failed = 0;
  for (int i = 0; i < children; i++) {
    int status = 0;
    if (sys_wait4(-1, &status) < 0 || status != 0) failed++;
  }
  put("init: spun ");
  put_dec(ms);
  put(" ms on ");
  put_dec(children);
  put(" CPUs, ");
  put_dec(failed);
  put(" failed\n");
}

// The shell runs as a child: if /init exec'd it, its exit would panic the kernel instead of
// powering off.
static void run_shell(void) {
  put("init: starting busybox sh\n");
  long pid = sys_fork();
  if (pid == 0) {
    char* const argv[] = {"sh", 0};
    char* const envp[] = {"PATH=/bin", "HOME=/", "TERM=dumb", 0};
    long err = sys_execve("/bin/busybox", argv, envp);
    report("execve /bin/busybox", err);
    sys_exit(127);
  }
  if (pid < 0) {
    report("fork", pid);
    return;
  }
  int status = 0;
  long w = sys_wait4(pid, &status);
  if (w < 0) report("wait4", w);
  put("init: shell exited with status ");
  put_dec((status >> 8) & 0xff);
  put("\n");
}

static int init_main(void) {
  put("init: smccc-emu test init\n");
  mount_filesystems();
  read_cmdline();
  load_trng_module();
  print_file("/proc/cpuinfo");
  print_service_log();
  print_kernel_base();
  print_attr("ptp0 clock_name", "/sys/class/ptp/ptp0/clock_name");
  print_attr("hwrng rng_available", "/sys/class/misc/hw_random/rng_available");
  print_attr("hwrng rng_current", "/sys/class/misc/hw_random/rng_current");
  long busy_ms = cmdline_number("smccc.busy_ms=");
  if (busy_ms > 0) spin_every_cpu(busy_ms);
  print_steal();
  print_hwrng();
  if (cmdline_number("smccc.shell=") == 1) run_shell();
  put("init: powering off\n");
  long err = sys_reboot(LINUX_REBOOT_CMD_POWER_OFF);
  report("reboot POWER_OFF", err);
  return 1;
}

// The kernel enters with SP 16-byte aligned and argc at [sp]; /init needs none of it.
__attribute__((noreturn)) void _start(void) {
  sys_exit(init_main());
}
