// A C program as picolibc runs it over Arm semihosting: printf to the console (SYS_OPEN ":tt",
// SYS_WRITE), its arguments from SYS_GET_CMDLINE (picolibc 1.8's crt0 puts the command line's
// words after its own argv[0]), input.txt read and output.txt written under the emulator's
// --semihosting-root (SYS_OPEN, SYS_READ, SYS_WRITE, SYS_CLOSE), and the exit status through
// SYS_EXIT_EXTENDED once :semihosting-features says it is there.
//
// Exit status: 42 when everything worked; 3 when input.txt cannot be opened (errno printed);
// 4 when output.txt cannot be written.
#include <errno.h>
#include <semihost.h>
#include <stdio.h>
#include <string.h>

static int copy_summary(void) {
  FILE* in = fopen("input.txt", "r");
  if (in == NULL) {
    printf("cannot open input.txt: errno %d\n", errno);
    return 3;
  }
  char line[128];
  unsigned lines = 0;
  unsigned long bytes = 0;
  while (fgets(line, sizeof line, in) != NULL) {
    ++lines;
    bytes += strlen(line);
    printf("read: %s", line);
  }
  fclose(in);
  FILE* out = fopen("output.txt", "w");
  if (out == NULL) {
    printf("cannot create output.txt: errno %d\n", errno);
    return 4;
  }
  fprintf(out, "%u lines, %lu bytes\n", lines, bytes);
  if (fclose(out) != 0) return 4;
  printf("wrote output.txt: %u lines, %lu bytes\n", lines, bytes);
  return 42;
}

int main(int argc, char** argv) {
  printf("picolibc semihosting guest, argc %d\n", argc);
  for (int i = 1; i < argc; ++i) printf("arg %d: %s\n", i, argv[i]);
  const int status = copy_summary();
  if (sys_semihost_feature(SH_EXT_EXIT_EXTENDED)) {
    printf("exit %d through SYS_EXIT_EXTENDED\n", status);
    fflush(stdout);
    sys_semihost_exit_extended((uintptr_t)status);
  }
  // Without the extension picolibc's exit() reports a non-zero status as SYS_EXIT with
  // ADP_Stopped_RunTimeErrorUnknown, which a host (QEMU, smccc-emu) turns into status 1.
  return status;
}
