/* The x87 operations the x87 guest checks, as a table shared with a host
 * generator (the expected values in expected.h were produced by running this
 * same table natively on an x86-64 host CPU and checked against QEMU). Each
 * operation starts from FNINIT (round to nearest, 64-bit precision, all
 * exceptions masked), runs an asm snippet on memory operands
 *   %0 = result (16 bytes: lo, hi), %1 = a (8 bytes), %2 = b (8 bytes),
 *   %3 = a 16-bit control word, %4 = the status word after the snippet,
 *   %5 = the high half of the result, %6 = 32 scratch bytes
 * and the result and status word are compared bit for bit. Values are bit
 * patterns (the guest is built without floating-point registers). */
#ifndef GUESTS_X87_OPS_H
#define GUESTS_X87_OPS_H

#include <stdint.h>

struct x87_res {
    uint64_t lo, hi;     /* lo: a double/float/int or the low 8 bytes of an
                          * extended (whose sign/exponent go to hi) */
    uint16_t fsw;
    uint8_t env[32];     /* scratch for FNSTENV (operand %6), not compared */
};

/* The compared part of a result (expected.h) */
struct x87_want {
    uint64_t lo, hi;
    uint16_t fsw;
};

typedef void (*x87_fn)(struct x87_res *r, const uint64_t *a, const uint64_t *b, const uint16_t *cw);

struct x87_op {
    const char *name;
    x87_fn fn;
    uint64_t a, b;
    uint16_t cw;
    unsigned out_bytes;  /* how much of out[] is compared */
};

#define X87_OP(id, code)                                                                  \
    static void id(struct x87_res *r, const uint64_t *a, const uint64_t *b, const uint16_t *cw) \
    {                                                                                     \
        __asm__ volatile("fninit\n\t" code "\n\tfnstsw %4\n\tfninit"                       \
                         : "=m"(r->lo) : "m"(*a), "m"(*b), "m"(*cw), "m"(r->fsw), "m"(r->hi), "m"(r->env) : "memory", "eax"); \
    }

/* The same without the final FNSTSW: the snippet stores the status word. */
#define X87_OP_RAW(id, code)                                                              \
    static void id(struct x87_res *r, const uint64_t *a, const uint64_t *b, const uint16_t *cw) \
    {                                                                                     \
        __asm__ volatile("fninit\n\t" code "\n\tfninit"                                  \
                         : "=m"(r->lo) : "m"(*a), "m"(*b), "m"(*cw), "m"(r->fsw), "m"(r->hi), "m"(r->env) : "memory", "eax"); \
    }

/* doubles */
#define D_0     0x0000000000000000ull
#define D_1     0x3ff0000000000000ull
#define D_M1    0xbff0000000000000ull
#define D_1_5   0x3ff8000000000000ull
#define D_2     0x4000000000000000ull
#define D_2_25  0x4002000000000000ull
#define D_2_5   0x4004000000000000ull
#define D_M2_5  0xc004000000000000ull
#define D_M1_5  0xbff8000000000000ull
#define D_3     0x4008000000000000ull
#define D_10    0x4024000000000000ull
#define D_0_1   0x3fb999999999999aull
#define D_QNAN  0x7ff8000000000000ull
#define D_INF   0x7ff0000000000000ull
#define D_DENORM 0x0000000000000001ull
#define D_40000 0x40e3880000000000ull
#define D_BIG   0x43e0000000000000ull   /* 2^63 */
#define D_11    0x4026000000000000ull
#define D_12345 0x40c81c8000000000ull
#define D_M12345_5 0xc0c81cc000000000ull
/* control words: RC in bits 11:10, PC in bits 9:8, all exceptions masked */
#define CW_RN   0x037f
#define CW_DOWN 0x077f
#define CW_UP   0x0b7f
#define CW_CHOP 0x0f7f
#define CW_PC24 0x007f
#define CW_PC53 0x027f

X87_OP(op_fadd,  "fldl %1\n\tfaddl %2\n\tfstpl %0")
X87_OP(op_fsub,  "fldl %1\n\tfsubl %2\n\tfstpl %0")
X87_OP(op_fsubr, "fldl %1\n\tfsubrl %2\n\tfstpl %0")
X87_OP(op_fmul,  "fldl %1\n\tfmull %2\n\tfstpl %0")
X87_OP(op_fdiv,  "fldl %1\n\tfdivl %2\n\tfstpl %0")
X87_OP(op_fdivr, "fldl %1\n\tfdivrl %2\n\tfstpl %0")
X87_OP(op_fdiv_x, "fldl %1\n\tfdivl %2\n\tfstpt %0")
X87_OP(op_fmul_x, "fldl %1\n\tfmull %2\n\tfstpt %0")
X87_OP(op_fsqrt_x, "fldl %1\n\tfsqrt\n\tfstpt %0")
X87_OP(op_fsqrt, "fldl %1\n\tfsqrt\n\tfstpl %0")
X87_OP(op_fdiv_cw_x, "fldcw %3\n\tfldl %1\n\tfdivl %2\n\tfstpt %0")
X87_OP(op_fsqrt_cw_x, "fldcw %3\n\tfldl %1\n\tfsqrt\n\tfstpt %0")
X87_OP(op_fdiv_cw, "fldcw %3\n\tfldl %1\n\tfdivl %2\n\tfstpl %0")
X87_OP(op_ld_f32_st_f64, "flds %1\n\tfstpl %0")
X87_OP(op_ld_f64_st_f32, "fldl %1\n\tfstps %0")
X87_OP(op_ld_f64_st_f32_cw, "fldcw %3\n\tfldl %1\n\tfstps %0")
X87_OP(op_ld_f64_st_f80, "fldl %1\n\tfstpt %0")
X87_OP(op_ld_f80_st_f64, "fldl %1\n\tfstpt %0\n\tfldt %0\n\tfchs\n\tfstpl %0")
X87_OP(op_fild16, "filds %1\n\tfstpl %0")
X87_OP(op_fild32, "fildl %1\n\tfstpl %0")
X87_OP(op_fild64, "fildll %1\n\tfstpt %0")
X87_OP(op_fist16, "fldcw %3\n\tfldl %1\n\tfistps %0")
X87_OP(op_fist32, "fldcw %3\n\tfldl %1\n\tfistpl %0")
X87_OP(op_fist64, "fldcw %3\n\tfldl %1\n\tfistpll %0")
X87_OP(op_frndint, "fldcw %3\n\tfldl %1\n\tfrndint\n\tfstpl %0")
X87_OP(op_fldpi, "fldpi\n\tfstpt %0")
X87_OP(op_fldln2, "fldln2\n\tfstpt %0")
X87_OP(op_fldl2e, "fldl2e\n\tfstpt %0")
X87_OP(op_fld1z, "fldz\n\tfld1\n\tfaddp\n\tfstpl %0")
X87_OP(op_fchs_abs, "fldl %1\n\tfchs\n\tfstl %0\n\tfabs\n\tfstpl %5")
X87_OP_RAW(op_fprem, "fldl %2\n\tfldl %1\n\tfprem\n\tfnstsw %4\n\tfstpl %0")
X87_OP(op_fscale, "fldl %2\n\tfldl %1\n\tfscale\n\tfstpl %0\n\tfstp %%st(0)")
X87_OP(op_fxch, "fldl %1\n\tfldl %2\n\tfxch\n\tfstpl %0\n\tfstpl %5")
X87_OP(op_top3, "fldl %1\n\tfldl %1\n\tfldl %1\n\tfstl %0")
X87_OP(op_fbstp, "fldl %1\n\tfbstp %0")
X87_OP(op_fbld, "fldl %1\n\tfbstp %0\n\tfbld %0\n\tfstpl %0")
X87_OP(op_fxtract, "fldl %1\n\tfxtract\n\tfstpl %0\n\tfstpl %5")
X87_OP_RAW(op_fprem1, "fldl %2\n\tfldl %1\n\tfprem1\n\tfnstsw %4\n\tfstpl %0")
X87_OP(op_tags, "fldl %2\n\tfld1\n\tfldz\n\tfldl %1\n\tffree %%st(2)\n\tfnstenv %6\n\t"
                "movw 8+%6, %%ax\n\tmovw %%ax, %0\n\tfldcw %6")
X87_OP(op_fdecstp, "fld1\n\tfdecstp")
X87_OP(op_fincstp, "fld1\n\tfincstp")

/* compares: the result is the FSW (C3 C2 C0), or from FCOMI ZF (lo byte 0),
 * PF (lo byte 1) and CF (hi byte 0) */
X87_OP(op_fcom, "fldl %2\n\tfldl %1\n\tfcompp\n\tfldz\n\tfstpl %0")
X87_OP(op_fucom, "fldl %2\n\tfldl %1\n\tfucompp\n\tfldz\n\tfstpl %0")
X87_OP(op_fcomi, "fldl %2\n\tfldl %1\n\tfcomip %%st(1), %%st\n\tsetz %%al\n\tsetp %%ah\n\tmovw %%ax, %0\n\tsetc %%al\n\tmovb %%al, %5\n\tfstp %%st(0)")
X87_OP(op_fucomi, "fldl %2\n\tfldl %1\n\tfucomip %%st(1), %%st\n\tsetz %%al\n\tsetp %%ah\n\tmovw %%ax, %0\n\tsetc %%al\n\tmovb %%al, %5\n\tfstp %%st(0)")
X87_OP(op_ftst, "fldl %1\n\tftst")
X87_OP(op_fxam, "fldl %1\n\tfxam")
X87_OP(op_fxam_empty, "fxam")
X87_OP(op_fcmov, "fldl %2\n\tfldl %1\n\tfcomi %%st(1), %%st\n\tfcmovb %%st(1), %%st\n\tfstpl %0\n\tfstp %%st(0)")

#endif
