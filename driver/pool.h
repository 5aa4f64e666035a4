/* pool.h: the process-wide worker pool and the batches it runs.
 *
 * A batch is one request's jobs: `njobs` calls of one function, numbered
 * 0..njobs-1. The caller owns the batch (it lives on the caller's stack, so
 * submitting never allocates), runs jobs itself while it waits, calls the
 * progress callback from its own thread only, and returns when every started
 * job has finished. Workers with an index below the batch's `max_workers`
 * help; a job learns which worker runs it (-1: the caller), so per-worker
 * state such as dataset clones needs no lock.
 *
 * A batch started on one of the pool's own workers runs inline, which is
 * what keeps nested PVRT reads from deadlocking. If threads cannot be
 * created, batches run serially in the caller. */
#ifndef PVRT_POOL_H
#define PVRT_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/* Most workers the pool will ever start. */
#define PVRT_MAX_WORKERS 256

/* Runs job `index` on worker `worker` (-1 for the calling thread).
 * Returns 0, or -1 when the job failed (then no further job starts). */
typedef int (*pvrt_job_fn)(void *ctx, int index, int worker);

/* Called on the calling thread after jobs complete; returns 0 to cancel.
 * `fraction` is done / njobs. */
typedef int (*pvrt_batch_progress_fn)(void *ctx, double fraction);

typedef struct pvrt_batch_spec {
    int njobs;
    int max_workers; /* pool workers 0..max_workers-1 may help; 0: caller only
                      */
    pvrt_job_fn fn;
    void *ctx;
    pvrt_batch_progress_fn progress; /* may be NULL */
    void *progress_ctx;
} pvrt_batch_spec;

/* A spec of `njobs` jobs of fn over ctx for a read on `threads` threads:
 * up to threads - 1 workers, and no more than njobs - 1 (the caller takes
 * one); no progress callback. */
pvrt_batch_spec pvrt_batch_of(pvrt_job_fn fn, void *ctx, int njobs,
                              int threads);

/* Outcome of pvrt_batch_run. */
enum { PVRT_BATCH_OK = 0, PVRT_BATCH_FAILED = -1, PVRT_BATCH_CANCELLED = -2 };

/* Runs a batch to completion. Reports nothing itself: jobs record their own
 * errors. Returns PVRT_BATCH_OK, _FAILED (a job returned -1) or _CANCELLED
 * (progress returned 0; jobs not yet started were skipped). */
int pvrt_batch_run(const pvrt_batch_spec *spec);

/* A batch started in the background: the workers run its jobs while the
 * caller does something else; pvrt_batch_finish then runs what is left
 * on the calling thread too (worker -1), waits, and frees it. The spec,
 * and what its ctx points to, must live until then; no progress callback
 * is called. For ahead.c's read-ahead. */
typedef struct pvrt_batch pvrt_batch;

/* Starts the batch on the workers. Returns NULL when it cannot run in the
 * background (on a worker, no worker allowed, no thread could start): the
 * caller then does the work another way. Never allocates on a worker. */
pvrt_batch *pvrt_batch_start(const pvrt_batch_spec *spec);

/* Waits for the batch (the caller helping) and frees it. `cancel`: jobs
 * not yet started are skipped, and the result is PVRT_BATCH_CANCELLED
 * unless every job had run. Returns as pvrt_batch_run. */
int pvrt_batch_finish(pvrt_batch *b, int cancel);

/* Non-zero on threads of the pool (where batches run inline). */
int pvrt_pool_in_worker(void);

/* Number of worker threads alive now (for tests and debug messages). */
int pvrt_pool_size(void);

/* Stops and joins every worker. Called when GDAL unloads the driver; a later
 * batch starts the pool again. Must not race with running batches. */
void pvrt_pool_shutdown(void);

/* Test knob: worker `worker` sleeps `usec` before each job (0: off). */
void pvrt_pool_set_delay(int worker, int usec);

#ifdef __cplusplus
}
#endif

#endif
