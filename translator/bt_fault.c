/* Faults of accesses through the physical view (memory/phys_view.c). With
 * paging off, translated code reads and writes guest memory at view +
 * address with no bounds check; a page that is not plain RAM (MMIO, ROM,
 * past the end of RAM, the guard after 4 GiB) faults, and so does a write
 * to a page holding decoded code (read-only in the view). The faulting
 * instruction is always one the translator registered as a site
 * (bt_gen.c, gen_view_probe): a probe load or store (the store puts back
 * the bytes its load just read), or the guest instruction's own single
 * host instruction where view_fuse dropped the probe. Either comes before
 * anything of its guest instruction takes effect (a faulting instruction
 * has none), so the handler moves RIP to that access's cold path — the
 * fallback, which runs the whole instruction through the interpreter's
 * handler (MMIO, ROM, unassigned memory; a write to code drops the code
 * first) — exactly as a failed bounds check would have jumped there. A
 * site that keeps faulting (a device register polled in a loop) gets its
 * probe's MOVABS patched into a jump to the cold path: a signal costs
 * microseconds. Any other fault is not ours and goes to the handler that
 * was installed before (or the default action). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "translator/bt_internal.h"

#define REG_MAX 64

static struct bt_vcpu *registry[REG_MAX];
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static struct sigaction previous;
static bool installed;

static struct bt_fault_site *find_site(struct bt_vcpu *bt, uint32_t at)
{
    uint32_t lo = 0, hi = bt->nsites;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (bt->sites[mid].at < at) lo = mid + 1;
        else hi = mid;
    }
    return lo < bt->nsites && bt->sites[lo].at == at ? &bt->sites[lo] : NULL;
}

/* Is addr inside the 4 GiB view at base (NULL: none)? *off = its offset. */
static bool in_view(const uint8_t *base, uintptr_t addr, uint32_t *off)
{
    if (!base || addr < (uintptr_t)base || addr - (uintptr_t)base >= PHYS_VIEW_SIZE) return false;
    *off = (uint32_t)(addr - (uintptr_t)base); /* (in the guard past 4 GiB it wraps: only a TLB lookup key) */
    return true;
}

/* How much a fault at linear address lin counts towards patching its site.
 * Linear view: all the way at once when the TLB holds the page as a
 * non-global supervisor entry — a user page the kernel touches, which the
 * view never maps, so the site will go on missing it. User view: nothing
 * when the TLB lacks the page — a first use, which the refill maps; a loop
 * streaming through fresh pages must not lose the view for that. */
static uint32_t fault_weight(const struct bt_vcpu *bt, bool lview, bool uview, uint32_t lin)
{
    const struct tlb *t = &bt->v->tlb;
    if (lview && tlb_holds(t, TLB_VIEW_SUP, lin) && !tlb_is_global(t, TLB_VIEW_SUP, lin)) return BT_VIEW_FAULTS_MAX;
    if (uview && !tlb_holds(t, TLB_VIEW_USER, lin)) return 0;
    return 1;
}

static bool redirect(siginfo_t *si, ucontext_t *uc)
{
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t addr = (uintptr_t)si->si_addr;
    for (int i = 0; i < REG_MAX; i++) {
        struct bt_vcpu *bt = __atomic_load_n(&registry[i], __ATOMIC_ACQUIRE);
        if (!bt || rip < (uintptr_t)bt->cache || rip >= (uintptr_t)bt->cache + bt->cache_size) continue;
        uint32_t off = 0;
        bool lview = in_view(bt->lview.base, addr, &off), uview = !lview && in_view(bt->uview.base, addr, &off);
        if (!lview && !uview && !in_view(bt->view, addr, &off)) return false;
        struct bt_fault_site *s = find_site(bt, (uint32_t)(rip - (uintptr_t)bt->cache));
        if (!s) return false;
        bt->st.view_faults++;
        uint32_t was = s->faults, w = fault_weight(bt, lview, uview, off);
        s->faults = was + w < BT_VIEW_FAULTS_MAX ? was + w : BT_VIEW_FAULTS_MAX;
        if (was < BT_VIEW_FAULTS_MAX && s->faults == BT_VIEW_FAULTS_MAX) {
            /* jmp rel32 over the first 5 bytes of the probe's MOVABS */
            uint8_t *at = bt->cache + s->start;
            int32_t rel = (int32_t)(s->cold - (s->start + 5));
            at[0] = 0xe9;
            memcpy(at + 1, &rel, 4);
            bt->st.view_sites_patched++;
        }
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)(bt->cache + s->cold);
        return true;
    }
    return false;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    if (redirect(si, ctx)) return;
    /* Not a view access: whoever handled SIGSEGV before us (the console's
     * terminal restore, a sanitizer's report), then the default action when
     * the instruction faults again (reset first: a handler that returns
     * must not bring us back here forever). */
    signal(sig, SIG_DFL);
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) previous.sa_sigaction(sig, si, ctx);
    else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) previous.sa_handler(sig);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    installed = sigaction(SIGSEGV, &sa, &previous) == 0;
}

bool bt_fault_register(struct bt_vcpu *bt)
{
    pthread_once(&install_once, install);
    if (!installed) return false;
    bool ok = false;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < REG_MAX && !ok; i++) {
        if (registry[i]) continue;
        __atomic_store_n(&registry[i], bt, __ATOMIC_RELEASE);
        ok = true;
    }
    pthread_mutex_unlock(&reg_lock);
    return ok;
}

void bt_fault_unregister(struct bt_vcpu *bt)
{
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < REG_MAX; i++)
        if (registry[i] == bt) __atomic_store_n(&registry[i], NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&reg_lock);
    free(bt->sites);
    bt->sites = NULL;
    bt->nsites = bt->cap_sites = 0;
}

bool bt_fault_reserve(struct bt_vcpu *bt, uint32_t n)
{
    if (bt->nsites + n <= bt->cap_sites) return true;
    /* (Only this vCPU's thread runs its code, so no handler reads the array
     * while it moves.) */
    uint32_t cap = bt->cap_sites ? bt->cap_sites : 1024;
    while (cap < bt->nsites + n) cap *= 2;
    struct bt_fault_site *p = realloc(bt->sites, cap * sizeof(*p));
    if (!p) return false;
    bt->sites = p;
    bt->cap_sites = cap;
    return true;
}

static int by_at(const void *a, const void *b)
{
    uint32_t x = ((const struct bt_fault_site *)a)->at, y = ((const struct bt_fault_site *)b)->at;
    return (x > y) - (x < y);
}

void bt_fault_add_sites(struct bt_vcpu *bt, const struct bt_fault_site *s, uint32_t n)
{
    if (n == 0) return;
    memcpy(bt->sites + bt->nsites, s, n * sizeof(*s));
    uint32_t from = bt->nsites ? bt->nsites - 1 : 0;
    bt->nsites += n;
    /* Translations are laid out in order, so this is sorted already; keep
     * the binary search right regardless. */
    for (uint32_t i = from; i + 1 < bt->nsites; i++)
        if (bt->sites[i].at >= bt->sites[i + 1].at) {
            qsort(bt->sites, bt->nsites, sizeof(*bt->sites), by_at);
            return;
        }
}
