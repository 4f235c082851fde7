/* Random instruction sequences for the engine-comparison fuzzer. Encodings
 * are assembled here from small tables: ModRM/SIB/displacement/immediate
 * with random registers, 8/16/32-bit forms (66/67 prefixes), segment
 * overrides, memory operands near the page boundary in the middle of the data
 * area, string instructions with small counts, shifts with random counts,
 * division (with #DE), bit operations, stack operations, forward branches and
 * bounded backward loops (so every sequence terminates), privileged and
 * faulting instructions, segment loads, far transfers, self-modifying stores,
 * some x87, and plain random bytes. Everything comes from one splitmix64
 * stream seeded with the case's seed. */
#include "tests/fuzz/gen.h"

#include <string.h>

enum { FIX_NONE, FIX_REL, FIX_ABS, FIX_SMC };

/* One generated instruction (or byte string) before layout. */
struct gi {
    uint8_t b[24];
    uint8_t n;
    uint8_t fix, fix_at, fix_size; /* a field patched at layout: see FIX_* */
    int target;                    /* instruction index the field refers to */
};

struct gen {
    uint64_t s;
    struct fuzz_case *c;
    bool code32; /* CS.D */
    bool flat;   /* 32-bit modes: DS/ES/SS have base 0; FS/GS point at FZ_DATA */
    int cpl;
    struct gi ins[FZ_MAX_INSNS];
    int n;
    uint32_t bytes;
};

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t fuzz_case_seed(uint64_t seed, uint64_t i)
{
    uint64_t s = seed ^ (i * 0xd1b54a32d192ed03ull);
    return splitmix(&s);
}

static uint32_t rnd(struct gen *g) { return (uint32_t)(splitmix(&g->s) >> 16); }
static uint32_t below(struct gen *g, uint32_t n) { return rnd(g) % n; }
static bool chance(struct gen *g, uint32_t num, uint32_t den) { return below(g, den) < num; }

/* Interesting operand values: edges first, then anything. */
static uint32_t rval(struct gen *g)
{
    static const uint32_t edge[] = { 0, 1, 2, 0xffffffffu, 0x80000000u, 0x7fffffffu, 0x8000, 0x7fff,
                                     0xffff, 0x80, 0x7f, 0xff, 31, 32, 33, 16 };
    switch (below(g, 4)) {
    case 0: return edge[below(g, sizeof(edge) / sizeof(edge[0]))];
    case 1: return below(g, 256);
    default: return rnd(g) ^ (rnd(g) << 16);
    }
}

const char *fuzz_mode_name(enum fz_mode m)
{
    switch (m) {
    case FZ_REAL16: return "real16";
    case FZ_PROT16: return "prot16";
    case FZ_PROT32: return "prot32";
    case FZ_USER32: return "user32";
    default: return "?";
    }
}

/* --- emitting --- */

static struct gi *new_insn(struct gen *g)
{
    struct gi *i = &g->ins[g->n++];
    memset(i, 0, sizeof(*i));
    return i;
}

static void put(struct gi *i, uint8_t b)
{
    if (i->n < sizeof(i->b)) i->b[i->n++] = b;
}

static void putn(struct gi *i, uint32_t v, int size)
{
    for (int k = 0; k < size; k++) put(i, (uint8_t)(v >> (8 * k)));
}

static void fixup(struct gi *i, int kind, int size, int target)
{
    i->fix = (uint8_t)kind;
    i->fix_at = i->n;
    i->fix_size = (uint8_t)size;
    i->target = target;
    putn(i, 0, size);
}

/* An offset into the data area as seen through a data segment: near the
 * page boundary at FZ_DATA + 0x1000 most of the time. In the flat modes DS
 * has base 0, so 32-bit addresses include FZ_DATA. */
static uint32_t data_off(struct gen *g, int as)
{
    uint32_t off = chance(g, 3, 4) ? 0xfc0 + below(g, 0x80) : below(g, FZ_DATA_LEN - 8);
    return (g->flat && as == 4) ? FZ_DATA + off : off;
}

static const uint8_t seg_prefix[6] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };

/* Random prefixes for a general instruction; *os and *as get the effective
 * operand and address sizes. */
static void prefixes(struct gen *g, struct gi *i, int *os, int *as)
{
    *os = *as = g->code32 ? 4 : 2;
    if (chance(g, 1, 7)) put(i, seg_prefix[below(g, 6)]);
    if (chance(g, 1, 4)) {
        put(i, 0x66);
        *os = 6 - *os;
    }
    if (chance(g, 1, 10)) {
        put(i, 0x67);
        *as = 6 - *as;
        /* 16-bit addressing in a flat mode would miss the data area (DS
         * base 0): go through FS/GS (base FZ_DATA) instead, mostly. */
        if (g->flat && chance(g, 9, 10)) put(i, chance(g, 1, 2) ? 0x64 : 0x65);
    }
    if (chance(g, 1, 500)) put(i, 0xf0);
    if (chance(g, 1, 300)) put(i, chance(g, 1, 2) ? 0xf2 : 0xf3);
}

/* The registers that hold pointers into the data area. */
static const int ptr_regs[4] = { 3, 5, 6, 7 }; /* EBX EBP ESI EDI */

/* ModRM (+SIB +displacement) with reg field `reg`. mem: 0 register form,
 * 1 memory form, 2 either. */
static void modrm(struct gen *g, struct gi *i, int reg, int as, int mem)
{
    bool m = mem == 1 || (mem == 2 && chance(g, 1, 2));
    reg &= 7;
    if (!m) {
        put(i, (uint8_t)(0xc0 | reg << 3 | below(g, 8)));
        return;
    }
    if (as == 4) {
        uint32_t f = below(g, 10);
        if (f == 0) {
            put(i, (uint8_t)(0x05 | reg << 3));
            putn(i, data_off(g, 4), 4);
            return;
        }
        int mod, base;
        if (f <= 3) {
            static const int sib_base[5] = { 3, 5, 6, 7, 4 };
            base = sib_base[below(g, 5)];
            int index = chance(g, 1, 3) ? 4 : ptr_regs[below(g, 4)];
            mod = base == 5 ? 1 + (int)below(g, 2) : (int)below(g, 3);
            put(i, (uint8_t)(mod << 6 | reg << 3 | 4));
            put(i, (uint8_t)(below(g, 4) << 6 | (uint32_t)index << 3 | (uint32_t)base));
        } else {
            base = ptr_regs[below(g, 4)];
            mod = base == 5 ? 1 + (int)below(g, 2) : (int)below(g, 3);
            put(i, (uint8_t)(mod << 6 | reg << 3 | base));
        }
        if (mod == 1) put(i, (uint8_t)rnd(g));
        if (mod == 2) putn(i, (uint32_t)((int32_t)below(g, 0x200) - 0x100), 4);
        return;
    }
    int rm = (int)below(g, 8), mod = (int)below(g, 3);
    put(i, (uint8_t)(mod << 6 | reg << 3 | rm));
    if (mod == 0 && rm == 6) putn(i, data_off(g, 2), 2);
    if (mod == 1) put(i, (uint8_t)rnd(g));
    if (mod == 2) putn(i, (uint32_t)((int32_t)below(g, 0x200) - 0x100), 2);
}

/* MOV reg, imm at the default operand size (B8+r), for setting up operands. */
static void mov_imm(struct gen *g, int reg, uint32_t val)
{
    struct gi *i = new_insn(g);
    put(i, (uint8_t)(0xb8 + reg));
    putn(i, val, g->code32 ? 4 : 2);
}

/* --- instruction families --- */

static void g_alu(struct gen *g)
{
    struct gi *i = new_insn(g);
    int os, as;
    prefixes(g, i, &os, &as);
    int op = (int)below(g, 8), w = chance(g, 3, 4);
    switch (below(g, 4)) {
    case 0:
    case 1:
        put(i, (uint8_t)(op << 3 | (int)below(g, 2) << 1 | w));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    case 2: {
        uint32_t f = w ? (chance(g, 1, 2) ? 0x83 : 0x81) : 0x80;
        put(i, (uint8_t)f);
        modrm(g, i, op, as, 2);
        putn(i, rval(g), f == 0x81 ? os : 1);
        break;
    }
    default:
        put(i, (uint8_t)(op << 3 | 4 | w));
        putn(i, rval(g), w ? os : 1);
        break;
    }
}

static void g_unary(struct gen *g)
{
    struct gi *i = new_insn(g);
    int os, as;
    prefixes(g, i, &os, &as);
    int w = chance(g, 3, 4);
    switch (below(g, 5)) {
    case 0: /* INC/DEC r (one byte in 16/32-bit code) */
        put(i, (uint8_t)(0x40 + below(g, 16)));
        break;
    case 1: /* INC/DEC r/m */
        put(i, (uint8_t)(0xfe | w));
        modrm(g, i, (int)below(g, 2), as, 2);
        break;
    case 2: /* TEST r/m, imm; NOT; NEG */
    {
        int r = (int)below(g, 4);
        if (r == 1) r = 0;
        put(i, (uint8_t)(0xf6 | w));
        modrm(g, i, r, as, 2);
        if (r == 0) putn(i, rval(g), w ? os : 1);
        break;
    }
    case 3: /* TEST r/m, r */
        put(i, (uint8_t)(0x84 | w));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    default: /* CBW/CWD, flag ops, LAHF/SAHF, BCD, AAM/AAD, XLAT, SALC */
    {
        static const uint8_t ops[] = { 0x98, 0x99, 0xf8, 0xf9, 0xf5, 0xfc, 0xfd, 0x9e, 0x9f,
                                       0x27, 0x2f, 0x37, 0x3f, 0xd4, 0xd5, 0xd7, 0xd6, 0x90 };
        uint8_t o = ops[below(g, sizeof(ops))];
        put(i, o);
        if (o == 0xd4 || o == 0xd5) put(i, chance(g, 1, 6) ? 0 : (chance(g, 1, 2) ? 10 : (uint8_t)rnd(g)));
        break;
    }
    }
}

static void g_shift(struct gen *g)
{
    if (chance(g, 1, 3)) mov_imm(g, 1, chance(g, 1, 2) ? below(g, 70) : rnd(g)); /* CL */
    struct gi *i = new_insn(g);
    int os, as;
    prefixes(g, i, &os, &as);
    int w = chance(g, 3, 4), r = (int)below(g, 8);
    static const uint8_t counts[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 255 };
    switch (below(g, 3)) {
    case 0:
        put(i, (uint8_t)(0xc0 | w));
        modrm(g, i, r, as, 2);
        put(i, chance(g, 1, 2) ? counts[below(g, sizeof(counts))] : (uint8_t)rnd(g));
        break;
    case 1:
        put(i, (uint8_t)(0xd0 | w));
        modrm(g, i, r, as, 2);
        break;
    default:
        put(i, (uint8_t)(0xd2 | w));
        modrm(g, i, r, as, 2);
        break;
    }
}

static void g_muldiv(struct gen *g)
{
    int r = 4 + (int)below(g, 4);
    if (r >= 6 && chance(g, 2, 3)) { /* make a quotient that fits, often */
        struct gi *z = new_insn(g);
        if (chance(g, 1, 2)) { put(z, 0x31); put(z, 0xd2); } /* XOR EDX,EDX */
        else put(z, 0x99);                                     /* CDQ */
    }
    struct gi *i = new_insn(g);
    int os, as;
    prefixes(g, i, &os, &as);
    int w = chance(g, 3, 4);
    switch (below(g, 4)) {
    case 0:
    case 1:
        put(i, (uint8_t)(0xf6 | w));
        modrm(g, i, r, as, 2);
        break;
    case 2: /* IMUL r, r/m */
        put(i, 0x0f);
        put(i, 0xaf);
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    default: /* IMUL r, r/m, imm */
        if (chance(g, 1, 2)) {
            put(i, 0x69);
            modrm(g, i, (int)below(g, 8), as, 2);
            putn(i, rval(g), os);
        } else {
            put(i, 0x6b);
            modrm(g, i, (int)below(g, 8), as, 2);
            put(i, (uint8_t)rnd(g));
        }
        break;
    }
}

static void g_bits(struct gen *g)
{
    struct gi *i = new_insn(g);
    int os, as;
    prefixes(g, i, &os, &as);
    put(i, 0x0f);
    switch (below(g, 8)) {
    case 0: /* BT/BTS/BTR/BTC r/m, r */
        put(i, (uint8_t)(0xa3 + 8 * below(g, 4)));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    case 1: /* BT* r/m, imm8 */
        put(i, 0xba);
        modrm(g, i, 4 + (int)below(g, 4), as, 2);
        put(i, (uint8_t)rnd(g));
        break;
    case 2: /* BSF/BSR */
        put(i, (uint8_t)(0xbc + below(g, 2)));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    case 3: /* SHLD/SHRD imm8 / CL */
    {
        uint8_t o = (uint8_t)(below(g, 2) ? 0xa4 : 0xac) + (uint8_t)below(g, 2);
        put(i, o);
        modrm(g, i, (int)below(g, 8), as, 2);
        if (!(o & 1)) put(i, (uint8_t)(chance(g, 1, 2) ? below(g, 40) : rnd(g)));
        break;
    }
    case 4: /* SETcc r/m8 */
        put(i, (uint8_t)(0x90 + below(g, 16)));
        modrm(g, i, 0, as, 2);
        break;
    case 5: /* CMOVcc */
        put(i, (uint8_t)(0x40 + below(g, 16)));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    case 6: /* BSWAP */
        put(i, (uint8_t)(0xc8 + below(g, 8)));
        break;
    default: /* MOVZX / MOVSX */
        put(i, (uint8_t)(0xb6 + 8 * below(g, 2) + below(g, 2)));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    }
}

static void g_move(struct gen *g)
{
    struct gi *i = new_insn(g);
    int os, as;
    prefixes(g, i, &os, &as);
    int w = chance(g, 3, 4);
    switch (below(g, 9)) {
    case 0:
    case 1: /* MOV r/m, r and r, r/m */
        put(i, (uint8_t)(0x88 | (int)below(g, 2) << 1 | w));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    case 2: /* MOV r/m, imm */
        put(i, (uint8_t)(0xc6 | w));
        modrm(g, i, 0, as, 2);
        putn(i, rval(g), w ? os : 1);
        break;
    case 3: /* MOV r, imm */
        put(i, (uint8_t)(0xb0 | w << 3 | below(g, 8)));
        putn(i, rval(g), w ? os : 1);
        break;
    case 4: /* MOV moffs */
        put(i, (uint8_t)(0xa0 | below(g, 2) << 1 | w));
        putn(i, data_off(g, as), as);
        break;
    case 5: /* XCHG */
        if (chance(g, 1, 3)) put(i, (uint8_t)(0x90 + below(g, 8)));
        else {
            put(i, (uint8_t)(0x86 | w));
            modrm(g, i, (int)below(g, 8), as, 2);
        }
        break;
    case 6: /* XADD / CMPXCHG */
        put(i, 0x0f);
        put(i, (uint8_t)((chance(g, 1, 2) ? 0xc0 : 0xb0) | w));
        modrm(g, i, (int)below(g, 8), as, 2);
        break;
    case 7: /* CMPXCHG8B m64 (register form: #UD) */
        put(i, 0x0f);
        put(i, 0xc7);
        modrm(g, i, 1, as, chance(g, 1, 40) ? 0 : 1);
        break;
    default: /* LEA */
        put(i, 0x8d);
        modrm(g, i, (int)below(g, 8), as, chance(g, 1, 40) ? 0 : 1);
        break;
    }
}

static void g_stack(struct gen *g)
{
    struct gi *i = new_insn(g);
    int os = g->code32 ? 4 : 2, as = os;
    if (chance(g, 1, 5)) {
        put(i, 0x66);
        os = 6 - os;
    }
    switch (below(g, 12)) {
    case 0: case 1: put(i, (uint8_t)(0x50 + below(g, 8))); break;
    case 2: case 3: put(i, (uint8_t)(0x58 + below(g, 8))); break;
    case 4: put(i, 0x68); putn(i, rval(g), os); break;
    case 5: put(i, 0x6a); put(i, (uint8_t)rnd(g)); break;
    case 6: put(i, 0xff); modrm(g, i, 6, as, 2); break; /* PUSH r/m */
    case 7: put(i, 0x8f); modrm(g, i, 0, as, 2); break; /* POP r/m */
    case 8: put(i, chance(g, 1, 2) ? 0x60 : 0x61); break; /* PUSHA / POPA */
    case 9: put(i, chance(g, 1, 2) ? 0x9c : 0x9d); break; /* PUSHF / POPF */
    case 10: /* PUSH / POP Sreg (real mode: pushes only, see g_system) */
    {
        static const uint8_t ops[] = { 0x06, 0x0e, 0x16, 0x1e, 0x07, 0x17, 0x1f };
        bool real = g->c->mode == FZ_REAL16;
        if (chance(g, 1, 3)) {
            put(i, 0x0f);
            put(i, (uint8_t)(0xa0 + 8 * below(g, 2) + (real ? 0 : below(g, 2))));
        } else {
            put(i, ops[below(g, real ? 4 : sizeof(ops))]);
        }
        break;
    }
    default: /* ENTER / LEAVE */
        if (chance(g, 1, 2)) {
            put(i, 0xc8);
            putn(i, below(g, 64), 2);
            put(i, (uint8_t)(chance(g, 3, 4) ? below(g, 3) : rnd(g)));
        } else {
            put(i, 0xc9);
        }
        break;
    }
}

static void g_string(struct gen *g)
{
    bool rep = chance(g, 2, 3);
    if (rep && chance(g, 7, 8)) mov_imm(g, 1, below(g, 10)); /* ECX / CX: a small count */
    struct gi *i = new_insn(g);
    int os, as;
    prefixes(g, i, &os, &as);
    if (rep) put(i, chance(g, 2, 3) ? 0xf3 : 0xf2);
    static const uint8_t ops[] = { 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
                                   0xa4, 0xa5, 0xaa, 0xab, 0x6c, 0x6d, 0x6e, 0x6f };
    put(i, ops[below(g, sizeof(ops))]);
}

/* A forward target: one of the next few instructions (clamped at layout). */
static int fwd(struct gen *g) { return g->n + 1 + (int)below(g, 6); }

static void g_branch(struct gen *g)
{
    int rel = g->code32 ? 4 : 2;
    switch (below(g, 9)) {
    case 0:
    case 1: {
        struct gi *i = new_insn(g);
        put(i, (uint8_t)(0x70 + below(g, 16)));
        fixup(i, FIX_REL, 1, fwd(g));
        break;
    }
    case 2: {
        struct gi *i = new_insn(g);
        put(i, 0xeb);
        fixup(i, FIX_REL, 1, fwd(g));
        break;
    }
    case 3: {
        struct gi *i = new_insn(g);
        put(i, 0x0f);
        put(i, (uint8_t)(0x80 + below(g, 16)));
        fixup(i, FIX_REL, rel, fwd(g));
        break;
    }
    case 4: { /* JMP / CALL rel */
        struct gi *i = new_insn(g);
        put(i, chance(g, 1, 2) ? 0xe9 : 0xe8);
        fixup(i, FIX_REL, rel, fwd(g));
        break;
    }
    case 5: { /* LOOP / LOOPE / LOOPNE / JECXZ forward (67: the other count register) */
        struct gi *i = new_insn(g);
        if (chance(g, 1, 6)) put(i, 0x67);
        put(i, (uint8_t)(0xe0 + below(g, 4)));
        fixup(i, FIX_REL, 1, fwd(g));
        break;
    }
    case 6: { /* JMP / CALL through a register */
        int r = (int)below(g, 8);
        if (r == 4) r = 0;
        struct gi *m = new_insn(g);
        put(m, (uint8_t)(0xb8 + r));
        fixup(m, FIX_ABS, rel, fwd(g));
        struct gi *i = new_insn(g);
        put(i, 0xff);
        put(i, (uint8_t)(0xc0 | (chance(g, 1, 2) ? 4 : 2) << 3 | r));
        break;
    }
    case 7: { /* far JMP / CALL ptr16:16/32, usually to the current CS */
        static const uint16_t sels[] = { 0x08, 0x18, 0x2b, 0x10, 0x28, 0x38, 0x60, 0 };
        uint16_t cs = g->c->mode == FZ_REAL16 ? (uint16_t)(FZ_CODE >> 4)
                    : g->c->mode == FZ_PROT16 ? 0x18 : g->c->mode == FZ_PROT32 ? 0x08 : 0x2b;
        struct gi *i = new_insn(g);
        put(i, chance(g, 1, 2) ? 0xea : 0x9a);
        fixup(i, FIX_ABS, rel, fwd(g));
        bool other = g->c->mode != FZ_REAL16 && chance(g, 1, 4);
        putn(i, other ? sels[below(g, sizeof(sels) / sizeof(sels[0]))] : cs, 2);
        break;
    }
    default: { /* a bounded backward loop: MOV ECX, n; body; LOOP body */
        mov_imm(g, 1, 1 + below(g, 4));
        int body = g->n;
        int k = 1 + (int)below(g, 3);
        for (int j = 0; j < k; j++) {
            if (below(g, 2)) g_alu(g);
            else g_move(g);
        }
        struct gi *i = new_insn(g);
        put(i, 0xe2);
        fixup(i, FIX_REL, 1, body);
        break;
    }
    }
}

/* Privileged, sensitive and faulting instructions. */
static void g_system(struct gen *g)
{
    static const uint16_t sels[] = { 0, 0x08, 0x10, 0x13, 0x18, 0x20, 0x28, 0x2b, 0x33, 0x38, 0x40,
                                     0x4b, 0x50, 0x58, 0x60, 0x04, 0x2000, 0x1000 };
    int nsel = (int)(sizeof(sels) / sizeof(sels[0]));
    int as = g->code32 ? 4 : 2;
    struct gi *i;
    switch (below(g, 24)) {
    case 0: i = new_insn(g); put(i, chance(g, 1, 2) ? 0xfa : 0xfb); break; /* CLI / STI */
    case 1: i = new_insn(g); put(i, 0xcc); break;
    case 2: i = new_insn(g); put(i, 0xce); break;
    case 3: i = new_insn(g); put(i, 0xcd); put(i, (uint8_t)rnd(g)); break;
    case 4: i = new_insn(g); put(i, 0x0f); put(i, 0x0b); break;
    case 5: /* IN / OUT */
    {
        static const uint8_t ops[] = { 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef };
        uint8_t o = ops[below(g, 8)];
        i = new_insn(g);
        if (chance(g, 1, 4)) put(i, 0x66);
        put(i, o);
        if (o < 0xe8) put(i, (uint8_t)(0x70 + below(g, 0x10)));
        break;
    }
    case 6: /* CPUID / RDTSC / RDMSR / WRMSR / RDPMC */
    {
        static const uint8_t ops[] = { 0xa2, 0x31, 0x32, 0x30, 0x33 };
        static const uint32_t msrs[] = { 0x10, 0x1b, 0x174, 0x175, 0x176, 0x277, 0x1a0, 0x12345 };
        uint8_t o = ops[below(g, 5)];
        if (o == 0x32 || o == 0x30) mov_imm(g, 1, msrs[below(g, 8)]);
        if (o == 0xa2) mov_imm(g, 0, chance(g, 1, 2) ? below(g, 3) : 0x80000000u + below(g, 5));
        i = new_insn(g);
        put(i, 0x0f);
        put(i, o);
        break;
    }
    case 7: /* MOV r, CRn */
        i = new_insn(g);
        put(i, 0x0f);
        put(i, 0x20);
        put(i, (uint8_t)(0xc0 | (chance(g, 1, 10) ? below(g, 8) : (uint32_t)"\0\2\3\4"[below(g, 4)]) << 3 | below(g, 8)));
        break;
    case 8: /* flip harmless CR0 / CR4 bits: MOV EAX,CRn; XOR EAX,bits; MOV CRn,EAX */
    {
        bool cr4 = chance(g, 1, 3);
        static const uint32_t b0[] = { 0x8, 0x2, 0x4, 0x10000, 0x40000, 0x20, 0x8 };
        static const uint32_t b4[] = { 0x10, 0x80, 0x4, 0x8, 0x200, 0x1 };
        uint32_t bits = cr4 ? b4[below(g, 6)] : b0[below(g, 7)];
        int cr = cr4 ? 4 : 0;
        i = new_insn(g);
        put(i, 0x0f); put(i, 0x20); put(i, (uint8_t)(0xc0 | cr << 3));
        i = new_insn(g);
        if (!g->code32) put(i, 0x66);
        put(i, 0x35); putn(i, bits, 4);
        i = new_insn(g);
        put(i, 0x0f); put(i, 0x22); put(i, (uint8_t)(0xc0 | cr << 3));
        break;
    }
    case 9: /* MOV CR3 reload / CR2 write / DRn */
        i = new_insn(g);
        put(i, 0x0f);
        switch (below(g, 4)) {
        case 0: put(i, 0x20); put(i, 0xd8); i = new_insn(g); put(i, 0x0f); put(i, 0x22); put(i, 0xd8); break;
        case 1: put(i, 0x22); put(i, (uint8_t)(0xd0 | below(g, 8))); break;
        case 2: put(i, 0x21); put(i, (uint8_t)(0xc0 | below(g, 64))); break;
        default: put(i, 0x23); put(i, (uint8_t)(0xc0 | below(g, 64))); break;
        }
        break;
    case 10: /* CLTS INVD WBINVD HLT INT1 SYSENTER SYSEXIT */
    {
        static const uint8_t ops[] = { 0x06, 0x08, 0x09, 0x34, 0x35 };
        i = new_insn(g);
        uint32_t k = below(g, 7);
        if (k == 5) put(i, 0xf4);
        else if (k == 6) put(i, 0xf1);
        else { put(i, 0x0f); put(i, ops[k]); }
        break;
    }
    case 11: /* INVLPG m */
        i = new_insn(g);
        put(i, 0x0f); put(i, 0x01);
        modrm(g, i, 7, as, 1);
        break;
    case 12: /* SGDT SIDT SMSW LMSW (and rarely LGDT/LIDT of random data) */
    {
        uint32_t k = below(g, 10);
        int r = k < 3 ? 0 : k < 6 ? 1 : k < 8 ? 4 : k < 9 ? 6 : 2 + (int)below(g, 2);
        i = new_insn(g);
        if (chance(g, 1, 4)) put(i, 0x66);
        put(i, 0x0f); put(i, 0x01);
        modrm(g, i, r, as, (r == 4 || r == 6) ? 2 : 1);
        break;
    }
    case 13: case 14: /* SLDT STR LLDT LTR VERR VERW, LAR LSL, ARPL with a chosen selector */
    {
        int r = (int)below(g, 8);
        if (r == 4) r = 0;
        mov_imm(g, r, chance(g, 4, 5) ? sels[below(g, (uint32_t)nsel)] : rnd(g));
        i = new_insn(g);
        uint32_t k = below(g, 4);
        if (k == 0) { put(i, 0x0f); put(i, 0x00); put(i, (uint8_t)(0xc0 | below(g, 6) << 3 | (uint32_t)r)); }
        else if (k == 1) { put(i, 0x0f); put(i, (uint8_t)(0x02 + below(g, 2))); put(i, (uint8_t)(0xc0 | below(g, 8) << 3 | (uint32_t)r)); }
        else if (k == 2) { put(i, 0x63); put(i, (uint8_t)(0xc0 | (uint32_t)r << 3 | below(g, 8))); }
        else { put(i, 0x0f); put(i, 0x00); modrm(g, i, (int)below(g, 6), as, 1); }
        break;
    }
    case 15: case 16: /* MOV Sreg, r16 with a chosen selector */
    {
        /* Real mode accepts any value: keep the segments near the data
         * (FZ_DATA >> 4 + 0..0xfff) so that writes cannot reach the
         * descriptor tables, the IVT or the stubs. */
        static const uint16_t real_sels[] = { 0x2000, 0x2100, 0x2ff0, 0x2001, 0x2800 };
        int r = (int)below(g, 4);
        if (g->c->mode == FZ_REAL16) mov_imm(g, r, real_sels[below(g, 5)]);
        else mov_imm(g, r, chance(g, 5, 6) ? sels[below(g, (uint32_t)nsel)] : rnd(g));
        static const int sr[5] = { 0, 2, 3, 4, 5 };
        i = new_insn(g);
        put(i, 0x8e);
        put(i, (uint8_t)(0xc0 | sr[below(g, 5)] << 3 | r));
        break;
    }
    case 17: /* MOV Sreg, m16 (not in real mode: see case 15); MOV r/m, Sreg */
    {
        int os, as2;
        i = new_insn(g);
        prefixes(g, i, &os, &as2);
        put(i, chance(g, 1, 2) && g->c->mode != FZ_REAL16 ? 0x8e : 0x8c);
        modrm(g, i, (int)below(g, 8), as2, 2);
        break;
    }
    case 18: /* LDS LES LSS LFS LGS (random far pointers in the data; not in real mode) */
    {
        if (g->c->mode == FZ_REAL16) break;
        int os, as2;
        i = new_insn(g);
        prefixes(g, i, &os, &as2);
        uint32_t k = below(g, 5);
        if (k < 2) put(i, (uint8_t)(0xc4 + k));
        else { put(i, 0x0f); put(i, (uint8_t)(0xb2 + k)); }
        modrm(g, i, (int)below(g, 8), as2, chance(g, 1, 40) ? 0 : 1);
        break;
    }
    case 19: /* BOUND */
    {
        int os, as2;
        i = new_insn(g);
        prefixes(g, i, &os, &as2);
        put(i, 0x62);
        modrm(g, i, (int)below(g, 8), as2, 1);
        break;
    }
    case 20: /* IRET / RETF / RET / RET imm (rare: they pop whatever is there) */
    {
        static const uint8_t ops[] = { 0xc3, 0xc2, 0xcf, 0xcb, 0xca };
        uint8_t o = ops[below(g, g->c->mode == FZ_REAL16 ? 2 : 5)]; /* real mode: no random CS */
        i = new_insn(g);
        if (chance(g, 1, 5)) put(i, 0x66);
        put(i, o);
        if (o == 0xc2 || o == 0xca) putn(i, below(g, 16), 2);
        break;
    }
    case 21: /* self-modifying store into a later instruction (flat modes) */
    {
        if (!g->flat) break;
        i = new_insn(g);
        put(i, 0xc6); put(i, 0x05);
        fixup(i, FIX_SMC, 4, fwd(g));
        put(i, (uint8_t)rnd(g));
        break;
    }
    default: /* POPF with chosen flags (IF/IOPL/DF/AC/TF-free) */
    {
        mov_imm(g, 0, (rnd(g) & (0x08d5u | 0x3600u | 0x40000u)) | 2);
        i = new_insn(g); put(i, 0x50);
        i = new_insn(g); put(i, 0x9d);
        break;
    }
    }
}

static void g_x87(struct gen *g)
{
    struct gi *i = new_insn(g);
    int os, as;
    switch (below(g, 8)) {
    case 0: /* constants, unary ops */
    {
        static const uint8_t ops[] = { 0xe8, 0xee, 0xeb, 0xe9, 0xea, 0xec, 0xed, 0xe0, 0xe1, 0xfa, 0xe4, 0xe5,
                                       0xfc, 0xfd, 0xf8, 0xf5, 0xf0, 0xf1, 0xf4, 0xfe, 0xff, 0xf2, 0xf3 };
        put(i, 0xd9);
        put(i, ops[below(g, sizeof(ops))]);
        break;
    }
    case 1: case 2: /* arithmetic on ST(i) */
        put(i, chance(g, 1, 2) ? 0xd8 : (chance(g, 1, 2) ? 0xdc : 0xde));
        put(i, (uint8_t)(0xc0 + below(g, 64)));
        break;
    case 3: /* FXCH, FLD ST(i), FST(P) ST(i), FUCOM, FFREE */
        put(i, chance(g, 1, 2) ? 0xd9 : 0xdd);
        put(i, (uint8_t)(0xc0 + below(g, 64)));
        break;
    case 4: case 5: /* memory forms: FLD/FST/FSTP/FILD/FISTP m32/m64, FLDCW/FNSTCW, FNSTSW */
    {
        static const uint8_t ops[][2] = { { 0xd9, 0 }, { 0xd9, 2 }, { 0xd9, 3 }, { 0xdd, 0 }, { 0xdd, 2 }, { 0xdd, 3 },
                                          { 0xdb, 0 }, { 0xdb, 3 }, { 0xdf, 5 }, { 0xdf, 7 }, { 0xd9, 5 }, { 0xd9, 7 },
                                          { 0xdd, 7 }, { 0xd8, 0 }, { 0xdc, 1 }, { 0xda, 6 }, { 0xdb, 5 }, { 0xdb, 7 } };
        prefixes(g, i, &os, &as);
        int k = (int)below(g, sizeof(ops) / sizeof(ops[0]));
        put(i, ops[k][0]);
        modrm(g, i, ops[k][1], as, 1);
        break;
    }
    case 6: /* FNSTSW AX, FNINIT, FNCLEX, FWAIT */
    {
        uint32_t k = below(g, 4);
        if (k == 0) { put(i, 0xdf); put(i, 0xe0); }
        else if (k == 1) { put(i, 0xdb); put(i, 0xe3); }
        else if (k == 2) { put(i, 0xdb); put(i, 0xe2); }
        else put(i, 0x9b);
        break;
    }
    default: /* FCOM/FCOMP/FUCOMPP/FCOMI */
    {
        static const uint8_t ops[][2] = { { 0xd8, 0xd0 }, { 0xd8, 0xd8 }, { 0xda, 0xe9 }, { 0xdb, 0xf0 }, { 0xdf, 0xe8 } };
        int k = (int)below(g, 5);
        put(i, ops[k][0]);
        put(i, (uint8_t)(ops[k][1] + (ops[k][1] == 0xe9 ? 0 : below(g, 8))));
        break;
    }
    }
}

/* Rare (about one case in ten has some): most random bytes end the run at once. */
static void g_random_bytes(struct gen *g)
{
    if (!chance(g, 1, 6)) {
        g_alu(g);
        return;
    }
    struct gi *i = new_insn(g);
    int n = 1 + (int)below(g, 4);
    for (int k = 0; k < n; k++) put(i, (uint8_t)rnd(g));
}

struct family {
    void (*fn)(struct gen *g);
    int weight;
};

static const struct family families[] = {
    { g_alu, 16 }, { g_unary, 8 }, { g_shift, 8 }, { g_muldiv, 4 }, { g_bits, 9 }, { g_move, 14 },
    { g_stack, 8 }, { g_string, 6 }, { g_branch, 8 }, { g_system, 4 }, { g_x87, 4 }, { g_random_bytes, 1 },
};

static void one(struct gen *g)
{
    int total = 0;
    for (size_t k = 0; k < sizeof(families) / sizeof(families[0]); k++) total += families[k].weight;
    int r = (int)below(g, (uint32_t)total);
    for (size_t k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
        if (r < families[k].weight) {
            families[k].fn(g);
            return;
        }
        r -= families[k].weight;
    }
}

/* --- initial state --- */

static void init_state(struct gen *g)
{
    struct fuzz_case *c = g->c;
    c->mode = (enum fz_mode)below(g, FZ_NMODES);
    g->code32 = c->mode == FZ_PROT32 || c->mode == FZ_USER32;
    g->flat = g->code32;
    g->cpl = c->mode == FZ_USER32 ? 3 : 0;
    c->paging = c->mode != FZ_REAL16 && chance(g, 1, 2);
    c->cr0 = 0x10; /* ET */
    if (c->mode != FZ_REAL16) c->cr0 |= 1;
    if (c->paging) c->cr0 |= 0x80000000u | (chance(g, 1, 2) ? 0x10000u : 0);
    if (chance(g, 1, 2)) c->cr0 |= 0x20;                    /* NE */
    if (chance(g, 1, 4)) c->cr0 |= 0x2;                     /* MP */
    if (chance(g, 1, 24)) c->cr0 |= 0x8;                    /* TS */
    if (chance(g, 1, 32)) c->cr0 |= 0x4;                    /* EM */
    if (c->mode == FZ_USER32 && chance(g, 1, 4)) c->cr0 |= 0x40000u; /* AM */
    for (int r = 0; r < 8; r++) c->regs[r] = rval(g);
    uint32_t pbase = g->flat ? FZ_DATA : 0;
    for (int k = 0; k < 4; k++) {
        uint32_t off = chance(g, 4, 5) ? 0xf80 + below(g, 0xc0) : below(g, FZ_DATA_LEN);
        c->regs[ptr_regs[k]] = pbase + off;
        if (!g->flat && chance(g, 1, 10)) c->regs[ptr_regs[k]] |= rnd(g) << 16;
    }
    c->regs[4] = g->flat ? FZ_STACK - 4 * below(g, 16) : 0xff00u - 2 * below(g, 16);
    uint32_t fl = 0x2 | (rnd(g) & 0x8d5u);
    if (chance(g, 1, 4)) fl |= 0x400;          /* DF */
    if (chance(g, 1, 2)) fl |= 0x200;          /* IF */
    if (g->cpl == 3) fl |= chance(g, 1, 3) ? 0x3000u : 0;
    else fl |= (uint32_t)below(g, 4) << 12;
    if (chance(g, 1, 4)) fl |= 0x40000u;       /* AC */
    c->eflags = fl;
    static const uint16_t fcws[] = { 0x37f, 0x37f, 0x37f, 0x27f, 0x40, 0x372, 0xf7f, 0x37e };
    c->fcw = fcws[below(g, 8)];
    for (int p = 0; p < 3; p++) {
        uint32_t f = 0x7; /* P RW US */
        if (c->paging && chance(g, 1, 7)) {
            static const uint32_t alt[] = { 0x0, 0x5, 0x3, 0x1, 0x6 };
            f = alt[below(g, 5)];
        }
        c->pte_flags[p] = f;
    }
    for (uint32_t k = 0; k < FZ_DATA_LEN; k += 4) {
        uint32_t v = chance(g, 1, 4) ? rval(g) : rnd(g);
        memcpy(c->data + k, &v, 4);
    }
}

/* Place the instructions, resolve branch targets and self-modifying stores. */
static void layout(struct gen *g)
{
    struct fuzz_case *c = g->c;
    struct gi *end = new_insn(g);
    put(end, 0xf4); /* HLT: CPL 0 stops here; CPL 3 takes #GP */
    uint32_t off = 0;
    int n = 0;
    for (int k = 0; k < g->n; k++) {
        if (off + g->ins[k].n > FZ_MAX_CODE) break;
        c->insn_off[k] = (uint16_t)off;
        off += g->ins[k].n;
        n = k + 1;
    }
    c->insn_off[n] = (uint16_t)off;
    c->ninsn = n;
    c->code_len = off;
    uint32_t cs_base = g->flat ? FZ_CODE : 0; /* offsets are CS-relative; CS base is FZ_CODE in 16-bit modes */
    for (int k = 0; k < n; k++) {
        struct gi *i = &g->ins[k];
        if (i->fix != FIX_NONE) {
            int t = i->target;
            if (t >= n) t = n - 1;
            if (t < 0) t = 0;
            uint32_t v = 0;
            uint32_t next = c->insn_off[k] + i->n;
            if (i->fix == FIX_REL) {
                int32_t d = (int32_t)c->insn_off[t] - (int32_t)next;
                if (i->fix_size == 1 && (d < -128 || d > 127)) d = 0;
                v = (uint32_t)d;
            } else if (i->fix == FIX_ABS) {
                v = cs_base + c->insn_off[t];
            } else {
                v = FZ_CODE + c->insn_off[t] + g->ins[t].n - 1;
            }
            for (int b = 0; b < i->fix_size; b++) i->b[i->fix_at + b] = (uint8_t)(v >> (8 * b));
        }
        memcpy(c->code + c->insn_off[k], i->b, i->n);
    }
}

void fuzz_generate(struct fuzz_case *c, uint64_t seed)
{
    struct gen gs;
    struct gen *g = &gs;
    memset(c, 0, sizeof(*c));
    memset(g, 0, sizeof(*g));
    c->seed = seed;
    g->s = seed;
    g->c = c;
    init_state(g);
    int want = 20 + (int)below(g, 181);
    for (int k = 0; k < want && g->n < FZ_MAX_INSNS - 12; k++) one(g);
    layout(g);
    /* Half the paging cases run with global pages (the translator's linear
     * view at CPL 0). From the seed rather than the stream, so that every
     * other choice of a seed's case is what it was before this existed. */
    c->global = c->paging && ((seed * 0x9e3779b97f4a7c15ull) >> 63) != 0;
}
