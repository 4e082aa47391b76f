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

# The compile and link flags live in guests/CMakeLists.txt, not here: CMake reads a toolchain
# file only when a build tree is first configured, so flags set here would not reach
# existing build trees when they change.

# Never look for host libraries or headers; programs (ar, ...) come from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
