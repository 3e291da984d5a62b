/* graphnn's CPU kernel of the sparse convolution product (see graphnn/sparse3d/functional.py).
 *
 *     out[o, :] = sum over k with table[o, k] >= 0 of  x[table[o, k], :] @ w[k]
 *
 * x is [n_in, cin], w is [K, cin, cout] (offset-major), table is int32 [n_out, K] (-1: no
 * neighbour), out is [n_out, cout]; all C-contiguous.  The same kernel runs the input gradient
 * (the gradient rows, the transposed weights, the reversed table).
 *
 * Each output row is computed whole by one thread, with its input rows gathered straight from
 * x (no gathered copy, no product buffer): for a block of 32 output channels (two vectors of 16
 * floats) the row's sum stays in registers while the offsets and the input channels stream by.
 * The input channels go round four accumulator chains (channel c into chain c % 4, so that four
 * multiply-adds are in flight at once); the chains are added at the end as (c0 + c1) + (c2 + c3).
 * Offsets are taken in increasing order.  The order of every sum is therefore fixed by the
 * shapes alone: the result is bitwise the same at any thread count.  The rows of the next output
 * row are prefetched while the current one is summed.
 *
 * Compiled at first use by graphnn._native (the machine's C compiler, -O3 -march=native) and
 * called through ctypes, which releases the GIL.  float32 and float64 (gather_conv_f32 /
 * gather_conv_f64): the body is gather_conv_body.h, included once per type.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 64-byte vectors (GCC/Clang vector extensions): one AVX-512 register, two AVX2 or four NEON
 * registers.  aligned(...) of the element: loads and stores need not be 64-byte aligned. */
typedef float vec_f32 __attribute__((vector_size(64), aligned(4)));
typedef double vec_f64 __attribute__((vector_size(64), aligned(8)));

/* Fewest output rows a thread is given: below, starting a thread costs more than it saves. */
#define MIN_ROWS_PER_THREAD 512
/* Output rows per chunk of the weight gradient. */
#define WGRAD_CHUNK 64

static inline void prefetch_rows(const char *x, const int32_t *row, int64_t K, int64_t row_bytes)
{
    for (int64_t k = 0; k < K; ++k) {
        if (row[k] < 0)
            continue;
        const char *p = x + (int64_t)row[k] * row_bytes;
        for (int64_t b = 0; b < row_bytes; b += 64)
            __builtin_prefetch(p + b);
    }
}

#define T float
#define V vec_f32
#define SUFFIX f32
#include "gather_conv_body.h"
#undef T
#undef V
#undef SUFFIX

#define T double
#define V vec_f64
#define SUFFIX f64
#include "gather_conv_body.h"
#undef T
#undef V
#undef SUFFIX

struct job {
    int f64, status;
    const void *x, *w;
    const int32_t *table;
    void *out;
    int64_t r0, r1, K, cin, cout;
};

static void run(struct job *j)
{
    if (j->f64)
        j->status = rows_f64(j->x, j->w, j->table, j->out, j->r0, j->r1, j->K, j->cin, j->cout);
    else
        j->status = rows_f32(j->x, j->w, j->table, j->out, j->r0, j->r1, j->K, j->cin, j->cout);
}

static void *run_thread(void *arg)
{
    run((struct job *)arg);
    return NULL;
}

#define MAX_THREADS 256

/* Split the output rows into `threads` contiguous ranges; the caller's thread runs the first.
 * A thread that cannot be started has its range run by the caller: same result either way. */
static int64_t gather_conv(int f64, const void *x, const void *w, const int32_t *table, void *out,
                           int64_t n_out, int64_t K, int64_t cin, int64_t cout, int64_t threads)
{
    if (threads > n_out / MIN_ROWS_PER_THREAD)
        threads = n_out / MIN_ROWS_PER_THREAD;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads < 1)
        threads = 1;
    struct job jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS];
    for (int64_t t = 0; t < threads; ++t) {
        struct job j = {f64, 0, x, w, table, out, n_out * t / threads, n_out * (t + 1) / threads,
                        K, cin, cout};
        jobs[t] = j;
        started[t] = t > 0 && pthread_create(&ids[t], NULL, run_thread, &jobs[t]) == 0;
    }
    run(&jobs[0]);
    for (int64_t t = 1; t < threads; ++t) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            run(&jobs[t]);
    }
    for (int64_t t = 0; t < threads; ++t)
        if (jobs[t].status != 0)
            return -1;
    return threads;
}

/* The entry points (ctypes).  Return the number of threads used, or -1 when out of memory. */
int64_t gather_conv_f32(const float *x, const float *w, const int32_t *table, float *out,
                        int64_t n_out, int64_t K, int64_t cin, int64_t cout, int64_t threads)
{
    return gather_conv(0, x, w, table, out, n_out, K, cin, cout, threads);
}

int64_t gather_conv_f64(const double *x, const double *w, const int32_t *table, double *out,
                        int64_t n_out, int64_t K, int64_t cin, int64_t cout, int64_t threads)
{
    return gather_conv(1, x, w, table, out, n_out, K, cin, cout, threads);
}

/* --- the weight gradient ------------------------------------------------------------------- */

struct wjob {
    int f64;
    const void *x, *g;
    const int32_t *table;
    void *dw;
    int64_t n_out, K, cin, cout, k_first, k_step;
};

static void wrun(const struct wjob *j)
{
    if (j->f64)
        wgrad_f64(j->x, j->g, j->table, j->dw, j->n_out, j->K, j->cin, j->cout, j->k_first,
                  j->k_step);
    else
        wgrad_f32(j->x, j->g, j->table, j->dw, j->n_out, j->K, j->cin, j->cout, j->k_first,
                  j->k_step);
}

static void *wrun_thread(void *arg)
{
    wrun((const struct wjob *)arg);
    return NULL;
}

/* The offsets go round the threads (offset k to thread k % threads); each dw[k] is summed by
 * one thread in the same order whatever the thread count. */
static int64_t gather_conv_wgrad(int f64, const void *x, const void *g, const int32_t *table,
                                 void *dw, int64_t n_out, int64_t K, int64_t cin, int64_t cout,
                                 int64_t threads)
{
    if (threads > K)
        threads = K;
    if (threads > n_out / MIN_ROWS_PER_THREAD)
        threads = n_out / MIN_ROWS_PER_THREAD;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads < 1)
        threads = 1;
    struct wjob jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS];
    for (int64_t t = 0; t < threads; ++t) {
        struct wjob j = {f64, x, g, table, dw, n_out, K, cin, cout, t, threads};
        jobs[t] = j;
        started[t] = t > 0 && pthread_create(&ids[t], NULL, wrun_thread, &jobs[t]) == 0;
    }
    wrun(&jobs[0]);
    for (int64_t t = 1; t < threads; ++t) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            wrun(&jobs[t]);
    }
    return threads;
}

/* dw [K, cin, cout] += the weight gradient of out = gather_conv(x, w, table) for the output
 * gradient g [n_out, cout].  Return the number of threads used. */
int64_t gather_conv_wgrad_f32(const float *x, const float *g, const int32_t *table, float *dw,
                              int64_t n_out, int64_t K, int64_t cin, int64_t cout,
                              int64_t threads)
{
    return gather_conv_wgrad(0, x, g, table, dw, n_out, K, cin, cout, threads);
}

int64_t gather_conv_wgrad_f64(const double *x, const double *g, const int32_t *table,
                              double *dw, int64_t n_out, int64_t K, int64_t cin, int64_t cout,
                              int64_t threads)
{
    return gather_conv_wgrad(1, x, g, table, dw, n_out, K, cin, cout, threads);
}
