/* Setting up the shared machine: memory, I/O bus, decoder, decode cache, vCPUs. */
#include "cpu/machine.h"

#include <stdio.h>
#include <string.h>

#include "cpu/decode.h"
#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

/* A page now holds decoded code: no vCPU may write it through the TLB fast path. */
static void revoke_code_page(void *opaque, const uint8_t *host_page)
{
    struct machine *m = opaque;
    for (int i = 0; i < m->ncpu; i++) tlb_revoke_write(&m->cpu[i]->tlb, host_page);
}

static void code_written(void *opaque, uint32_t pa, unsigned size)
{
    struct machine *m = opaque;
    if (m->code_lock) pthread_mutex_lock(m->code_lock);
    dcache_invalidate(m->dcache, pa, size);
    if (m->code_lock) pthread_mutex_unlock(m->code_lock);
    /* The running block may have been dropped: every vCPU re-looks up its
     * block, and each engine drops what it derived from the page. (Atomic:
     * with -smp threads the other vCPUs run on other host threads.) */
    for (int i = 0; i < m->ncpu; i++) {
        struct vcpu *v = m->cpu[i];
        __atomic_or_fetch(&v->req, REQ_BLOCK_END, __ATOMIC_SEQ_CST);
        if (v->code_written) v->code_written(v, pa, size);
    }
}

int machine_init(struct machine *m, uint32_t ram_bytes, int ncpu)
{
    memset(m, 0, sizeof(*m));
    if (ncpu < 1 || ncpu > MAX_VCPUS) {
        fprintf(stderr, "bt86: %d vCPUs requested; 1 to %d are supported\n", ncpu, MAX_VCPUS);
        return -1;
    }
    if (vmm_init() != 0) return -1;
    interp_init();
    if (phys_init(&m->mem, ram_bytes) != 0) {
        fprintf(stderr, "bt86: cannot allocate %u MiB of guest RAM\n", ram_bytes >> 20);
        return -1;
    }
    iobus_init(&m->io);
    m->a20_mask = 0xffffffffu;
    m->decoder = decoder_new();
    if (!m->decoder) {
        fprintf(stderr, "bt86: cannot open the Capstone x86 decoder\n");
        machine_destroy(m);
        return -1;
    }
    m->dcache = dcache_new(&m->mem, revoke_code_page, m);
    m->mem.on_code_write = code_written;
    m->mem.code_write_opaque = m;
    for (int i = 0; i < ncpu; i++) {
        m->cpu[i] = vcpu_new(m, i);
        if (!m->cpu[i] || !m->dcache) {
            fprintf(stderr, "bt86: out of memory creating vCPU %d\n", i);
            machine_destroy(m);
            return -1;
        }
        m->ncpu = i + 1;
    }
    return 0;
}

void machine_destroy(struct machine *m)
{
    for (int i = 0; i < m->ncpu; i++) vcpu_free(m->cpu[i]);
    m->ncpu = 0;
    if (m->dcache) dcache_free(m->dcache);
    m->dcache = NULL;
    if (m->decoder) decoder_free(m->decoder);
    m->decoder = NULL;
    phys_destroy(&m->mem);
}

void machine_set_a20(struct machine *m, bool enabled)
{
    uint32_t mask = enabled ? 0xffffffffu : 0xffefffffu;
    if (mask == m->a20_mask) return;
    m->a20_mask = mask;
    for (int i = 0; i < m->ncpu; i++) tlb_flush_all(&m->cpu[i]->tlb);
}
