/*
 * Layouts shared by sdei_asm.S and sdei_conformance.c (which checks them with
 * _Static_assert): the record an SDEI entry stub fills, the register probe around one
 * HVC/SMC, and the record of the COMPLETE_AND_RESUME target.
 */
#ifndef GUEST_SDEI_ASM_H
#define GUEST_SDEI_ASM_H

/* Nesting levels (DEN0054C event types and priorities: at most a normal handler and a critical one
 * on a PE). */
#define SDEI_LEVEL_NORMAL 0
#define SDEI_LEVEL_CRITICAL 1
#define SDEI_LEVELS 2

/* One handler stack per vCPU and level; the entry stub switches to it. */
#define SDEI_STACK_SIZE 8192

/*
 * struct sdei_record: what the handler found on entry, written by the stub before it
 * touches anything but its two scratch pairs (saved on the interrupted stack first).
 */
#define REC_X0 0   /* x0..x30 at REC_X0 + 8 * n */
#define REC_SP 248 /* SP_EL1 at entry (the interrupted SP) */
#define REC_NZCV 256
#define REC_DAIF 264
#define REC_CURRENT_EL 272
#define REC_SPSEL 280
#define REC_ELR 288  /* ELR_EL1 at entry */
#define REC_SPSR 296 /* SPSR_EL1 at entry */
#define REC_BUSY 304 /* non-zero while a handler of this level runs */
#define REC_SIZE 320

/*
 * What sdei_handler_c returns in x1 beside the value in x0: bit 0 = complete over SMC
 * (else HVC); bit 1 = COMPLETE_AND_RESUME with x0 = resume address (else COMPLETE with
 * x0 = status).
 */
#define HOW_SMC 1
#define HOW_RESUME 2

#define FID_SDEI_EVENT_COMPLETE 0xC4000025
#define FID_SDEI_EVENT_COMPLETE_AND_RESUME 0xC4000026

/*
 * struct call_probe: x0..x30, NZCV and DAIF to load before one HVC/SMC, and what the
 * registers held right after it.
 */
#define PROBE_IN 0 /* x0..x30 to load */
#define PROBE_NZCV_IN 248
#define PROBE_DAIF_IN 256
#define PROBE_CONDUIT 264   /* 0 HVC, 1 SMC */
#define PROBE_SP_BEFORE 272 /* SP at the call */
#define PROBE_OUT 288       /* struct probe_out, below */
#define PROBE_SIZE 560
/* struct probe_out, at PROBE_OUT */
#define OUT_X0 0 /* x0..x30 right after the call */
#define OUT_NZCV 248
#define OUT_DAIF 256
#define OUT_SP 264

/* struct resume_record: state at the COMPLETE_AND_RESUME target. */
#define RES_X0 0 /* x0..x30 at RES_X0 + 8 * n */
#define RES_SP 248
#define RES_ELR 256
#define RES_SPSR 264
#define RES_DAIF 272
#define RES_CURRENT_EL 280
#define RES_SPSEL 288
#define RES_COUNT 296
#define RES_SIZE 304

#endif
