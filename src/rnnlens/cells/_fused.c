/* The time loops of rnnlens's built-in cells (LSTM, GRU, SimpleRNN) in C.
 *
 * Each exported function runs one whole sequence, forward or backward, as
 * rnnlens.recurrence.run / backward do in NumPy, with the same equations and
 * names as src/rnnlens/cells/{lstm,gru,simple_rnn}.py (see their docstrings):
 * per step one matrix multiply through the sgemm / dgemm of NumPy's own BLAS
 * (a pointer the loader hands over, rnn_set_blas) and the gate math in one
 * pass. Nothing is allocated per step. Rows of the batch are independent, so
 * the batch is split into contiguous chunks run by `nthreads` POSIX threads,
 * each with its own loop over time (no synchronisation between steps). The
 * weight gradients are a few whole-sequence products after the reverse loop.
 *
 * Float order follows the NumPy path operation by operation; only tanh
 * differs (tanh_f32 below, within 2.4 ulp), so both paths agree to ~1e-7.
 * Where the CPU has AVX-512F, float32 calls of more than one step multiply by
 * their own kernel on weight panels instead of BLAS (panel_product, tn_product)
 * and the LSTM's gates run 16 lanes at a time (lstm_gates16: sigm16, tanh16):
 * the same equations, sums in another order and fused multiply-adds, so again
 * within float32 rounding of the NumPy path (rnn_set_avx512 switches them).
 * Build: see the Makefile (`gcc -O3 -ffp-contract=off -shared -fPIC`); no
 * Python headers are needed, the library is loaded with ctypes
 * (rnnlens/cells/_kernels.py). Without it rnnlens runs the NumPy path.
 *
 * This file is compiled once and instantiates the loops twice, for float
 * (suffix _f32) and double (_f64): _forward.h and _backward.h are included
 * twice with REAL / SFX defined; _avx512.h holds the AVX-512 kernels.
 *
 * Shape legend: T steps, B batch (rows), u units, G gate width (4u, 3u, u).
 */

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VEC __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VEC
#endif

/* -- BLAS: NumPy's cblas_?gemm, LP64 (int) or ILP64 (int64) ---------------- */

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
typedef void (*sgemm32_t)(int, int, int, int, int, int, float, const float *, int,
                          const float *, int, float, float *, int);
typedef void (*sgemm64_t)(int, int, int, int64_t, int64_t, int64_t, float, const float *,
                          int64_t, const float *, int64_t, float, float *, int64_t);
typedef void (*dgemm32_t)(int, int, int, int, int, int, double, const double *, int,
                          const double *, int, double, double *, int);
typedef void (*dgemm64_t)(int, int, int, int64_t, int64_t, int64_t, double, const double *,
                          int64_t, const double *, int64_t, double, double *, int64_t);
typedef void (*sgemv32_t)(int, int, int, int, float, const float *, int, const float *, int,
                          float, float *, int);
typedef void (*sgemv64_t)(int, int, int64_t, int64_t, float, const float *, int64_t,
                          const float *, int64_t, float, float *, int64_t);
typedef void (*dgemv32_t)(int, int, int, int, double, const double *, int, const double *, int,
                          double, double *, int);
typedef void (*dgemv64_t)(int, int, int64_t, int64_t, double, const double *, int64_t,
                          const double *, int64_t, double, double *, int64_t);

static void *blas_sgemm, *blas_dgemm, *blas_sgemv, *blas_dgemv;
static int blas_ilp64;
static int (*blas_get_threads)(void);
static void (*blas_set_threads)(int);
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static int blas_users, blas_saved;

int rnn_set_avx512(int on);

/* Hands over NumPy's gemm and gemv functions (and, optionally, OpenBLAS's
 * thread count getter / setter). Returns 0. */
int rnn_set_blas(void *sgemm, void *dgemm, void *sgemv, void *dgemv, int ilp64,
                 void *get_threads, void *set_threads)
{
    blas_sgemm = sgemm;
    blas_dgemm = dgemm;
    blas_sgemv = sgemv;
    blas_dgemv = dgemv;
    blas_ilp64 = ilp64;
    blas_get_threads = (int (*)(void))get_threads;
    blas_set_threads = (void (*)(int))set_threads;
    rnn_set_avx512(1);
    return 0;
}

/* While our own threads split the batch, BLAS runs single-threaded (nested
 * threads on the same cores only wait on each other). Counted, so that
 * concurrent calls (Bidirectional's two directions) restore it once. */
static void blas_single_enter(void)
{
    if (!blas_get_threads || !blas_set_threads)
        return;
    pthread_mutex_lock(&blas_lock);
    if (blas_users++ == 0) {
        blas_saved = blas_get_threads();
        if (blas_saved != 1)
            blas_set_threads(1);
    }
    pthread_mutex_unlock(&blas_lock);
}

static void blas_single_leave(void)
{
    if (!blas_get_threads || !blas_set_threads)
        return;
    pthread_mutex_lock(&blas_lock);
    if (--blas_users == 0 && blas_saved != 1)
        blas_set_threads(blas_saved);
    pthread_mutex_unlock(&blas_lock);
}

/* C (m, n) = op(A) (m, k) @ op(B) (k, n) + beta C, row-major; op transposes when asked
 * (A is then (k, m), B (n, k)). One row (batch 1) is a matrix-vector product,
 * c = op(B)^T x with x the one row of op(A). Instantiated for float and double. */
#define DEFINE_GEMM(NAME, R, GEMM64, GEMM32, GEMV64, GEMV32, GEMM_FN, GEMV_FN)              \
static void NAME(int trans_a, int trans_b, int m, int n, int k, const R *a, int lda,         \
                 const R *b, int ldb, R beta, R *c, int ldc)                                 \
{                                                                                           \
    int ta = trans_a ? TRANS : NO_TRANS, tb = trans_b ? TRANS : NO_TRANS;                   \
    if (m == 1) {                                                                           \
        int rows = trans_b ? n : k, cols = trans_b ? k : n, tv = trans_b ? NO_TRANS : TRANS; \
        int inc = trans_a ? lda : 1;                                                        \
        if (blas_ilp64)                                                                     \
            ((GEMV64)GEMV_FN)(ROW_MAJOR, tv, rows, cols, 1, b, ldb, a, inc, beta, c, 1);     \
        else                                                                                \
            ((GEMV32)GEMV_FN)(ROW_MAJOR, tv, rows, cols, 1, b, ldb, a, inc, beta, c, 1);     \
        return;                                                                             \
    }                                                                                       \
    if (blas_ilp64)                                                                         \
        ((GEMM64)GEMM_FN)(ROW_MAJOR, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);      \
    else                                                                                    \
        ((GEMM32)GEMM_FN)(ROW_MAJOR, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);      \
}
DEFINE_GEMM(gemm_f32, float, sgemm64_t, sgemm32_t, sgemv64_t, sgemv32_t, blas_sgemm, blas_sgemv)
DEFINE_GEMM(gemm_f64, double, dgemm64_t, dgemm32_t, dgemv64_t, dgemv32_t, blas_dgemm,
            blas_dgemv)

#include "_avx512.h"        /* the AVX-512 products and gates (float32) */

/* -- tanh ---------------------------------------------------------------------
 * float32, branch-free (selects, no float-to-int conversion), so that the loops
 * calling it vectorize:
 *   |x| < 0.625:  x + x^3 P(x^2)                          (Cephes tanhf)
 *   otherwise:    sign(x) (1 - 2 / (e^y + 1)), y = 2|x|, |x| clamped to 9 (tanh = 1)
 *   e^y = 2^n e^r: n = round(y log2 e) by adding 1.5 * 2^23, r = y - n ln 2 in two
 *   parts (Cody-Waite), e^r by Cephes expf's polynomial, 2^n from n's bits.
 * Within 2.4 ulp (1.5e-7 relative) of the exact tanh over all floats; NaN stays
 * NaN, +-inf gives +-(1 - 2^-24) (the value at the clamp, 1 ulp from +-1). float64
 * uses the C library's tanh. */
static inline float tanh_f32(float x)
{
    float a = fabsf(x), z = x * x;
    float p = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
                + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float y = (a < 9.0f ? a : 9.0f) * 2.0f;
    float big = y * 1.44269504088896341f + 12582912.0f;
    float fn = big - 12582912.0f;                                /* n = round(y log2 e) */
    float r = y - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    float er = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r
                  + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f)
               * (r * r) + r + 1.0f;
    int32_t bits;
    float two_n;
    memcpy(&bits, &big, sizeof bits);
    bits = (bits - 0x4B400000 + 127) << 23;                      /* 2^n, n in [0, 26] */
    memcpy(&two_n, &bits, sizeof two_n);
    float q = copysignf(1.0f - 2.0f / (er * two_n + 1.0f), x);
    float t = a < 0.625f ? p : q;
    return x != x ? x : t;                                       /* NaN stays NaN */
}

static inline double tanh_f64(double x) { return tanh(x); }


/* -- threads --------------------------------------------------------------- */

#define MAX_THREADS 64
typedef void (*chunk_fn)(void *args, int b0, int b1);
typedef struct { chunk_fn fn; void *args; int b0, b1; atomic_int *go; } job_t;

/* A barrier for the units split: spins briefly, then yields (the machine may be
 * busy: a descheduled partner must not be waited for with the CPU held). */
typedef struct { atomic_int count, phase; int n; } barrier_t;

static void barrier_wait(barrier_t *b)
{
    int phase = atomic_load_explicit(&b->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_store_explicit(&b->phase, phase + 1, memory_order_release);
        return;
    }
    for (int spin = 0; atomic_load_explicit(&b->phase, memory_order_acquire) == phase; spin++)
        if (spin >= 4000)
            sched_yield();
}

static void *job_main(void *p)
{
    job_t *j = (job_t *)p;
    int go = 1;
    if (j->go)                       /* a units split starts only once all threads run */
        while ((go = atomic_load_explicit(j->go, memory_order_acquire)) == 0)
            sched_yield();
    if (go > 0)
        j->fn(j->args, j->b0, j->b1);
    return NULL;
}

static int clamp_threads(int nthreads, int n)
{
    nthreads = nthreads < 0 ? -nthreads : nthreads;
    nthreads = nthreads > n ? n : nthreads;
    return nthreads > MAX_THREADS ? MAX_THREADS : nthreads < 1 ? 1 : nthreads;
}

/* Runs fn(args, b0, b1) over `nthreads` contiguous chunks of [0, B) (rows, or the
 * columns of the weight gradients); chunk 0
 * on the calling thread. A thread that cannot be started runs inline. `nthreads`
 * < 0 means -nthreads threads with BLAS single-threaded even for one (the caller
 * runs other work on the other cores, e.g. Bidirectional's second direction). */
static void over_range(chunk_fn fn, void *args, int B, int nthreads)
{
    pthread_t th[MAX_THREADS];
    job_t jobs[MAX_THREADS];
    int started[MAX_THREADS] = {0}, single = nthreads < 0;
    nthreads = clamp_threads(nthreads, B);
    if (nthreads < 2 && !single) {
        fn(args, 0, B);
        return;
    }
    blas_single_enter();
    for (int k = 0; k < nthreads; k++)
        jobs[k] = (job_t){fn, args, (int)((int64_t)B * k / nthreads),
                          (int)((int64_t)B * (k + 1) / nthreads), NULL};
    for (int k = 1; k < nthreads; k++)
        started[k] = pthread_create(&th[k], NULL, job_main, &jobs[k]) == 0;
    fn(args, jobs[0].b0, jobs[0].b1);
    for (int k = 1; k < nthreads; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            fn(args, jobs[k].b0, jobs[k].b1);
    }
    blas_single_leave();
}

/* Runs fn(args, j0, j1) over `nthreads` slices of the u units (multiples of 16 when
 * there are enough), all at once: `bar` makes them meet after each step. If a
 * thread cannot be started, the calling thread does all units alone. */
static void over_units(chunk_fn fn, void *args, barrier_t *bar, int u, int nthreads)
{
    pthread_t th[MAX_THREADS];
    job_t jobs[MAX_THREADS];
    atomic_int go;
    int created = 0;
    nthreads = clamp_threads(nthreads, u);
    atomic_init(&go, 0);
    atomic_init(&bar->count, 0);
    atomic_init(&bar->phase, 0);
    bar->n = nthreads;
    for (int k = 0; k < nthreads; k++) {
        int j0 = (int)((int64_t)u * k / nthreads), j1 = (int)((int64_t)u * (k + 1) / nthreads);
        if (u >= 16 * nthreads) {
            j0 = j0 / 16 * 16;
            j1 = k == nthreads - 1 ? u : j1 / 16 * 16;
        }
        jobs[k] = (job_t){fn, args, j0, j1, &go};
    }
    blas_single_enter();
    while (created < nthreads - 1
           && pthread_create(&th[created + 1], NULL, job_main, &jobs[created + 1]) == 0)
        created++;
    if (created == nthreads - 1) {
        atomic_store_explicit(&go, 1, memory_order_release);
        fn(args, jobs[0].b0, jobs[0].b1);
    } else {
        atomic_store_explicit(&go, -1, memory_order_release);
        bar->n = 1;
        fn(args, 0, u);
    }
    for (int k = 1; k <= created; k++)
        pthread_join(th[k], NULL);
    blas_single_leave();
}

/* Instantiate the kernels for float and double. */
#define REAL float
#define SFX(name) name##_f32
#define GEMM gemm_f32
#define TANH tanh_f32
#define PANELS HAVE_PANELS
#include "_forward.h"
#include "_backward.h"
#undef REAL
#undef SFX
#undef GEMM
#undef TANH
#undef PANELS
#define REAL double
#define SFX(name) name##_f64
#define GEMM gemm_f64
#define TANH tanh_f64
#define PANELS 0
#include "_forward.h"
#include "_backward.h"

/* The activations of the loops on n values, for the accuracy tests: which 0 is
 * tanh_f32, 1 tanh16, 2 sigm16 (σ(2 x)). Returns 0, or -1 when 1 / 2 are unavailable
 * (no AVX-512F, or switched off). */
int rnn_activation_f32(int which, int n, const float *x, float *out)
{
    if (which == 0) {
        for (int i = 0; i < n; i++)
            out[i] = tanh_f32(x[i]);
        return 0;
    }
#if HAVE_PANELS
    if (avx512_on) {
        activation16(which, n, x, out);
        return 0;
    }
#endif
    return -1;
}

/* c (m, n) = a (m, k) @ b (k, n) through the panels (packed here), for the loader's
 * self-test and the benchmarks' peak; -1 where the AVX-512 kernels are off. */
int rnn_panel_matmul_f32(int m, int n, int k, const float *a, const float *b, float *c)
{
#if HAVE_PANELS
    panels_t P = pack_panels(b, (size_t)n, 1, k, 1, n, 0);
    if (P.p) {
        panel_product(m, n, k, a, k, &P, 0, NULL, c, n);
        free(P.p);
        return 0;
    }
#endif
    return -1;
}

/* Plain matrix products through the same BLAS, for the loader's self-test:
 * c = a @ b, or a @ b^T (b (n, k)) when trans_b; one row of a goes through gemv. */
void rnn_matmul_f32(int trans_b, int m, int n, int k, const float *a, const float *b,
                    float *c)
{
    gemm_f32(0, trans_b, m, n, k, a, k, b, trans_b ? k : n, 0.0f, c, n);
}

void rnn_matmul_f64(int trans_b, int m, int n, int k, const double *a, const double *b,
                    double *c)
{
    gemm_f64(0, trans_b, m, n, k, a, k, b, trans_b ? k : n, 0.0, c, n);
}
