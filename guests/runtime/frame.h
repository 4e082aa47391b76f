/*
 * Layout of the exception frame that vectors.S builds on the EL1 stack and hands to
 * guest_sync_handler(). Shared by the assembly and exceptions.c (which checks it).
 */
#ifndef GUEST_RUNTIME_FRAME_H
#define GUEST_RUNTIME_FRAME_H

#define FRAME_X0 0 /* x0..x30 at FRAME_X0 + 8 * n */
#define FRAME_SP_EL0 248
#define FRAME_ELR 256
#define FRAME_SPSR 264
#define FRAME_ESR 272
#define FRAME_FAR 280
#define FRAME_SIZE 288 /* multiple of 16: SP stays aligned */

/* ERET target state of run_at_el0: EL0t with D, A, I, F masked. */
#define SPSR_EL0T_DAIF_MASKED 0x3C0

#define EL0_STACK_SIZE 4096

#endif
