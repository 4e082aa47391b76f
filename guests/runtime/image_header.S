/*
 * The arm64 Linux Image header (Linux Documentation/arm64/booting.rst section 4), for a guest
 * built as an Image: 64 bytes at offset 0, whose first word branches to _start. Loaders
 * (QEMU's -kernel, smccc-emu's --format image) place it text_offset above a 2 MiB-aligned
 * address and enter at offset 0; this guest is linked at RAM + 2 MiB, where both put it.
 */
    .section .text.image_header, "ax"
    .global image_header
image_header:
    b       _start                  // code0
    .word   0                       // code1
    .quad   0                       // text_offset
    .quad   __image_size            // image_size: stacks and .bss included
    .quad   0xa                     // flags: little-endian, 4 KiB pages, anywhere in RAM
    .quad   0, 0, 0                 // res2..res4
    .ascii  "ARM\x64"               // magic
    .word   0                       // res5
