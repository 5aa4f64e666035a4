/* errcap.c: see errcap.h. Records are kept in a small array under the log's
 * own mutex (never held while calling GDAL); past PVRT_ERRLOG_MAX records
 * the lowest jobs' records are kept and the rest only counted. */
#include "errcap.h"

#include <cpl_error.h>
#include <cpl_conv.h>
#include <cpl_string.h>

#include <pthread.h>
#include <stdlib.h>

#define PVRT_ERRLOG_MAX 32

typedef struct {
    int job;
    int seq; /* order of arrival within a job */
    CPLErr cls;
    CPLErrorNum num;
    char *msg;
} record;

struct pvrt_errlog {
    pthread_mutex_t lock;
    record recs[PVRT_ERRLOG_MAX]; /* (guarded by lock) */
    int nrecs;                    /* (guarded by lock) */
    int dropped;                  /* (guarded by lock) */
    int seq;                      /* (guarded by lock) */
};

pvrt_errlog *pvrt_errlog_new(void)
{
    pvrt_errlog *log = (pvrt_errlog *)calloc(1, sizeof *log);
    if (log)
        pthread_mutex_init(&log->lock, NULL);
    return log;
}

void pvrt_errlog_free(pvrt_errlog *log)
{
    if (log == NULL)
        return;
    for (int i = 0; i < log->nrecs; i++)
        CPLFree(log->recs[i].msg);
    pthread_mutex_destroy(&log->lock);
    free(log);
}

static void CPL_STDCALL capture_handler(CPLErr cls, CPLErrorNum num,
                                        const char *msg)
{
    pvrt_errcap *cap = (pvrt_errcap *)CPLGetErrorHandlerUserData();
    if (cls == CE_Debug) {
        /* Debug output is not an error: pass it on unchanged. */
        CPLDefaultErrorHandler(cls, num, msg);
        return;
    }
    if (cls >= CE_Failure)
        cap->failures++;
    pvrt_errlog *log = cap->log;
    char *copy = CPLStrdup(msg ? msg : "");
    pthread_mutex_lock(&log->lock);
    record *r = NULL;
    if (log->nrecs < PVRT_ERRLOG_MAX) {
        r = &log->recs[log->nrecs++];
    } else {
        /* Full: the records of the lowest jobs are the ones replayed first,
         * so a lower job's record replaces the highest job's. */
        record *last = &log->recs[0];
        for (int i = 1; i < log->nrecs; i++)
            if (log->recs[i].job > last->job ||
                (log->recs[i].job == last->job && log->recs[i].seq > last->seq))
                last = &log->recs[i];
        log->dropped++;
        if (cap->job < last->job) {
            CPLFree(last->msg);
            r = last;
        }
    }
    if (r) {
        r->job = cap->job;
        r->seq = log->seq++;
        r->cls = cls;
        r->num = num;
        r->msg = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&log->lock);
    CPLFree(copy);
}

void pvrt_errcap_begin(pvrt_errcap *cap, pvrt_errlog *log, int job)
{
    cap->log = log;
    cap->job = job;
    cap->failures = 0;
    CPLPushErrorHandlerEx(capture_handler, cap);
}

int pvrt_errcap_end(pvrt_errcap *cap)
{
    CPLPopErrorHandler();
    return cap->failures;
}

static int record_order(const void *a, const void *b)
{
    const record *x = (const record *)a, *y = (const record *)b;
    if (x->job != y->job)
        return x->job < y->job ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int pvrt_errlog_replay(pvrt_errlog *log)
{
    int failures = 0;
    qsort(log->recs, (size_t)log->nrecs, sizeof(record), record_order);
    for (int i = 0; i < log->nrecs; i++) {
        record *r = &log->recs[i];
        if (r->cls >= CE_Failure)
            failures++;
        CPLError(r->cls, r->num, "%s", r->msg);
        CPLFree(r->msg);
        r->msg = NULL;
    }
    log->nrecs = 0;
    if (log->dropped > 0) {
        /* A debug note, so the last error stays the read's own. */
        CPLDebug("PVRT", "%d more messages from worker threads were dropped",
                 log->dropped);
        log->dropped = 0;
    }
    return failures;
}
