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

/* The six arithmetic flags (EFLAGS positions) after INSN, entered with
 * SF ZF AF PF CF from `ah` (SAHF) and OF = `of`, PRE run before those are
 * set. INSN's operands: %[x] a general register holding X_, %[y] one
 * holding Y_; RCX, RDX, R8 and R9 are free for PRE and INSN. */
#define FLAGS_AFTER(pre, insn, of, ah, X_, Y_)                                             \
    ({                                                                                     \
        unsigned long f_ = (unsigned long)(ah) << 8;                                       \
        uint64_t x_ = (X_), y_ = (Y_);                                                     \
        uint32_t o_ = (of) ? 0x7fffffffu : 0;                                              \
        __asm__ volatile(pre "add $1, %k[o]\n\tsahf\n\t" insn "\n\tlahf\n\tseto %%al"      \
                         : "+a"(f_), [x] "+&r"(x_), [y] "+&r"(y_), [o] "+&r"(o_)            \
                         : : "rcx", "rdx", "r8", "r9", "cc");                               \
        (uint32_t)(((f_ >> 8) & 0xd5u) | ((f_ & 1u) << 11));                               \
    })

/* Operands whose results are zero, negative, of odd and even parity,
 * overflowing or not. */
static const uint32_t probe_vals[] = { 0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10001,
                                       0x7fffffff, 0x80000000u, 0xffffffffu, 0x12345678, 0xdeadbeefu };
#define NPROBE (sizeof(probe_vals) / sizeof(probe_vals[0]))

/* One-operand MUL/IMUL: AL/AX/EAX = x (RAX, whose AH carries the flags,
 * kept in R8 meanwhile) times y. */
#define MUL1(op) "mov %k[x], %%ecx\n\tmov %%eax, %%r8d\n\tmov %%ecx, %%eax\n\t" op "\n\tmov %%r8d, %%eax"

/* Do the host's MUL and IMUL, in every form, leave SF ZF AF PF as they were
 * (AMD's do; Intel's write them)? The interpreter keeps them on every host
 * (cpu/exec_alu.c), so on such a host the translator emits MUL/IMUL alone,
 * where it would otherwise merge the host's CF/OF into the old flags
 * (LAHF/SETO/SAHF, ~10 host instructions) wherever the others are live or a
 * fault could see them: Linux's multi-precision multiply (mpihelp_*, RSA at
 * boot) spends its time in IMULs followed by memory accesses. Checked with
 * SF ZF AF PF all set and all clear. */
bool bt_host_mul_keeps_szap(void)
{
    static const uint8_t starts[] = { 0xd5, 0x01, 0x00, 0xd4 }; /* SF ZF AF PF (CF) set, clear */
    const uint32_t szap = 0xd4;
    for (unsigned s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        uint8_t ah = starts[s];
        for (unsigned i = 0; i < NPROBE; i++) {
            for (unsigned j = 0; j < NPROBE; j++) {
                uint32_t x = probe_vals[i], y = probe_vals[j];
                uint32_t f[10];
                f[0] = FLAGS_AFTER("", MUL1("mulb %b[y]"), 0, ah, x, y);
                f[1] = FLAGS_AFTER("", MUL1("mulw %w[y]"), 0, ah, x, y);
                f[2] = FLAGS_AFTER("", MUL1("mull %k[y]"), 0, ah, x, y);
                f[3] = FLAGS_AFTER("", MUL1("imulb %b[y]"), 0, ah, x, y);
                f[4] = FLAGS_AFTER("", MUL1("imulw %w[y]"), 0, ah, x, y);
                f[5] = FLAGS_AFTER("", MUL1("imull %k[y]"), 0, ah, x, y);
                f[6] = FLAGS_AFTER("", "imulw %w[y], %w[x]", 0, ah, x, y);
                f[7] = FLAGS_AFTER("", "imull %k[y], %k[x]", 0, ah, x, y);
                f[8] = FLAGS_AFTER("", "imulw $0x7531, %w[x], %w[y]", 0, ah, x, y);
                f[9] = FLAGS_AFTER("", "imull $0x87654321, %k[x], %k[y]", 0, ah, x, y);
                for (unsigned k = 0; k < 10; k++)
                    if ((f[k] & szap) != (ah & szap)) return false;
            }
        }
    }
    return true;
}

/* Are the host's SHLD/SHRD flags a function of their operands alone (all
 * six, for every count 1-31, 16- and 32-bit)? The interpreter takes all six
 * from the host instruction it runs (cpu/exec_bits.c), entered with whatever
 * flags the C code left; the translator's enters with the guest's. Where
 * they do not matter (AMD's), the two agree and SHLD/SHRD are emitted
 * natively; Linux's 64-bit shifts and divisions use them (~680,000 calls of
 * the interpreter per 10,000 fork+exit+wait). */
bool bt_host_shxd_flags_pure(void)
{
    for (unsigned i = 0; i < NPROBE; i++)
        for (unsigned j = 0; j < NPROBE; j += 3)
            for (uint64_t c = 1; c < 32; c++) {
                uint64_t y = c << 32 | probe_vals[j];
                uint32_t a, b;
#define SHXD_SAME(insn)                                                                    \
    a = FLAGS_AFTER("mov %k[y], %%r9d\n\tmov %[y], %%rcx\n\tshr $32, %%rcx\n\t", insn, 0, 0x00, probe_vals[i], y); \
    b = FLAGS_AFTER("mov %k[y], %%r9d\n\tmov %[y], %%rcx\n\tshr $32, %%rcx\n\t", insn, 1, 0xd5, probe_vals[i], y); \
    if (a != b) return false;
                SHXD_SAME("shldl %%cl, %%r9d, %k[x]")
                SHXD_SAME("shrdl %%cl, %%r9d, %k[x]")
                SHXD_SAME("shldw %%cl, %%r9w, %w[x]")
                SHXD_SAME("shrdw %%cl, %%r9w, %w[x]")
#undef SHXD_SAME
            }
    return true;
}

/* Do the host's BSF and BSR write ZF alone (OF SF AF PF CF as they were:
 * AMD's do), as the interpreter's do on every host, and leave the
 * destination as it was when the source is 0? Then they are emitted
 * natively (Linux's bitmap searches: ~14 calls of the interpreter per
 * fork+exit+wait). */
bool bt_host_bscan_writes_only_zf(void)
{
    static const uint8_t starts[] = { 0x00, 0xd5, 0x54, 0x81 };
    for (unsigned st = 0; st < sizeof(starts) / sizeof(starts[0]); st++)
        for (int of = 0; of < 2; of++)
            for (unsigned j = 0; j < NPROBE; j++) {
                uint32_t keep = (starts[st] & 0x95u) | (of ? 0x800u : 0);
                uint32_t f[4];
                f[0] = FLAGS_AFTER("", "bsfl %k[y], %k[x]", of, starts[st], 5, probe_vals[j]);
                f[1] = FLAGS_AFTER("", "bsrl %k[y], %k[x]", of, starts[st], 5, probe_vals[j]);
                f[2] = FLAGS_AFTER("", "bsfw %w[y], %w[x]", of, starts[st], 5, probe_vals[j]);
                f[3] = FLAGS_AFTER("", "bsrw %w[y], %w[x]", of, starts[st], 5, probe_vals[j]);
                for (unsigned k = 0; k < 4; k++) {
                    uint32_t src = k < 2 ? probe_vals[j] : probe_vals[j] & 0xffffu;
                    if (f[k] != (keep | (src ? 0u : 0x40u))) return false;
                }
            }
    uint32_t d32 = 0x12345678u, d16 = 0x9abcdef0u, zero = 0;
    __asm__ volatile("bsfl %k[z], %k[d]\n\tbsrl %k[z], %k[d]" : [d] "+r"(d32) : [z] "r"(zero) : "cc");
    __asm__ volatile("bsfw %w[z], %w[d]\n\tbsrw %w[z], %w[d]" : [d] "+r"(d16) : [z] "r"(zero) : "cc");
    return d32 == 0x12345678u && d16 == 0x9abcdef0u;
}

/* Do the host's BT, BTS, BTR and BTC write CF alone (OF SF ZF AF PF as
 * they were: AMD's do), as the interpreter's do on every host? Then they
 * are emitted natively (Linux's bitmaps: ~300,000 calls per 10,000
 * fork+exit+wait in the register and immediate forms). */
bool bt_host_bt_writes_only_cf(void)
{
    static const uint8_t starts[] = { 0x00, 0xd5, 0x54, 0x81 };
    for (unsigned s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
        for (int of = 0; of < 2; of++)
            for (unsigned i = 0; i < NPROBE; i++)
                for (unsigned j = 0; j < NPROBE; j++) {
                    uint32_t keep = (starts[s] & 0xd4u) | (of ? 0x800u : 0);
                    uint32_t f[6];
                    f[0] = FLAGS_AFTER("", "btl %k[y], %k[x]", of, starts[s], probe_vals[i], probe_vals[j]);
                    f[1] = FLAGS_AFTER("", "btsl %k[y], %k[x]", of, starts[s], probe_vals[i], probe_vals[j]);
                    f[2] = FLAGS_AFTER("", "btrl %k[y], %k[x]", of, starts[s], probe_vals[i], probe_vals[j]);
                    f[3] = FLAGS_AFTER("", "btcw %w[y], %w[x]", of, starts[s], probe_vals[i], probe_vals[j]);
                    f[4] = FLAGS_AFTER("", "btl $13, %k[x]", of, starts[s], probe_vals[i], probe_vals[j]);
                    f[5] = FLAGS_AFTER("", "btrw $7, %w[x]", of, starts[s], probe_vals[i], probe_vals[j]);
                    for (unsigned k = 0; k < 6; k++)
                        if ((f[k] & 0x8d4u) != keep) return false;
                }
    return true;
}
