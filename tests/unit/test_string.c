/* Tests for the string family (cpu/exec_string.c): MOVS/CMPS/STOS/LODS/SCAS
 * in all sizes with REP prefixes, DF, 16-bit addressing, segment overrides,
 * the page-chunk fast path (against a reference element loop), host
 * comparison of CMPS/SCAS flags and counts, XLAT, and precise faults in the
 * middle of a REP (segment limit and #PF). */
#include "cpu_test_util.h"

#include "memory/paging.h"
#include "memory/tlb.h"

#define D HARNESS_DATA

static void fill_pattern(struct harness *h, uint32_t pa, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)((i * 7 + seed) ^ (i >> 8));
        harness_poke(h, pa + i, &b, 1);
    }
}

/* --- MOVS --- */

Test(string, movs_sizes_and_df)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xa4,             /* movsb */
        0x66, 0xa5,       /* movsw */
        0xa5,             /* movsd */
        0xfd,             /* std */
        0xa5,             /* movsd: back from ESI */
        0x66, 0xa5,       /* movsw */
        0xfc,             /* cld */
    };
    for (uint32_t i = 0; i < 16; i++) { uint8_t b = (uint8_t)(i + 1); harness_poke(h, D + i, &b, 1); }
    v->r[R_ESI] = D;
    v->r[R_EDI] = D + 0x100;
    v->eflags = F_FIXED1 | F_ZF | F_CF;
    RUN_OK(h, code);
    /* forward: 7 bytes copied; then a dword from ESI=D+7 to EDI=D+0x107, back 4; a word from D+3 to D+0x103 */
    cr_assert_eq(harness_read32(h, D + 0x100), 0x04030201);
    cr_assert_eq(peek16(h, D + 0x104), 0x0605);
    cr_assert_eq(harness_read32(h, D + 0x107), 0x0b0a0908);
    cr_assert_eq(peek16(h, D + 0x103), 0x0504);
    cr_assert_eq(v->r[R_ESI], D + 7 - 4 - 2);
    cr_assert_eq(v->r[R_EDI], D + 0x107 - 4 - 2);
    cr_assert_eq(v->eflags, F_FIXED1 | F_ZF | F_CF);
    harness_free(h);
}

/* Reference: REP MOVS element by element on a host copy of guest memory. */
static void ref_movs(uint8_t *ram, uint32_t si, uint32_t di, uint32_t count, unsigned esize, bool df)
{
    for (uint32_t i = 0; i < count; i++) {
        memmove(ram + di, ram + si, esize);
        si += df ? -esize : esize;
        di += df ? -esize : esize;
    }
}

static void check_rep_movs(unsigned esize, uint32_t si, uint32_t di, uint32_t count, bool df)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    uint8_t code[3];
    size_t n = 0;
    code[n++] = 0xf3;
    if (esize == 2) code[n++] = 0x66;
    code[n++] = esize == 1 ? 0xa4 : 0xa5;
    const uint32_t lo = D, len = 0x40000;
    fill_pattern(h, lo, len, si ^ di);
    uint8_t *ref = malloc(HARNESS_RAM);
    cr_assert_not_null(ref);
    harness_peek(h, 0, ref, HARNESS_RAM);
    ref_movs(ref, si, di, count, esize, df);
    v->r[R_ESI] = si;
    v->r[R_EDI] = di;
    v->r[R_ECX] = count;
    v->eflags = F_FIXED1 | (df ? F_DF : 0);
    cr_assert_eq(hrun(h, code, n), HR_DONE);
    uint32_t moved = count * esize;
    cr_assert_eq(v->r[R_ECX], 0);
    cr_assert_eq(v->r[R_ESI], df ? si - moved : si + moved);
    cr_assert_eq(v->r[R_EDI], df ? di - moved : di + moved);
    cr_assert_eq(memcmp(h->m.mem.ram + lo, ref + lo, len), 0,
                 "memory differs (esize %u si %#x di %#x count %u df %d)", esize, si, di, count, df);
    free(ref);
    harness_free(h);
}

Test(string, rep_movs_matches_element_loop)
{
    /* disjoint, page-crossing, unaligned */
    check_rep_movs(1, D + 0x0ff3, D + 0x8005, 0x2345, false);
    check_rep_movs(2, D + 0x0ff3, D + 0x8005, 0x1234, false);
    check_rep_movs(4, D + 0x0ffe, D + 0x9001, 0x1001, false);
    /* overlapping, destination ahead by less than the element: pattern replication */
    check_rep_movs(1, D + 0x100, D + 0x101, 0x1800, false);
    check_rep_movs(4, D + 0x100, D + 0x101, 0x700, false);
    check_rep_movs(2, D + 0xff0, D + 0xff6, 0x900, false);
    /* overlapping, destination behind */
    check_rep_movs(4, D + 0x2003, D + 0x2001, 0x900, false);
    /* DF=1 (element path) */
    check_rep_movs(1, D + 0x3000, D + 0x3008, 0x800, true);
    check_rep_movs(4, D + 0x5002, D + 0x7001, 0x800, true);
    /* count 0 */
    check_rep_movs(4, D, D + 0x100, 0, false);
}

Test(string, rep_movs_large_yields_and_completes)
{
    /* 1.5 MiB: more than one run-loop slice; the instruction resumes. */
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xf3, 0xa5 };
    const uint32_t src = 0x200000, dst = 0x400000, n = 0x60000;
    fill_pattern(h, src, n * 4, 3);
    v->r[R_ESI] = src;
    v->r[R_EDI] = dst;
    v->r[R_ECX] = n;
    uint64_t ic = v->icount;
    RUN_OK(h, code);
    cr_assert_gt(v->icount - ic, 1, "expected the REP to yield at least once");
    cr_assert_eq(v->r[R_ECX], 0);
    cr_assert_eq(v->r[R_ESI], src + n * 4);
    cr_assert_eq(v->r[R_EDI], dst + n * 4);
    cr_assert_eq(memcmp(h->m.mem.ram + src, h->m.mem.ram + dst, n * 4), 0);
    harness_free(h);
}

Test(string, movs_segment_override_and_es_destination)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x64, 0xa5,       /* movsd dword es:[edi], fs:[esi] */
        0xa5,             /* movsd from DS */
    };
    v->seg[S_FS].base = 0x1000;
    v->seg[S_ES].base = 0x3000;
    harness_write32(h, D + 0x1000, 0x11111111);
    harness_write32(h, D + 4, 0x22222222);
    v->r[R_ESI] = D;
    v->r[R_EDI] = D;
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, D + 0x3000), 0x11111111);
    cr_assert_eq(harness_read32(h, D + 0x3004), 0x22222222);
    harness_free(h);
}

/* --- STOS --- */

Test(string, rep_stos_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xf3, 0xab /* rep stosd */ };
    fill_pattern(h, D, 0x10000, 1);
    v->r[R_EAX] = 0xa1b2c3d4;
    v->r[R_EDI] = D + 0x0ffd;
    v->r[R_ECX] = 0x1003;
    RUN_OK(h, code);
    for (uint32_t i = 0; i < 0x1003; i++) cr_assert_eq(harness_read32(h, D + 0x0ffd + 4 * i), 0xa1b2c3d4, "dword %u", i);
    cr_assert_eq(peek8(h, D + 0x0ffc), (uint8_t)((0xffc * 7 + 1) ^ (0xffc >> 8)), "byte before untouched");
    cr_assert_eq(v->r[R_EDI], D + 0x0ffd + 4 * 0x1003);
    cr_assert_eq(v->r[R_ECX], 0);

    static const uint8_t code2[] = { 0xfd, 0x66, 0xf3, 0xab /* std; rep stosw */, 0xfc };
    v->r[R_EDI] = D + 0x20000;
    v->r[R_ECX] = 3;
    RUN_OK(h, code2);
    cr_assert_eq(peek16(h, D + 0x20000), 0xc3d4);
    cr_assert_eq(peek16(h, D + 0x1fffe), 0xc3d4);
    cr_assert_eq(peek16(h, D + 0x1fffc), 0xc3d4);
    cr_assert_eq(v->r[R_EDI], D + 0x20000 - 6);

    static const uint8_t code3[] = { 0xf2, 0xaa /* repne stosb: F2 acts as REP */ };
    v->r[R_EDI] = D + 0x30000;
    v->r[R_ECX] = 5;
    RUN_OK(h, code3);
    cr_assert_eq(harness_read32(h, D + 0x30000), 0xd4d4d4d4);
    cr_assert_eq(peek8(h, D + 0x30004), 0xd4);
    cr_assert_eq(v->r[R_ECX], 0);

    /* A zero dword fill (clear_page's form) and a forward word fill. */
    v->r[R_EAX] = 0;
    v->r[R_EDI] = D + 0x8002;
    v->r[R_ECX] = 0x401;
    RUN_OK(h, code);
    for (uint32_t i = 0; i < 0x401; i++) cr_assert_eq(harness_read32(h, D + 0x8002 + 4 * i), 0, "dword %u", i);
    cr_assert_eq(peek8(h, D + 0x9006), (uint8_t)((0x9006 * 7 + 1) ^ (0x9006 >> 8)), "byte after untouched");
    static const uint8_t code4[] = { 0x66, 0xf3, 0xab /* rep stosw */ };
    v->r[R_EAX] = 0x12345678;
    v->r[R_EDI] = D + 0x50ffe;
    v->r[R_ECX] = 3;
    RUN_OK(h, code4);
    cr_assert_eq(peek16(h, D + 0x50ffe), 0x5678);
    cr_assert_eq(peek16(h, D + 0x51000), 0x5678);
    cr_assert_eq(peek16(h, D + 0x51002), 0x5678);
    cr_assert_eq(v->r[R_EDI], D + 0x51004);
    harness_free(h);
}

Test(string, stos_16bit_addressing_wraps_di_and_keeps_upper)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x67, 0xf3, 0xaa /* rep stosb with DI/CX */ };
    v->seg[S_ES].base = D;
    v->r[R_EAX] = 0x5a;
    v->r[R_EDI] = 0xabcdfffe;
    v->r[R_ECX] = 0x12340004;
    RUN_OK(h, code);
    cr_assert_eq(peek16(h, D + 0xfffe), 0x5a5a);
    cr_assert_eq(peek16(h, D + 0x0000), 0x5a5a);
    cr_assert_eq(peek8(h, D + 0x10000), 0);
    cr_assert_eq(v->r[R_EDI], 0xabcd0002);
    cr_assert_eq(v->r[R_ECX], 0x12340000);
    harness_free(h);
}

/* --- LODS --- */

Test(string, lods_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xac,             /* lodsb */
        0x89, 0xc3,       /* mov ebx, eax */
        0x66, 0xad,       /* lodsw */
        0x89, 0xc2,       /* mov edx, eax */
        0xad,             /* lodsd */
        0xf3, 0xac,       /* rep lodsb (ECX=2) */
    };
    for (uint32_t i = 0; i < 16; i++) { uint8_t b = (uint8_t)(0x10 + i); harness_poke(h, D + i, &b, 1); }
    v->r[R_EAX] = 0xffffffff;
    v->r[R_ESI] = D;
    v->r[R_ECX] = 2;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EBX], 0xffffff10);
    cr_assert_eq(v->r[R_EDX], 0xffff1211);
    cr_assert_eq(v->r[R_EAX], 0x16151418); /* lodsd gave 0x16151413, then AL = 0x17, 0x18 */
    cr_assert_eq(v->r[R_ESI], D + 9);
    cr_assert_eq(v->r[R_ECX], 0);
    harness_free(h);
}

/* --- CMPS / SCAS against the host --- */

struct host_rep { uint32_t flags; uint64_t count; int64_t si_moved, di_moved; };

#define HOST_STR(name, insn)                                                                       \
    static struct host_rep name(const void *s, const void *d, uint64_t count, uint64_t acc)        \
    {                                                                                              \
        const char *si = s, *di = d;                                                               \
        uint64_t c = count, a = acc, fl;                                                           \
        __asm__ volatile(HOST_FLAGS_ASM(insn)                                                      \
                         : [fl] "=&r"(fl), "+S"(si), "+D"(di), "+c"(c), "+a"(a)                     \
                         :                                                                         \
                         : "cc", "memory");                                                        \
        return (struct host_rep){ (uint32_t)fl & ARITH, c, si - (const char *)s, di - (const char *)d }; \
    }
HOST_STR(host_repe_cmpsb, "repe cmpsb")
HOST_STR(host_repne_cmpsw, "repne cmpsw")
HOST_STR(host_repe_cmpsd, "repe cmpsl")
HOST_STR(host_repne_scasb, "repne scasb")
HOST_STR(host_repe_scasw, "repe scasw")
HOST_STR(host_repne_scasd, "repne scasl")
HOST_STR(host_cmpsb, "cmpsb")
HOST_STR(host_scasd, "scasl")

typedef struct host_rep (*host_str_fn)(const void *, const void *, uint64_t, uint64_t);

static void check_str_vs_host(const uint8_t *code, size_t clen, host_str_fn host, const uint8_t *a, const uint8_t *b,
                              size_t len, uint32_t count, uint32_t acc, uint32_t start_flags)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    harness_poke(h, D, a, len);
    harness_poke(h, D + 0x1000, b, len);
    v->r[R_ESI] = D;
    v->r[R_EDI] = D + 0x1000;
    v->r[R_ECX] = count;
    v->r[R_EAX] = acc;
    v->eflags = F_FIXED1 | start_flags;
    cr_assert_eq(hrun(h, code, clen), HR_DONE);
    /* SCAS: the host compares the accumulator with [RDI] = b */
    struct host_rep r = host(a, b, count, acc);
    bool rep = memchr(code, 0xf3, clen) || memchr(code, 0xf2, clen);
    uint32_t expect_flags = rep && count == 0 ? (start_flags & ARITH) : r.flags; /* nothing ran */
    cr_assert_eq(v->eflags & ARITH, expect_flags, "%02x %02x: flags %#x host %#x", code[0], code[clen - 1],
                 v->eflags & ARITH, expect_flags);
    cr_assert_eq(v->r[R_ECX], (uint32_t)r.count, "%02x %02x: ECX %u host %u", code[0], code[clen - 1], v->r[R_ECX],
                 (uint32_t)r.count);
    cr_assert_eq(v->r[R_ESI], D + (uint32_t)r.si_moved);
    cr_assert_eq(v->r[R_EDI], D + 0x1000 + (uint32_t)r.di_moved);
    cr_assert_eq(v->r[R_EAX], acc);
    harness_free(h);
}

Test(string, cmps_vs_host)
{
    uint8_t a[64], b[64];
    for (int i = 0; i < 64; i++) a[i] = b[i] = (uint8_t)(i * 13 + 1);
    static const uint8_t repe_cmpsb[] = { 0xf3, 0xa6 }, repne_cmpsw[] = { 0x66, 0xf2, 0xa7 },
                         repe_cmpsd[] = { 0xf3, 0xa7 }, cmpsb[] = { 0xa6 };
    /* all equal: runs out of count */
    check_str_vs_host(repe_cmpsb, 2, host_repe_cmpsb, a, b, 64, 40, 0, 0);
    /* count 0: nothing happens, flags kept */
    check_str_vs_host(repe_cmpsb, 2, host_repe_cmpsb, a, b, 64, 0, 0, F_CF | F_OF);
    b[5] = 0x80;
    a[5] = 0x7f;
    check_str_vs_host(repe_cmpsb, 2, host_repe_cmpsb, a, b, 64, 40, 0, 0);
    check_str_vs_host(repe_cmpsd, 2, host_repe_cmpsd, a, b, 64, 10, 0, 0);
    check_str_vs_host(cmpsb, 1, host_cmpsb, a + 5, b + 5, 8, 7, 0, 0);
    /* REPNE: stops at the first equal word */
    uint8_t c[64], d[64];
    for (int i = 0; i < 64; i++) { c[i] = (uint8_t)i; d[i] = (uint8_t)(i + 1); }
    d[20] = 20; d[21] = 21;
    check_str_vs_host(repne_cmpsw, 3, host_repne_cmpsw, c, d, 64, 30, 0, 0);
}

Test(string, scas_vs_host)
{
    uint8_t b[64], unused[64] = { 0 };
    for (int i = 0; i < 64; i++) b[i] = (uint8_t)(0x40 + i);
    static const uint8_t repne_scasb[] = { 0xf2, 0xae }, repe_scasw[] = { 0x66, 0xf3, 0xaf },
                         repne_scasd[] = { 0xf2, 0xaf }, scasd[] = { 0xaf };
    check_str_vs_host(repne_scasb, 2, host_repne_scasb, unused, b, 64, 64, 0x12345657, 0);  /* found at 0x17 */
    check_str_vs_host(repne_scasb, 2, host_repne_scasb, unused, b, 64, 64, 0x000000ff, 0);  /* not found */
    check_str_vs_host(repe_scasw, 3, host_repe_scasw, unused, b, 64, 20, 0xaaaa4140, 0);   /* 1 equal, then differs */
    check_str_vs_host(repne_scasd, 2, host_repne_scasd, unused, b, 64, 10, 0x4b4a4948, 0); /* third dword */
    check_str_vs_host(scasd, 1, host_scasd, unused, b, 64, 5, 1, 0);
    check_str_vs_host(scasd, 1, host_scasd, unused, b, 64, 5, 0x43424140, ARITH);
}

/* --- XLAT --- */

Test(string, xlat_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xd7 /* xlatb */, 0x88, 0xc1 /* mov cl, al */, 0x26, 0xd7 /* es: xlatb */ };
    for (uint32_t i = 0; i < 256; i++) {
        uint8_t x = (uint8_t)(255 - i), y = (uint8_t)(i ^ 0x5a);
        harness_poke(h, D + i, &x, 1);
        harness_poke(h, D + 0x1000 + i, &y, 1);
    }
    v->seg[S_ES].base = 0x1000;
    v->r[R_EBX] = D;
    v->r[R_EAX] = 0x123456f0;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_ECX] & 0xff, 0x0f);           /* DS:[D + 0xf0] = 255 - 0xf0 */
    cr_assert_eq(v->r[R_EAX], 0x12345600u | (0x0f ^ 0x5a)); /* ES:[D + 0x0f] */
    harness_free(h);
}

Test(string, xlat_16bit_address_wraps)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xd7 /* xlatb: [BX + AL] & 0xffff */ };
    v->seg[S_DS].base = D;
    uint8_t x = 0x77;
    harness_poke(h, D + 0x0010, &x, 1);
    v->r[R_EBX] = 0x0001fff0;  /* only BX counts */
    v->r[R_EAX] = 0x20;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0x77);
    harness_free(h);
}

/* --- faults in the middle of a REP --- */

Test(string, rep_movs_segment_limit_fault_mid_way)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x90, 0xf3, 0xa5 /* rep movsd */ };
    v->seg[S_DS].limit = D + 0x1f; /* 8 dwords readable from D */
    seg_cache_refresh(&v->seg[S_DS], true);
    fill_pattern(h, D, 0x40, 9);
    v->r[R_ESI] = D;
    v->r[R_EDI] = D + 0x1000;
    v->r[R_ECX] = 16;
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, HARNESS_CODE + 1);
    cr_assert_eq(v->r[R_ECX], 8);
    cr_assert_eq(v->r[R_ESI], D + 0x20);
    cr_assert_eq(v->r[R_EDI], D + 0x1020);
    cr_assert_eq(memcmp(h->m.mem.ram + D, h->m.mem.ram + D + 0x1000, 0x20), 0);
    cr_assert_eq(harness_read32(h, D + 0x1020), 0, "the faulting element was not stored");
    harness_free(h);
}

Test(string, rep_stos_16bit_limit_fault_prot16)
{
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x67, 0xf3, 0xaa /* rep stosb with EDI/ECX in 16-bit code */ };
    v->r[R_EAX] = 0xee;
    v->r[R_EDI] = 0xfff0;
    v->r[R_ECX] = 0x20;
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, 0);
    cr_assert_eq(v->r[R_ECX], 0x10);
    cr_assert_eq(v->r[R_EDI], 0x10000);
    cr_assert_eq(peek8(h, 0xffff), 0xee);
    harness_free(h);
}

/* Identity-map the low 16 MiB with 4 KiB pages, one page left not present. */
static void enable_paging_with_hole(struct harness *h, uint32_t hole)
{
    struct vcpu *v = h->v;
    const uint32_t pd = 0x100000, pt = 0x101000;
    for (uint32_t i = 0; i < 4; i++) harness_write32(h, pd + 4 * i, (pt + 0x1000 * i) | 3);
    for (uint32_t p = 0; p < HARNESS_RAM / 0x1000; p++)
        harness_write32(h, pt + 4 * p, p * 0x1000 == hole ? 0 : (p * 0x1000) | 3);
    v->cr3 = pd;
    v->cr0 |= CR0_PG;
    tlb_flush_all(&v->tlb);
    cpu_update_mode(v);
}

Test(string, rep_movs_page_fault_mid_way)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xf3, 0xa4 /* rep movsb */ };
    enable_paging_with_hole(h, D + 0x3000);
    fill_pattern(h, D + 0x2000, 0x2000, 5);
    v->r[R_ESI] = D + 0x2ff0;
    v->r[R_EDI] = D + 0x5000;
    v->r[R_ECX] = 0x20;
    expect_exc(h, hrun(h, code, sizeof code), EXC_PF, 0 /* read, not present, supervisor */, HARNESS_CODE);
    cr_assert_eq(v->cr2, D + 0x3000);
    cr_assert_eq(v->r[R_ECX], 0x10);
    cr_assert_eq(v->r[R_ESI], D + 0x3000);
    cr_assert_eq(v->r[R_EDI], D + 0x5010);
    cr_assert_eq(memcmp(h->m.mem.ram + D + 0x2ff0, h->m.mem.ram + D + 0x5000, 0x10), 0);
    harness_free(h);
}

Test(string, rep_stos_page_fault_on_write)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xf3, 0xab /* rep stosd */ };
    enable_paging_with_hole(h, D + 0x4000);
    v->r[R_EAX] = 0x01020304;
    v->r[R_EDI] = D + 0x3ffe;  /* the first dword straddles into the hole */
    v->r[R_ECX] = 3;
    expect_exc(h, hrun(h, code, sizeof code), EXC_PF, PF_W, HARNESS_CODE);
    cr_assert_eq(v->cr2, D + 0x4000);
    cr_assert_eq(v->r[R_ECX], 3);
    cr_assert_eq(v->r[R_EDI], D + 0x3ffe);
    cr_assert_eq(peek16(h, D + 0x3ffe), 0, "nothing written by the faulting element");
    harness_free(h);
}

Test(string, rep_stos_over_following_code_is_seen)
{
    /* Self-modifying: the REP overwrites the next instruction with NOPs. */
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xf3, 0xaa /* rep stosb */, 0xb0, 0x01 /* mov al, 1 */ };
    v->r[R_EAX] = 0x90;
    v->r[R_EDI] = HARNESS_CODE + 2;
    v->r[R_ECX] = 2;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0x90, "the stale MOV must not run");
    cr_assert_eq(peek16(h, HARNESS_CODE + 2), 0x9090);
    harness_free(h);
}

/* Inside one decoded block run by cpu_run (not stepped one by one): the
 * records after a REP must not run early, whether the REP modified them or
 * yielded to the run loop. */
Test(string, rep_smc_inside_block_with_cpu_run)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xf3, 0xaa,                               /* rep stosb over the next 2 bytes */
        0xb0, 0x01,                               /* mov al, 1 (overwritten with NOPs) */
        0xf4,                                     /* hlt (IF=0: the run stops) */
    };
    harness_poke(h, HARNESS_CODE, code, sizeof code);
    v->eip = HARNESS_CODE;
    v->r[R_EAX] = 0x90;
    v->r[R_EDI] = HARNESS_CODE + 2;
    v->r[R_ECX] = 2;
    cr_assert_eq(cpu_run(v, 1000), STOP_HALT_FOREVER);
    cr_assert_eq(v->eip, HARNESS_CODE + 5);
    cr_assert_eq(v->r[R_EAX], 0x90, "stale MOV AL,1 ran");
    harness_free(h);
}

Test(string, rep_yield_inside_block_with_cpu_run)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xbf, 0x00, 0x00, 0x10, 0x00,             /* mov edi, 0x100000 */
        0xb9, 0x00, 0x00, 0x02, 0x00,             /* mov ecx, 0x20000 (512 KiB: yields) */
        0xf3, 0xab,                               /* rep stosd */
        0x89, 0xc8,                               /* mov eax, ecx: must see 0 */
        0xf4,                                     /* hlt */
    };
    harness_poke(h, HARNESS_CODE, code, sizeof code);
    v->eip = HARNESS_CODE;
    v->r[R_EAX] = 0x5a5a5a5a;
    uint64_t ic = v->icount;
    cr_assert_eq(cpu_run(v, 100000), STOP_HALT_FOREVER);
    cr_assert_gt(v->icount - ic, 5, "the REP yielded");
    cr_assert_eq(v->eip, HARNESS_CODE + sizeof code);
    cr_assert_eq(v->r[R_EAX], 0);
    cr_assert_eq(v->r[R_EDI], 0x180000);
    cr_assert_eq(harness_read32(h, 0x17fffc), 0x5a5a5a5a);
    cr_assert_eq(harness_read32(h, 0x180000), 0);
    harness_free(h);
}

Test(string, movs_lods_real16_wrap_and_override)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xfd,                                     /* std */
        0x2e, 0xa5,                               /* movsw es:[di], cs:[si]: SI 0 -> 0xfffe, DI 0x10 -> 0x0e */
        0xfc,                                     /* cld */
        0x26, 0xac,                               /* lodsb al, es:[si] */
    };
    v->seg[S_ES].base = D;
    v->r[R_ESI] = 0x00030000;                     /* SI = 0 (upper half ignored and kept) */
    v->r[R_EDI] = 0x00000010;
    v->r[R_EAX] = 0;
    uint8_t mark = 0x5c;
    harness_poke(h, D + 0xfffe, &mark, 1);
    RUN_OK(h, code);
    /* CS base is HARNESS_CODE: the word at CS:0 is the code's first two bytes */
    cr_assert_eq(peek16(h, D + 0x10), 0x2efd);
    cr_assert_eq(v->r[R_EDI], 0x0000000e);
    cr_assert_eq(v->r[R_EAX], 0x5c);
    cr_assert_eq(v->r[R_ESI], 0x0003ffff);
    harness_free(h);
}

/* A long REP lets a pending interrupt in: it is taken between iterations with
 * the REP's own EIP saved and the registers at a consistent iteration. */
static int ack_count;
static int ack_once(struct machine *m, struct vcpu *v)
{
    (void)m;
    (void)v;
    return ack_count++ == 0 ? 0x40 : -1;
}

Test(string, rep_takes_pending_interrupt_mid_way)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xfb,                                     /* sti: the REP runs first (interrupt shadow) */
        0xf3, 0xab,                               /* rep stosd, 512 KiB */
    };
    harness_poke(h, HARNESS_CODE, code, sizeof code);
    ack_count = 0;
    h->m.irq_ack = ack_once;
    v->irq_req = 1;
    v->eip = HARNESS_CODE;
    v->r[R_EDI] = 0x100000;
    v->r[R_ECX] = 0x20000;
    v->r[R_EAX] = 0x11111111;
    /* The gate's handler is a HLT stub; the interrupt gate cleared IF: the run stops there. */
    cr_assert_eq(cpu_run(v, 100000), STOP_HALT_FOREVER);
    cr_assert_eq(ack_count, 1);
    cr_assert_eq(v->eip, HARNESS_STUBS + 0x40 * 8 + 1);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE + 1, "saved EIP is the REP itself");
    uint32_t left = v->r[R_ECX];
    cr_assert(left > 0 && left < 0x20000, "ECX %#x: interrupted mid-way", left);
    cr_assert_eq(v->r[R_EDI], 0x100000 + (0x20000 - left) * 4);
    cr_assert_eq(harness_read32(h, v->r[R_EDI] - 4), 0x11111111);
    cr_assert_eq(harness_read32(h, v->r[R_EDI]), 0);
    harness_free(h);
}
