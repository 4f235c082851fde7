/* VMM dispatch: the callout table built from cpu/vmm_callouts.def, libffi call
 * interfaces made from its signature strings, and exit accounting. vmm_call
 * is the one door into the VMM for every engine; -stats timing and -trace
 * hang off it (cpu/vmm_observe.c) when v->obs is set. */
#include "cpu/vmm.h"

#include <ffi.h>
#include <stdio.h>
#include <string.h>

#include "cpu/vcpu.h"
#include "cpu/vmm_trace.h"

const struct vmm_callout vmm_callouts[VMM_CALLOUT_COUNT] = {
#define VMM_CALLOUT(name, reason, sig) { #name, EXIT_##reason, sig, (void (*)(void))vmm_##name },
#include "cpu/vmm_callouts.def"
#undef VMM_CALLOUT
};

#define VMM_MAX_ARGS 6

/* The handler types the signature strings name, for calling a handler
 * directly through a pointer of its own type when nothing observes the
 * vCPU (vmm_call); libffi's argument marshalling costs ~15-20 ns an entry,
 * a fifth of a SYSENTER/SYSEXIT round trip. KIND_FFI (0, also before
 * vmm_init): a signature with no direct form, called through libffi. */
enum call_kind { KIND_FFI, KIND_V_P, KIND_V_PI, KIND_V_PII, KIND_V_PIII, KIND_V_PIIII, KIND_I_P, KIND_I_PI,
                 KIND_I_PII, KIND_Q_PI };
static const char *const kind_sig[] = { "", "v:p", "v:pi", "v:pii", "v:piii", "v:piiii", "i:p", "i:pi", "i:pii", "q:pi" };
static unsigned char kinds[VMM_CALLOUT_COUNT];

static ffi_cif cifs[VMM_CALLOUT_COUNT];
static ffi_type *arg_types[VMM_CALLOUT_COUNT][VMM_MAX_ARGS];
static int nargs[VMM_CALLOUT_COUNT];
static int ready;

static ffi_type *sig_type(char c)
{
    switch (c) {
    case 'v': return &ffi_type_void;
    case 'i': return &ffi_type_uint32;
    case 'q': return &ffi_type_uint64;
    case 'p': return &ffi_type_pointer;
    default: return NULL;
    }
}

int vmm_init(void)
{
    if (ready) return 0;
    for (int i = 0; i < VMM_CALLOUT_COUNT; i++) {
        const char *s = vmm_callouts[i].sig;
        ffi_type *ret = sig_type(s[0]);
        if (!ret || s[1] != ':' || s[2] != 'p') goto bad;
        int n = 0;
        for (const char *a = s + 2; *a; a++) {
            ffi_type *t = sig_type(*a);
            if (!t || t == &ffi_type_void || n == VMM_MAX_ARGS) goto bad;
            arg_types[i][n++] = t;
        }
        nargs[i] = n;
        if (ffi_prep_cif(&cifs[i], FFI_DEFAULT_ABI, (unsigned)n, ret, arg_types[i]) != FFI_OK) goto bad;
        for (unsigned k = 1; k < sizeof(kind_sig) / sizeof(kind_sig[0]); k++)
            if (!strcmp(s, kind_sig[k])) kinds[i] = (unsigned char)k;
        continue;
    bad:
        fprintf(stderr, "bt86: bad VMM callout signature %s \"%s\"\n", vmm_callouts[i].name, s);
        return -1;
    }
    ready = 1;
    return 0;
}

void vmm_count(struct vcpu *v, enum exit_reason r)
{
    v->exits[r]++;
}

uint64_t vmm_invoke(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args)
{
    void *values[VMM_MAX_ARGS];
    uint32_t a32[VMM_MAX_ARGS];
    uint64_t a64[VMM_MAX_ARGS];
    const char *sig = vmm_callouts[id].sig;
    values[0] = &v;
    for (int k = 1; k < nargs[id]; k++) {
        if (sig[2 + k] == 'q') { a64[k] = args[k - 1]; values[k] = &a64[k]; }
        else { a32[k] = args[k - 1]; values[k] = &a32[k]; }
    }
    /* libffi widens integer results to ffi_arg. */
    ffi_arg ret = 0;
    uint64_t ret64 = 0;
    if (sig[0] == 'q') {
        ffi_call(&cifs[id], vmm_callouts[id].fn, &ret64, values);
        return ret64;
    }
    ffi_call(&cifs[id], vmm_callouts[id].fn, &ret, values);
    return sig[0] == 'v' ? 0 : (uint32_t)ret;
}

/* The handler called through a pointer of its own type (see kinds). */
static uint64_t invoke_direct(struct vcpu *v, enum vmm_callout_id id, const uint32_t *a)
{
    void (*fn)(void) = vmm_callouts[id].fn;
    switch (kinds[id]) {
    case KIND_V_P: ((void (*)(struct vcpu *))fn)(v); return 0;
    case KIND_V_PI: ((void (*)(struct vcpu *, uint32_t))fn)(v, a[0]); return 0;
    case KIND_V_PII: ((void (*)(struct vcpu *, uint32_t, uint32_t))fn)(v, a[0], a[1]); return 0;
    case KIND_V_PIII: ((void (*)(struct vcpu *, uint32_t, uint32_t, uint32_t))fn)(v, a[0], a[1], a[2]); return 0;
    case KIND_V_PIIII:
        ((void (*)(struct vcpu *, uint32_t, uint32_t, uint32_t, uint32_t))fn)(v, a[0], a[1], a[2], a[3]);
        return 0;
    case KIND_I_P: return ((uint32_t (*)(struct vcpu *))fn)(v);
    case KIND_I_PI: return ((uint32_t (*)(struct vcpu *, uint32_t))fn)(v, a[0]);
    case KIND_I_PII: return ((uint32_t (*)(struct vcpu *, uint32_t, uint32_t))fn)(v, a[0], a[1]);
    case KIND_Q_PI: return ((uint64_t (*)(struct vcpu *, uint32_t))fn)(v, a[0]);
    default: return vmm_invoke(v, id, a);
    }
}

/* The one door into the VMM for both engines: -stats timing and -trace
 * (cpu/vmm_observe.c) hook in here and nowhere else. Observed entries go
 * through libffi (vmm_invoke); the others call the handler directly. */
uint64_t vmm_call(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args)
{
    if (__builtin_expect(v->obs != NULL, 0)) return vmm_call_observed(v, id, args);
    vmm_count(v, vmm_callouts[id].reason);
    return invoke_direct(v, id, args);
}
