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
 * differs (tanh_f32 below, within 2 ulp), so both paths agree to ~1e-7.
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

/* C (m, n) = A (m, k) @ B (k, n)  [or B^T when trans_b: B is (n, k)] + beta C, row-major.
 * One row (batch 1) is a matrix-vector product: c = B^T a  [or B a]. */
static void gemm_f32(int trans_b, int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, float beta, float *c, int ldc)
{
    int tb = trans_b ? TRANS : NO_TRANS;
    if (m == 1) {
        int rows = trans_b ? n : k, cols = trans_b ? k : n, tv = trans_b ? NO_TRANS : TRANS;
        if (blas_ilp64)
            ((sgemv64_t)blas_sgemv)(ROW_MAJOR, tv, rows, cols, 1.0f, b, ldb, a, 1, beta, c, 1);
        else
            ((sgemv32_t)blas_sgemv)(ROW_MAJOR, tv, rows, cols, 1.0f, b, ldb, a, 1, beta, c, 1);
        return;
    }
    if (blas_ilp64)
        ((sgemm64_t)blas_sgemm)(ROW_MAJOR, NO_TRANS, tb, m, n, k, 1.0f, a, lda, b, ldb, beta,
                                c, ldc);
    else
        ((sgemm32_t)blas_sgemm)(ROW_MAJOR, NO_TRANS, tb, m, n, k, 1.0f, a, lda, b, ldb, beta,
                                c, ldc);
}

static void gemm_f64(int trans_b, int m, int n, int k, const double *a, int lda,
                     const double *b, int ldb, double beta, double *c, int ldc)
{
    int tb = trans_b ? TRANS : NO_TRANS;
    if (m == 1) {
        int rows = trans_b ? n : k, cols = trans_b ? k : n, tv = trans_b ? NO_TRANS : TRANS;
        if (blas_ilp64)
            ((dgemv64_t)blas_dgemv)(ROW_MAJOR, tv, rows, cols, 1.0, b, ldb, a, 1, beta, c, 1);
        else
            ((dgemv32_t)blas_dgemv)(ROW_MAJOR, tv, rows, cols, 1.0, b, ldb, a, 1, beta, c, 1);
        return;
    }
    if (blas_ilp64)
        ((dgemm64_t)blas_dgemm)(ROW_MAJOR, NO_TRANS, tb, m, n, k, 1.0, a, lda, b, ldb, beta,
                                c, ldc);
    else
        ((dgemm32_t)blas_dgemm)(ROW_MAJOR, NO_TRANS, tb, m, n, k, 1.0, a, lda, b, ldb, beta,
                                c, ldc);
}

/* -- tanh ---------------------------------------------------------------------
 * float32, branch-free (selects, no float-to-int conversion), so that the loops
 * calling it vectorize:
 *   |x| < 0.625:  x + x^3 P(x^2)                          (Cephes tanhf)
 *   otherwise:    sign(x) (1 - 2 / (e^y + 1)), y = 2|x|, |x| clamped to 9 (tanh = 1)
 *   e^y = 2^n e^r: n = round(y log2 e) by adding 1.5 * 2^23, r = y - n ln 2 in two
 *   parts (Cody-Waite), e^r by Cephes expf's polynomial, 2^n from n's bits.
 * Within 2.4 ulp (1.5e-7 relative) of the exact tanh over all floats; NaN stays
 * NaN, +-inf gives +-1. float64 uses the C library's tanh. */
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

/* -- threads over the batch ----------------------------------------------- */

#define MAX_THREADS 64
typedef void (*chunk_fn)(void *args, int b0, int b1);
typedef struct { chunk_fn fn; void *args; int b0, b1; } job_t;

static void *job_main(void *p)
{
    job_t *j = (job_t *)p;
    j->fn(j->args, j->b0, j->b1);
    return NULL;
}

/* Runs fn(args, b0, b1) over `nthreads` contiguous chunks of the B rows; chunk 0
 * on the calling thread. A thread that cannot be started runs inline. `nthreads`
 * < 0 means -nthreads threads with BLAS single-threaded even for one (the caller
 * runs other work on the other cores, e.g. Bidirectional's second direction). */
static void over_batch(chunk_fn fn, void *args, int B, int nthreads)
{
    pthread_t th[MAX_THREADS];
    job_t jobs[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    int single = nthreads < 0;
    nthreads = single ? -nthreads : nthreads;
    nthreads = nthreads > B ? B : nthreads;
    nthreads = nthreads > MAX_THREADS ? MAX_THREADS : nthreads < 1 ? 1 : nthreads;
    if (nthreads < 2 && !single) {
        fn(args, 0, B);
        return;
    }
    blas_single_enter();
    for (int k = 0; k < nthreads; k++) {
        jobs[k] = (job_t){fn, args, (int)((int64_t)B * k / nthreads),
                          (int)((int64_t)B * (k + 1) / nthreads)};
    }
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

/* Instantiate the kernels for float and double. */
#define REAL float
#define SFX(name) name##_f32
#define GEMM gemm_f32
#define TANH tanh_f32
#include "_fused.c"
#undef REAL
#undef SFX
#undef GEMM
#undef TANH
#define REAL double
#define SFX(name) name##_f64
#define GEMM gemm_f64
#define TANH tanh_f64
#include "_fused.c"

/* Plain matrix products through the same BLAS, for the loader's self-test:
 * c = a @ b, or a @ b^T (b (n, k)) when trans_b; one row of a goes through gemv. */
void rnn_matmul_f32(int trans_b, int m, int n, int k, const float *a, const float *b,
                    float *c)
{
    gemm_f32(trans_b, m, n, k, a, k, b, trans_b ? k : n, 0.0f, c, n);
}

void rnn_matmul_f64(int trans_b, int m, int n, int k, const double *a, const double *b,
                    double *c)
{
    gemm_f64(trans_b, m, n, k, a, k, b, trans_b ? k : n, 0.0, c, n);
}

#else /* ======================== kernels, once per REAL ======================== */

/* The masking rule of recurrence.run for one step, rows [0, rows):
 *   keep:  states = new;            y = out_t
 *   skip:  states = states_tm1;     y = 0 if zero_output else y_tm1 (unchanged)  */
static void SFX(mask_step)(const uint8_t *keep, int rows, int n, REAL *s, const REAL *s_tm1)
{
    for (int r = 0; r < rows; r++)
        if (!keep[r])
            memcpy(s + (size_t)r * n, s_tm1 + (size_t)r * n, (size_t)n * sizeof(REAL));
}

static void SFX(mask_output)(const uint8_t *keep, int rows, int u, int zero_output,
                             REAL *y, const REAL *h)
{
    for (int r = 0; r < rows; r++) {
        if (keep[r])
            memcpy(y + (size_t)r * u, h + (size_t)r * u, (size_t)u * sizeof(REAL));
        else if (zero_output)
            memset(y + (size_t)r * u, 0, (size_t)u * sizeof(REAL));
    }
}

/* What every forward loop shares: sizes, inputs, outputs (NULL = not wanted). */
typedef struct {
    int T, B, u, G, zero_output, reset_after;
    const REAL *xp;            /* (T, B, G) x_t @ W + b, the cell's packed layout       */
    const REAL *U;             /* (u, G) recurrent kernel, packed as the cell's stepper  */
    const REAL *b_h;           /* GRU reset_after: (G,) recurrent bias, or NULL          */
    const REAL *h0, *c0, *y0;  /* (B, u) initial states; y0 initial output (mask only)   */
    const uint8_t *keep;       /* (T, B) mask, or NULL                                    */
    REAL *seq;                 /* (B, T, u) outputs, or NULL                              */
    REAL *gates;               /* (T, B, G) recorded gates, or NULL                       */
    REAL *hs, *cs;             /* (T, B, u) recorded states, or NULL                      */
    REAL *h_last, *c_last, *y_last;    /* (B, u) final states and last output          */
    int failed;                /* set by a chunk that could not allocate its buffers     */
} SFX(fwd_args);

/* LSTM gates of one step, rows of z (G = 4u, packed i, f, o, g; σ columns of W, U,
 * b pre-halved, so σ(v) = tanh(v/2)/2 + 1/2):
 *   z = tanh(z + xp_t);  i, f, o = z/2 + 1/2;  g = z[3u:]
 *   c = f * c_tm1 + i * g;  h = o * tanh(c)                                      */
VEC static void SFX(lstm_gates)(REAL *restrict z, const REAL *restrict xp,
                                const REAL *restrict c_tm1, REAL *restrict h,
                                REAL *restrict c, int rows, int u)
{
    int G = 4 * u;
    for (int r = 0; r < rows; r++) {
        REAL *zr = z + (size_t)r * G;
        const REAL *xr = xp + (size_t)r * G;
        for (int j = 0; j < G; j++)
            zr[j] = TANH(zr[j] + xr[j]);
        for (int j = 0; j < 3 * u; j++)
            zr[j] = zr[j] * (REAL)0.5 + (REAL)0.5;
        const REAL *i = zr, *f = zr + u, *o = zr + 2 * u, *g = zr + 3 * u;
        const REAL *cp = c_tm1 + (size_t)r * u;
        REAL *cr = c + (size_t)r * u, *hr = h + (size_t)r * u;
        for (int j = 0; j < u; j++) {
            REAL cj = f[j] * cp[j] + i[j] * g[j];
            cr[j] = cj;
            hr[j] = TANH(cj) * o[j];
        }
    }
}

/* GRU gates of one step (G = 3u: z, r, hh; z, r columns pre-halved). `rec` holds
 * h_tm1 @ U (+ b_h): reset_after   hh = tanh(x_h + r * r_h)
 *                    otherwise     (done by the caller) hh = tanh(x_h + (r h) @ U_h)
 *   z, r = σ(x_zr + rec_zr);  h = z * h_tm1 + (1 - z) * hh                         */
VEC static void SFX(gru_zr)(REAL *restrict g, const REAL *restrict xp,
                            const REAL *restrict rec, int rows, int u)
{
    int G = 3 * u;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < 2 * u; j++)
            g[(size_t)r * G + j] = TANH(xp[(size_t)r * G + j] + rec[(size_t)r * G + j])
                                   * (REAL)0.5 + (REAL)0.5;
}

VEC static void SFX(gru_h)(REAL *restrict g, const REAL *restrict xp,
                           const REAL *restrict rec_h, int ld_rec, const REAL *restrict h_tm1,
                           REAL *restrict h, int rows, int u, int reset_after)
{
    int G = 3 * u;
    for (int r = 0; r < rows; r++) {
        REAL *z = g + (size_t)r * G, *rg = z + u, *hh = z + 2 * u;
        const REAL *xh = xp + (size_t)r * G + 2 * u, *rh = rec_h + (size_t)r * ld_rec;
        const REAL *hp = h_tm1 + (size_t)r * u;
        REAL *hr = h + (size_t)r * u;
        for (int j = 0; j < u; j++) {
            REAL a = reset_after ? rg[j] * rh[j] : rh[j];
            hh[j] = TANH(a + xh[j]);
            hr[j] = z[j] * hp[j] + ((REAL)1 - z[j]) * hh[j];
        }
    }
}

/* SimpleRNN, one step (n = rows * u values): a += x_t @ W + b;  h = tanh(a) */
VEC static void SFX(rnn_act)(REAL *restrict a, const REAL *restrict xp, REAL *restrict h,
                             size_t n)
{
    for (size_t j = 0; j < n; j++) {
        a[j] = a[j] + xp[j];
        h[j] = TANH(a[j]);
    }
}

/* One chunk of rows [b0, b1) of a forward loop; `kind` 0 LSTM, 1 GRU, 2 SimpleRNN. */
static void SFX(forward_chunk)(void *p, int b0, int b1, int kind)
{
    SFX(fwd_args) *a = (SFX(fwd_args) *)p;
    int T = a->T, B = a->B, u = a->u, G = a->G, rows = b1 - b0;
    size_t su = (size_t)rows * u;
    REAL *work = (REAL *)malloc(((size_t)rows * (G + G) + 5 * su) * sizeof(REAL));
    if (!work) {
        a->failed = 1;
        return;
    }
    REAL *zbuf = work, *rec = work + (size_t)rows * G, *hbuf = rec + (size_t)rows * G;
    REAL *cbuf = hbuf + 2 * su, *y = cbuf + 2 * su;
    const REAL *h_tm1 = a->h0 + (size_t)b0 * u;
    const REAL *c_tm1 = a->c0 ? a->c0 + (size_t)b0 * u : NULL;
    if (a->keep) {
        if (a->y0)
            memcpy(y, a->y0 + (size_t)b0 * u, su * sizeof(REAL));
        else
            memset(y, 0, su * sizeof(REAL));
    }
    for (int t = 0; t < T; t++) {
        size_t row0 = (size_t)t * B + b0;
        REAL *z = a->gates ? a->gates + row0 * G : zbuf;
        REAL *h = a->hs ? a->hs + row0 * u : hbuf + (t % 2) * su;
        REAL *c = a->cs ? a->cs + row0 * u : cbuf + (t % 2) * su;
        const REAL *xp = a->xp + row0 * G;
        if (kind == 0) {                                           /* LSTM */
            GEMM(0, rows, G, u, h_tm1, u, a->U, G, 0, z, G);       /* z = h_tm1 @ U */
            SFX(lstm_gates)(z, xp, c_tm1, h, c, rows, u);
        } else if (kind == 1) {                                    /* GRU */
            int cols = a->reset_after ? G : 2 * u;
            GEMM(0, rows, cols, u, h_tm1, u, a->U, G, 0, rec, G);  /* rec = h_tm1 @ U */
            if (a->b_h)
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < cols; j++)
                        rec[(size_t)r * G + j] += a->b_h[j];       /*   + b_h */
            SFX(gru_zr)(z, xp, rec, rows, u);
            if (!a->reset_after) {                                 /* (r * h_tm1) @ U_h */
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < u; j++)
                        rec[(size_t)r * G + j] = z[(size_t)r * G + u + j]
                                                 * h_tm1[(size_t)r * u + j];
                GEMM(0, rows, u, u, rec, G, a->U + 2 * u, G, 0, rec + 2 * u, G);
            }
            SFX(gru_h)(z, xp, rec + 2 * u, G, h_tm1, h, rows, u, a->reset_after);
        } else {                                                   /* SimpleRNN */
            GEMM(0, rows, u, u, h_tm1, u, a->U, u, 0, z, u);       /* a = h_tm1 @ U */
            SFX(rnn_act)(z, xp, h, su);
        }
        const REAL *out = h;
        if (a->keep) {
            const uint8_t *keep = a->keep + row0;
            SFX(mask_step)(keep, rows, u, h, h_tm1);
            if (c_tm1)
                SFX(mask_step)(keep, rows, u, c, c_tm1);
            SFX(mask_output)(keep, rows, u, a->zero_output, y, h);
            out = y;
        }
        if (a->seq)
            for (int r = 0; r < rows; r++)
                memcpy(a->seq + ((size_t)(b0 + r) * T + t) * u, out + (size_t)r * u,
                       (size_t)u * sizeof(REAL));
        h_tm1 = h;
        c_tm1 = c_tm1 ? c : NULL;
    }
    memcpy(a->h_last + (size_t)b0 * u, h_tm1, su * sizeof(REAL));
    if (c_tm1)
        memcpy(a->c_last + (size_t)b0 * u, c_tm1, su * sizeof(REAL));
    memcpy(a->y_last + (size_t)b0 * u, a->keep ? y : h_tm1, su * sizeof(REAL));
    free(work);
}

static void SFX(lstm_chunk)(void *p, int b0, int b1) { SFX(forward_chunk)(p, b0, b1, 0); }
static void SFX(gru_chunk)(void *p, int b0, int b1) { SFX(forward_chunk)(p, b0, b1, 1); }
static void SFX(rnn_chunk)(void *p, int b0, int b1) { SFX(forward_chunk)(p, b0, b1, 2); }

/* Exported: one forward call. kind 0 LSTM (G = 4u, c0 / c_last given), 1 GRU
 * (G = 3u), 2 SimpleRNN (G = u). Returns 0, or -1 when out of memory. */
int SFX(rnn_forward)(int kind, int T, int B, int u, int reset_after, const REAL *xp,
                     const REAL *U, const REAL *b_h, const REAL *h0, const REAL *c0,
                     const REAL *y0, const uint8_t *keep, int zero_output, REAL *seq,
                     REAL *gates, REAL *hs, REAL *cs, REAL *h_last, REAL *c_last,
                     REAL *y_last, int nthreads)
{
    int G = kind == 0 ? 4 * u : kind == 1 ? 3 * u : u;
    SFX(fwd_args) a = {T, B, u, G, zero_output, reset_after, xp, U, b_h, h0, c0, y0, keep,
                       seq, gates, hs, cs, h_last, c_last, y_last, 0};
    chunk_fn fn = kind == 0 ? SFX(lstm_chunk) : kind == 1 ? SFX(gru_chunk) : SFX(rnn_chunk);
    over_batch(fn, &a, B, nthreads);
    return a.failed ? -1 : 0;
}

/* -- backward -------------------------------------------------------------- */

typedef struct {
    int T, B, u, G, zero_output, reset_after;
    const REAL *gates;          /* (T, B, G) recorded gates                                */
    const REAL *hs, *cs;        /* (T, B, u) recorded states (after masking)              */
    const REAL *h0, *c0;        /* (B, u) initial states                                   */
    const REAL *U;              /* recurrent kernel, unscaled, the gates' column order    */
    const REAL *rec_h;          /* GRU reset_after: (T, B, u) h_tm1 @ U_h + b_h, or NULL   */
    const uint8_t *keep;        /* (T, B) or NULL                                          */
    const REAL *d_seq;          /* (T, B, u) dL/dy_t (processing order), or NULL          */
    const REAL *d_last;         /* (B, u) dL/dy_(T-1), or NULL                            */
    const REAL *d_h, *d_c;      /* (B, u) dL/d(final states), or NULL                     */
    REAL *dxp;                  /* (T, B, G) out: dL/d(x_t @ W + b)                        */
    REAL *drec;                 /* GRU reset_after: (T, B, G) out: dL/d(h_tm1 @ U + b_h)   */
    REAL *d_h0, *d_c0;          /* (B, u) out: dL/d(initial states)                       */
    int failed;
} SFX(bwd_args);

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

/* One chunk of rows [b0, b1) of a backward loop, in reverse time. The masking
 * rule of recurrence.backward, per row r of step t (k = keep[t, r]):
 *   d_y = d_carry + d_seq[t] (+ d_last at the last step)
 *   k:  d_new = [d_h + d_y, d_c];  d_pass = 0;   d_carry = 0
 *   !k: d_new = 0;  d_pass = [d_h, d_c];  d_carry = d_y (0 with zero_output)
 *   [d_h, d_c] = backward_step(d_new) + d_pass                                      */
static void SFX(backward_chunk)(void *p, int b0, int b1, int kind)
{
    SFX(bwd_args) *a = (SFX(bwd_args) *)p;
    int T = a->T, B = a->B, u = a->u, G = a->G, rows = b1 - b0, lstm = kind == 0;
    size_t su = (size_t)rows * u;
    REAL *work = (REAL *)calloc(9 * su, sizeof(REAL));
    if (!work) {
        a->failed = 1;
        return;
    }
    REAL *dh = work, *dc = work + su, *dh_new = work + 2 * su, *dc_new = work + 3 * su;
    REAL *d_carry = work + 4 * su, *dyb = work + 5 * su, *d_rh = work + 6 * su;
    REAL *dh_next = work + 7 * su, *dc_next = work + 8 * su;
    if (a->d_h)
        memcpy(dh, a->d_h + (size_t)b0 * u, su * sizeof(REAL));
    if (lstm && a->d_c)
        memcpy(dc, a->d_c + (size_t)b0 * u, su * sizeof(REAL));
    for (int t = T - 1; t >= 0; t--) {
        size_t row0 = (size_t)t * B + b0;
        const uint8_t *keep = a->keep ? a->keep + row0 : NULL;
        for (size_t j = 0; j < su; j++) {                          /* d_y */
            REAL d = d_carry[j];
            if (a->d_seq)
                d = d + a->d_seq[row0 * u + j];
            if (a->d_last && t == T - 1)
                d = d + a->d_last[(size_t)b0 * u + j];
            dyb[j] = d;
        }
        for (int r = 0; r < rows; r++) {                           /* the masking rule */
            int k = keep ? keep[r] : 1;
            for (int j = 0; j < u; j++) {
                size_t q = (size_t)r * u + j;
                dh_new[q] = k ? dh[q] + dyb[q] : 0;
                dc_new[q] = k ? dc[q] : 0;
                if (keep && !a->zero_output)
                    d_carry[q] = k ? 0 : dyb[q];
            }
        }
        const REAL *gates = a->gates + row0 * G;
        const REAL *h_tm1 = t ? a->hs + (row0 - B) * u : a->h0 + (size_t)b0 * u;
        REAL *dx = a->dxp + row0 * G;
        if (kind == 0) {
            const REAL *c_tm1 = t ? a->cs + (row0 - B) * u : a->c0 + (size_t)b0 * u;
            SFX(lstm_back_gates)(gates, c_tm1, dh_new, dc_new, dx, dc_next, rows, u);
            GEMM(1, rows, u, G, dx, G, a->U, G, 0, dh_next, u);  /* dh_tm1 = dz @ U^T */
        } else if (kind == 1) {
            SFX(gru_back_h)(gates, h_tm1, dh_new, dx, dh_next, rows, u);
            if (!a->reset_after)                               /* d_rh = dx_h @ U_h^T */
                GEMM(1, rows, u, u, dx + 2 * u, G, a->U + 2 * u, G, 0, d_rh, u);
            SFX(gru_back_zr)(gates, h_tm1, a->rec_h ? a->rec_h + row0 * u : NULL, d_rh,
                             dx, a->drec ? a->drec + row0 * G : NULL, dh_next, rows, u,
                             a->reset_after);
            if (a->reset_after)                                /* dh_tm1 += drec @ U^T */
                GEMM(1, rows, u, G, a->drec + row0 * G, G, a->U, G, 1, dh_next, u);
            else                                               /*  += dx_zr @ U_zr^T */
                GEMM(1, rows, u, 2 * u, dx, G, a->U, G, 1, dh_next, u);
        } else {                                               /* SimpleRNN */
            SFX(rnn_back)(dh_new, a->hs + row0 * u, dx, su);    /* da = dh (1 - h^2) */
            GEMM(1, rows, u, u, dx, u, a->U, u, 0, dh_next, u); /* dh_tm1 = da @ U^T */
        }
        for (int r = 0; r < rows; r++) {                       /* + d_pass */
            int k = keep ? keep[r] : 1;
            for (int j = 0; j < u; j++) {
                size_t q = (size_t)r * u + j;
                dh[q] = k ? dh_next[q] : dh[q];
                if (lstm)
                    dc[q] = k ? dc_next[q] : dc[q];
            }
        }
    }
    memcpy(a->d_h0 + (size_t)b0 * u, dh, su * sizeof(REAL));
    if (lstm)
        memcpy(a->d_c0 + (size_t)b0 * u, dc, su * sizeof(REAL));
    free(work);
}

static void SFX(lstm_bchunk)(void *p, int b0, int b1) { SFX(backward_chunk)(p, b0, b1, 0); }
static void SFX(gru_bchunk)(void *p, int b0, int b1) { SFX(backward_chunk)(p, b0, b1, 1); }
static void SFX(rnn_bchunk)(void *p, int b0, int b1) { SFX(backward_chunk)(p, b0, b1, 2); }

/* Exported: one backward call (kind as rnn_forward). Returns 0, or -1 when out of memory. */
int SFX(rnn_backward)(int kind, int T, int B, int u, int reset_after, const REAL *gates,
                      const REAL *hs, const REAL *cs, const REAL *h0, const REAL *c0,
                      const REAL *U, const REAL *rec_h, const uint8_t *keep, int zero_output,
                      const REAL *d_seq, const REAL *d_last, const REAL *d_h, const REAL *d_c,
                      REAL *dxp, REAL *drec, REAL *d_h0, REAL *d_c0, int nthreads)
{
    int G = kind == 0 ? 4 * u : kind == 1 ? 3 * u : u;
    SFX(bwd_args) a = {T, B, u, G, zero_output, reset_after, gates, hs, cs, h0, c0, U, rec_h,
                       keep, d_seq, d_last, d_h, d_c, dxp, drec, d_h0, d_c0, 0};
    chunk_fn fn = kind == 0 ? SFX(lstm_bchunk) : kind == 1 ? SFX(gru_bchunk) : SFX(rnn_bchunk);
    over_batch(fn, &a, B, nthreads);
    return a.failed ? -1 : 0;
}

#endif
