/* Benchmark kernels: CRC32, quicksort, integer matrix multiply, string work,
 * a hash table, and a switch-dispatched bytecode interpreter. Sizes are
 * picked so that scale=1 is roughly 20-30 million guest instructions per
 * kernel (the whole suite well under a second on QEMU TCG). */
#include "kernels.h"

/* ---- deterministic pseudo-random numbers (LCG, Numerical Recipes) ---- */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

/* ---- CRC32 (IEEE, reflected), table driven ---- */
#define CRC_BUF 4096
static uint8_t crc_buf[CRC_BUF];
static uint32_t crc_table[256];

static uint32_t k_crc32(uint32_t scale)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    uint32_t seed = 1, sum = 0;
    for (uint32_t i = 0; i < CRC_BUF; i++)
        crc_buf[i] = (uint8_t)(lcg(&seed) >> 24);
    uint32_t passes = 600 * scale;
    for (uint32_t p = 0; p < passes; p++) {
        crc_buf[p % CRC_BUF] ^= (uint8_t)p;      /* each pass sees new data */
        uint32_t c = 0xFFFFFFFFu;
        for (uint32_t i = 0; i < CRC_BUF; i++)
            c = crc_table[(c ^ crc_buf[i]) & 0xFF] ^ (c >> 8);
        sum = (sum ^ ~c) * 31u + p;
    }
    return sum;
}

/* ---- quicksort of pseudo-random ints ---- */
#define SORT_N 20000
static int32_t sort_a[SORT_N];

static void insertion(int32_t *a, int n)
{
    for (int i = 1; i < n; i++) {
        int32_t v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(int32_t *a, int n)
{
    while (n > 16) {
        /* median of three as pivot */
        int32_t x = a[0], y = a[n / 2], z = a[n - 1], pv;
        if (x < y)
            pv = y < z ? y : (x < z ? z : x);
        else
            pv = x < z ? x : (y < z ? z : y);
        int i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pv)
                i++;
            while (a[j] > pv)
                j--;
            if (i >= j)
                break;
            int32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* recurse into the smaller half, loop on the larger (bounded stack) */
        int left = j + 1;
        if (left < n - left) {
            quicksort(a, left);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left);
            n = left;
        }
    }
    insertion(a, n);
}

static uint32_t k_qsort(uint32_t scale)
{
    uint32_t sum = 0;
    for (uint32_t r = 0; r < 6 * scale; r++) {
        uint32_t seed = 12345 + r;
        for (int i = 0; i < SORT_N; i++)
            sort_a[i] = (int32_t)lcg(&seed) >> 4;
        quicksort(sort_a, SORT_N);
        for (int i = 1; i < SORT_N; i++)
            if (sort_a[i - 1] > sort_a[i])
                return 0xBAD0BAD0u;            /* not sorted */
        for (int i = 0; i < SORT_N; i += 97)
            sum = sum * 33u + (uint32_t)sort_a[i];
    }
    return sum;
}

/* ---- integer matrix multiply ---- */
#define MAT_N 48
static int32_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

static uint32_t k_matmul(uint32_t scale)
{
    uint32_t seed = 7, sum = 0;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i][j] = (int32_t)(lcg(&seed) >> 24) - 128;
            mat_b[i][j] = (int32_t)(lcg(&seed) >> 24) - 128;
        }
    for (uint32_t r = 0; r < 30 * scale; r++) {
        mat_a[r % MAT_N][(r * 7) % MAT_N] += (int32_t)r;
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                int32_t acc = 0;
                for (int k = 0; k < MAT_N; k++)
                    acc += mat_a[i][k] * mat_b[k][j];
                mat_c[i][j] = acc;
            }
        for (int i = 0; i < MAT_N; i++)
            sum = sum * 31u + (uint32_t)mat_c[i][(i * 5 + r) % MAT_N];
    }
    return sum;
}

/* ---- string work: memset, memcpy, strlen, strcmp, reverse ---- */
#define STR_BUF 8192
static char str_a[STR_BUF], str_b[STR_BUF];

static void s_memset(char *d, char c, uint32_t n)
{
    while (n--)
        *d++ = c;
}

static void s_memcpy(char *d, const char *s, uint32_t n)
{
    while (n--)
        *d++ = *s++;
}

static uint32_t s_strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (uint32_t)(p - s);
}

static int s_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

static uint32_t k_string(uint32_t scale)
{
    uint32_t seed = 99, sum = 0;
    for (uint32_t r = 0; r < 160 * scale; r++) {
        uint32_t len = 4096 + (lcg(&seed) >> 20);         /* 4096..8191 */
        s_memset(str_a, 'a' + (char)(r % 26), len - 1);
        str_a[len - 1] = '\0';
        for (uint32_t i = r % 64; i < len - 1; i += 64)
            str_a[i] = (char)('A' + (i % 26));
        s_memcpy(str_b, str_a, len);
        uint32_t l = s_strlen(str_b);
        str_b[l / 2] ^= 1;
        int c = s_strcmp(str_a, str_b);
        for (uint32_t i = 0, j = l - 1; i < j; i++, j--) {   /* reverse in place */
            char t = str_b[i];
            str_b[i] = str_b[j];
            str_b[j] = t;
        }
        sum = sum * 31u + l + (uint32_t)c + (uint8_t)str_b[r % l];
    }
    return sum;
}

/* ---- hash table: open addressing, linear probing ---- */
#define HT_SIZE 8192               /* power of two */
#define HT_KEYS 5000
static uint32_t ht_key[HT_SIZE], ht_val[HT_SIZE];

static uint32_t ht_hash(uint32_t k)
{
    k ^= k >> 16;
    k *= 0x7feb352du;
    k ^= k >> 15;
    k *= 0x846ca68bu;
    k ^= k >> 16;
    return k;
}

static void ht_put(uint32_t k, uint32_t v)
{
    uint32_t i = ht_hash(k) & (HT_SIZE - 1);
    while (ht_key[i] && ht_key[i] != k)
        i = (i + 1) & (HT_SIZE - 1);
    ht_key[i] = k;
    ht_val[i] = v;
}

static int ht_get(uint32_t k, uint32_t *v)
{
    uint32_t i = ht_hash(k) & (HT_SIZE - 1);
    while (ht_key[i]) {
        if (ht_key[i] == k) {
            *v = ht_val[i];
            return 1;
        }
        i = (i + 1) & (HT_SIZE - 1);
    }
    return 0;
}

static uint32_t k_hash(uint32_t scale)
{
    uint32_t sum = 0;
    for (uint32_t r = 0; r < 40 * scale; r++) {
        for (uint32_t i = 0; i < HT_SIZE; i++)
            ht_key[i] = 0;
        uint32_t seed = 1000 + r;
        for (uint32_t i = 0; i < HT_KEYS; i++)
            ht_put((lcg(&seed) | 1) & 0xFFFFF, i);       /* keys never 0 */
        seed = 1000 + r;
        uint32_t hits = 0, v;
        for (uint32_t i = 0; i < HT_KEYS; i++) {
            uint32_t k = (lcg(&seed) | 1) & 0xFFFFF;
            if (ht_get(k, &v))
                hits++, sum += v;
            if (ht_get(k ^ 0x2, &v))                     /* mostly misses */
                sum ^= v;
        }
        sum = sum * 31u + hits;
    }
    return sum;
}

/* ---- bytecode interpreter: a tiny stack machine, switch dispatch ---- */
enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_MUL, OP_MOD, OP_LT, OP_JZ, OP_JNZ,
       OP_JMP, OP_DUP, OP_HALT };
enum { V_LIMIT, V_N, V_COUNT, V_D, V_P };

static int32_t vm_code[96];

/* Assembles the program: count the primes below vars[V_LIMIT] by trial
 * division (without an early exit, so the inner loop is long and branchy).
 *     n = 2; count = 0
 *     while n < limit:
 *         d = 2; p = 1
 *         while not n < d*d:  if n % d != 0 skip; else p = 0;  d = d + 1
 *         count = count + p; n = n + 1
 *     halt with count on the stack */
static void vm_build(void)
{
    int pc = 0;
#define E(x) (vm_code[pc++] = (x))
#define E2(op, arg) (E(op), E(arg))
    E2(OP_PUSH, 2); E2(OP_STORE, V_N);
    E2(OP_PUSH, 0); E2(OP_STORE, V_COUNT);
    int outer = pc;
    E2(OP_LOAD, V_N); E2(OP_LOAD, V_LIMIT); E(OP_LT); E(OP_JZ); int fix_end = pc; E(0);
    E2(OP_PUSH, 2); E2(OP_STORE, V_D);
    E2(OP_PUSH, 1); E2(OP_STORE, V_P);
    int inner = pc;
    E2(OP_LOAD, V_N); E2(OP_LOAD, V_D); E(OP_DUP); E(OP_MUL); E(OP_LT);
    E(OP_JNZ); int fix_inner_end = pc; E(0);
    E2(OP_LOAD, V_N); E2(OP_LOAD, V_D); E(OP_MOD); E(OP_JNZ); int fix_notdiv = pc; E(0);
    E2(OP_PUSH, 0); E2(OP_STORE, V_P);
    vm_code[fix_notdiv] = pc;
    E2(OP_LOAD, V_D); E2(OP_PUSH, 1); E(OP_ADD); E2(OP_STORE, V_D);
    E2(OP_JMP, inner);
    vm_code[fix_inner_end] = pc;
    E2(OP_LOAD, V_COUNT); E2(OP_LOAD, V_P); E(OP_ADD); E2(OP_STORE, V_COUNT);
    E2(OP_LOAD, V_N); E2(OP_PUSH, 1); E(OP_ADD); E2(OP_STORE, V_N);
    E2(OP_JMP, outer);
    vm_code[fix_end] = pc;
    E2(OP_LOAD, V_COUNT); E(OP_HALT);
#undef E
#undef E2
}

/* Runs code until HALT and returns the top of the stack; `steps` counts
 * executed bytecodes. */
static int32_t vm_run(const int32_t *code, int32_t *vars, uint32_t *steps)
{
    int32_t stack[16];
    int sp = 0, pc = 0;
    uint32_t n = 0;
    for (;;) {
        n++;
        int32_t op = code[pc++];
        switch (op) {
        case OP_PUSH: stack[sp++] = code[pc++]; break;
        case OP_LOAD: stack[sp++] = vars[code[pc++]]; break;
        case OP_STORE: vars[code[pc++]] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case OP_JZ: { int32_t t = code[pc++]; if (!stack[--sp]) pc = t; break; }
        case OP_JNZ: { int32_t t = code[pc++]; if (stack[--sp]) pc = t; break; }
        case OP_JMP: pc = code[pc]; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_HALT:
        default:
            *steps += n;
            return sp > 0 ? stack[sp - 1] : -1;
        }
    }
}

static uint32_t k_bytecode(uint32_t scale)
{
    uint32_t sum = 0, steps = 0;
    vm_build();
    for (uint32_t r = 0; r < 4 * scale; r++) {
        int32_t vars[8] = { 0 };
        vars[V_LIMIT] = 1500 + (int32_t)r;
        int32_t primes = vm_run(vm_code, vars, &steps);
        sum = sum * 31u + (uint32_t)primes;
    }
    return sum ^ steps;
}

/* Checksums at scale 1, from the native build (bench/native.c -expect). */
const struct bench_kernel bench_kernels[] = {
    { "crc32",    k_crc32,    0xb12229fbu },
    { "qsort",    k_qsort,    0x77897e0du },
    { "matmul",   k_matmul,   0xa8f9ec2au },
    { "string",   k_string,   0xae70a084u },
    { "hash",     k_hash,     0xdb975aeeu },
    { "bytecode", k_bytecode, 0x00544ca4u },
};
const unsigned bench_nkernels = sizeof bench_kernels / sizeof bench_kernels[0];
