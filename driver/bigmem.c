/* bigmem.c: large buffers from their own huge-page mapping (bigmem.h).
 *
 * Every buffer carries a head of HEAD_BYTES just before it: the mapping it
 * lives in (base and length), or a zero length when it came from VSIMalloc. A
 * mapping is the buffer rounded up to 2 MiB plus 2 MiB of slack, so that
 * the buffer can start on a 2 MiB boundary with its head in the page
 * before; the slack is address space, untouched but for the head's page.
 * The buffer's whole huge pages are advised, and its last partial one when
 * at least half of it is used: a buffer holds at most 1 MiB it does not
 * use. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include "bigmem.h"

#include <cpl_vsi.h>

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_BYTES ((size_t)2 << 20)
#define HEAD_BYTES ((size_t)16) /* keeps the buffer 16-byte aligned */

#if defined(__SANITIZE_ADDRESS__)
#define BIG_MAPPINGS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define BIG_MAPPINGS 0
#endif
#endif
#if !defined(BIG_MAPPINGS) && defined(MADV_HUGEPAGE) && defined(MAP_ANONYMOUS)
#define BIG_MAPPINGS 1
#endif
#ifndef BIG_MAPPINGS
#define BIG_MAPPINGS 0
#endif

typedef struct big_head {
    void *base;    /* the mapping, or the VSIMalloc block */
    size_t length; /* the mapping's; 0 for a VSIMalloc block */
} big_head;

_Static_assert(sizeof(big_head) <= HEAD_BYTES, "the head fits its bytes");

static void *from_vsimalloc(size_t size)
{
    if (size > SIZE_MAX - HEAD_BYTES)
        return NULL;
    unsigned char *block = (unsigned char *)VSIMalloc(size + HEAD_BYTES);
    if (block == NULL)
        return NULL;
    big_head *head = (big_head *)block;
    head->base = block;
    head->length = 0;
    return block + HEAD_BYTES;
}

#if BIG_MAPPINGS
static void *from_mapping(size_t size)
{
    /* The buffer rounded up to 2 MiB, plus 2 MiB of slack: base is
     * page-aligned, so the first 2 MiB boundary at least HEAD_BYTES in is
     * at most 2 MiB in, and every huge page advised below lies within. */
    if (size > SIZE_MAX / 2 - 2 * HUGE_BYTES)
        return from_vsimalloc(size);
    const size_t length =
        (size + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES + HUGE_BYTES;
    void *base = mmap(NULL, length, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return from_vsimalloc(size);
    const uintptr_t start = ((uintptr_t)base + HEAD_BYTES + HUGE_BYTES - 1) &
                            ~(uintptr_t)(HUGE_BYTES - 1);
    size_t advised = size / HUGE_BYTES * HUGE_BYTES;
    if (size - advised >= HUGE_BYTES / 2)
        advised += HUGE_BYTES;
    /* Only advice: without huge pages the buffer is plain pages. */
    if (advised > 0)
        (void)madvise((void *)start, advised, MADV_HUGEPAGE);
    big_head *head = (big_head *)(start - HEAD_BYTES);
    head->base = base;
    head->length = length;
    return (void *)start;
}
#endif

void *pvrt_big_alloc(size_t size)
{
#if BIG_MAPPINGS
    if (size >= HUGE_BYTES)
        return from_mapping(size);
#endif
    return from_vsimalloc(size);
}

void pvrt_big_free(void *p)
{
    if (p == NULL)
        return;
    const big_head *head = (const big_head *)((unsigned char *)p - HEAD_BYTES);
#if BIG_MAPPINGS
    if (head->length != 0) {
        munmap(head->base, head->length);
        return;
    }
#endif
    VSIFree(head->base);
}
