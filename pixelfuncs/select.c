/* select.c: order statistics of small arrays of doubles, in place.
 *
 * pvrt_reduce calls these once per pixel on the valid inputs of that pixel
 * (a few to a few hundred values, never NaN): selection puts the k-th
 * smallest value in place in linear expected time (quickselect with a
 * median-of-three pivot; an iteration budget falls back to heapsort, so
 * the worst case stays O(n log n)), or for the two neighbours a median or
 * percentile needs, by counting ranks when there are few values; the sort
 * is for the mode. No
 * allocation, no state: callable from any thread. */
#include "pf_private.h"

#include <math.h>

/* Ranges this short are finished by insertion sort. */
#define SELECT_SMALL 8

static void swap(double *v, int i, int j)
{
    const double t = v[i];
    v[i] = v[j];
    v[j] = t;
}

/* a before b: numeric order, and -0 before +0 so that equal-comparing
 * zeros still sort the same way every time. */
static int before(double a, double b)
{
    return a < b || (a == b && signbit(a) && !signbit(b));
}

static void insertion_sort(double *v, int n)
{
    for (int i = 1; i < n; i++) {
        const double x = v[i];
        int j = i - 1;
        while (j >= 0 && before(x, v[j])) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static void sift_down(double *v, int root, int n)
{
    for (;;) {
        int child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && before(v[child], v[child + 1]))
            child++;
        if (!before(v[root], v[child]))
            return;
        swap(v, root, child);
        root = child;
    }
}

void pvrt__sort(double *v, int n)
{
    if (n <= 16) {
        insertion_sort(v, n);
        return;
    }
    for (int i = n / 2 - 1; i >= 0; i--)
        sift_down(v, i, n);
    for (int end = n - 1; end > 0; end--) {
        swap(v, 0, end);
        sift_down(v, 0, end);
    }
}

void pvrt__select(double *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    /* About twice the depth a balanced partitioning needs. */
    int budget = 8;
    for (int m = n; m > 1; m >>= 1)
        budget += 2;
    while (hi - lo >= SELECT_SMALL) {
        if (budget-- == 0) {
            pvrt__sort(v + lo, hi - lo + 1);
            return;
        }
        /* Median of v[lo], v[mid], v[hi] becomes the pivot, held at lo+1;
         * v[lo] <= pivot <= v[hi] stop the scans below at the ends. */
        const int mid = lo + (hi - lo) / 2;
        swap(v, mid, lo + 1);
        if (v[lo] > v[hi])
            swap(v, lo, hi);
        if (v[lo + 1] > v[hi])
            swap(v, lo + 1, hi);
        if (v[lo] > v[lo + 1])
            swap(v, lo, lo + 1);
        const double pivot = v[lo + 1];
        int i = lo + 1, j = hi;
        for (;;) {
            do
                i++;
            while (v[i] < pivot);
            do
                j--;
            while (v[j] > pivot);
            if (j < i)
                break;
            swap(v, i, j);
        }
        /* The pivot goes to its final place j: left of it <=, right >=. */
        v[lo + 1] = v[j];
        v[j] = pivot;
        if (j == k)
            return;
        if (j > k)
            hi = j - 1;
        else
            lo = j + 1;
    }
    insertion_sort(v + lo, hi - lo + 1);
}

/* Up to this many values, pvrt__select_pair counts ranks instead: O(n^2)
 * comparisons, but with no data-dependent branches it beats quickselect on
 * unpredictable data below about 30 values (measured: 46 ns against 87 ns
 * for 10 random values). */
#define RANK_MAX 24

void pvrt__select_pair(double *v, int n, int k, double *lo, double *hi)
{
    if (n <= RANK_MAX) {
        /* The rank of v[i]: values smaller, plus equal values before it, so
         * ranks are a permutation of 0..n-1 even with ties. */
        double a = v[0], b = v[0];
        for (int i = 0; i < n; i++) {
            const double x = v[i];
            int r = 0;
            for (int j = 0; j < i; j++)
                r += v[j] <= x;
            for (int j = i + 1; j < n; j++)
                r += v[j] < x;
            if (r == k)
                a = x;
            if (r == k + 1)
                b = x;
        }
        *lo = a;
        *hi = k + 1 < n ? b : a;
        return;
    }
    pvrt__select(v, n, k);
    *lo = v[k];
    *hi = k + 1 < n ? pvrt__min(v + k + 1, n - k - 1) : v[k];
}

double pvrt__min(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

double pvrt__max(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

double pvrt__midpoint(double a, double b)
{
    if (a == b)
        return a;
    double m = (a + b) / 2.0;
    if (isinf(m) && isfinite(a) && isfinite(b))
        m = a / 2.0 + b / 2.0;
    return m;
}
