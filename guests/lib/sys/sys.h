/* System-level runtime for bt86's system test guests (modes, exceptions,
 * interrupts, apic, paging, usermode, x87): our own GDT (flat ring-0 and
 * ring-3 code/data, a TSS, 16-bit segments for the real-mode trip, spare
 * slots the tests fill in), an IDT whose 256 stubs save vector, error code
 * and the interrupted state in a struct trap_frame and call one C
 * dispatcher, a "expect a fault here, resume there" mechanism, ring-3 entry
 * and return, and small helpers (CR/MSR access, check lines for traps).
 * Linked only into the guests that ask for it (see guests/guests.mk). */
#ifndef GUESTS_LIB_SYS_SYS_H
#define GUESTS_LIB_SYS_SYS_H

#include "../rt.h"

/* GDT selectors. SYSENTER needs KCODE, KDATA = KCODE+8, UCODE = KCODE+16,
 * UDATA = KCODE+24 in this order. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b          /* index 3, RPL 3 */
#define SEL_UDATA 0x23          /* index 4, RPL 3 */
#define SEL_TSS   0x28
#define SEL_CODE16 0x30         /* 16-bit code, base set by the user, limit 0xffff */
#define SEL_DATA16 0x38         /* 16-bit data, same */
#define SEL_SPARE0 0x40         /* spare descriptors 8..15 for the tests */
#define GDT_ENTRIES 16

/* Access bytes */
#define ACC_P      0x80
#define ACC_DPL(n) ((n) << 5)
#define ACC_S      0x10         /* code/data (not system) */
#define ACC_CODE   0x08
#define ACC_CONF   0x04         /* code: conforming */
#define ACC_READ   0x02         /* code: readable */
#define ACC_EXPDN  0x04         /* data: expand-down */
#define ACC_WRITE  0x02         /* data: writable */
#define ACC_ACCESSED 0x01
/* Flag nibble (bits 55:52 of the descriptor) */
#define FLG_G   0x8
#define FLG_DB  0x4

/* EFLAGS */
#define EF_CF 0x1u
#define EF_PF 0x4u
#define EF_ZF 0x40u
#define EF_SF 0x80u
#define EF_TF 0x100u
#define EF_IF 0x200u
#define EF_OF 0x800u
#define EF_IOPL3 0x3000u
#define EF_AC 0x40000u

/* What the IDT stubs save; the C handler may change eip/cs/eflags/regs. */
struct trap_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
    uint32_t vector, err;
    uint32_t eip, cs, eflags;
    uint32_t user_esp, user_ss;  /* only valid when (cs & 3) != 0 */
};

typedef void (*trap_fn)(struct trap_frame *f);

/* Record of the last exception that hit the default handler. */
struct trap_log {
    volatile uint32_t count;
    volatile uint32_t vector, err, eip, cs, cr2, eflags;
};
extern struct trap_log last_trap;
/* If nonzero, the default handler resumes there (set in inline asm just
 * before the instruction expected to fault; cleared by trap_clear()). */
extern volatile uint32_t trap_resume;

/* The tables */
extern uint64_t gdt[GDT_ENTRIES];
extern uint64_t idt[256];
struct tss32 {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap;
};
extern struct tss32 tss;

/* sys_init(): mask both 8259s (remapped to 0x20/0x28), load GDT, reload
 * segments, IDT with all 256 stubs as DPL-0 interrupt gates (0x80 a DPL-3
 * trap gate), TSS (ESP0 = a private stack). */
void sys_init(void);
void gdt_set(unsigned index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
/* type: 0xE interrupt gate, 0xF trap gate; present = 0 leaves P clear. */
void idt_set_gate(unsigned vec, uint16_t sel, uint32_t off, unsigned type, unsigned dpl, int present);
void idt_set_task_gate(unsigned vec, uint16_t tss_sel, unsigned dpl);
uint32_t idt_stub(unsigned vec);          /* address of vector's stub */
void idt_restore(unsigned vec);           /* back to the default gate */
void trap_set_handler(unsigned vec, trap_fn fn);  /* NULL: default */
void trap_clear(void);
uint32_t kstack0_top(void);               /* TSS ESP0 */

/* Checks that exactly one trap happened since trap_clear() with this vector,
 * error code (if want_err != NO_ERR) and saved EIP: three check lines. */
#define NO_ERR 0xffffffffu
void expect_trap(const char *what, uint32_t vec, uint32_t err, uint32_t eip);
void expect_no_trap(const char *what);

/* Ring 3. user_run() enters fn at CPL 3 on the given stack with
 * DS=ES=FS=GS=SS=SEL_UDATA and EFLAGS = eflags (IOPL 0 unless set); it
 * returns when the user code does the exit system call (INT 0x80 with
 * EAX=0, EBX=value) or kernel code calls user_return(value). */
uint32_t user_run(void (*fn)(void), uint32_t esp, uint32_t eflags);
void user_return(uint32_t value) __attribute__((noreturn));
/* Default INT 0x80 services (unless a handler is registered for 0x80):
 * EAX=0 exit(EBX), EAX=1 putc(EBX), EAX=2 puts(EBX). */
#define SYS_EXIT 0
#define SYS_PUTC 1
#define SYS_PUTS 2

/* Control registers, MSRs, descriptor-table registers */
static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(uint32_t a) { __asm__ volatile("invlpg (%0)" : : "r"(a) : "memory"); }
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint32_t read_eflags(void) { uint32_t v; __asm__ volatile("pushfl; popl %0" : "=r"(v)); return v; }
static inline void mmio_w32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_r32(uint32_t a) { return *(volatile uint32_t *)a; }

#define CR0_PE 0x1u
#define CR0_MP 0x2u
#define CR0_EM 0x4u
#define CR0_TS 0x8u
#define CR0_NE 0x20u
#define CR0_WP 0x10000u
#define CR0_AM 0x40000u
#define CR0_PG 0x80000000u
#define CR4_PSE 0x10u
#define CR4_OSFXSR 0x200u

#endif
