/* Address-space guest: NS spaces (more than bt86 caches, see memory/tlb.h)
 * entered round robin by MOV CR3 while their page tables are edited: PTEs
 * of inactive spaces (no INVLPG: the next MOV CR3 must show them), PTEs of
 * the active space followed by INVLPG, a page table shared by two spaces,
 * PDEs of inactive spaces pointed at another table and back, and writes
 * through the mappings. Every read is checked against the architected value,
 * so the output is the same under any correct TLB (bt86's engines, QEMU).
 * A read after a PTE write without INVLPG in the active space is never made:
 * its result depends on the TLB model. */
#include "../lib/sys/sys.h"

#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_G 0x100u
#define CR4_PGE 0x80u

#define NS     6            /* address spaces */
#define NP     8            /* pages per space at LIN */
#define NF     24           /* data frames */
#define ROUNDS 150
#define LIN    0x40000000u  /* per-space table pts[s] (or alt[s]) */
#define LINSH  0x40400000u  /* table shared by spaces 0 and 1 */
#define LING   0x40800000u  /* a global page, the same in every space */

static uint32_t pd[NS][1024] __attribute__((aligned(4096)));
static uint32_t pts[NS][1024] __attribute__((aligned(4096)));
static uint32_t alt[NS][1024] __attribute__((aligned(4096)));
static uint32_t ptsh[1024] __attribute__((aligned(4096)));
static uint32_t ptg[1024] __attribute__((aligned(4096)));
static uint32_t pt0[1024] __attribute__((aligned(4096)));
static uint32_t frames[NF][1024] __attribute__((aligned(4096)));

/* What each mapping should give: frame index, or -1 (not present, not read). */
static int map[NS][NP], mapalt[NS][NP], mapsh[NP];
static int use_alt[NS];
static uint32_t seed = 12345, sum, errors, reads;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static uint32_t rd(uint32_t a)
{
    __asm__ volatile("" ::: "memory");
    return *(volatile uint32_t *)a;
}

static void wr(uint32_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
    __asm__ volatile("" ::: "memory");
}

static uint32_t pte(int f)
{
    return (uint32_t)frames[f] | PTE_P | PTE_W | PTE_U;
}

/* Page table entries are written with plain stores through the identity map. */
static void set_pte(uint32_t *pt, int i, int f)
{
    wr((uint32_t)&pt[i], pte(f));
}

static void expect(uint32_t got, uint32_t want)
{
    reads++;
    sum = sum * 31u + got;
    if (got != want) {
        if (errors < 8) printf("  mismatch: got %08x want %08x\n", got, want);
        errors++;
    }
}

/* The dword at offset off of frame f, as the guest last wrote it. */
static uint32_t frame_val(int f, uint32_t off)
{
    return frames[f][off / 4];
}

/* Read every present page of space s (active) and check it. */
static void check_space(int s)
{
    uint32_t off = (rnd() & 0x3ffu) * 4;
    for (int p = 0; p < NP; p++) {
        int f = use_alt[s] ? mapalt[s][p] : map[s][p];
        expect(rd(LIN + (uint32_t)p * 0x1000u + off), frame_val(f, off));
    }
    if (s < 2)
        for (int p = 0; p < NP; p++) expect(rd(LINSH + (uint32_t)p * 0x1000u + off), frame_val(mapsh[p], off));
    expect(rd(LING + off), frame_val(0, off));
}

static void build(void)
{
    for (unsigned i = 0; i < 1024; i++) pt0[i] = (i << 12) | PTE_P | PTE_W;
    for (int f = 0; f < NF; f++)
        for (unsigned i = 0; i < 1024; i++) frames[f][i] = 0xa0000000u | (uint32_t)f << 16 | i;
    for (int p = 0; p < NP; p++) {
        mapsh[p] = (p * 5) % NF;
        ptsh[p] = pte(mapsh[p]);
    }
    ptg[0] = (uint32_t)frames[0] | PTE_P | PTE_W | PTE_G;
    for (int s = 0; s < NS; s++) {
        pd[s][0] = (uint32_t)pt0 | PTE_P | PTE_W;
        pd[s][LIN >> 22] = (uint32_t)pts[s] | PTE_P | PTE_W | PTE_U;
        if (s < 2) pd[s][LINSH >> 22] = (uint32_t)ptsh | PTE_P | PTE_W | PTE_U;
        pd[s][LING >> 22] = (uint32_t)ptg | PTE_P | PTE_W;
        for (int p = 0; p < NP; p++) {
            map[s][p] = (s * 3 + p) % NF;
            mapalt[s][p] = (s * 7 + p * 2 + 1) % NF;
            pts[s][p] = pte(map[s][p]);
            alt[s][p] = pte(mapalt[s][p]);
        }
    }
}

/* Spaces 0..3 in turn (few enough for bt86 to keep them all), and every
 * fourth round spaces 4 and 5 too (evictions). */
static void round_robin(int round)
{
    for (int s = 0; s < NS; s++) {
        if (s >= 4 && round % 4) break;
        write_cr3((uint32_t)pd[s]);
        check_space(s);
        /* An inactive space's PTE: seen after its next MOV CR3. */
        int t = (s + 1 + round) % NS;
        if (t == s) t = (t + 1) % NS;
        int p = (int)(rnd() % NP), f = (int)(rnd() % NF);
        if (use_alt[t]) {
            mapalt[t][p] = f;
            set_pte(alt[t], p, f);
        } else {
            map[t][p] = f;
            set_pte(pts[t], p, f);
        }
        /* The active space's PTE, then INVLPG: the new frame at once. */
        p = (int)(rnd() % NP);
        f = (int)(rnd() % NF);
        if (use_alt[s]) {
            mapalt[s][p] = f;
            set_pte(alt[s], p, f);
        } else {
            map[s][p] = f;
            set_pte(pts[s], p, f);
        }
        invlpg(LIN + (uint32_t)p * 0x1000u);
        check_space(s);
        /* A write through the mapping lands in the frame. */
        uint32_t off = (rnd() & 0x3ffu) * 4, val = rnd();
        int wf = use_alt[s] ? mapalt[s][p] : map[s][p];
        wr(LIN + (uint32_t)p * 0x1000u + off, val);
        expect(frame_val(wf, off), val);
        /* The shared table: INVLPG only where it is in use. */
        p = (int)(rnd() % NP);
        mapsh[p] = (int)(rnd() % NF);
        set_pte(ptsh, p, mapsh[p]);
        if (s < 2) invlpg(LINSH + (uint32_t)p * 0x1000u);
        /* Every third step: an inactive space's PDE swaps tables. */
        if ((round + s) % 3 == 0) {
            int u = (s + 2) % NS;
            use_alt[u] = !use_alt[u];
            wr((uint32_t)&pd[u][LIN >> 22], (uint32_t)(use_alt[u] ? alt[u] : pts[u]) | PTE_P | PTE_W | PTE_U);
        }
        check_space(s);
    }
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    sys_init();
    printf("addrspace guest: %d address spaces, %d rounds\n", NS, ROUNDS);
    build();
    write_cr3((uint32_t)pd[0]);
    write_cr4(read_cr4() | CR4_PGE);
    write_cr0(read_cr0() | CR0_PG);
    check_true((read_cr0() & CR0_PG) != 0, "paging enabled");
    for (int r = 0; r < ROUNDS; r++) round_robin(r);
    check_u32(errors, 0, "round robin: every read gave the architected value");
    /* The global page moves: INVLPG in the current space is enough for all. */
    ptg[0] = (uint32_t)frames[1] | PTE_P | PTE_W | PTE_G;
    invlpg(LING);
    for (int s = 0; s < NS; s++) {
        write_cr3((uint32_t)pd[s]);
        expect(rd(LING + 8), frame_val(1, 8));
    }
    check_u32(errors, 0, "global page remapped with INVLPG, seen in every space");
    printf("reads %u checksum %08x\n", reads, sum);
    write_cr0(read_cr0() & ~CR0_PG);
    return check_finish();
}
