/* The body of gather_conv.c for one element type: T (float or double), V (its 64-byte vector),
 * SUFFIX (f32 or f64).  Included once per type; see gather_conv.c for what it computes. */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define LANES ((int64_t)(sizeof(V) / sizeof(T)))
#define INLINE static inline __attribute__((always_inline))
#define ACC CAT(acc_, SUFFIX)

/* The running sums of one output row over 2 vectors of output channels, in CHAINS chains:
 * v[vector][chain], input channel c going into chain c % CHAINS. */
typedef struct {
    V v[2][CHAINS];
} ACC;

/* a += x_row @ w_k[:, j0 : j0 + 2 LANES] (wk already offset by j0). */
INLINE void CAT(add_one_, SUFFIX)(ACC *a, const T *restrict xi, const T *restrict wk, int64_t cin,
                                  int64_t cout)
{
    int64_t c = 0;
    for (; c + CHAINS <= cin; c += CHAINS) {
        for (int q = 0; q < CHAINS; ++q) {
            const V *wr = (const V *)(wk + (c + q) * cout);
            a->v[0][q] += xi[c + q] * wr[0];
            a->v[1][q] += xi[c + q] * wr[1];
        }
    }
    for (; c < cin; ++c) {
        const V *wr = (const V *)(wk + c * cout);
        a->v[0][0] += xi[c] * wr[0];
        a->v[1][0] += xi[c] * wr[1];
    }
}

/* a += x_row @ w_k and b += y_row @ w_k, each weight vector loaded once for both.  Each row's
 * chains receive exactly the terms add_one would give them, in the same order. */
INLINE void CAT(add_two_, SUFFIX)(ACC *a, ACC *b, const T *restrict xi, const T *restrict yi,
                                  const T *restrict wk, int64_t cin, int64_t cout)
{
    int64_t c = 0;
    for (; c + CHAINS <= cin; c += CHAINS) {
        for (int q = 0; q < CHAINS; ++q) {
            const V *wr = (const V *)(wk + (c + q) * cout);
            V w0 = wr[0], w1 = wr[1];
            a->v[0][q] += xi[c + q] * w0;
            a->v[1][q] += xi[c + q] * w1;
            b->v[0][q] += yi[c + q] * w0;
            b->v[1][q] += yi[c + q] * w1;
        }
    }
    for (; c < cin; ++c) {
        const V *wr = (const V *)(wk + c * cout);
        V w0 = wr[0], w1 = wr[1];
        a->v[0][0] += xi[c] * w0;
        a->v[1][0] += xi[c] * w1;
        b->v[0][0] += yi[c] * w0;
        b->v[1][0] += yi[c] * w1;
    }
}

INLINE void CAT(store_, SUFFIX)(const ACC *a, T *restrict dst)
{
    for (int u = 0; u < 2; ++u) {
#if CHAINS == 4
        V s = (a->v[u][0] + a->v[u][1]) + (a->v[u][2] + a->v[u][3]);
#else
        V s = a->v[u][0] + a->v[u][1];
#endif
        *(V *)(dst + u * LANES) = s;
    }
}

/* Output channels [j0, j0 + 2 LANES) of one output row, into dst[0 : 2 LANES]; `cout` is the
 * weight's row length. */
INLINE void CAT(block_one_, SUFFIX)(const T *restrict x, const T *restrict w,
                                    const int32_t *restrict row, T *restrict dst, int64_t j0,
                                    int64_t K, int64_t cin, int64_t cout)
{
    ACC a = {0};
    for (int64_t k = 0; k < K; ++k)
        if (row[k] >= 0)
            CAT(add_one_, SUFFIX)(&a, x + (int64_t)row[k] * cin, w + k * cin * cout + j0, cin,
                                  cout);
    CAT(store_, SUFFIX)(&a, dst);
}

/* Output channels [j0, j0 + 2 LANES) of two output rows: an offset both rows have loads its
 * weights once (neighbouring sites share most offsets). */
INLINE void CAT(block_two_, SUFFIX)(const T *restrict x, const T *restrict w,
                                    const int32_t *restrict row, const int32_t *restrict row2,
                                    T *restrict dst, T *restrict dst2, int64_t j0, int64_t K,
                                    int64_t cin, int64_t cout)
{
    ACC a = {0}, b = {0};
    for (int64_t k = 0; k < K; ++k) {
        const T *wk = w + k * cin * cout + j0;
        if (row[k] >= 0 && row2[k] >= 0)
            CAT(add_two_, SUFFIX)(&a, &b, x + (int64_t)row[k] * cin, x + (int64_t)row2[k] * cin,
                                  wk, cin, cout);
        else if (row[k] >= 0)
            CAT(add_one_, SUFFIX)(&a, x + (int64_t)row[k] * cin, wk, cin, cout);
        else if (row2[k] >= 0)
            CAT(add_one_, SUFFIX)(&b, x + (int64_t)row2[k] * cin, wk, cin, cout);
    }
    CAT(store_, SUFFIX)(&a, dst);
    CAT(store_, SUFFIX)(&b, dst2);
}

/* Output rows [r0, r1), two at a time.  The output channels past the last whole block (cout not a
 * multiple of 2 LANES) run as one more block on a copy of their weight columns padded with zeros.
 * Returns 0, or -1 if that copy cannot be allocated. */
static int CAT(rows_, SUFFIX)(const T *restrict x, const T *restrict w,
                              const int32_t *restrict table, T *restrict out, int64_t r0,
                              int64_t r1, int64_t K, int64_t cin, int64_t cout)
{
    const int64_t B = 2 * LANES, whole = cout - cout % B, rest = cout - whole;
    const int64_t row_bytes = cin * (int64_t)sizeof(T);
    T *tail = NULL;
    if (rest) {
        tail = calloc((size_t)(K * cin * B), sizeof(T));
        if (tail == NULL)
            return -1;
        for (int64_t kc = 0; kc < K * cin; ++kc)
            memcpy(tail + kc * B, w + kc * cout + whole, (size_t)rest * sizeof(T));
    }
    for (int64_t o = r0; o < r1; o += 2) {
        const int32_t *row = table + o * K;
        const int two = o + 1 < r1;
        for (int64_t p = o + 2; p < o + 4 && p < r1; ++p)
            prefetch_rows((const char *)x, table + p * K, K, row_bytes);
        T *dst = out + o * cout, *dst2 = dst + cout;
        for (int64_t j0 = 0; j0 < whole; j0 += B) {
            if (two)
                CAT(block_two_, SUFFIX)(x, w, row, row + K, dst + j0, dst2 + j0, j0, K, cin, cout);
            else
                CAT(block_one_, SUFFIX)(x, w, row, dst + j0, j0, K, cin, cout);
        }
        if (rest) {
            T part[2][2 * LANES];
            if (two)
                CAT(block_two_, SUFFIX)(x, tail, row, row + K, part[0], part[1], 0, K, cin, B);
            else
                CAT(block_one_, SUFFIX)(x, tail, row, part[0], 0, K, cin, B);
            memcpy(dst + whole, part[0], (size_t)rest * sizeof(T));
            if (two)
                memcpy(dst2 + whole, part[1], (size_t)rest * sizeof(T));
        }
    }
    free(tail);
    return 0;
}

/* --- the weight gradient: dw[k] += sum over the pairs (i, o) of offset k of x[i]^T g[o] ----- */

/* dw_k[c : c + Q, j : j + U LANES] += sum over the n pairs of x[ins[p], c : c + Q]^T
 * g[outs[p], j : j + U LANES], the pairs in order: one sequential sum per element.  Q (1 or 4)
 * and U (1 or 2) are constants where it is inlined, so the sums stay in registers. */
INLINE void CAT(wblock_, SUFFIX)(T *restrict dk, const T *restrict x, const T *restrict g,
                                 const int32_t *restrict ins, const int32_t *restrict outs,
                                 int n, int64_t c, int64_t j, int64_t cin, int64_t cout,
                                 const int Q, const int U)
{
    /* a0: the first vector of columns, a1: the second (U == 2); loads through vector pointers
     * (not memcpy, which an AVX2 build routed through the stack). */
    V a0[4], a1[4];
    for (int q = 0; q < Q; ++q) {
        a0[q] = *(const V *)(dk + (c + q) * cout + j);
        if (U == 2)
            a1[q] = *(const V *)(dk + (c + q) * cout + j + LANES);
    }
    for (int p = 0; p < n; ++p) {
        const T *xi = x + (int64_t)ins[p] * cin + c;
        const V *gr = (const V *)(g + (int64_t)outs[p] * cout + j);
        const V g0 = gr[0];
        if (U == 2) {
            const V g1 = gr[1];
            for (int q = 0; q < Q; ++q) {
                a0[q] += xi[q] * g0;
                a1[q] += xi[q] * g1;
            }
        } else {
            for (int q = 0; q < Q; ++q)
                a0[q] += xi[q] * g0;
        }
    }
    for (int q = 0; q < Q; ++q) {
        *(V *)(dk + (c + q) * cout + j) = a0[q];
        if (U == 2)
            *(V *)(dk + (c + q) * cout + j + LANES) = a1[q];
    }
}

/* The pairs of one chunk of output rows for one offset, into dw_k (cin x cout). */
static void CAT(wchunk_, SUFFIX)(T *restrict dk, const T *restrict x, const T *restrict g,
                                 const int32_t *restrict ins, const int32_t *restrict outs,
                                 int n, int64_t cin, int64_t cout)
{
    const int64_t B = 2 * LANES;
    int64_t c = 0;
    for (; c + 4 <= cin; c += 4) {
        int64_t j = 0;
        for (; j + B <= cout; j += B)
            CAT(wblock_, SUFFIX)(dk, x, g, ins, outs, n, c, j, cin, cout, 4, 2);
        for (; j + LANES <= cout; j += LANES)
            CAT(wblock_, SUFFIX)(dk, x, g, ins, outs, n, c, j, cin, cout, 4, 1);
        for (; j < cout; ++j)
            for (int q = 0; q < 4; ++q) {
                T s = dk[(c + q) * cout + j];
                for (int p = 0; p < n; ++p)
                    s += x[(int64_t)ins[p] * cin + c + q] * g[(int64_t)outs[p] * cout + j];
                dk[(c + q) * cout + j] = s;
            }
    }
    for (; c < cin; ++c) {
        int64_t j = 0;
        for (; j + B <= cout; j += B)
            CAT(wblock_, SUFFIX)(dk, x, g, ins, outs, n, c, j, cin, cout, 1, 2);
        for (; j + LANES <= cout; j += LANES)
            CAT(wblock_, SUFFIX)(dk, x, g, ins, outs, n, c, j, cin, cout, 1, 1);
        for (; j < cout; ++j) {
            T s = dk[c * cout + j];
            for (int p = 0; p < n; ++p)
                s += x[(int64_t)ins[p] * cin + c] * g[(int64_t)outs[p] * cout + j];
            dk[c * cout + j] = s;
        }
    }
}

/* The offsets k_first, k_first + k_step, ... of the weight gradient, over all output rows in
 * chunks of WGRAD_CHUNK rows (a chunk's rows of x and g stay in cache while every block of dw_k
 * passes over them).  Each dw[k] is summed by one thread, pair by pair in row order. */
static void CAT(wgrad_, SUFFIX)(const T *restrict x, const T *restrict g,
                                const int32_t *restrict table, T *restrict dw, int64_t n_out,
                                int64_t K, int64_t cin, int64_t cout, int64_t k_first,
                                int64_t k_step)
{
    int32_t ins[WGRAD_CHUNK], outs[WGRAD_CHUNK];
    for (int64_t o0 = 0; o0 < n_out; o0 += WGRAD_CHUNK) {
        const int64_t o1 = o0 + WGRAD_CHUNK < n_out ? o0 + WGRAD_CHUNK : n_out;
        for (int64_t k = k_first; k < K; k += k_step) {
            int n = 0;
            for (int64_t o = o0; o < o1; ++o) {
                const int32_t i = table[o * K + k];
                if (i >= 0) {
                    ins[n] = i;
                    outs[n] = (int32_t)o;
                    ++n;
                }
            }
            if (n)
                CAT(wchunk_, SUFFIX)(dw + k * cin * cout, x, g, ins, outs, n, cin, cout);
        }
    }
}

#undef ACC
#undef INLINE
#undef LANES
#undef CAT
#undef CAT_
