/* errcap.h: bringing worker errors home to the calling thread.
 *
 * CPLError state is per thread, and a worker's error must never reach the
 * process-wide handler (which may need a lock its blocked caller holds). A
 * job runs between pvrt_errcap_begin and pvrt_errcap_end: a thread-local
 * handler records (class, number, message) into the request's log, tagged
 * with the job index. After the batch, the caller replays the records in job
 * order with CPLError, so messages do not depend on thread count or timing.
 * Any thread may record; only the caller replays. */
#ifndef PVRT_ERRCAP_H
#define PVRT_ERRCAP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pvrt_errlog pvrt_errlog;

/* One job's capture context; lives on the job's stack. */
typedef struct pvrt_errcap {
    pvrt_errlog *log;
    int job;
    int failures; /* CE_Failure/CE_Fatal records made by this job */
} pvrt_errcap;

pvrt_errlog *pvrt_errlog_new(void);
void pvrt_errlog_free(pvrt_errlog *log); /* accepts NULL */

/* Pushes the capturing handler on this thread. */
void pvrt_errcap_begin(pvrt_errcap *cap, pvrt_errlog *log, int job);
/* Pops it. Returns the number of failures the job recorded. */
int pvrt_errcap_end(pvrt_errcap *cap);

/* Replays the records in job order with CPLError on this thread, then a
 * note of how many were dropped past the cap. Returns the number of
 * CE_Failure (or worse) records. */
int pvrt_errlog_replay(pvrt_errlog *log);

#ifdef __cplusplus
}
#endif

#endif
