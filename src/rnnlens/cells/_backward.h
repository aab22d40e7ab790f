/* The backward loops of _fused.c (which see), once per REAL: included twice, with
 * REAL, SFX, GEMM, TANH and PANELS defined for float (_f32) and double (_f64).
 *
 * Shape legend: T steps, B batch (rows), u units, G gate width (4u, 3u, u).
 */

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
