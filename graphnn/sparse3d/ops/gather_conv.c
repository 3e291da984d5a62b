/* graphnn's CPU kernels of the sparse convolution (see graphnn/sparse3d/ops/native.py).
 *
 * The product:          out[o, :] = sum over k with table[o, k] >= 0 of  x[table[o, k], :] @ w[k]
 * The weight gradient:  dw[k] += sum over o with table[o, k] >= 0 of  x[table[o, k], :]^T g[o, :]
 *
 * x is [n_in, cin], w and dw are [K, cin, cout] (offset-major), table is int32 [n_out, K] (-1: no
 * neighbour), out and g are [n_out, cout]; all C-contiguous.  The product also runs the input
 * gradient (the gradient rows, the transposed weights, the reversed table).
 *
 * Product: each output row is computed whole by one thread, its input rows read straight from x
 * (no gathered copy, no product buffer): for a block of two vectors of output channels (32
 * floats with AVX-512) the row's sum stays in registers while the offsets and the input channels
 * stream by.  The input channels go round CHAINS accumulator chains (channel c into chain
 * c % CHAINS, so that several multiply-adds are in flight at once); the chains are added at the
 * end, as (c0 + c1) + (c2 + c3) for four.  Offsets are taken in increasing order.  Two output rows run together, so that an offset both
 * have loads its weights once (each row's chains get the same terms in the same order as alone),
 * and the inputs of the next rows are prefetched.
 *
 * Weight gradient: the output rows in chunks of WGRAD_CHUNK; per chunk and offset, the pairs are
 * listed and every block of 4 input channels x 2 vectors of dw[k] runs over them in registers.  Each dw[k] is owned by one
 * thread and summed pair by pair in row order.
 *
 * So the order of every sum is fixed by the shapes (and the machine's vector width) alone: the
 * results are bitwise the same at any thread count.  Compiled at first use by graphnn._native (the machine's C compiler, -O3
 * -march=native) and called through ctypes, which releases the GIL.  float32 and float64
 * (gather_conv_f32 / _f64, gather_conv_wgrad_f32 / _f64): the body is gather_conv_body.h,
 * included once per type.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One vector register (GCC/Clang vector extensions): 64 bytes with AVX-512, 32 with AVX, 16
 * otherwise (SSE2, NEON), and the accumulator chains of the product: 4 where the machine has 32
 * vector registers (AVX-512, AArch64), 2 where it has 16, so that the two rows' sums (2 rows x 2
 * vectors x CHAINS) stay in registers.  aligned(...) of the element: loads and stores need not
 * be vector-aligned.  The sums' order depends on CHAINS, so on the machine, never on threads. */
#if defined(__AVX512F__)
#define VEC_BYTES 64
#define CHAINS 4
#elif defined(__AVX__)
#define VEC_BYTES 32
#define CHAINS 2
#elif defined(__aarch64__)
#define VEC_BYTES 16
#define CHAINS 4
#else
#define VEC_BYTES 16
#define CHAINS 2
#endif
typedef float vec_f32 __attribute__((vector_size(VEC_BYTES), aligned(4)));
typedef double vec_f64 __attribute__((vector_size(VEC_BYTES), aligned(8)));

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

/* One thread's share of a call: the output rows [r0, r1) of the product (b: the weights, out:
 * the output), or the offsets k_first, k_first + k_step, ... of the weight gradient (b: the
 * output's gradient, out: dw). */
struct job {
    int f64, wgrad, status;
    const void *x, *b;
    const int32_t *table;
    void *out;
    int64_t n_out, K, cin, cout, r0, r1, k_first, k_step;
};

static void run(struct job *j)
{
    if (j->wgrad && j->f64)
        wgrad_f64(j->x, j->b, j->table, j->out, j->n_out, j->K, j->cin, j->cout, j->k_first,
                  j->k_step);
    else if (j->wgrad)
        wgrad_f32(j->x, j->b, j->table, j->out, j->n_out, j->K, j->cin, j->cout, j->k_first,
                  j->k_step);
    else if (j->f64)
        j->status = rows_f64(j->x, j->b, j->table, j->out, j->r0, j->r1, j->K, j->cin, j->cout);
    else
        j->status = rows_f32(j->x, j->b, j->table, j->out, j->r0, j->r1, j->K, j->cin, j->cout);
}

static void *run_thread(void *arg)
{
    run((struct job *)arg);
    return NULL;
}

#define MAX_THREADS 256

/* The threads to use: at most `limit`, MAX_THREADS and one per MIN_ROWS_PER_THREAD rows. */
static int64_t clamp_threads(int64_t threads, int64_t limit, int64_t n_out)
{
    if (threads > limit)
        threads = limit;
    if (threads > n_out / MIN_ROWS_PER_THREAD)
        threads = n_out / MIN_ROWS_PER_THREAD;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    return threads < 1 ? 1 : threads;
}

/* Run jobs[0 .. threads): the first on the caller's thread, the others on new threads.  A
 * thread that cannot be started has its job run by the caller: the same result either way.
 * Return `threads`, or -1 if a job failed (out of memory). */
static int64_t run_all(struct job *jobs, int64_t threads)
{
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS];
    for (int64_t t = 1; t < threads; ++t)
        started[t] = pthread_create(&ids[t], NULL, run_thread, &jobs[t]) == 0;
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

/* The product: the output rows split into `threads` contiguous ranges. */
static int64_t gather_conv(int f64, const void *x, const void *w, const int32_t *table, void *out,
                           int64_t n_out, int64_t K, int64_t cin, int64_t cout, int64_t threads)
{
    threads = clamp_threads(threads, MAX_THREADS, n_out);
    struct job jobs[MAX_THREADS];
    for (int64_t t = 0; t < threads; ++t) {
        struct job j = {f64, 0, 0, x, w, table, out, n_out, K, cin, cout,
                        n_out * t / threads, n_out * (t + 1) / threads, 0, 1};
        jobs[t] = j;
    }
    return run_all(jobs, threads);
}

/* The weight gradient: the offsets dealt round the threads (offset k to thread k % threads), so
 * each dw[k] is summed by one thread, in the same order whatever the thread count. */
static int64_t gather_conv_wgrad(int f64, const void *x, const void *g, const int32_t *table,
                                 void *dw, int64_t n_out, int64_t K, int64_t cin, int64_t cout,
                                 int64_t threads)
{
    threads = clamp_threads(threads, K, n_out);
    struct job jobs[MAX_THREADS];
    for (int64_t t = 0; t < threads; ++t) {
        struct job j = {f64, 1, 0, x, g, table, dw, n_out, K, cin, cout, 0, n_out, t, threads};
        jobs[t] = j;
    }
    return run_all(jobs, threads);
}

/* --- the entry points (ctypes) -------------------------------------------------------------- */

/* out [n_out, cout] = the product.  Return the number of threads used, or -1 when out of
 * memory. */
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
