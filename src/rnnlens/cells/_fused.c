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
 * weight gradients stay in NumPy (a few whole-sequence matrix multiplies).
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
 * This file is compiled once and instantiates its kernels twice, for float
 * (suffix _f32) and double (_f64): the part after `#else` is included twice
 * with REAL / SFX defined.
 *
 * Shape legend: T steps, B batch (rows), u units, G gate width (4u, 3u, u).
 */
#ifndef REAL

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
#include "_fused.c"
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
#include "_fused.c"

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

#else /* ======================== kernels, once per REAL ======================== */

/* The masking rule of recurrence.run for one step, `rows` rows of `w` values
 * (row stride ld):
 *   keep:  states = new;            y = out_t
 *   skip:  states = states_tm1;     y = 0 if zero_output else y_tm1 (unchanged)  */
static void SFX(mask_step)(const uint8_t *keep, int rows, int w, int ld, REAL *s,
                           const REAL *s_tm1)
{
    for (int r = 0; r < rows; r++)
        if (!keep[r])
            memcpy(s + (size_t)r * ld, s_tm1 + (size_t)r * ld, (size_t)w * sizeof(REAL));
}

static void SFX(mask_output)(const uint8_t *keep, int rows, int w, int ld, int zero_output,
                             REAL *y, const REAL *h)
{
    for (int r = 0; r < rows; r++) {
        if (keep[r])
            memcpy(y + (size_t)r * ld, h + (size_t)r * ld, (size_t)w * sizeof(REAL));
        else if (zero_output)
            memset(y + (size_t)r * ld, 0, (size_t)w * sizeof(REAL));
    }
}

/* What every forward loop shares: sizes, inputs, outputs (NULL = not wanted). */
typedef struct {
    int T, B, F, u, G, nb, zero_output, reset_after, kind;
    const REAL *x;             /* (T, B, F) inputs in processing order (dropout applied) */
    const REAL *W;             /* (F, G) kernel, packed as the cell's stepper            */
    const REAL *b;             /* (G,) input bias (GRU: b_x), packed likewise, or NULL   */
    const REAL *U;             /* (u, G) recurrent kernel, packed likewise               */
    const REAL *b_h;           /* GRU reset_after: (G,) recurrent bias, or NULL          */
    const REAL *h0, *c0;       /* (B, u) initial states                                   */
    const uint8_t *keep;       /* (T, B) mask, or NULL                                    */
    REAL *seq;                 /* (B, T, u) outputs, or NULL                              */
    REAL *gates;               /* (T, B, G) recorded gates, or NULL                       */
    REAL *hs, *cs;             /* (T, B, u) recorded states, or NULL                      */
    REAL *h_last, *c_last, *y_last;    /* (B, u) final states and last output          */
    REAL *hbuf, *cbuf, *y;     /* (2, B, u) states without a record; (B, u) outputs      */
    barrier_t *bar;            /* units split: all threads meet after each step          */
    int failed;                /* set by a chunk that could not allocate its buffers     */
} SFX(fwd_args);

/* LSTM gates of one step, for rows of `w` units: z holds their blocks i, f, o, g
 * (block k at z + k * zs, row stride ldz; σ columns of W, U, b pre-halved, so
 * σ(v) = tanh(v/2)/2 + 1/2), xp the same blocks of x_t @ W + b (xs, ldx):
 *   z = tanh(z + xp_t);  i, f, o = z/2 + 1/2;  g = z[3]
 *   c = f * c_tm1 + i * g;  h = o * tanh(c)          (c, h: row stride u)        */
VEC static void SFX(lstm_gates)(REAL *restrict z, int ldz, int zs, const REAL *restrict xp,
                                int ldx, int xs, const REAL *restrict c_tm1,
                                REAL *restrict h, REAL *restrict c, int u, int rows, int w)
{
    for (int r = 0; r < rows; r++) {
        REAL *zr = z + (size_t)r * ldz;
        const REAL *xr = xp + (size_t)r * ldx;
        for (int k = 0; k < 4; k++) {
            REAL *zk = zr + (size_t)k * zs;
            const REAL *xk = xr + (size_t)k * xs;
            for (int j = 0; j < w; j++)
                zk[j] = TANH(zk[j] + xk[j]);
            if (k < 3)
                for (int j = 0; j < w; j++)
                    zk[j] = zk[j] * (REAL)0.5 + (REAL)0.5;
        }
        const REAL *i = zr, *f = zr + zs, *o = zr + 2 * (size_t)zs, *g = zr + 3 * (size_t)zs;
        const REAL *cp = c_tm1 + (size_t)r * u;
        REAL *cr = c + (size_t)r * u, *hr = h + (size_t)r * u;
        for (int j = 0; j < w; j++) {
            REAL cj = f[j] * cp[j] + i[j] * g[j];
            cr[j] = cj;
            hr[j] = TANH(cj) * o[j];
        }
    }
}

/* GRU gates of one step (blocks z, r, hh; z, r columns pre-halved), strides as in
 * lstm_gates; `rec` (rs, ldr) holds h_tm1 @ U (+ b_h):
 *   z, r = σ(x_zr + rec_zr)
 *   reset_after:  hh = tanh(x_h + r * r_h)       otherwise (rec_h = (r h) @ U_h, by
 *   the caller):  hh = tanh(x_h + rec_h)
 *   h = z * h_tm1 + (1 - z) * hh                                                   */
VEC static void SFX(gru_zr)(REAL *restrict g, int ldg, int gs, const REAL *restrict xp,
                            int ldx, int xs, const REAL *restrict rec, int ldr, int rs,
                            int rows, int w)
{
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < 2; k++) {
            REAL *gk = g + (size_t)r * ldg + (size_t)k * gs;
            const REAL *xk = xp + (size_t)r * ldx + (size_t)k * xs;
            const REAL *rk = rec + (size_t)r * ldr + (size_t)k * rs;
            for (int j = 0; j < w; j++)
                gk[j] = TANH(xk[j] + rk[j]) * (REAL)0.5 + (REAL)0.5;
        }
}

VEC static void SFX(gru_h)(REAL *restrict g, int ldg, int gs, const REAL *restrict xp,
                           int ldx, int xs, const REAL *restrict rec_h, int ldr,
                           const REAL *restrict h_tm1, REAL *restrict h, int u, int rows,
                           int w, int reset_after)
{
    for (int r = 0; r < rows; r++) {
        REAL *z = g + (size_t)r * ldg, *rg = z + gs, *hh = z + 2 * (size_t)gs;
        const REAL *xh = xp + (size_t)r * ldx + 2 * (size_t)xs;
        const REAL *rh = rec_h + (size_t)r * ldr, *hp = h_tm1 + (size_t)r * u;
        REAL *hr = h + (size_t)r * u;
        for (int j = 0; j < w; j++) {
            REAL a = reset_after ? rg[j] * rh[j] : rh[j];
            hh[j] = TANH(a + xh[j]);
            hr[j] = z[j] * hp[j] + ((REAL)1 - z[j]) * hh[j];
        }
    }
}

/* SimpleRNN, one step: a += x_t @ W + b;  h = tanh(a)   (a: row stride lda) */
VEC static void SFX(rnn_act)(REAL *restrict a, int lda, const REAL *restrict xp, int ldx,
                             REAL *restrict h, int u, int rows, int w)
{
    for (int r = 0; r < rows; r++) {
        REAL *ar = a + (size_t)r * lda, *hr = h + (size_t)r * u;
        const REAL *xr = xp + (size_t)r * ldx;
        for (int j = 0; j < w; j++) {
            ar[j] = ar[j] + xr[j];
            hr[j] = TANH(ar[j]);
        }
    }
}

/* z (rows, nb blocks of w, row stride ldz) = A (rows, K) @ the same column blocks of
 * M (K, G) + beta z: one product over M's panels P when packed (the blocks lie side by
 * side in z), else one BLAS product for all columns, or one per gate block for a slice
 * of units. */
static void SFX(block_product)(const SFX(fwd_args) *a, const REAL *A, int K, const REAL *M,
                               const panels_t *P, int rows, int j0, int w, int nb, REAL beta,
                               REAL *z, int ldz, int zs)
{
    (void)P;                                    /* (float32 only: panels) */
#if PANELS
    if (P->p && zs == w) {
        panel_product(rows, nb * w, K, A, K, P, beta != 0, NULL, z, ldz);
        return;
    }
#endif
    if (w == a->u && zs == a->u) {
        GEMM(0, 0, rows, nb * w, K, A, K, M, a->G, beta, z, ldz);
        return;
    }
    for (int k = 0; k < nb; k++)
        GEMM(0, 0, rows, w, K, A, K, M + (size_t)k * a->u + j0, a->G, beta, z + (size_t)k * zs,
             ldz);
}

/* The input half of a step, xw = b + x_t @ W, for rows x the units' blocks (row
 * stride ldx, block stride xs = w). Returns where it is: xw, or for one row the
 * step's row of x_all (made for every step at once). Through BLAS the bias is
 * written first and the product added; the panels add the bias to the product
 * (the same sum). */
static const REAL *SFX(input_product)(const SFX(fwd_args) *a, const products_t *pp, int t,
                                      int r0, int rows, int j0, int w, REAL *xw, int ldx,
                                      int xs)
{
    const REAL *x_t = a->x + ((size_t)t * a->B + r0) * a->F;
#if PANELS
    if (pp->x_all)
        return pp->x_all + (size_t)t * ldx;
    if (pp->w.p && xs == w) {
        panel_product(rows, a->nb * w, a->F, x_t, a->F, &pp->w, 0, pp->bias, xw, ldx);
        return xw;
    }
#endif
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < a->nb; k++) {
            REAL *dst = xw + (size_t)r * ldx + (size_t)k * xs;
            if (a->b)
                memcpy(dst, a->b + (size_t)k * a->u + j0, (size_t)w * sizeof(REAL));
            else
                memset(dst, 0, (size_t)w * sizeof(REAL));
        }
    SFX(block_product)(a, x_t, a->F, a->W, &pp->w, rows, j0, w, a->nb, 1, xw, ldx, xs);
    return xw;
}

/* One step of every kind for rows [r0, r0 + rows) x units [j0, j0 + w). `z` is the
 * gates' destination (zs, ldz); `xp` (rows, nb w) receives x_t @ W + b, `rec` (rows,
 * 3 w) is GRU's scratch; pp: the thread's panels of W and U (or none). */
static void SFX(forward_step)(const SFX(fwd_args) *a, const products_t *pp,
                              int t, int r0, int rows, int j0, int w, const REAL *h_tm1,
                              const REAL *c_tm1, REAL *h, REAL *c, REAL *z, int ldz, int zs,
                              REAL *xp, REAL *rec)
{
    int u = a->u, ldx = a->nb * w;
    const REAL *U = a->U;
    const panels_t *pu = &pp->u;
    const REAL *xw = SFX(input_product)(a, pp, t, r0, rows, j0, w, xp, ldx, w); /* x W + b */
    if (a->kind == 0) {                                                 /* LSTM */
        SFX(block_product)(a, h_tm1, u, U, pu, rows, j0, w, 4, 0, z, ldz, zs); /* h_tm1 @ U */
#if PANELS
        if (avx512_on)
            lstm_gates16(z, ldz, zs, xw, ldx, w, c_tm1 + j0, h + j0, c + j0, u, rows, w);
        else
#endif
        SFX(lstm_gates)(z, ldz, zs, xw, ldx, w, c_tm1 + j0, h + j0, c + j0, u, rows, w);
    } else if (a->kind == 1) {                                          /* GRU */
        int nb = a->reset_after ? 3 : 2, ldr = 3 * w;
        SFX(block_product)(a, h_tm1, u, U, pu, rows, j0, w, nb, 0, rec, ldr, w);
        if (a->b_h)                                                     /*   + b_h */
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < nb; k++)
                    for (int j = 0; j < w; j++)
                        rec[(size_t)r * ldr + k * w + j] += a->b_h[k * u + j0 + j];
        SFX(gru_zr)(z, ldz, zs, xw, ldx, w, rec, ldr, w, rows, w);
        if (!a->reset_after) {                           /* (r * h_tm1) @ U_h, all units */
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < u; j++)
                    rec[(size_t)r * ldr + j] = z[(size_t)r * ldz + zs + j] * h_tm1[(size_t)r * u + j];
            GEMM(0, 0, rows, u, u, rec, ldr, U + 2 * u, a->G, 0, rec + 2 * w, ldr);
        }
        SFX(gru_h)(z, ldz, zs, xw, ldx, w, rec + 2 * w, ldr, h_tm1 + j0, h + j0, u, rows, w,
                   a->reset_after);
    } else {                                                            /* SimpleRNN */
        SFX(block_product)(a, h_tm1, u, U, pu, rows, j0, w, 1, 0, z, ldz, zs); /* h_tm1 @ U */
        SFX(rnn_act)(z, ldz, xw, ldx, h + j0, u, rows, w);
    }
}

#if PANELS
/* A thread's products for a whole call: panels of its columns [j0, j0 + w) of each
 * block of W and U, and those columns of b; for one row (a batch of one) also
 * x_t @ W + b of all steps at once, so that the steps read only U. Left empty (BLAS
 * runs) where memory is short. */
static void SFX(thread_products)(const SFX(fwd_args) *a, products_t *pp, int r0, int rows,
                                 int j0, int w)
{
    int T = a->T, F = a->F, nw = a->nb * w;
    pp->w = pack_panels(a->W + j0, (size_t)a->G, 1, F, a->nb, w, (size_t)a->u);
    pp->u = pack_panels(a->U + j0, (size_t)a->G, 1, a->u, a->nb, w, (size_t)a->u);
    if (!pp->w.p)
        return;
    if (a->b) {
        if (!(pp->bias = (float *)malloc((size_t)nw * sizeof(float)))) {
            free(pp->w.p);                          /* the input product goes to BLAS */
            pp->w.p = NULL;
            return;
        }
        for (int k = 0; k < a->nb; k++)
            memcpy(pp->bias + (size_t)k * w, a->b + (size_t)k * a->u + j0,
                   (size_t)w * sizeof(float));
    }
    if (rows != 1 || !(pp->x_all = (float *)malloc((size_t)T * nw * sizeof(float))))
        return;
    panel_product(T, nw, F, a->x + (size_t)r0 * F, a->B * F, &pp->w, 0, pp->bias, pp->x_all,
                  nw);
}
#endif

/* The forward loop over rows [r0, r1) x units [j0, j1): rows split (one thread
 * per row chunk, no barrier) or units split (all rows; a barrier after each step,
 * as step t + 1 reads all of h_t). */
static void SFX(forward_loop)(SFX(fwd_args) *a, int r0, int r1, int j0, int j1)
{
    int T = a->T, B = a->B, u = a->u, G = a->G, nb = a->nb, rows = r1 - r0, w = j1 - j0;
    int own = w != u;                           /* a slice of units: private gate rows */
    size_t su = (size_t)B * u, zcols = (size_t)nb * w;
    REAL *work = (REAL *)malloc((size_t)rows * (2 * zcols + 3 * (size_t)w) * sizeof(REAL));
    if (!work) {
        a->failed = 1;                          /* (a units split still meets its barriers) */
        w = 0;
    }
    REAL *zbuf = work, *xp = work + (size_t)rows * zcols, *rec = xp + (size_t)rows * zcols;
    products_t pp = {{NULL, a->F}, {NULL, u}, NULL, NULL};
#if PANELS
    if (T > 1 && w > 0)
        SFX(thread_products)(a, &pp, r0, rows, j0, w);
#endif
    const REAL *h_tm1 = a->h0 + (size_t)r0 * u, *c_tm1 = a->c0 ? a->c0 + (size_t)r0 * u : NULL;
    for (int t = 0; t < T && w > 0; t++) {
        size_t row0 = (size_t)t * B + r0;
        REAL *h = (a->hs ? a->hs + row0 * u : a->hbuf + (t % 2) * su + (size_t)r0 * u);
        REAL *c = (a->cs ? a->cs + row0 * u : a->cbuf + (t % 2) * su + (size_t)r0 * u);
        REAL *z = (a->gates && !own) ? a->gates + row0 * G : zbuf;
        int ldz = own ? (int)zcols : G, zs = own ? w : u;
        SFX(forward_step)(a, &pp, t, r0, rows, j0, w, h_tm1, c_tm1, h, c, z, ldz, zs, xp, rec);
        if (a->gates && own)                                 /* the slice into the record */
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < nb; k++)
                    memcpy(a->gates + (row0 + r) * G + (size_t)k * u + j0,
                           zbuf + (size_t)r * zcols + (size_t)k * w, (size_t)w * sizeof(REAL));
        const REAL *out = h + j0;
        if (a->keep) {
            const uint8_t *keep = a->keep + row0;
            SFX(mask_step)(keep, rows, w, u, h + j0, h_tm1 + j0);
            if (c_tm1)
                SFX(mask_step)(keep, rows, w, u, c + j0, c_tm1 + j0);
            out = a->y + (size_t)r0 * u + j0;
            SFX(mask_output)(keep, rows, w, u, a->zero_output, (REAL *)out, h + j0);
        }
        if (a->seq)
            for (int r = 0; r < rows; r++)
                memcpy(a->seq + ((size_t)(r0 + r) * T + t) * u + j0, out + (size_t)r * u,
                       (size_t)w * sizeof(REAL));
        h_tm1 = h;
        c_tm1 = c_tm1 ? c : NULL;
        if (a->bar)
            barrier_wait(a->bar);
    }
    for (int r = 0; r < rows && w > 0; r++) {
        size_t q = (size_t)r * u + j0, dst = (size_t)(r0 + r) * u + j0, n = w * sizeof(REAL);
        memcpy(a->h_last + dst, h_tm1 + q, n);
        if (c_tm1)
            memcpy(a->c_last + dst, c_tm1 + q, n);
        memcpy(a->y_last + dst, a->keep ? a->y + dst : h_tm1 + q, n);
    }
    if (!work && a->bar)                        /* keep the others from waiting forever */
        for (int t = 0; t < T; t++)
            barrier_wait(a->bar);
    free(work);
    free(pp.w.p);
    free(pp.u.p);
    free(pp.x_all);
    free(pp.bias);
}

static void SFX(rows_chunk)(void *p, int r0, int r1)
{
    SFX(fwd_args) *a = (SFX(fwd_args) *)p;
    SFX(forward_loop)(a, r0, r1, 0, a->u);
}

static void SFX(units_chunk)(void *p, int j0, int j1)
{
    SFX(fwd_args) *a = (SFX(fwd_args) *)p;
    SFX(forward_loop)(a, 0, a->B, j0, j1);
}

/* Exported: one forward call. kind 0 LSTM (G = 4u, c0 / c_last given), 1 GRU
 * (G = 3u), 2 SimpleRNN (G = u). nthreads as over_range; split_units: the
 * threads take slices of the units instead of rows (small batches; not for a
 * GRU without reset_after). Returns 0, or -1 when out of memory. */
int SFX(rnn_forward)(int kind, int T, int B, int F, int u, int reset_after, const REAL *x,
                     const REAL *W, const REAL *b, const REAL *U, const REAL *b_h,
                     const REAL *h0, const REAL *c0,
                     const REAL *y0, const uint8_t *keep, int zero_output, REAL *seq,
                     REAL *gates, REAL *hs, REAL *cs, REAL *h_last, REAL *c_last,
                     REAL *y_last, int nthreads, int split_units)
{
    int nb = kind == 0 ? 4 : kind == 1 ? 3 : 1;
    size_t su = (size_t)B * u;
    REAL *shared = (REAL *)malloc(5 * su * sizeof(REAL));           /* h, c (2 each), y */
    if (!shared)
        return -1;
    if (keep) {
        if (y0)
            memcpy(shared + 4 * su, y0, su * sizeof(REAL));
        else
            memset(shared + 4 * su, 0, su * sizeof(REAL));
    }
    barrier_t bar;
    SFX(fwd_args) a = {T, B, F, u, nb * u, nb, zero_output, reset_after, kind, x, W, b, U,
                       b_h, h0, c0, keep, seq, gates, hs, cs, h_last, c_last, y_last, shared,
                       shared + 2 * su, shared + 4 * su, NULL, 0};
    if (split_units && (kind != 1 || reset_after)) {
        a.bar = &bar;
        over_units(SFX(units_chunk), &a, &bar, u, nthreads);
    } else {
        over_range(SFX(rows_chunk), &a, B, nthreads);
    }
    free(shared);
    return a.failed ? -1 : 0;
}

/* -- backward -------------------------------------------------------------- */

typedef struct {
    int T, B, F, u, G, zero_output, reset_after, kind;
    const REAL *x;              /* (T, B, F) the inputs the forward pass saw              */
    const REAL *W, *U;          /* (F, G), (u, G) kernels, unscaled, the gates' order     */
    const REAL *b_h;            /* GRU reset_after: (G,) recurrent bias (unscaled)        */
    const REAL *gates;          /* (T, B, G) recorded gates                                */
    const REAL *hs, *cs;        /* (T, B, u) recorded states (after masking)              */
    const REAL *h0, *c0;        /* (B, u) initial states                                   */
    const uint8_t *keep;        /* (T, B) or NULL                                          */
    const REAL *d_seq;          /* (T, B, u) dL/dy_t (processing order), or NULL          */
    const REAL *d_last;         /* (B, u) dL/dy_(T-1), or NULL                            */
    const REAL *d_h, *d_c;      /* (B, u) dL/d(final states), or NULL                     */
    REAL *dxp;                  /* (T, B, G) scratch: dL/d(x_t @ W + b)                    */
    REAL *drec;                 /* GRU reset_after: (T, B, G) scratch: dL/d(h_tm1 @ U + b_h) */
    REAL *rh;                   /* GRU without reset_after: (T, B, u) scratch: r * h_tm1    */
    REAL *d_x;                  /* (T, B, F) out: dL/dx_t                                  */
    REAL *dW, *dU, *db;         /* out: (F, G), (u, G), (G,) [GRU reset_after: (2, G)];
                                   db NULL without a bias                                  */
    REAL *d_h0, *d_c0;          /* (B, u) out: dL/d(initial states)                       */
    int failed;
    panels_t ut, wt;            /* panels of U^T (G, u) and W^T (G, F), or empty           */
} SFX(bwd_args);

/* c (rows, n) = A (rows, k) @ M^T + beta c, M (n, k) with rows of ld: over the panels
 * of M^T when packed (k may be a prefix of theirs), else through BLAS. */
static void SFX(times_transposed)(const panels_t *P, int rows, int n, int k, const REAL *A,
                                  int lda, const REAL *M, int ld, REAL beta, REAL *c, int ldc)
{
    (void)P;
#if PANELS
    if (P->p) {
        panel_product(rows, n, k, A, lda, P, beta != 0, NULL, c, ldc);
        return;
    }
#endif
    GEMM(0, 1, rows, n, k, A, lda, M, ld, beta, c, ldc);
}

/* LSTM, one step backwards (rows): given dh, dc (after the masking rule), fills
 * dz = dL/dz (B, 4u; i, f, o, g) and dc_tm1:
 *   a_c = tanh(c_t), c_t = f c_tm1 + i g;   do = dh a_c
 *   dc += dh o (1 - a_c^2);  dz_i = dc g;  dz_f = dc c_tm1;  dz_g = dc i
 *   dz_ifo *= s (1 - s);  dz_g *= 1 - g^2;  dc_tm1 = dc f          */
VEC static void SFX(lstm_back_gates)(const REAL *restrict gates, const REAL *restrict c_tm1,
                                     const REAL *restrict dh, const REAL *restrict dc_in,
                                     REAL *restrict dz, REAL *restrict dc_tm1, int rows, int u)
{
    int G = 4 * u;
    for (int r = 0; r < rows; r++) {
        const REAL *i = gates + (size_t)r * G, *f = i + u, *o = i + 2 * u, *g = i + 3 * u;
        const REAL *cp = c_tm1 + (size_t)r * u, *dhr = dh + (size_t)r * u;
        const REAL *dcr = dc_in + (size_t)r * u;
        REAL *di = dz + (size_t)r * G, *df = di + u, *dO = di + 2 * u, *dg = di + 3 * u;
        REAL *dcp = dc_tm1 + (size_t)r * u;
        for (int j = 0; j < u; j++) {
            REAL a_c = TANH(f[j] * cp[j] + i[j] * g[j]);
            REAL dc = dcr[j] + dhr[j] * o[j] * ((REAL)1 - a_c * a_c);
            di[j] = dc * g[j] * (i[j] * ((REAL)1 - i[j]));
            df[j] = dc * cp[j] * (f[j] * ((REAL)1 - f[j]));
            dO[j] = dhr[j] * a_c * (o[j] * ((REAL)1 - o[j]));
            dg[j] = dc * i[j] * ((REAL)1 - g[j] * g[j]);
            dcp[j] = dc * f[j];
        }
    }
}

/* GRU, one step backwards, the elementwise part (rows):
 *   dhh = dh (1 - z);  dz = dh (h_tm1 - hh);  dh_tm1 = dh z
 *   dx_h = dhh (1 - hh^2)
 *   reset_after:  dr = dx_h r_h;  drec_h = dx_h r        (r_h = h_tm1 @ U_h + b_h)
 *   otherwise:    d_rh = dx_h @ U_h^T (by the caller); dr = d_rh h_tm1; dh_tm1 += d_rh r
 *   dx_z = dz z (1 - z);  dx_r = dr r (1 - r)                                     */
VEC static void SFX(gru_back_h)(const REAL *restrict gates, const REAL *restrict h_tm1,
                                const REAL *restrict dh, REAL *restrict dx,
                                REAL *restrict dh_tm1, int rows, int u)
{
    int G = 3 * u;
    for (int r = 0; r < rows; r++) {
        const REAL *z = gates + (size_t)r * G, *hh = z + 2 * u;
        const REAL *hp = h_tm1 + (size_t)r * u, *dhr = dh + (size_t)r * u;
        REAL *dxr = dx + (size_t)r * G, *dhp = dh_tm1 + (size_t)r * u;
        for (int j = 0; j < u; j++) {
            dxr[j] = dhr[j] * (hp[j] - hh[j]);                 /* dz, before σ' */
            dxr[2 * u + j] = dhr[j] * ((REAL)1 - z[j]) * ((REAL)1 - hh[j] * hh[j]);
            dhp[j] = dhr[j] * z[j];
        }
    }
}

VEC static void SFX(gru_back_zr)(const REAL *restrict gates, const REAL *restrict h_tm1,
                                 const REAL *restrict rec_h, const REAL *restrict d_rh,
                                 REAL *restrict dx, REAL *restrict drec,
                                 REAL *restrict dh_tm1, int rows, int u, int reset_after)
{
    int G = 3 * u;
    for (int r = 0; r < rows; r++) {
        const REAL *z = gates + (size_t)r * G, *rg = z + u;
        REAL *dxr = dx + (size_t)r * G, *dhp = dh_tm1 + (size_t)r * u;
        for (int j = 0; j < u; j++) {
            REAL dr;
            if (reset_after) {
                dr = dxr[2 * u + j] * rec_h[(size_t)r * u + j];
                drec[(size_t)r * G + 2 * u + j] = dxr[2 * u + j] * rg[j];
            } else {
                REAL d = d_rh[(size_t)r * u + j];
                dr = d * h_tm1[(size_t)r * u + j];
                dhp[j] = dhp[j] + d * rg[j];
            }
            dxr[j] = dxr[j] * (z[j] * ((REAL)1 - z[j]));
            dxr[u + j] = dr * (rg[j] * ((REAL)1 - rg[j]));
            if (reset_after) {
                drec[(size_t)r * G + j] = dxr[j];
                drec[(size_t)r * G + u + j] = dxr[u + j];
            }
        }
    }
}

/* SimpleRNN, one step backwards: da = dh (1 - h^2), h = tanh(a) the recorded state. */
VEC static void SFX(rnn_back)(const REAL *restrict dh, const REAL *restrict h,
                              REAL *restrict da, size_t n)
{
    for (size_t j = 0; j < n; j++)
        da[j] = dh[j] * ((REAL)1 - h[j] * h[j]);
}

/* dh_new = dh + d_y without a mask (d_y = d_seq[t] + d_last at the last step). */
VEC static void SFX(add_output_grad)(REAL *restrict dh_new, const REAL *restrict dh,
                                     const REAL *restrict d_seq, const REAL *restrict d_last,
                                     size_t n)
{
    for (size_t j = 0; j < n; j++) {
        REAL d = d_seq ? d_seq[j] : 0;
        dh_new[j] = dh[j] + (d_last ? d + d_last[j] : d);
    }
}

/* The masking rule of recurrence.backward, per row r of step t (k = keep[t, r]):
 *   d_y = d_carry + d_seq[t] (+ d_last at the last step)
 *   k:  d_new = [d_h + d_y, d_c];  d_pass = 0;   d_carry = 0
 *   !k: d_new = 0;  d_pass = [d_h, d_c];  d_carry = d_y (0 with zero_output)
 *   [d_h, d_c] = backward_step(d_new) + d_pass                                      */
static void SFX(masked_output_grad)(const uint8_t *keep, int rows, int u, int zero_output,
                                    const REAL *dh, const REAL *dc, const REAL *d_seq,
                                    const REAL *d_last, REAL *d_carry, REAL *dh_new,
                                    REAL *dc_new)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < u; j++) {
            size_t q = (size_t)r * u + j;
            REAL d = d_carry[q];
            d = d_seq ? d + d_seq[q] : d;
            d = d_last ? d + d_last[q] : d;
            dh_new[q] = keep[r] ? dh[q] + d : 0;
            if (dc)
                dc_new[q] = keep[r] ? dc[q] : 0;
            if (!zero_output)
                d_carry[q] = keep[r] ? 0 : d;
        }
}

/* One step backwards of every kind for rows [r0, r0 + rows): fills dxp[t] (and drec[t]
 * / rh[t]), dh_next (and dc_next) = the gradients at the previous states before the
 * masking rule's pass-through, and d_x[t] = dxp[t] @ W^T. */
static void SFX(backward_step)(SFX(bwd_args) *a, int t, int r0, int rows, const REAL *dh_new,
                               const REAL *dc_new, REAL *dh_next, REAL *dc_next, REAL *d_rh,
                               REAL *rec_h)
{
    int B = a->B, u = a->u, G = a->G;
    size_t row0 = (size_t)t * B + r0;
    const REAL *gates = a->gates + row0 * G, *U = a->U;
    const REAL *h_tm1 = t ? a->hs + (row0 - B) * u : a->h0 + (size_t)r0 * u;
    REAL *dx = a->dxp + row0 * G;
    if (a->kind == 0) {
        const REAL *c_tm1 = t ? a->cs + (row0 - B) * u : a->c0 + (size_t)r0 * u;
        SFX(lstm_back_gates)(gates, c_tm1, dh_new, dc_new, dx, dc_next, rows, u);
        SFX(times_transposed)(&a->ut, rows, u, G, dx, G, U, G, 0, dh_next, u); /* dz U^T */
    } else if (a->kind == 1) {
        SFX(gru_back_h)(gates, h_tm1, dh_new, dx, dh_next, rows, u);
        if (a->reset_after) {                                 /* r_h = h_tm1 @ U_h + b_h */
            GEMM(0, 0, rows, u, u, h_tm1, u, U + 2 * u, G, 0, rec_h, u);
            if (a->b_h)
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < u; j++)
                        rec_h[(size_t)r * u + j] += a->b_h[2 * u + j];
        } else {                                              /* d_rh = dx_h @ U_h^T */
            GEMM(0, 1, rows, u, u, dx + 2 * u, G, U + 2 * u, G, 0, d_rh, u);
            for (int r = 0; r < rows; r++)                    /* rh = r * h_tm1 (for dU) */
                for (int j = 0; j < u; j++)
                    a->rh[(row0 + r) * u + j] = gates[(size_t)r * G + u + j]
                                                * h_tm1[(size_t)r * u + j];
        }
        REAL *drec = a->reset_after ? a->drec + row0 * G : NULL;
        SFX(gru_back_zr)(gates, h_tm1, rec_h, d_rh, dx, drec, dh_next, rows, u,
                         a->reset_after);
        if (a->reset_after)                                   /* dh_tm1 += drec @ U^T */
            SFX(times_transposed)(&a->ut, rows, u, G, drec, G, U, G, 1, dh_next, u);
        else                                                  /*  += dx_zr @ U_zr^T */
            SFX(times_transposed)(&a->ut, rows, u, 2 * u, dx, G, U, G, 1, dh_next, u);
    } else {                                                  /* SimpleRNN */
        SFX(rnn_back)(dh_new, a->hs + row0 * u, dx, (size_t)rows * u);   /* da */
        SFX(times_transposed)(&a->ut, rows, u, u, dx, u, U, u, 0, dh_next, u); /* da U^T */
    }
    SFX(times_transposed)(&a->wt, rows, a->F, G, dx, G, a->W, G, 0, a->d_x + row0 * a->F,
                          a->F);                                        /* d_x = dxp W^T */
}

/* One chunk of rows [r0, r1) of the reverse loop. */
static void SFX(backward_rows)(void *p, int r0, int r1)
{
    SFX(bwd_args) *a = (SFX(bwd_args) *)p;
    int T = a->T, u = a->u, rows = r1 - r0, lstm = a->kind == 0;
    size_t su = (size_t)rows * u;
    REAL *work = (REAL *)calloc(9 * su, sizeof(REAL));
    if (!work) {
        a->failed = 1;
        return;
    }
    REAL *dh = work, *dc = work + su, *dh_new = work + 2 * su, *dc_new = work + 3 * su;
    REAL *d_carry = work + 4 * su, *d_rh = work + 5 * su, *rec_h = work + 6 * su;
    REAL *dh_next = work + 7 * su, *dc_next = work + 8 * su, *swap;
    if (a->d_h)
        memcpy(dh, a->d_h + (size_t)r0 * u, su * sizeof(REAL));
    if (lstm && a->d_c)
        memcpy(dc, a->d_c + (size_t)r0 * u, su * sizeof(REAL));
    for (int t = T - 1; t >= 0; t--) {
        size_t row0 = (size_t)t * a->B + r0;
        const REAL *d_seq = a->d_seq ? a->d_seq + row0 * u : NULL;
        const REAL *d_last = a->d_last && t == T - 1 ? a->d_last + (size_t)r0 * u : NULL;
        const uint8_t *keep = a->keep ? a->keep + row0 : NULL;
        if (keep)
            SFX(masked_output_grad)(keep, rows, u, a->zero_output, dh, lstm ? dc : NULL,
                                    d_seq, d_last, d_carry, dh_new, dc_new);
        else
            SFX(add_output_grad)(dh_new, dh, d_seq, d_last, su);
        SFX(backward_step)(a, t, r0, rows, dh_new, keep ? dc_new : dc, dh_next, dc_next,
                           d_rh, rec_h);
        if (keep) {                                           /* + d_pass */
            for (int r = 0; r < rows; r++)
                if (keep[r]) {
                    memcpy(dh + (size_t)r * u, dh_next + (size_t)r * u, u * sizeof(REAL));
                    if (lstm)
                        memcpy(dc + (size_t)r * u, dc_next + (size_t)r * u, u * sizeof(REAL));
                }
        } else {
            swap = dh, dh = dh_next, dh_next = swap;
            swap = dc, dc = dc_next, dc_next = swap;
        }
    }
    memcpy(a->d_h0 + (size_t)r0 * u, dh, su * sizeof(REAL));
    if (lstm)
        memcpy(a->d_c0 + (size_t)r0 * u, dc, su * sizeof(REAL));
    free(work);
}

/* Column sums of a (n, G) block, columns [c0, c1), accumulated in double. */
static void SFX(column_sums)(const REAL *m, size_t n, int G, int c0, int c1, REAL *out)
{
    double *acc = (double *)calloc((size_t)(c1 - c0), sizeof(double));
    if (!acc)
        return;
    for (size_t r = 0; r < n; r++)
        for (int c = c0; c < c1; c++)
            acc[c - c0] += m[r * G + c];
    for (int c = c0; c < c1; c++)
        out[c] = (REAL)acc[c - c0];
    free(acc);
}

/* C (m, n) = A^T @ B + beta C (A (k, m), B (k, n)): tn_product, else BLAS. */
static void SFX(times_first_transposed)(int m, int n, int k, const REAL *A, int lda,
                                        const REAL *Bm, int ldb, REAL beta, REAL *c, int ldc)
{
#if PANELS
    if (tn_product(m, n, k, A, lda, Bm, ldb, beta, c, ldc) == 0)
        return;
#endif
    GEMM(1, 0, m, n, k, A, lda, Bm, ldb, beta, c, ldc);
}

/* The weight gradients for columns [c0, c1) of G, every step at once:
 *   dW = X^T @ dZ        dU = H_prev^T @ dZ_rec        db = sum of dZ (rows)
 * with X (T B, F) the inputs, H_prev = [h0, h_0 .. h_(T-2)] the states before each
 * step (two products: step 0, then the rest), dZ = dxp and dZ_rec = dxp (GRU with
 * reset_after: drec; without: r * h_tm1 for the candidate's columns). */
static void SFX(weight_grads)(void *p, int c0, int c1)
{
    SFX(bwd_args) *a = (SFX(bwd_args) *)p;
    int T = a->T, B = a->B, u = a->u, G = a->G, w = c1 - c0;
    size_t TB = (size_t)T * B;
    const REAL *rec = a->drec ? a->drec : a->dxp;
    SFX(times_first_transposed)(a->F, w, (int)TB, a->x, a->F, a->dxp + c0, G, 0, a->dW + c0,
                                G);
    int split = a->rh ? 2 * u : G;                   /* GRU without reset_after: r h_tm1 */
    if (c0 < split) {
        int e = c1 < split ? c1 : split;
        SFX(times_first_transposed)(u, e - c0, B, a->h0, u, rec + c0, G, 0, a->dU + c0, G);
        if (T > 1)
            SFX(times_first_transposed)(u, e - c0, (int)(TB - B), a->hs, u,
                                        rec + B * (size_t)G + c0, G, 1, a->dU + c0, G);
    }
    if (c1 > split) {
        int s = c0 > split ? c0 : split;
        SFX(times_first_transposed)(u, c1 - s, (int)TB, a->rh, u, a->dxp + s, G, 0, a->dU + s,
                                    G);
    }
    if (a->db) {
        SFX(column_sums)(a->dxp, TB, G, c0, c1, a->db);
        if (a->drec)
            SFX(column_sums)(a->drec, TB, G, c0, c1, a->db + G);
    }
}

/* Exported: one backward call (kind as rnn_forward): the reverse loop split over
 * rows, then the weight gradients split over columns. Returns 0, or -1 when out of
 * memory. */
int SFX(rnn_backward)(int kind, int T, int B, int F, int u, int reset_after, const REAL *x,
                      const REAL *W, const REAL *U, const REAL *b_h, const REAL *gates,
                      const REAL *hs, const REAL *cs, const REAL *h0, const REAL *c0,
                      const uint8_t *keep, int zero_output, const REAL *d_seq,
                      const REAL *d_last, const REAL *d_h, const REAL *d_c, REAL *dxp,
                      REAL *drec, REAL *rh, REAL *d_x, REAL *dW, REAL *dU, REAL *db,
                      REAL *d_h0, REAL *d_c0, int nthreads)
{
    int G = (kind == 0 ? 4 : kind == 1 ? 3 : 1) * u;
    SFX(bwd_args) a = {T, B, F, u, G, zero_output, reset_after, kind, x, W, U, b_h, gates,
                       hs, cs, h0, c0, keep, d_seq, d_last, d_h, d_c, dxp, drec, rh, d_x,
                       dW, dU, db, d_h0, d_c0, 0, {NULL, G}, {NULL, G}};
#if PANELS
    if (T > 1) {                                  /* op = transpose: (p, q) at M[q G + p] */
        a.ut = pack_panels(U, 1, (size_t)G, G, 1, u, 0);
        a.wt = pack_panels(W, 1, (size_t)G, G, 1, F, 0);
    }
#endif
    over_range(SFX(backward_rows), &a, B, nthreads);
    if (!a.failed)
        over_range(SFX(weight_grads), &a, G, nthreads);
    free(a.ut.p);
    free(a.wt.p);
    return a.failed ? -1 : 0;
}

#endif
