# Cross toolchain for the aarch64 bare-metal guests (see guests/README.md).
#
#   cmake -S guests -B build-guests -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=$PWD/guests/toolchain-aarch64.cmake
#
# The linker script is added per executable by guests/CMakeLists.txt, because only the
# project knows where it lives.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(GUEST_CROSS_PREFIX "aarch64-linux-gnu-" CACHE STRING
    "Prefix of the aarch64 GNU cross tools (gcc, ar, objcopy, ...)")

set(CMAKE_C_COMPILER "${GUEST_CROSS_PREFIX}gcc")
set(CMAKE_ASM_COMPILER "${GUEST_CROSS_PREFIX}gcc")

# No C library and no start files: the compiler checks may only build a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# MMU off means every data access is Device memory: unaligned accesses fault, hence
# -mstrict-align. -mgeneral-regs-only keeps FP/SIMD out of the runtime and the exception
# frames (the vectors save x0..x30 only). -mno-outline-atomics: __atomic builtins become
# inline LDAXR/STLXR loops instead of calls to libgcc helpers that expect Linux's auxv.
set(GUEST_COMMON_FLAGS
    -ffreestanding -nostdlib -nostartfiles
    -mgeneral-regs-only -mstrict-align -mno-outline-atomics
    -O2 -g -Wall -Wextra -Werror
    -fno-pie -fno-stack-protector)
list(JOIN GUEST_COMMON_FLAGS " " GUEST_COMMON_FLAGS)

# CMake also passes CMAKE_C_FLAGS when linking, so -nostdlib/-nostartfiles apply there.
set(CMAKE_C_FLAGS_INIT "${GUEST_COMMON_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${GUEST_COMMON_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -no-pie -Wl,--build-id=none")

# Never look for host libraries or headers; programs (ar, ...) come from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
