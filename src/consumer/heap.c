/*
 * heap: see heap.h.
 */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

void
heap_init(struct heap *h, size_t max)
{
	h->v = NULL;
	h->n = 0;
	h->max = max;
}

static void
swap(struct heap *h, size_t a, size_t b)
{
	struct heap_entry t = h->v[a];

	h->v[a] = h->v[b];
	h->v[b] = t;
}

int
heap_push(struct heap *h, int64_t due_ms, const unsigned char id[16])
{
	size_t i;

	if (h->n >= h->max)
		return -1;
	/* All at once: the heap is either unused or soon busy. */
	if (h->v == NULL && (h->v = malloc(h->max * sizeof(*h->v))) == NULL)
		return -1;
	i = h->n++;
	h->v[i].due_ms = due_ms;
	memcpy(h->v[i].id, id, 16);
	while (i > 0 && h->v[(i - 1) / 2].due_ms > h->v[i].due_ms) {
		swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

const struct heap_entry *
heap_top(const struct heap *h)
{
	return h->n > 0 ? &h->v[0] : NULL;
}

void
heap_pop(struct heap *h)
{
	size_t i = 0, l, r, m;

	if (h->n == 0)
		return;
	h->v[0] = h->v[--h->n];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < h->n && h->v[l].due_ms < h->v[m].due_ms)
			m = l;
		if (r < h->n && h->v[r].due_ms < h->v[m].due_ms)
			m = r;
		if (m == i)
			break;
		swap(h, i, m);
		i = m;
	}
}

size_t
heap_size(const struct heap *h)
{
	return h->n;
}

void
heap_free(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}
