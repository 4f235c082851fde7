/* Command-line parsing (frontend/cli.h). Options take one or two leading
 * dashes, as in QEMU; a repeated option overrides the earlier one. */
#include "frontend/cli.h"
#include "frontend/errfmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_usage(FILE *f)
{
    fputs("usage: bt86 [options] -kernel FILE\n"
          "       bt86 [options] -drive file=DISK   (boot sector 0 of the first disk)\n"
          "       bt86 [options] -bios ROM          (start at the ROM's reset vector)\n"
          "Runs a 32-bit x86 guest (a Multiboot v1 kernel) without hardware virtualization.\n"
          "\n"
          "  -kernel FILE        Multiboot v1 kernel (ELF32, or a.out-kludge image)\n"
          "  -drive file=PATH[,index=N][,format=raw][,snapshot=on][,readonly=on]\n"
          "                      raw disk image on IDE (index 0-3: primary master/slave,\n"
          "                      secondary master/slave); without -kernel the first disk boots\n"
          "  -hda/-hdb/-hdc/-hdd PATH  the same as -drive file=PATH,index=0..3\n"
          "  -snapshot           guest writes to disks are kept in memory, never in the files\n"
          "  -append STR         kernel command line (passed after the kernel's path)\n"
          "  -initrd FILES       Multiboot modules: \"file [args][,file [args]...]\" (\",,\" is a comma)\n"
          "  -m SIZE             guest RAM: MiB, or with a K/M/G suffix (default 128M; 2M to 3G)\n"
          "  -serial DEV         COM1 backend: stdio (default), none, or file:PATH\n"
          "  -debugcon DEV       port 0xe9 debug console (QEMU's isa-debugcon): stdio, none\n"
          "                      (default: no device) or file:PATH\n"
          "  -bios FILE          ROM image (64 KiB to 2 MiB, a multiple of 64 KiB) at the top of\n"
          "                      4 GiB, its last 128 KiB also at 0xE0000; without -kernel the\n"
          "                      CPU starts at the reset vector F000:FFF0 in the ROM\n"
          "  -engine E           bt (binary translation, default) or interp (the reference interpreter)\n"
          "                      or trap (a model of classic trap-and-emulate, to show why x86 needed\n"
          "                      binary translation: see docs/POPEK-GOLDBERG.md)\n"
          "                      or kvm (the same PC through /dev/kvm, where the host has it)\n"
          "  -display D          none (default) or sdl\n"
          "  -nographic          same as -display none\n"
          "  -no-reboot          exit instead of rebooting on a triple fault or reset (bt86 never reboots)\n"
          "  -stats              print instruction, time and VMM-exit statistics at exit (stderr)\n"
          "  -trace sensitive[,class=C|C...][,count=N][,file:PATH]\n"
          "                      one line per privileged/sensitive instruction and what the VMM\n"
          "                      did (stderr, or PATH); C: io cr int flags seg msr misc all\n"
          "  -max-insns N        stop after N guest instructions (exit status 4)\n"
          "  -icount SHIFT       deterministic virtual time: each instruction takes 2^SHIFT ns\n"
          "                      (0-10; the default is real time)\n"
          "  -spin-skip NS       virtual nanoseconds that pass at each PAUSE (the spin-wait\n"
          "                      hint of delay loops; 0-1000000, default 1000, 0: none;\n"
          "                      real time and one vCPU only)\n"
          "  -smp N[,threads=single]\n"
          "                      N vCPUs (1-8); each on its own host thread unless\n"
          "                      threads=single (round robin on one thread; implied by\n"
          "                      -engine bt, -icount and -max-insns)\n"
          "  -version            print the version and exit\n"
          "  -h, -help, --help   print this help and exit\n"
          "\n"
          "Exit status: guest debug-exit port (0xf4) write of V gives (V << 1) | 1;\n"
          "0 shutdown or Ctrl-A x; 1 usage or input error; 2 CPU halted forever;\n"
          "3 triple fault; 4 -max-insns reached.\n"
          "With -serial stdio on a terminal, Ctrl-A x quits and Ctrl-A h lists the keys.\n",
          f);
}

int cli_parse_ram(const char *s, uint32_t *bytes, char *err, size_t errlen)
{
    const char *p = s;
    if (*p < '0' || *p > '9') return errfmt(err, errlen, "invalid -m size '%s' (expected e.g. 128, 512M or 1G)", s);
    uint64_t n = 0;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > (1ull << 40)) return errfmt(err, errlen, "-m %s is too large (at most 3G)", s);
        p++;
    }
    uint64_t unit = 1ull << 20; /* a plain number means MiB */
    bool suffix = true;
    switch (*p) {
    case 'k': case 'K': unit = 1ull << 10; break;
    case 'm': case 'M': unit = 1ull << 20; break;
    case 'g': case 'G': unit = 1ull << 30; break;
    case 't': case 'T': unit = 1ull << 40; break;
    default: suffix = false; break;
    }
    if (suffix) {
        p++;
        if (*p == 'b' || *p == 'B') p++; /* "512MB" */
    }
    if (*p != '\0') return errfmt(err, errlen, "invalid -m size '%s' (expected e.g. 128, 512M or 1G)", s);
    if (n == 0) return errfmt(err, errlen, "-m %s: guest RAM cannot be zero (at least 2M)", s);
    if (n > (RAM_MAX_BYTES / unit) + 1) return errfmt(err, errlen, "-m %s is too large (at most 3G)", s);
    uint64_t b = n * unit;
    b = (b + 4095) & ~4095ull;
    if (b < RAM_MIN_BYTES) return errfmt(err, errlen, "-m %s is too small (at least 2M)", s);
    if (b > RAM_MAX_BYTES) return errfmt(err, errlen, "-m %s is too large (at most 3G)", s);
    *bytes = (uint32_t)b;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* -smp N[,threads=single|multi] (also cpus=N, QEMU's spelling). 0 or -1. */
static int parse_smp(const char *val, struct options *o)
{
    char buf[64];
    if (strlen(val) >= sizeof(buf)) return -1;
    strcpy(buf, val);
    bool have_n = false;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint64_t n;
        const char *num = !strncmp(tok, "cpus=", 5) ? tok + 5 : tok;
        if (!strcmp(tok, "threads=single")) o->smp_single_thread = true;
        else if (!strcmp(tok, "threads=multi")) o->smp_single_thread = false;
        else if (!have_n && !parse_u64(num, &n) && n >= 1 && n <= 8) { o->smp = (int)n; have_n = true; }
        else return -1;
    }
    return have_n ? 0 : -1;
}

/* Options that take an argument. */
static const char *const with_arg[] = {
    "kernel", "append", "initrd", "m", "serial", "engine", "display", "max-insns", "icount", "drive", "hda", "hdb", "hdc", "hdd", "bios", "debugcon", "trace", "smp", "spin-skip", NULL,
};

static bool takes_arg(const char *name)
{
    for (int i = 0; with_arg[i]; i++)
        if (!strcmp(name, with_arg[i])) return true;
    return false;
}

int cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->action = CLI_RUN;
    o->ram_bytes = (uint32_t)RAM_DEFAULT_BYTES;
    o->serial = SERIAL_STDIO;
    o->engine = ENGINE_BT;
    o->display = DISPLAY_NONE;
    o->icount_shift = -1;
    o->smp = 1;
    o->spin_skip_ns = SPIN_SKIP_DEFAULT_NS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') return errfmt(err, errlen, "unexpected argument '%s' (the kernel is given with -kernel FILE)", a);
        const char *name = a + 1;
        if (*name == '-') name++;
        const char *val = NULL;
        if (takes_arg(name)) {
            if (i + 1 >= argc) return errfmt(err, errlen, "option %s needs an argument", a);
            val = argv[++i];
        }
        if (!strcmp(name, "h") || !strcmp(name, "help")) {
            o->action = CLI_HELP;
            return 0;
        } else if (!strcmp(name, "version")) {
            o->action = CLI_VERSION;
            return 0;
        } else if (!strcmp(name, "kernel")) {
            if (!*val) return errfmt(err, errlen, "-kernel needs a file name");
            o->kernel = val;
        } else if (!strcmp(name, "append")) {
            o->append = val;
        } else if (!strcmp(name, "initrd")) {
            if (!*val) return errfmt(err, errlen, "-initrd needs a file name");
            o->initrd = val;
        } else if (!strcmp(name, "m")) {
            if (cli_parse_ram(val, &o->ram_bytes, err, errlen)) return -1;
        } else if (!strcmp(name, "serial")) {
            if (!strcmp(val, "stdio")) o->serial = SERIAL_STDIO;
            else if (!strcmp(val, "none") || !strcmp(val, "null")) o->serial = SERIAL_NONE;
            else if (!strncmp(val, "file:", 5) && val[5]) { o->serial = SERIAL_FILE; o->serial_path = val + 5; }
            else return errfmt(err, errlen, "unknown -serial '%s' (expected stdio, none or file:PATH)", val);
        } else if (!strcmp(name, "engine")) {
            if (!strcmp(val, "interp")) o->engine = ENGINE_INTERP;
            else if (!strcmp(val, "bt")) o->engine = ENGINE_BT;
            else if (!strcmp(val, "trap")) o->engine = ENGINE_TRAP;
            else if (!strcmp(val, "kvm")) o->engine = ENGINE_KVM;
            else return errfmt(err, errlen, "unknown -engine '%s' (expected bt, interp, trap or kvm)", val);
        } else if (!strcmp(name, "display")) {
            if (!strcmp(val, "none")) o->display = DISPLAY_NONE;
            else if (!strcmp(val, "sdl")) o->display = DISPLAY_SDL;
            else return errfmt(err, errlen, "unknown -display '%s' (expected none or sdl)", val);
        } else if (!strcmp(name, "nographic")) {
            o->display = DISPLAY_NONE;
        } else if (!strcmp(name, "no-reboot")) {
            o->no_reboot = true;
        } else if (!strcmp(name, "stats")) {
            o->stats = true;
        } else if (!strcmp(name, "trace")) {
            if (vmm_trace_parse(val, &o->trace, err, errlen)) return -1;
        } else if (!strcmp(name, "max-insns")) {
            if (parse_u64(val, &o->max_insns) || o->max_insns == 0)
                return errfmt(err, errlen, "invalid -max-insns '%s' (expected a positive number)", val);
        } else if (!strcmp(name, "drive")) {
            if (drive_add(&o->drives, val, err, errlen)) return -1;
        } else if (name[0] == 'h' && name[1] == 'd' && name[2] >= 'a' && name[2] <= 'd' && !name[3]) {
            if (drive_add_hd(&o->drives, name[2] - 'a', val, err, errlen)) return -1;
        } else if (!strcmp(name, "snapshot")) {
            o->snapshot = true;
        } else if (!strcmp(name, "bios")) {
            if (!*val) return errfmt(err, errlen, "-bios needs a file name");
            o->bios = val;
        } else if (!strcmp(name, "debugcon")) {
            if (!strcmp(val, "stdio")) o->debugcon = DEBUGCON_STDIO;
            else if (!strcmp(val, "none") || !strcmp(val, "null")) o->debugcon = DEBUGCON_NONE;
            else if (!strncmp(val, "file:", 5) && val[5]) { o->debugcon = DEBUGCON_FILE; o->debugcon_path = val + 5; }
            else return errfmt(err, errlen, "unknown -debugcon '%s' (expected stdio, none or file:PATH)", val);
        } else if (!strcmp(name, "smp")) {
            if (parse_smp(val, o))
                return errfmt(err, errlen, "invalid -smp '%s' (expected N from 1 to 8, optionally N,threads=single|multi)", val);
        } else if (!strcmp(name, "spin-skip")) {
            uint64_t ns;
            if (parse_u64(val, &ns) || ns > 1000000)
                return errfmt(err, errlen, "invalid -spin-skip '%s' (expected nanoseconds from 0 to 1000000)", val);
            o->spin_skip_ns = (uint32_t)ns;
        } else if (!strcmp(name, "icount")) {
            uint64_t shift;
            /* QEMU also accepts "shift=N"; take either spelling. */
            const char *num = !strncmp(val, "shift=", 6) ? val + 6 : val;
            if (parse_u64(num, &shift) || shift > 10)
                return errfmt(err, errlen, "invalid -icount '%s' (expected a shift from 0 to 10)", val);
            o->icount_shift = (int)shift;
        } else {
            return errfmt(err, errlen, "unknown option '%s' (try bt86 -help)", a);
        }
    }
    if (drive_set_finish(&o->drives, err, errlen)) return -1;
    /* Under KVM the guest runs on the host CPU: bt86 counts no instructions. */
    if (o->engine == ENGINE_KVM && o->max_insns)
        return errfmt(err, errlen, "-max-insns needs an engine that counts instructions (not -engine kvm)");
    if (o->engine == ENGINE_KVM && o->icount_shift >= 0)
        return errfmt(err, errlen, "-icount needs an engine that counts instructions (not -engine kvm)");
    if (o->engine == ENGINE_KVM && o->smp > 1)
        return errfmt(err, errlen, "-engine kvm runs one vCPU (-smp 1)");
    if (o->smp > 1 && (o->engine == ENGINE_KVM || o->engine == ENGINE_TRAP))
        return errfmt(err, errlen, "-smp %d needs -engine interp or bt", o->smp);
    if (!o->kernel && o->drives.n == 0 && !o->bios)
        return errfmt(err, errlen, "nothing to boot (use -kernel FILE or -drive file=DISK; see bt86 -help)");
    return 0;
}
