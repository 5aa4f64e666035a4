/* pool.c: the process-wide worker pool and the batches it runs.
 *
 * One mutex guards the pool: the list of batches with jobs left, the thread
 * table and every batch's counters. Nothing calls GDAL or a user callback
 * while holding it; jobs and progress callbacks run unlocked. Workers take
 * the next job of the oldest batch they may help with ("next job" is a
 * cursor bump), and signal the batch's condition when a job ends. The caller
 * takes jobs of its own batch too, so a batch completes even when every
 * worker is busy elsewhere; a batch started on a worker runs inline. See
 * pool.h for the contract. */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Jobs are dealt out in contiguous ranges, one per participant (the caller
 * is participant 0, worker w is w + 1): a participant takes from the front
 * of its own range, and when that is empty steals from the back of the
 * fullest. Consecutive requests of the same shape (gdal_translate's swaths)
 * thus send the same columns to the same thread, whose clone still has the
 * source blocks the previous swath decoded in its block cache. */
typedef struct pvrt_batch {
    const pvrt_batch_spec *spec;
    int nparts;                   /* participants: max_workers + 1 */
    int lo[PVRT_MAX_WORKERS + 1]; /* (guarded by pool.lock) */
    int hi[PVRT_MAX_WORKERS + 1]; /* (guarded by pool.lock) */
    int limit;     /* jobs from this index on never start: njobs, the
                      lowest failed job, or 0 once cancelled (guarded) */
    int running;   /* jobs started, not finished (guarded by pool.lock) */
    int done;      /* jobs finished (guarded by pool.lock) */
    int failed;    /* a job returned -1 (guarded by pool.lock) */
    int cancelled; /* progress returned 0 (guarded by pool.lock) */
    pthread_cond_t finished;              /* a job of this batch ended */
    struct pvrt_batch *prev, *next_batch; /* open batches (guarded) */
} batch;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a batch was added, or shutdown */
    batch *head, *tail;  /* open batches, oldest first (guarded) */
    pthread_t threads[PVRT_MAX_WORKERS]; /* (guarded) */
    int nthreads;                        /* workers alive (guarded) */
    int create_failed; /* stop trying to start threads (guarded) */
    int shutdown;      /* workers must exit (guarded) */
} pool = {PTHREAD_MUTEX_INITIALIZER,
          PTHREAD_COND_INITIALIZER,
          NULL,
          NULL,
          {0},
          0,
          0,
          0};

static int worker_delay_usec[PVRT_MAX_WORKERS]; /* (atomic) test knob */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static _Thread_local int tls_worker = -1;

int pvrt_pool_in_worker(void)
{
    return tls_worker >= 0;
}

void pvrt_pool_set_delay(int worker, int usec)
{
    if (worker >= 0 && worker < PVRT_MAX_WORKERS)
        __atomic_store_n(&worker_delay_usec[worker], usec, __ATOMIC_RELAXED);
}

int pvrt_pool_size(void)
{
    pthread_mutex_lock(&pool.lock);
    int n = pool.nthreads;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

/* In a forked child only the forking thread exists: forget the workers and
 * the parent's batches (their callers did not survive the fork). */
static void atfork_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.work, NULL);
    pool.head = pool.tail = NULL;
    pool.nthreads = 0;
    pool.create_failed = 0;
    pool.shutdown = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

/* Jobs participant q may still start. Caller holds pool.lock. */
static int range_left(const batch *b, int q)
{
    const int hi = b->hi[q] < b->limit ? b->hi[q] : b->limit;
    return hi > b->lo[q] ? hi - b->lo[q] : 0;
}

/* The next job for participant p (own range first, then the back of the
 * fullest), or -1 when none may start. Caller holds pool.lock. */
static int take_job(batch *b, int p)
{
    if (range_left(b, p) > 0)
        return b->lo[p]++;
    int fullest = -1, most = 0;
    for (int q = 0; q < b->nparts; q++) {
        const int n = range_left(b, q);
        if (n > most) {
            most = n;
            fullest = q;
        }
    }
    if (fullest < 0)
        return -1;
    b->hi[fullest] = b->lo[fullest] + most; /* drop jobs past the limit */
    return --b->hi[fullest];
}

static int has_work(const batch *b)
{
    for (int q = 0; q < b->nparts; q++)
        if (range_left(b, q) > 0)
            return 1;
    return 0;
}

/* The oldest batch worker `id` may take a job from. Caller holds pool.lock. */
static batch *find_work(int id)
{
    for (batch *b = pool.head; b; b = b->next_batch)
        if (id < b->spec->max_workers && has_work(b))
            return b;
    return NULL;
}

/* Ends job bookkeeping for job `index` of b. A failure stops the jobs
 * after it, while those before it still run: the lowest failing job, whose
 * errors are replayed first, is the same whatever the thread count.
 * Caller holds pool.lock. */
static void job_ended(batch *b, int index, int rc)
{
    b->running--;
    b->done++;
    if (rc != 0) {
        b->failed = 1;
        if (index < b->limit)
            b->limit = index;
    }
}

static void *worker_main(void *arg)
{
    const int id = (int)(intptr_t)arg;
    tls_worker = id;
    pthread_mutex_lock(&pool.lock);
    while (!pool.shutdown) {
        batch *b = find_work(id);
        if (b == NULL) {
            pthread_cond_wait(&pool.work, &pool.lock);
            continue;
        }
        const int index = take_job(b, id + 1);
        b->running++;
        pthread_mutex_unlock(&pool.lock); /* never call jobs locked */
        const int delay =
            __atomic_load_n(&worker_delay_usec[id], __ATOMIC_RELAXED);
        if (delay > 0)
            usleep((useconds_t)delay);
        const int rc = b->spec->fn(b->spec->ctx, index, id);
        pthread_mutex_lock(&pool.lock);
        job_ended(b, index, rc);
        /* b may vanish as soon as the lock is released: touch it no more. */
        pthread_cond_signal(&b->finished);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* Starts workers until `want` are alive. Caller holds pool.lock. */
static void grow_locked(int want)
{
    if (want > PVRT_MAX_WORKERS)
        want = PVRT_MAX_WORKERS;
    if (pool.nthreads >= want || pool.create_failed)
        return;
    pthread_once(&atfork_once, register_atfork);
    /* Workers take no signals: they belong to the host's main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (pool.nthreads < want) {
        const int id = pool.nthreads;
        if (pthread_create(&pool.threads[id], NULL, worker_main,
                           (void *)(intptr_t)id) != 0) {
            pool.create_failed = 1; /* run with what we have */
            break;
        }
        pool.nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int run_serially(const pvrt_batch_spec *spec)
{
    for (int i = 0; i < spec->njobs; i++) {
        if (spec->fn(spec->ctx, i, -1) != 0)
            return PVRT_BATCH_FAILED;
        if (spec->progress &&
            !spec->progress(spec->progress_ctx, (double)(i + 1) / spec->njobs))
            return i + 1 < spec->njobs ? PVRT_BATCH_CANCELLED : PVRT_BATCH_OK;
    }
    return PVRT_BATCH_OK;
}

/* Sets up b for spec and opens it to the workers. Caller holds pool.lock,
 * with at least one worker alive. */
static void open_locked(batch *b, const pvrt_batch_spec *spec)
{
    memset(b, 0, sizeof *b);
    b->spec = spec;
    b->nparts = spec->max_workers + 1;
    if (b->nparts > PVRT_MAX_WORKERS + 1)
        b->nparts = PVRT_MAX_WORKERS + 1;
    for (int p = 0; p < b->nparts; p++) {
        b->lo[p] = (int)((long long)spec->njobs * p / b->nparts);
        b->hi[p] = (int)((long long)spec->njobs * (p + 1) / b->nparts);
    }
    b->limit = spec->njobs;
    pthread_cond_init(&b->finished, NULL);
    b->prev = pool.tail;
    if (pool.tail)
        pool.tail->next_batch = b;
    else
        pool.head = b;
    pool.tail = b;
    pthread_cond_broadcast(&pool.work);
}

/* The caller's side of a batch: runs jobs of b until none is left, waits
 * for the running ones, reports progress when `progress`, and closes b.
 * Called and returns with pool.lock held. */
static int close_locked(batch *b, int progress)
{
    const pvrt_batch_spec *spec = b->spec;
    int reported = 0;
    for (;;) {
        const int index = take_job(b, 0);
        if (index >= 0) {
            /* The caller works too: it runs the next job of its own batch. */
            b->running++;
            pthread_mutex_unlock(&pool.lock);
            const int rc = spec->fn(spec->ctx, index, -1);
            pthread_mutex_lock(&pool.lock);
            job_ended(b, index, rc);
        } else if (b->running == 0) {
            break;
        } else {
            pthread_cond_wait(&b->finished, &pool.lock);
        }
        if (progress && spec->progress && b->done != reported && !b->failed &&
            !b->cancelled) {
            reported = b->done;
            pthread_mutex_unlock(&pool.lock); /* user code runs unlocked */
            const int go = spec->progress(spec->progress_ctx,
                                          (double)reported / spec->njobs);
            pthread_mutex_lock(&pool.lock);
            if (!go && b->done < spec->njobs) {
                b->cancelled = 1;
                b->limit = 0;
            }
        }
    }
    /* A job may have ended while the caller was in the callback: the last
     * fraction (1.0 when all ran) is reported before returning. */
    if (progress && spec->progress && !b->failed && !b->cancelled &&
        b->done != reported) {
        reported = b->done;
        pthread_mutex_unlock(&pool.lock);
        spec->progress(spec->progress_ctx, (double)reported / spec->njobs);
        pthread_mutex_lock(&pool.lock);
    }
    if (b->prev)
        b->prev->next_batch = b->next_batch;
    else
        pool.head = b->next_batch;
    if (b->next_batch)
        b->next_batch->prev = b->prev;
    else
        pool.tail = b->prev;
    pthread_cond_destroy(&b->finished);
    if (b->failed)
        return PVRT_BATCH_FAILED;
    return b->cancelled ? PVRT_BATCH_CANCELLED : PVRT_BATCH_OK;
}

pvrt_batch_spec pvrt_batch_of(pvrt_job_fn fn, void *ctx, int njobs, int threads)
{
    pvrt_batch_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.njobs = njobs;
    spec.max_workers = threads - 1 < njobs - 1 ? threads - 1 : njobs - 1;
    spec.fn = fn;
    spec.ctx = ctx;
    return spec;
}

int pvrt_batch_run(const pvrt_batch_spec *spec)
{
    if (spec->njobs <= 0)
        return PVRT_BATCH_OK;
    if (pvrt_pool_in_worker() || spec->max_workers <= 0 || spec->njobs == 1)
        return run_serially(spec);

    pthread_mutex_lock(&pool.lock);
    grow_locked(spec->max_workers);
    if (pool.nthreads == 0) {
        pthread_mutex_unlock(&pool.lock);
        return run_serially(spec);
    }
    batch b;
    open_locked(&b, spec);
    const int rc = close_locked(&b, 1);
    pthread_mutex_unlock(&pool.lock);
    return rc;
}

pvrt_batch *pvrt_batch_start(const pvrt_batch_spec *spec)
{
    if (spec->njobs <= 0 || pvrt_pool_in_worker() || spec->max_workers <= 0)
        return NULL;
    batch *b = (batch *)malloc(sizeof *b);
    if (b == NULL)
        return NULL;
    pthread_mutex_lock(&pool.lock);
    grow_locked(spec->max_workers);
    if (pool.nthreads == 0) {
        pthread_mutex_unlock(&pool.lock);
        free(b);
        return NULL;
    }
    open_locked(b, spec);
    pthread_mutex_unlock(&pool.lock);
    return b;
}

int pvrt_batch_finish(pvrt_batch *b, int cancel)
{
    pthread_mutex_lock(&pool.lock);
    if (cancel && b->done + b->running < b->spec->njobs) {
        b->cancelled = 1;
        b->limit = 0;
    }
    const int rc = close_locked(b, 0);
    pthread_mutex_unlock(&pool.lock);
    free(b);
    return rc;
}

void pvrt_pool_shutdown(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.shutdown = 1;
    pthread_cond_broadcast(&pool.work);
    const int n = pool.nthreads;
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < n; i++)
        pthread_join(pool.threads[i], NULL);
    pthread_mutex_lock(&pool.lock);
    pool.nthreads = 0;
    pool.shutdown = 0;
    pool.create_failed = 0;
    pthread_mutex_unlock(&pool.lock);
}
