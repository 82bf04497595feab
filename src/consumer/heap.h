/*
 * heap: the consumer's deadline heap, a bounded binary min-heap of
 * (due time, reservation id).  Pure memory, no database: expire.c decides
 * what a due entry means.
 *
 * Invariant: every entry's due_ms is >= its parent's, so v[0] is the
 * earliest.  Equal deadlines come out in no particular order.
 */
#ifndef CONCERT_CONSUMER_HEAP_H
#define CONCERT_CONSUMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_entry {
	int64_t due_ms;
	unsigned char id[16];
};

struct heap {
	struct heap_entry *v;   /* allocated at the first push */
	size_t n, max;
};

/* An empty heap holding at most max entries (no allocation yet). */
void heap_init(struct heap *h, size_t max);

/* Add an entry.  0, or -1 when full or out of memory (dropped). */
int heap_push(struct heap *h, int64_t due_ms, const unsigned char id[16]);

/* The earliest entry, or NULL when empty. */
const struct heap_entry *heap_top(const struct heap *h);

/* Remove the earliest entry (no-op when empty). */
void heap_pop(struct heap *h);

/* Number of entries. */
size_t heap_size(const struct heap *h);

/* Free the memory; the heap is empty (and reusable) afterwards. */
void heap_free(struct heap *h);

#endif
