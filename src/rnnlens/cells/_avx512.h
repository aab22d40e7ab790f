/* The AVX-512 kernels of the C loops (included by _fused.c, which see): products
 * of the per-step multiplies on packed weight panels, the weight gradients'
 * products, and the LSTM gates' σ and tanh on 16 lanes. float32 only; used where
 * the CPU has AVX-512F and rnn_set_avx512 leaves them on. Without x86-64 GCC /
 * Clang only the switch is compiled (HAVE_PANELS 0: BLAS and the portable loops). */

/* -- AVX-512 products of the per-step float32 multiplies --------------------------
 * Each step multiplies a few rows by the same weight matrix (h_tm1 @ U, x_t @ W,
 * dz @ U^T, dz @ W^T), T times per call. So the loops copy op(M) once per call into
 * panels of 32 columns (panel j: columns [32 j, 32 j + 32) as k contiguous rows of
 * 32, zero-padded) and multiply 8 rows x 32 columns at a time, 16 accumulators in
 * registers:
 *   C[i, 32 j : 32 j + 32] (+)= sum_p A[i, p] * panel_j[p, :]      (p = 0 .. k-1, FMA)
 * Sums run in p order, as a BLAS kernel's do (within float rounding of NumPy's @).
 * Used when the CPU has AVX-512F (checked at load; rnn_set_avx512 switches), on
 * float32 only; everything else goes through NumPy's BLAS above. Where NumPy's
 * OpenBLAS is held to its AVX2 kernels (OPENBLAS_CORETYPE=Haswell) this doubles the
 * products' speed; on its own AVX-512 kernels it still saves their per-call packing. */

typedef struct { float *p; int k; } panels_t;       /* p NULL: no panels (BLAS runs) */
typedef struct {                  /* one forward thread's weights for the per-step products */
    panels_t w, u;                /* panels of its columns of W and U, or empty             */
    float *bias;                  /* its columns of b (nb w), or NULL                       */
    float *x_all;                 /* one row: (XCH, nb w) x_t @ W + b of XCH steps, or NULL */
} products_t;
#define XCH 256                   /* steps whose input products one row makes at once      */
static int avx512_on;                    /* 1: panel_product and lstm_gates16 run */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_PANELS 1
#define AVX512 __attribute__((target("avx512f")))
#define NR 32                                        /* columns of a panel */
#define R8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define ZERO(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
#define FMA(i) if (MR > i) { __m512 ai = _mm512_set1_ps(A_(i));                             \
    c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0); c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1); }
#define STORE(i) if (MR > i) { float *ci = c + i * (size_t)ldc;                              \
    if (beta) { c##i##0 = _mm512_add_ps(c##i##0, _mm512_maskz_loadu_ps(m0, ci));             \
                c##i##1 = _mm512_add_ps(c##i##1, _mm512_maskz_loadu_ps(m1, ci + 16)); }      \
    else if (row) { c##i##0 = _mm512_add_ps(c##i##0, r0);                                  \
                    c##i##1 = _mm512_add_ps(c##i##1, r1); }                                 \
    _mm512_mask_storeu_ps(ci, m0, c##i##0); _mm512_mask_storeu_ps(ci + 16, m1, c##i##1); }
/* NAME: N rows of A times 32 columns of B (row p at b + p ldb: a panel, ldb = NR, or
 * B itself) into C (ldc), the columns kept by the masks m0 (first 16) and m1 (next
 * 16); beta 1 adds C, else a `row` (32 values, e.g. the bias) is added to each row.
 * A_(i) is element (i, p) of A: a[i lda + p], or of A^T for the weight gradients:
 * a[p lda + i]. */
#define TILE(NAME, N)                                                                       \
static AVX512 void NAME##N(int k, const float *a, int lda, const float *b, int ldb,        \
                           __mmask16 m0, __mmask16 m1, int beta, const float *row,        \
                           float *c, int ldc)                                              \
{                                                                                           \
    enum { MR = N };                                                                        \
    R8(ZERO)                                                                                \
    for (int p = 0; p < k; p++) {                                                           \
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b + (size_t)p * ldb);                         \
        __m512 b1 = _mm512_maskz_loadu_ps(m1, b + (size_t)p * ldb + 16);                    \
        R8(FMA)                                                                             \
    }                                                                                       \
    __m512 r0 = _mm512_setzero_ps(), r1 = r0;                                               \
    if (row) {                                                                              \
        r0 = _mm512_maskz_loadu_ps(m0, row);                                                \
        r1 = _mm512_maskz_loadu_ps(m1, row + 16);                                           \
    }                                                                                       \
    R8(STORE)                                                                               \
}
#define TILES(NAME) TILE(NAME, 1) TILE(NAME, 2) TILE(NAME, 3) TILE(NAME, 4) TILE(NAME, 5)   \
    TILE(NAME, 6) TILE(NAME, 7) TILE(NAME, 8)
#define A_(i) a[i * (size_t)lda + p]
TILES(tile)
#undef A_
#define A_(i) a[p * (size_t)lda + i]
TILES(tile_t)
#undef A_
typedef void (*tile_fn)(int, const float *, int, const float *, int, __mmask16, __mmask16,
                        int, const float *, float *, int);
static const tile_fn tiles[9] = {NULL, tile1, tile2, tile3, tile4, tile5, tile6, tile7, tile8};
static const tile_fn tiles_t[9] = {NULL, tile_t1, tile_t2, tile_t3, tile_t4, tile_t5, tile_t6,
                                   tile_t7, tile_t8};

/* The masks of a block of w <= 32 columns. */
static inline void column_masks(int w, __mmask16 *m0, __mmask16 *m1)
{
    *m0 = w >= 16 ? 0xFFFF : (__mmask16)((1u << w) - 1);
    *m1 = w >= 32 ? 0xFFFF : w <= 16 ? 0 : (__mmask16)((1u << (w - 16)) - 1);
}

/* One row (batch 1): c[j : j + 128] (+)= a @ four panels at once, so that eight
 * independent sums hide the FMA latency (one panel gives only two). */
static AVX512 void row4(int k, const float *a, const float *panel, size_t stride, int beta,
                        const float *row, float *c)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0;
    __m512 s7 = s0;
    const float *q0 = panel, *q1 = q0 + stride, *q2 = q1 + stride, *q3 = q2 + stride;
    for (int p = 0; p < k; p++) {
        __m512 ap = _mm512_set1_ps(a[p]);
        size_t o = (size_t)p * NR;
        s0 = _mm512_fmadd_ps(ap, _mm512_load_ps(q0 + o), s0);
        s1 = _mm512_fmadd_ps(ap, _mm512_load_ps(q0 + o + 16), s1);
        s2 = _mm512_fmadd_ps(ap, _mm512_load_ps(q1 + o), s2);
        s3 = _mm512_fmadd_ps(ap, _mm512_load_ps(q1 + o + 16), s3);
        s4 = _mm512_fmadd_ps(ap, _mm512_load_ps(q2 + o), s4);
        s5 = _mm512_fmadd_ps(ap, _mm512_load_ps(q2 + o + 16), s5);
        s6 = _mm512_fmadd_ps(ap, _mm512_load_ps(q3 + o), s6);
        s7 = _mm512_fmadd_ps(ap, _mm512_load_ps(q3 + o + 16), s7);
    }
    __m512 s[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
    for (int v = 0; v < 8; v++) {
        __m512 r = beta  ? _mm512_add_ps(s[v], _mm512_loadu_ps(c + 16 * v))
                 : row ? _mm512_add_ps(s[v], _mm512_loadu_ps(row + 16 * v)) : s[v];
        _mm512_storeu_ps(c + 16 * v, r);
    }
}

/* C (m, n) = A (m, k) @ the panels' first k rows and n columns + beta C (beta 0 / 1);
 * with beta 0 and a bias (n values), + bias on every row instead. */
static AVX512 void panel_product(int m, int n, int k, const float *a, int lda,
                                 const panels_t *P, int beta, const float *bias, float *c,
                                 int ldc)
{
    int j = 0;
    if (m == 1)                                  /* a matrix-vector product: 128 at once */
        for (; j + 4 * NR <= n; j += 4 * NR)
            row4(k, a, P->p + (size_t)j * P->k, (size_t)NR * P->k, beta, bias ? bias + j : NULL,
                 c + j);
    for (; j < n; j += NR) {
        __mmask16 m0, m1;
        column_masks(n - j < NR ? n - j : NR, &m0, &m1);
        const float *panel = P->p + (size_t)j * P->k;                /* panel j / NR */
        for (int i = 0; i < m; i += 8)
            tiles[m - i < 8 ? m - i : 8](k, a + (size_t)i * lda, lda, panel, NR, m0, m1, beta,
                                         bias ? bias + j : NULL, c + (size_t)i * ldc + j, ldc);
    }
}

static int cpu_has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
#else
#define HAVE_PANELS 0
#define NR 32
static int cpu_has_avx512(void) { return 0; }
#endif

/* Panels of op(M) (k, nb w): nb column blocks of width w, block b starting at column
 * b * bs of M; element (p, q) of op(M) is m[p * sp + col * sq] (sp = ld, sq = 1 for M;
 * sp = 1, sq = ld for M^T). Empty (p NULL) when the products run through BLAS, the
 * CPU lacks AVX-512 or memory is short (then BLAS runs too). */
static panels_t pack_panels(const float *m, size_t sp, size_t sq, int k, int nb, int w,
                            size_t bs)
{
    panels_t P = {NULL, k};
    int n = nb * w, count = (n + NR - 1) / NR;
    void *mem = NULL;
    if (!avx512_on || k < 1 || n < 1
        || posix_memalign(&mem, 64, (size_t)count * k * NR * sizeof(float)) != 0)
        return P;
    P.p = (float *)mem;
    for (int j = 0; j < count; j++) {
        size_t src[NR];                                  /* the panel's columns in m */
        int cols = n - j * NR < NR ? n - j * NR : NR;
        for (int q = 0; q < cols; q++)
            src[q] = ((size_t)((j * NR + q) / w) * bs + (size_t)((j * NR + q) % w)) * sq;
        for (int p = 0; p < k; p++) {
            float *dst = P.p + ((size_t)j * k + p) * NR;
            const float *row = m + (size_t)p * sp;
            for (int q = 0; q < cols; q++)
                dst[q] = row[src[q]];
            for (int q = cols; q < NR; q++)
                dst[q] = 0.0f;
        }
    }
    return P;
}

/* Switches the AVX-512 kernels (panel_product, lstm_gates16) on (1, where the CPU
 * has AVX-512F) or off (0: BLAS and the portable loops); returns the state now. */
int rnn_set_avx512(int on)
{
    avx512_on = on && HAVE_PANELS && cpu_has_avx512();
    return avx512_on;
}

#if HAVE_PANELS
/* The weight gradients' products, C (m, n) = A^T @ B + beta C with A (k, m) and B
 * (k, n) row-major and k = T B large: in blocks of KC rows. Each block of B is copied
 * into panels row by row (B comes from memory once, read in order), then every row
 * tile of C passes over the panels (in L2), reading A^T in place; the blocks' sums
 * are added into C one after another, as a BLAS's k blocking does. Returns 0, or -1
 * (nothing written) where the AVX-512 kernels are off or memory is short. */
#define KC 256
static AVX512 int tn_product(int m, int n, int k, const float *a, int lda, const float *b,
                             int ldb, float beta, float *c, int ldc)
{
    int count = (n + NR - 1) / NR;
    void *mem = NULL;
    if (!avx512_on || k < 1
        || posix_memalign(&mem, 64, (size_t)count * KC * NR * sizeof(float)) != 0)
        return -1;
    float *pan = (float *)mem;
    for (int k0 = 0; k0 < k; k0 += KC) {
        int kc = k - k0 < KC ? k - k0 : KC, add = k0 > 0 || beta != 0.0f;
        for (int p = 0; p < kc; p++) {                       /* panels of B's block */
            const float *row = b + (size_t)(k0 + p) * ldb;
            for (int j = 0; j < count; j++) {
                __mmask16 m0, m1;
                column_masks(n - j * NR < NR ? n - j * NR : NR, &m0, &m1);
                float *dst = pan + ((size_t)j * kc + p) * NR;
                _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, row + j * NR));
                _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, row + j * NR + 16));
            }
        }
        const float *ak = a + (size_t)k0 * lda;
        for (int j = 0; j < count; j++) {
            __mmask16 m0, m1;
            column_masks(n - j * NR < NR ? n - j * NR : NR, &m0, &m1);
            for (int i = 0; i < m; i += 8)
                tiles_t[m - i < 8 ? m - i : 8](kc, ak + i, lda, pan + (size_t)j * kc * NR, NR,
                                               m0, m1, add, NULL, c + (size_t)i * ldc + j * NR,
                                               ldc);
        }
    }
    free(pan);
    return 0;
}
#endif

#if HAVE_PANELS
#define K(v) _mm512_set1_ps(v)
/* e^y on 16 lanes, y clamped to [-88, 88]: tanh_f32's e^y (Cody-Waite reduction,
 * Cephes expf's polynomial, both by fused multiply-adds), 2^n by scalef. */
static AVX512 inline __m512 exp16(__m512 y)
{
    y = _mm512_min_ps(_mm512_max_ps(y, K(-88.0f)), K(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(y, K(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, K(0.693359375f), y);
    r = _mm512_fnmadd_ps(n, K(-2.12194440e-4f), r);
    __m512 e = _mm512_fmadd_ps(K(1.9875691500e-4f), r, K(1.3981999507e-3f));
    e = _mm512_fmadd_ps(e, r, K(8.3334519073e-3f));
    e = _mm512_fmadd_ps(e, r, K(4.1665795894e-2f));
    e = _mm512_fmadd_ps(e, r, K(1.6666665459e-1f));
    e = _mm512_fmadd_ps(e, r, K(5.0000001201e-1f));
    e = _mm512_add_ps(_mm512_fmadd_ps(e, _mm512_mul_ps(r, r), r), K(1.0f));       /* e^r */
    return _mm512_scalef_ps(e, n);
}

/* tanh_f32's equations on 16 lanes with fused multiply-adds: within 2.4 ulp of the
 * exact tanh over all floats, 1.6x faster than the compiler's vectorization of
 * tanh_f32; NaN stays NaN. */
static AVX512 inline __m512 tanh16(__m512 x)
{
    const __m512 one = K(1.0f);
    __m512 a = _mm512_abs_ps(x), z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(K(-5.70498872745e-3f), z, K(2.06390887954e-2f));
    p = _mm512_fmadd_ps(p, z, K(-5.37397155531e-2f));
    p = _mm512_fmadd_ps(p, z, K(1.33314422036e-1f));
    p = _mm512_fmadd_ps(p, z, K(-3.33332819422e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);                  /* |x| < 0.625 */
    __m512 y = _mm512_mul_ps(_mm512_min_ps(a, K(9.0f)), K(2.0f));
    __m512 q = _mm512_sub_ps(one, _mm512_div_ps(K(2.0f), _mm512_add_ps(exp16(y), one)));
    __m512i sign = _mm512_and_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
    q = _mm512_castsi512_ps(_mm512_or_epi32(_mm512_castps_si512(q), sign));
    __m512 t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, K(0.625f), _CMP_LT_OQ), q, p);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), t, x);  /* NaN */
}

/* The LSTM's σ gates from their pre-halved pre-activations z = v / 2:
 *   σ(v) = 1 / (1 + e^(-2 z))
 * within 2.5 ulp of the exact σ for |v| <= 87 (and 9e-8 absolute everywhere; σ =
 * tanh(v/2)/2 + 1/2 of the portable loop is within 5.4e-8 absolute but loses the
 * relative accuracy of small σ), a third cheaper than through tanh16. */
static AVX512 inline __m512 sigm16(__m512 z)
{
    __m512 s = _mm512_div_ps(K(1.0f), _mm512_add_ps(K(1.0f),
                                                     exp16(_mm512_mul_ps(z, K(-2.0f)))));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, z, _CMP_UNORD_Q), s, z);  /* NaN */
}
#undef K

static AVX512 void activation16(int which, int n, const float *x, float *out)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        _mm512_mask_storeu_ps(out + i, m, which == 1 ? tanh16(v) : sigm16(v));
    }
}

/* lstm_gates (below) for float32 on 16 units at a time: sigm16 for the σ gates,
 * tanh16 for tanh_f32; the other operations are the same, in the same order. */
static AVX512 void lstm_gates16(float *restrict z, int ldz, int zs, const float *restrict xp,
                                int ldx, int xs, const float *restrict c_tm1,
                                float *restrict h, float *restrict c, int u, int rows, int w)
{
    for (int r = 0; r < rows; r++) {
        float *zr = z + (size_t)r * ldz;
        const float *xr = xp + (size_t)r * ldx, *cp = c_tm1 + (size_t)r * u;
        float *cr = c + (size_t)r * u, *hr = h + (size_t)r * u;
        for (int j = 0; j < w; j += 16) {
            __mmask16 m = w - j >= 16 ? 0xFFFF : (__mmask16)((1u << (w - j)) - 1);
            __m512 g[4];
            for (int k = 0; k < 4; k++) {                             /* i, f, o, g */
                float *zk = zr + (size_t)k * zs + j;
                __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, zk),
                                         _mm512_maskz_loadu_ps(m, xr + (size_t)k * xs + j));
                g[k] = k < 3 ? sigm16(v) : tanh16(v);
                _mm512_mask_storeu_ps(zk, m, g[k]);
            }
            __m512 cj = _mm512_add_ps(_mm512_mul_ps(g[1], _mm512_maskz_loadu_ps(m, cp + j)),
                                      _mm512_mul_ps(g[0], g[3]));      /* f c_tm1 + i g */
            _mm512_mask_storeu_ps(cr + j, m, cj);
            _mm512_mask_storeu_ps(hr + j, m, _mm512_mul_ps(tanh16(cj), g[2]));
        }
    }
}
#endif
