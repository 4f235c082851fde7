/* Probes of what the host CPU does with flags the SDM leaves undefined, run
 * once per translator vCPU (bt_new). The interpreter's answer is fixed (it
 * is the reference on every host); where the host happens to give the same
 * answer, the translator can let the host instruction stand alone instead
 * of emitting code that recreates the interpreter's flags. */
#include <stdbool.h>
#include <stdint.h>

#include "translator/bt_internal.h"

/* Do the host's AND, OR and XOR clear AF whatever their operands? (The SDM
 * leaves it undefined; the interpreter keeps whatever the host gives.) Then
 * a logic instruction's flags are a function of its result alone, and
 * TEST of the result recomputes them (bt_gen.c, gen_remat). */
bool bt_host_logic_clears_af(void)
{
    static const uint32_t ops[][2] = {
        { 0x0f, 0x01 }, { 0x08, 0x08 }, { 0xffffffffu, 1 }, { 0x1234567f, 0x0f }, { 0x10, 0x10 }, { 7, 9 }, { 0, 0 },
    };
    for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        uint32_t a = ops[i][0], b = ops[i][1], x;
        unsigned long fa, fo, fx;
        x = a;
        __asm__ volatile("mov $0x10, %%ah\n\tsahf\n\tandl %2, %k0\n\tlahf"
                         : "+&r"(x), "=&a"(fa) : "r"(b) : "cc");
        x = a;
        __asm__ volatile("mov $0x10, %%ah\n\tsahf\n\torl %2, %k0\n\tlahf"
                         : "+&r"(x), "=&a"(fo) : "r"(b) : "cc");
        x = a;
        __asm__ volatile("mov $0x10, %%ah\n\tsahf\n\txorl %2, %k0\n\tlahf"
                         : "+&r"(x), "=&a"(fx) : "r"(b) : "cc");
        if (((fa | fo | fx) >> 8) & 0x10) return false; /* AH = SF ZF 0 AF 0 PF 1 CF */
    }
    return true;
}

/* AH after SAHF from `ah`, then INSN, then LAHF (INSN's operands: %[x] a
 * general register holding x, %[y] one holding y; RCX, RDX and R8 are
 * free for it). */
#define MUL_PROBE(insn, ah, x, y)                                                           \
    ({                                                                                     \
        unsigned long f_ = (unsigned long)(ah) << 8;                                       \
        uint64_t x_ = (x), y_ = (y);                                                       \
        __asm__ volatile("sahf\n\t" insn "\n\tlahf"                                        \
                         : "+a"(f_), [x] "+&r"(x_), [y] "+&r"(y_) : : "rcx", "rdx", "r8", "cc");         \
        (uint8_t)(f_ >> 8);                                                                \
    })

/* Do the host's MUL and IMUL, in every form, leave SF ZF AF PF as they were
 * (AMD's do; Intel's write them)? The interpreter keeps them on every host
 * (cpu/exec_alu.c), so on such a host the translator emits MUL/IMUL alone,
 * where it would otherwise merge the host's CF/OF into the old flags
 * (LAHF/SETO/SAHF, ~10 host instructions) wherever the others are live or a
 * fault could see them: Linux's multi-precision multiply (mpihelp_*, RSA at
 * boot) spends its time in IMULs followed by memory accesses. Checked with
 * SF ZF AF PF all set and all clear, over operands whose products are zero,
 * negative, odd and even parity, overflowing or not. */
bool bt_host_mul_keeps_szap(void)
{
    static const uint32_t vals[] = { 0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10001,
                                     0x7fffffff, 0x80000000u, 0xffffffffu, 0x12345678, 0xdeadbeefu };
    const unsigned n = sizeof(vals) / sizeof(vals[0]);
    static const uint8_t starts[] = { 0xd5, 0x01, 0x00, 0xd4 }; /* SF ZF AF PF (CF) set, clear */
    const uint8_t szap = 0xd4;
    for (unsigned s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        uint8_t ah = starts[s];
        for (unsigned i = 0; i < n; i++) {
            for (unsigned j = 0; j < n; j++) {
                uint32_t x = vals[i], y = vals[j];
                uint8_t f[10];
                /* one operand: AL/AX/EAX times the register (x sits in RAX's place via mov) */
                f[0] = MUL_PROBE("mov %k[x], %%ecx\n\tmov %%eax, %%r8d\n\tmov %%ecx, %%eax\n\tmulb %b[y]\n\tmov %%r8d, %%eax", ah, x, y);
                f[1] = MUL_PROBE("mov %k[x], %%ecx\n\tmov %%eax, %%r8d\n\tmov %%ecx, %%eax\n\tmulw %w[y]\n\tmov %%r8d, %%eax", ah, x, y);
                f[2] = MUL_PROBE("mov %k[x], %%ecx\n\tmov %%eax, %%r8d\n\tmov %%ecx, %%eax\n\tmull %k[y]\n\tmov %%r8d, %%eax", ah, x, y);
                f[3] = MUL_PROBE("mov %k[x], %%ecx\n\tmov %%eax, %%r8d\n\tmov %%ecx, %%eax\n\timulb %b[y]\n\tmov %%r8d, %%eax", ah, x, y);
                f[4] = MUL_PROBE("mov %k[x], %%ecx\n\tmov %%eax, %%r8d\n\tmov %%ecx, %%eax\n\timulw %w[y]\n\tmov %%r8d, %%eax", ah, x, y);
                f[5] = MUL_PROBE("mov %k[x], %%ecx\n\tmov %%eax, %%r8d\n\tmov %%ecx, %%eax\n\timull %k[y]\n\tmov %%r8d, %%eax", ah, x, y);
                f[6] = MUL_PROBE("imulw %w[y], %w[x]", ah, x, y);
                f[7] = MUL_PROBE("imull %k[y], %k[x]", ah, x, y);
                f[8] = MUL_PROBE("imulw $0x7531, %w[x], %w[y]", ah, x, y);
                f[9] = MUL_PROBE("imull $0x87654321, %k[x], %k[y]", ah, x, y);
                for (unsigned k = 0; k < sizeof(f); k++)
                    if ((f[k] & szap) != (ah & szap)) return false;
            }
        }
    }
    return true;
}
