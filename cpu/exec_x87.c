/* Interpreter handlers: the x87 FPU, FWAIT, FXSAVE/FXRSTOR.
 *
 * The guest's x87 state lives in v->fxstate (FXSAVE layout). Arithmetic is done
 * by the host FPU, which is the oracle for x87 results: the guest image is
 * loaded with FXRSTOR, the same instruction (same opcode and ModRM, with the
 * memory operand rewritten to [rdi] pointing at a host copy) runs from a table
 * of stubs, and FXSAVE stores the result back; the host's own state is saved
 * and restored around it. Control instructions (FNINIT, FNCLEX, FLDCW, FNSTCW,
 * FNSTSW, FLDENV, FNSTENV, FRSTOR, FNSAVE, FXSAVE, FXRSTOR) work on the image
 * in C. The host never starts an instruction with an unmasked exception
 * pending: the guest's sticky exception flags are cleared in the copy the host
 * runs and merged back afterwards, so a guest value cannot raise SIGFPE in bt86.
 * Pending guest exceptions are delivered as #MF (CR0.NE=1) at the next waiting
 * x87 instruction; with CR0.NE=0 (FERR#/IRQ13) they are not reported. */
#include "cpu/interp.h"

#include <capstone/capstone.h>
#include <stdbool.h>
#include <string.h>

#include "cpu/fault.h"
#include "cpu/mem.h"
#include "cpu/operand.h"

/* FXSAVE image offsets */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4  /* abridged: one bit per physical register, 1 = valid */
#define FX_FOP 6
#define FX_FIP 8
#define FX_FCS 12
#define FX_FDP 16
#define FX_FDS 20
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_ST 32  /* ST(i) at 32 + 16*i, 10 bytes used */

#define FSW_EXC 0x003fu
#define FSW_SF  0x0040u
#define FSW_ES  0x0080u
#define FSW_B   0x8000u
#define MXCSR_MASK_VALUE 0x0000ffffu

/* ---- host stubs: `ESC modrm; ret; nop`, 4 bytes each ----
 * reg stubs: [opc 0-7][modrm 0xc0-0xff]; mem stubs: [opc 0-7][reg 0-7] with
 * mod=00 rm=111, i.e. [rdi] in 64-bit code. */
__asm__(".pushsection .text\n"
        ".balign 16\n"
        ".globl bt86_x87_reg_stubs\n"
        ".hidden bt86_x87_reg_stubs\n"
        "bt86_x87_reg_stubs:\n"
        ".irp op,0xd8,0xd9,0xda,0xdb,0xdc,0xdd,0xde,0xdf\n"
        ".set bt86_m, 0xc0\n"
        ".rept 64\n"
        ".byte \\op, bt86_m, 0xc3, 0x90\n"
        ".set bt86_m, bt86_m + 1\n"
        ".endr\n"
        ".endr\n"
        ".globl bt86_x87_mem_stubs\n"
        ".hidden bt86_x87_mem_stubs\n"
        "bt86_x87_mem_stubs:\n"
        ".irp op,0xd8,0xd9,0xda,0xdb,0xdc,0xdd,0xde,0xdf\n"
        ".irp r,0,1,2,3,4,5,6,7\n"
        ".byte \\op, (\\r << 3) | 7, 0xc3, 0x90\n"
        ".endr\n"
        ".endr\n"
        ".popsection\n");
extern const unsigned char bt86_x87_reg_stubs[], bt86_x87_mem_stubs[];

static inline uint16_t rd16(const uint8_t *p) { uint16_t x; memcpy(&x, p, 2); return x; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t x; memcpy(&x, p, 4); return x; }
static inline void wr16(uint8_t *p, uint16_t x) { memcpy(p, &x, 2); }
static inline void wr32(uint8_t *p, uint32_t x) { memcpy(p, &x, 4); }

/* ES and B summarise the unmasked exception flags. */
static uint16_t fsw_summarise(uint16_t fsw, uint16_t fcw)
{
    if (fsw & ~fcw & FSW_EXC) return (uint16_t)(fsw | FSW_ES | FSW_B);
    return (uint16_t)(fsw & ~(FSW_ES | FSW_B));
}

/* Run one stub on the host FPU with the guest image; rdi = buf. Returns the
 * host RFLAGS after the instruction (FCOMI/FUCOMI); guest CF/PF/AF/ZF/SF/OF
 * are loaded before it (FCMOVcc). */
static uint64_t host_run(struct vcpu *v, const unsigned char *stub, void *buf, uint16_t *raised)
{
    _Alignas(16) uint8_t g[512];
    _Alignas(16) uint8_t host[512];
    memcpy(g, v->fxstate, sizeof(g));
    uint16_t fsw = rd16(g + FX_FSW);
    uint16_t sticky = fsw & (FSW_EXC | FSW_SF);
    wr16(g + FX_FSW, (uint16_t)(fsw & ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B)));
    wr32(g + FX_MXCSR, 0x1f80); /* x87 ops ignore it; keeps FXRSTOR from faulting */
    uint64_t fin = 0x202 | (v->eflags & F_ARITH), fout;
    __asm__ volatile("fxsave %[host]\n\t"
                     "fxrstor %[g]\n\t"
                     "sub $128, %%rsp\n\t" /* step over the red zone */
                     "push %[fin]\n\t"
                     "popfq\n\t"
                     "call *%[stub]\n\t"
                     "pushfq\n\t"
                     "pop %[fout]\n\t"
                     "add $128, %%rsp\n\t"
                     "fxsave %[g]\n\t"
                     "fxrstor %[host]\n\t"
                     : [fout] "=&r"(fout), [g] "+m"(g), [host] "+m"(host)
                     : [fin] "r"(fin), [stub] "r"(stub), "D"(buf)
                     : "memory", "cc");
    uint16_t fcw = rd16(g + FX_FCW);
    fsw = rd16(g + FX_FSW);
    if (raised) *raised = fsw & FSW_EXC;
    fsw = fsw_summarise((uint16_t)(fsw | sticky), fcw);
    /* FCW, FSW, FTW and the registers; the host's instruction/data pointers
     * are meaningless (set_pointers), MXCSR and XMM are not x87 state. */
    wr16(v->fxstate + FX_FCW, fcw);
    wr16(v->fxstate + FX_FSW, fsw);
    v->fxstate[FX_FTW] = g[FX_FTW];
    memcpy(v->fxstate + FX_ST, g + FX_ST, 128);
    return fout;
}

static void check_nm(struct vcpu *v)
{
    if (v->cr0 & (CR0_EM | CR0_TS)) cpu_fault(v, EXC_NM);
}

/* A waiting instruction with an unmasked exception pending. */
static void check_pending(struct vcpu *v)
{
    if ((rd16(v->fxstate + FX_FSW) & FSW_ES) && (v->cr0 & CR0_NE)) cpu_fault(v, EXC_MF);
}

/* Last-instruction pointers, as the FPU records them for non-control instructions. */
static void set_pointers(struct vcpu *v, const struct insn *in, const struct opnd *mo, uint32_t ea)
{
    wr16(v->fxstate + FX_FOP, (uint16_t)(((in->opc & 7u) << 8) | in->modrm));
    wr32(v->fxstate + FX_FIP, v->insn_eip);
    wr16(v->fxstate + FX_FCS, v->seg[S_CS].sel);
    if (mo) {
        wr32(v->fxstate + FX_FDP, ea);
        wr16(v->fxstate + FX_FDS, v->seg[mo->seg].sel);
    }
}

static const struct opnd *mem_opnd(const struct insn *in)
{
    for (int i = 0; i < in->nopnd; i++)
        if (in->op[i].kind == OPND_MEM) return &in->op[i];
    return NULL;
}

/* Fault now, before anything changes, if [ea, ea+len) is not writable. */
static void probe_write(struct vcpu *v, int seg, uint32_t ea, uint32_t len, unsigned addrsize)
{
    (void)mem_read_for_write(v, seg, ea, 1);
    uint32_t last = ea + len - 1;
    if (addrsize == 2) last &= 0xffff;
    (void)mem_read_for_write(v, seg, last, 1);
}

/* ---- memory forms: kind and size by [opc & 7][reg] ---- */

enum { MF_UD, MF_LOAD, MF_STORE, MF_LDENV, MF_STENV, MF_LDCW, MF_STCW, MF_RSTOR, MF_SAVE, MF_STSW };
struct memform { uint8_t kind, size; };
static const struct memform memforms[8][8] = {
    /* D8: arith m32fp */
    { {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4} },
    /* D9: FLD m32, -, FST m32, FSTP m32, FLDENV, FLDCW, FNSTENV, FNSTCW */
    { {MF_LOAD,4}, {MF_UD,0}, {MF_STORE,4}, {MF_STORE,4}, {MF_LDENV,0}, {MF_LDCW,2}, {MF_STENV,0}, {MF_STCW,2} },
    /* DA: arith m32int */
    { {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4}, {MF_LOAD,4} },
    /* DB: FILD m32, FISTTP (SSE3), FIST m32, FISTP m32, -, FLD m80, -, FSTP m80 */
    { {MF_LOAD,4}, {MF_UD,0}, {MF_STORE,4}, {MF_STORE,4}, {MF_UD,0}, {MF_LOAD,10}, {MF_UD,0}, {MF_STORE,10} },
    /* DC: arith m64fp */
    { {MF_LOAD,8}, {MF_LOAD,8}, {MF_LOAD,8}, {MF_LOAD,8}, {MF_LOAD,8}, {MF_LOAD,8}, {MF_LOAD,8}, {MF_LOAD,8} },
    /* DD: FLD m64, FISTTP, FST m64, FSTP m64, FRSTOR, -, FNSAVE, FNSTSW m16 */
    { {MF_LOAD,8}, {MF_UD,0}, {MF_STORE,8}, {MF_STORE,8}, {MF_RSTOR,0}, {MF_UD,0}, {MF_SAVE,0}, {MF_STSW,2} },
    /* DE: arith m16int */
    { {MF_LOAD,2}, {MF_LOAD,2}, {MF_LOAD,2}, {MF_LOAD,2}, {MF_LOAD,2}, {MF_LOAD,2}, {MF_LOAD,2}, {MF_LOAD,2} },
    /* DF: FILD m16, FISTTP, FIST m16, FISTP m16, FBLD, FILD m64, FBSTP, FISTP m64 */
    { {MF_LOAD,2}, {MF_UD,0}, {MF_STORE,2}, {MF_STORE,2}, {MF_LOAD,10}, {MF_LOAD,8}, {MF_STORE,10}, {MF_STORE,8} },
};

/* Register forms the host may run (documented encodings only, plus FFREEP). */
static bool reg_form_ok(unsigned op, unsigned m)
{
    switch (op) {
    case 0: case 4: return !(op == 4 && m >= 0xd0 && m <= 0xdf); /* DC D0-DF: FCOM aliases */
    case 1:
        return m <= 0xd0 || m == 0xe0 || m == 0xe1 || m == 0xe4 || m == 0xe5 ||
               (m >= 0xe8 && m <= 0xee) || m >= 0xf0;
    case 2: return m <= 0xdf || m == 0xe9;
    case 3: return m <= 0xdf || (m >= 0xe8 && m <= 0xf7);
    case 5: return m <= 0xc7 || (m >= 0xd0 && m <= 0xef);
    case 6: return m <= 0xcf || m == 0xd9 || m >= 0xe0;
    case 7: return m <= 0xc7 || (m >= 0xe8 && m <= 0xf7);
    default: return false;
    }
}

/* ---- environment images (FLDENV/FNSTENV/FRSTOR/FNSAVE) ---- */

/* Full tag word from the abridged one and the register contents. */
static uint16_t full_tags(const uint8_t *fx)
{
    unsigned top = (rd16(fx + FX_FSW) >> 11) & 7;
    uint8_t abr = fx[FX_FTW];
    uint16_t tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned t;
        if (!(abr & (1u << p))) {
            t = 3;
        } else {
            const uint8_t *r = fx + FX_ST + 16 * ((p - top) & 7);
            uint64_t mant;
            memcpy(&mant, r, 8);
            unsigned exp = rd16(r + 8) & 0x7fff;
            if (exp == 0x7fff) t = 2;
            else if (exp == 0) t = mant ? 2 : 1;
            else t = (mant >> 63) ? 0 : 2;
        }
        tw |= (uint16_t)(t << (2 * p));
    }
    return tw;
}

static uint8_t abridge_tags(uint16_t tw)
{
    uint8_t a = 0;
    for (unsigned p = 0; p < 8; p++)
        if (((tw >> (2 * p)) & 3) != 3) a |= (uint8_t)(1u << p);
    return a;
}

static bool real_format(const struct vcpu *v)
{
    return !vcpu_protected(v) || vcpu_vm86(v);
}

static unsigned env_size(const struct insn *in) { return in->opsize == 4 ? 28 : 14; }

static void env_store(const struct vcpu *v, const struct insn *in, uint8_t *e)
{
    const uint8_t *fx = v->fxstate;
    uint16_t fcw = rd16(fx + FX_FCW), fsw = rd16(fx + FX_FSW), ftw = full_tags(fx);
    uint16_t fop = rd16(fx + FX_FOP) & 0x7ff, fcs = rd16(fx + FX_FCS), fds = rd16(fx + FX_FDS);
    uint32_t fip = rd32(fx + FX_FIP), fdp = rd32(fx + FX_FDP);
    bool real = real_format(v);
    if (real) {
        fip = (uint32_t)(fcs << 4) + fip;
        fdp = (uint32_t)(fds << 4) + fdp;
    }
    if (in->opsize == 4) {
        memset(e, 0, 28);
        wr32(e + 0, 0xffff0000u | fcw);
        wr32(e + 4, 0xffff0000u | fsw);
        wr32(e + 8, 0xffff0000u | ftw);
        if (real) {
            wr32(e + 12, 0xffff0000u | (fip & 0xffff));
            wr32(e + 16, ((fip >> 16) << 12) | fop);
            wr32(e + 20, 0xffff0000u | (fdp & 0xffff));
            wr32(e + 24, (fdp >> 16) << 12);
        } else {
            wr32(e + 12, fip);
            wr32(e + 16, ((uint32_t)fop << 16) | fcs);
            wr32(e + 20, fdp);
            wr32(e + 24, 0xffff0000u | fds);
        }
    } else {
        wr16(e + 0, fcw);
        wr16(e + 2, fsw);
        wr16(e + 4, ftw);
        if (real) {
            wr16(e + 6, (uint16_t)fip);
            wr16(e + 8, (uint16_t)((((fip >> 16) & 0xf) << 12) | fop));
            wr16(e + 10, (uint16_t)fdp);
            wr16(e + 12, (uint16_t)(((fdp >> 16) & 0xf) << 12));
        } else {
            wr16(e + 6, (uint16_t)fip);
            wr16(e + 8, fcs);
            wr16(e + 10, (uint16_t)fdp);
            wr16(e + 12, fds);
        }
    }
}

static void env_load(struct vcpu *v, const struct insn *in, const uint8_t *e)
{
    uint8_t *fx = v->fxstate;
    uint16_t fcw, fsw, ftw, fop = 0, fcs = 0, fds = 0;
    uint32_t fip, fdp;
    bool real = real_format(v);
    if (in->opsize == 4) {
        fcw = rd16(e + 0);
        fsw = rd16(e + 4);
        ftw = rd16(e + 8);
        if (real) {
            fip = (rd32(e + 12) & 0xffff) | ((rd32(e + 16) >> 12) << 16);
            fop = rd32(e + 16) & 0x7ff;
            fdp = (rd32(e + 20) & 0xffff) | ((rd32(e + 24) >> 12) << 16);
        } else {
            fip = rd32(e + 12);
            fcs = rd16(e + 16);
            fop = (rd32(e + 16) >> 16) & 0x7ff;
            fdp = rd32(e + 20);
            fds = rd16(e + 24);
        }
    } else {
        fcw = rd16(e + 0);
        fsw = rd16(e + 2);
        ftw = rd16(e + 4);
        if (real) {
            fip = rd16(e + 6) | ((uint32_t)(rd16(e + 8) >> 12) << 16);
            fop = rd16(e + 8) & 0x7ff;
            fdp = rd16(e + 10) | ((uint32_t)(rd16(e + 12) >> 12) << 16);
        } else {
            fip = rd16(e + 6);
            fcs = rd16(e + 8);
            fdp = rd16(e + 10);
            fds = rd16(e + 12);
        }
    }
    wr16(fx + FX_FCW, fcw);
    wr16(fx + FX_FSW, fsw_summarise(fsw, fcw));
    fx[FX_FTW] = abridge_tags(ftw);
    wr16(fx + FX_FOP, fop);
    wr32(fx + FX_FIP, fip);
    wr16(fx + FX_FCS, fcs);
    wr32(fx + FX_FDP, fdp);
    wr16(fx + FX_FDS, fds);
}

static void fpu_init(struct vcpu *v)
{
    uint8_t *fx = v->fxstate;
    wr16(fx + FX_FCW, 0x037f);
    wr16(fx + FX_FSW, 0);
    fx[FX_FTW] = 0;
    wr16(fx + FX_FOP, 0);
    wr32(fx + FX_FIP, 0);
    wr16(fx + FX_FCS, 0);
    wr32(fx + FX_FDP, 0);
    wr16(fx + FX_FDS, 0);
}

/* ---- handlers ---- */

static void mem_form(struct vcpu *v, const struct insn *in)
{
    unsigned op = in->opc & 7, reg = (in->modrm >> 3) & 7;
    const struct memform *f = &memforms[op][reg];
    const struct opnd *mo = mem_opnd(in);
    if (f->kind == MF_UD || !mo) cpu_ud(v);
    uint32_t ea = opnd_ea(v, in, mo);
    int seg = mo->seg;
    _Alignas(16) uint8_t buf[16] = { 0 };
    switch (f->kind) {
    case MF_LOAD:
        check_pending(v);
        mem_read_bytes(v, seg, ea, buf, f->size);
        host_run(v, bt86_x87_mem_stubs + 4 * (op * 8 + reg), buf, NULL);
        set_pointers(v, in, mo, ea);
        break;
    case MF_STORE: {
        check_pending(v);
        probe_write(v, seg, ea, f->size, in->addrsize);
        uint16_t raised;
        host_run(v, bt86_x87_mem_stubs + 4 * (op * 8 + reg), buf, &raised);
        /* An unmasked IE/DE/OE/UE leaves the destination unchanged (the host
         * did not store); a precision exception still stores. */
        bool stored = !(raised & ~rd16(v->fxstate + FX_FCW) & 0x1f);
        set_pointers(v, in, mo, ea);
        if (stored) mem_write_bytes(v, seg, ea, buf, f->size);
        break;
    }
    case MF_LDCW: {
        check_pending(v);
        uint16_t fcw = (uint16_t)((mem_read(v, seg, ea, 2) & 0x1f3f) | 0x0040);
        wr16(v->fxstate + FX_FCW, fcw);
        wr16(v->fxstate + FX_FSW, fsw_summarise(rd16(v->fxstate + FX_FSW), fcw));
        break;
    }
    case MF_STCW:
        mem_write(v, seg, ea, rd16(v->fxstate + FX_FCW), 2);
        break;
    case MF_STSW:
        mem_write(v, seg, ea, rd16(v->fxstate + FX_FSW), 2);
        break;
    case MF_LDENV: {
        check_pending(v);
        uint8_t e[28];
        mem_read_bytes(v, seg, ea, e, env_size(in));
        env_load(v, in, e);
        break;
    }
    case MF_STENV: {
        uint8_t e[28];
        env_store(v, in, e);
        mem_write_bytes(v, seg, ea, e, env_size(in));
        /* FNSTENV then masks all exceptions */
        wr16(v->fxstate + FX_FCW, rd16(v->fxstate + FX_FCW) | FSW_EXC);
        break;
    }
    case MF_RSTOR: {
        check_pending(v);
        uint8_t img[108];
        unsigned es = env_size(in);
        mem_read_bytes(v, seg, ea, img, es + 80);
        env_load(v, in, img);
        for (int i = 0; i < 8; i++) {
            memset(v->fxstate + FX_ST + 16 * i, 0, 16);
            memcpy(v->fxstate + FX_ST + 16 * i, img + es + 10 * i, 10);
        }
        break;
    }
    case MF_SAVE: {
        uint8_t img[108];
        unsigned es = env_size(in);
        env_store(v, in, img);
        for (int i = 0; i < 8; i++) memcpy(img + es + 10 * i, v->fxstate + FX_ST + 16 * i, 10);
        mem_write_bytes(v, seg, ea, img, es + 80);
        fpu_init(v);
        break;
    }
    default:
        cpu_ud(v);
    }
}

/* Every ESC (D8-DF) instruction. */
static void exec_esc(struct vcpu *v, const struct insn *in)
{
    check_nm(v);
    if ((in->modrm & 0xc0) != 0xc0) {
        mem_form(v, in);
        return;
    }
    unsigned op = in->opc & 7, m = in->modrm;
    if (op == 7 && m == 0xe0) { /* FNSTSW AX */
        gpr_set(v, R_EAX, 2, rd16(v->fxstate + FX_FSW));
        return;
    }
    if (op == 3 && m >= 0xe0 && m <= 0xe7) {
        if (m == 0xe2) { /* FNCLEX */
            wr16(v->fxstate + FX_FSW, rd16(v->fxstate + FX_FSW) & 0x7f00);
        } else if (m == 0xe3) { /* FNINIT */
            fpu_init(v);
        } else if (m == 0xe0 || m == 0xe1 || m == 0xe4) { /* FENI, FDISI, FSETPM: FNOP on a 387+ */
            check_pending(v);
        } else {
            cpu_ud(v);
        }
        return;
    }
    if (!reg_form_ok(op, m)) cpu_ud(v);
    check_pending(v);
    uint64_t fl = host_run(v, bt86_x87_reg_stubs + 4 * (op * 64 + (m - 0xc0)), NULL, NULL);
    if ((op == 3 || op == 7) && m >= 0xe8 && m <= 0xf7) /* FCOMI, FUCOMI (+P) */
        v->eflags = (v->eflags & ~F_ARITH) | ((uint32_t)fl & F_ARITH);
    set_pointers(v, in, NULL, 0);
}

static void exec_wait(struct vcpu *v, const struct insn *in)
{
    (void)in;
    if ((v->cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP)) cpu_fault(v, EXC_NM);
    check_pending(v);
}

/* FXSAVE / FXRSTOR (0F AE /0, /1): 512-byte image, 16-byte aligned. */
static uint32_t fx_area(struct vcpu *v, const struct insn *in, int *seg)
{
    check_nm(v);
    const struct opnd *mo = mem_opnd(in);
    if (!mo) cpu_ud(v);
    uint32_t ea = opnd_ea(v, in, mo);
    *seg = mo->seg;
    if ((v->seg[mo->seg].base + ea) & 15) cpu_gp(v, 0);
    return ea;
}

static void exec_fxsave(struct vcpu *v, const struct insn *in)
{
    int seg;
    uint32_t ea = fx_area(v, in, &seg);
    _Alignas(16) uint8_t img[512];
    memcpy(img, v->fxstate, sizeof(img));
    wr32(img + FX_MXCSR_MASK, MXCSR_MASK_VALUE);
    /* bytes 288-463 are reserved in 32-bit mode; 464-511 are never written */
    memset(img + 288, 0, 464 - 288);
    mem_write_bytes(v, seg, ea, img, 464);
}

static void exec_fxrstor(struct vcpu *v, const struct insn *in)
{
    int seg;
    uint32_t ea = fx_area(v, in, &seg);
    _Alignas(16) uint8_t img[512];
    mem_read_bytes(v, seg, ea, img, sizeof(img));
    bool sse = (v->cr4 & CR4_OSFXSR) != 0;
    if (sse && (rd32(img + FX_MXCSR) & ~MXCSR_MASK_VALUE)) cpu_gp(v, 0);
    memcpy(v->fxstate, img, 24);
    memcpy(v->fxstate + FX_ST, img + FX_ST, 128);
    if (sse) {
        memcpy(v->fxstate + FX_MXCSR, img + FX_MXCSR, 4);
        memcpy(v->fxstate + 160, img + 160, 128); /* XMM0-7 */
    }
    wr16(v->fxstate + FX_FSW, fsw_summarise(rd16(v->fxstate + FX_FSW), rd16(v->fxstate + FX_FCW)));
}

void interp_register_x87(insn_exec_fn *t)
{
    static const unsigned short esc_ids[] = {
        X86_INS_F2XM1, X86_INS_FABS, X86_INS_FADD, X86_INS_FADDP, X86_INS_FBLD, X86_INS_FBSTP,
        X86_INS_FCHS, X86_INS_FCMOVB, X86_INS_FCMOVBE, X86_INS_FCMOVE, X86_INS_FCMOVNB,
        X86_INS_FCMOVNBE, X86_INS_FCMOVNE, X86_INS_FCMOVNU, X86_INS_FCMOVU, X86_INS_FCOM,
        X86_INS_FCOMI, X86_INS_FCOMIP, X86_INS_FCOMP, X86_INS_FCOMPP, X86_INS_FCOS,
        X86_INS_FDECSTP, X86_INS_FDISI8087_NOP, X86_INS_FDIV, X86_INS_FDIVP, X86_INS_FDIVR,
        X86_INS_FDIVRP, X86_INS_FENI8087_NOP, X86_INS_FFREE, X86_INS_FFREEP, X86_INS_FIADD,
        X86_INS_FICOM, X86_INS_FICOMP, X86_INS_FIDIV, X86_INS_FIDIVR, X86_INS_FILD,
        X86_INS_FIMUL, X86_INS_FINCSTP, X86_INS_FIST, X86_INS_FISTP, X86_INS_FISUB,
        X86_INS_FISUBR, X86_INS_FLD, X86_INS_FLD1, X86_INS_FLDCW, X86_INS_FLDENV,
        X86_INS_FLDL2E, X86_INS_FLDL2T, X86_INS_FLDLG2, X86_INS_FLDLN2, X86_INS_FLDPI,
        X86_INS_FLDZ, X86_INS_FMUL, X86_INS_FMULP, X86_INS_FNCLEX, X86_INS_FNINIT, X86_INS_FNOP,
        X86_INS_FNSAVE, X86_INS_FNSTCW, X86_INS_FNSTENV, X86_INS_FNSTSW, X86_INS_FPATAN,
        X86_INS_FPREM, X86_INS_FPREM1, X86_INS_FPTAN, X86_INS_FRNDINT, X86_INS_FRSTOR,
        X86_INS_FSCALE, X86_INS_FSETPM, X86_INS_FSIN, X86_INS_FSINCOS, X86_INS_FSQRT,
        X86_INS_FST, X86_INS_FSTP, X86_INS_FSTPNCE, X86_INS_FSUB, X86_INS_FSUBP, X86_INS_FSUBR,
        X86_INS_FSUBRP, X86_INS_FTST, X86_INS_FUCOM, X86_INS_FUCOMI, X86_INS_FUCOMIP,
        X86_INS_FUCOMP, X86_INS_FUCOMPP, X86_INS_FXAM, X86_INS_FXCH, X86_INS_FXTRACT,
        X86_INS_FYL2X, X86_INS_FYL2XP1,
    };
    for (size_t i = 0; i < sizeof(esc_ids) / sizeof(esc_ids[0]); i++) t[esc_ids[i]] = exec_esc;
    t[X86_INS_WAIT] = exec_wait;
    t[X86_INS_FXSAVE] = exec_fxsave;
    t[X86_INS_FXRSTOR] = exec_fxrstor;
}
