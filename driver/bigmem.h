/* bigmem.h: memory for the tile engine's large buffers.
 *
 * A gathered source, a band kept for the next read, a computed region, a
 * read kept for its mask: the engine fills each of these at once, right
 * after allocating it, and the
 * C library hands buffers of this size out as fresh pages, each faulted in
 * on first touch (a few microseconds each where page faults are expensive,
 * as in virtual machines: ~1,000 per 4 MB buffer). Buffers of 2 MiB or
 * more come from their own mapping, aligned and advised to be backed by
 * transparent huge pages when the system allows it (one fault per 2 MiB);
 * smaller ones, and every buffer of an AddressSanitizer build (whose
 * allocator tracks leaks and overflows), from VSIMalloc. Thread-safe. */
#ifndef PVRT_BIGMEM_H
#define PVRT_BIGMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `size` bytes, uninitialised; NULL when out of memory (nothing reported,
 * as VSIMalloc). */
void *pvrt_big_alloc(size_t size);

/* Frees what pvrt_big_alloc returned; accepts NULL. */
void pvrt_big_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
