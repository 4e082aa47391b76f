// Raw aarch64 Linux system calls for the initramfs /init (guests/linux/init.c). No C library is
// installed for aarch64 on the build host, so the few calls /init needs are made directly.
// Numbers: include/uapi/asm-generic/unistd.h (arm64 uses the generic table).
#pragma once

typedef unsigned long size_t;
typedef long ssize_t;

#define SYS_dup3 24
#define SYS_mkdirat 34
#define SYS_mount 40
#define SYS_openat 56
#define SYS_close 57
#define SYS_read 63
#define SYS_write 64
#define SYS_exit 93
#define SYS_syslog 116
#define SYS_sched_setaffinity 122
#define SYS_sched_getaffinity 123
#define SYS_reboot 142
#define SYS_clone 220
#define SYS_execve 221
#define SYS_wait4 260
#define SYS_finit_module 273

#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_RDWR 2
#define SIGCHLD 17

// kernel/printk/printk.c do_syslog(): read the whole buffer without clearing it; its size.
#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_SIZE_BUFFER 10

// include/uapi/linux/reboot.h
#define LINUX_REBOOT_MAGIC1 0xfee1deadUL
#define LINUX_REBOOT_MAGIC2 672274793UL
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedcUL

static inline long syscall6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
  return x0;
}
#define syscall5(n, a, b, c, d, e) syscall6(n, a, b, c, d, e, 0)
#define syscall4(n, a, b, c, d) syscall6(n, a, b, c, d, 0, 0)
#define syscall3(n, a, b, c) syscall6(n, a, b, c, 0, 0, 0)
#define syscall2(n, a, b) syscall6(n, a, b, 0, 0, 0, 0)
#define syscall1(n, a) syscall6(n, a, 0, 0, 0, 0, 0)

static inline long sys_open(const char* path, int flags) {
  return syscall4(SYS_openat, AT_FDCWD, (long)path, flags, 0);
}
static inline long sys_close(int fd) {
  return syscall1(SYS_close, fd);
}
static inline ssize_t sys_read(int fd, void* buf, size_t n) {
  return syscall3(SYS_read, fd, (long)buf, (long)n);
}
static inline ssize_t sys_write(int fd, const void* buf, size_t n) {
  return syscall3(SYS_write, fd, (long)buf, (long)n);
}
static inline long sys_mkdir(const char* path, int mode) {
  return syscall3(SYS_mkdirat, AT_FDCWD, (long)path, mode);
}
static inline long sys_mount(const char* src, const char* target, const char* type) {
  return syscall5(SYS_mount, (long)src, (long)target, (long)type, 0, 0);
}
static inline long sys_finit_module(int fd, const char* params, int flags) {
  return syscall3(SYS_finit_module, fd, (long)params, flags);
}
static inline long sys_syslog(int type, char* buf, int len) {
  return syscall3(SYS_syslog, type, (long)buf, len);
}
static inline long sys_reboot(unsigned long cmd) {
  return syscall4(SYS_reboot, (long)LINUX_REBOOT_MAGIC1, (long)LINUX_REBOOT_MAGIC2, (long)cmd, 0);
}
// fork() as clone(SIGCHLD, no new stack): the child continues on a copy of the parent's stack.
static inline long sys_fork(void) {
  return syscall5(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}
static inline long sys_execve(const char* path, char* const argv[], char* const envp[]) {
  return syscall3(SYS_execve, (long)path, (long)argv, (long)envp);
}
static inline long sys_wait4(long pid, int* status) {
  return syscall4(SYS_wait4, pid, (long)status, 0, 0);
}
// The CPU masks are one 64-bit word: the tests run at most 64 vCPUs.
static inline long sys_sched_getaffinity(unsigned long* mask) {
  return syscall3(SYS_sched_getaffinity, 0, sizeof *mask, (long)mask);
}
static inline long sys_sched_setaffinity(unsigned long mask) {
  return syscall3(SYS_sched_setaffinity, 0, sizeof mask, (long)&mask);
}
static inline __attribute__((noreturn)) void sys_exit(int code) {
  syscall1(SYS_exit, code);
  __builtin_unreachable();
}
