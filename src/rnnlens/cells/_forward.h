/* The forward loops of _fused.c (which see), once per REAL: included twice, with
 * REAL, SFX, GEMM, TANH and PANELS defined for float (_f32) and double (_f64).
 *
 * Shape legend: T steps, B batch (rows), u units, G gate width (4u, 3u, u).
 */

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
    const products_t *whole;   /* rows split: the panels of all columns, packed once     */
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
 * step's row of x_all (made for XCH steps at once). Through BLAS the bias is
 * written first and the product added; the panels add the bias to the product
 * (the same sum). */
static const REAL *SFX(input_product)(const SFX(fwd_args) *a, const products_t *pp, int t,
                                      int r0, int rows, int j0, int w, REAL *xw, int ldx,
                                      int xs)
{
    const REAL *x_t = a->x + ((size_t)t * a->B + r0) * a->F;
#if PANELS
    if (pp->x_all) {                         /* one row: XCH steps' products at a time */
        int n = a->T - t < XCH ? a->T - t : XCH;
        if (t % XCH == 0)
            panel_product(n, ldx, a->F, x_t, a->B * a->F, &pp->w, 0, pp->bias, pp->x_all,
                          ldx);
        return pp->x_all + (size_t)(t % XCH) * ldx;
    }
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
                    rec[(size_t)r * ldr + j] = z[(size_t)r * ldz + zs + j]
                                               * h_tm1[(size_t)r * u + j];
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
/* The panels of columns [j0, j0 + w) of each block of W and U, and those columns of b
 * (empty where memory is short: then BLAS runs). */
static void SFX(pack_products)(const SFX(fwd_args) *a, products_t *pp, int j0, int w)
{
    int nw = a->nb * w;
    pp->w = pack_panels(a->W + j0, (size_t)a->G, 1, a->F, a->nb, w, (size_t)a->u);
    pp->u = pack_panels(a->U + j0, (size_t)a->G, 1, a->u, a->nb, w, (size_t)a->u);
    if (!pp->w.p || !a->b)
        return;
    if (!(pp->bias = (float *)malloc((size_t)nw * sizeof(float)))) {
        free(pp->w.p);                              /* the input product goes to BLAS */
        pp->w.p = NULL;
        return;
    }
    for (int k = 0; k < a->nb; k++)
        memcpy(pp->bias + (size_t)k * w, a->b + (size_t)k * a->u + j0, (size_t)w * sizeof(float));
}

/* A thread's products for a whole call: the shared panels of a rows split, or its own
 * for a slice of units; for one row (a batch of one) also room for x_t @ W + b of
 * XCH steps at once, so that the steps read only U. Returns whether the panels are its
 * own. */
static int SFX(thread_products)(const SFX(fwd_args) *a, products_t *pp, int r0, int rows,
                                int j0, int w)
{
    int own = !a->whole;
    if (own)
        SFX(pack_products)(a, pp, j0, w);
    else
        *pp = *a->whole;
    size_t steps = (size_t)(a->T < XCH ? a->T : XCH);
    if (rows == 1 && pp->w.p)                       /* (filled by input_product) */
        pp->x_all = (float *)malloc(steps * (size_t)a->nb * w * sizeof(float));
    return own;
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
    int own_panels = 0;
#if PANELS
    if (T > 1 && w > 0)
        own_panels = SFX(thread_products)(a, &pp, r0, rows, j0, w);
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
    free(pp.x_all);
    if (own_panels) {
        free(pp.w.p);
        free(pp.u.p);
        free(pp.bias);
    }
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
                       shared + 2 * su, shared + 4 * su, NULL, 0, NULL};
    if (split_units && (kind != 1 || reset_after)) {
        a.bar = &bar;                               /* each thread packs its own slice */
        over_units(SFX(units_chunk), &a, &bar, u, nthreads);
    } else {
        products_t whole = {{NULL, F}, {NULL, u}, NULL, NULL};
#if PANELS
        if (T > 1) {                                /* one packing for all row chunks */
            SFX(pack_products)(&a, &whole, 0, u);
            a.whole = &whole;
        }
#endif
        over_range(SFX(rows_chunk), &a, B, nthreads);
        free(whole.w.p);
        free(whole.u.p);
        free(whole.bias);
    }
    free(shared);
    return a.failed ? -1 : 0;
}
