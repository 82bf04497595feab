/* Unit tests: the consumer's deadline heap (src/consumer/heap.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/heap.h"

static void
id_of(int n, unsigned char id[16])
{
	memset(id, 0, 16);
	memcpy(id, &n, sizeof(n));
}

Test(heap, empty_has_no_top)
{
	struct heap h;

	heap_init(&h, 4);
	cr_assert_null(heap_top(&h));
	cr_assert_eq(heap_size(&h), 0);
	heap_pop(&h);           /* no-op */
	cr_assert_eq(heap_size(&h), 0);
	heap_free(&h);
}

Test(heap, top_is_the_earliest_with_its_id)
{
	struct heap h;
	unsigned char id[16];

	heap_init(&h, 8);
	id_of(30, id);
	cr_assert_eq(heap_push(&h, 30, id), 0);
	id_of(10, id);
	cr_assert_eq(heap_push(&h, 10, id), 0);
	id_of(20, id);
	cr_assert_eq(heap_push(&h, 20, id), 0);
	cr_assert_eq(heap_size(&h), 3);
	cr_assert_eq(heap_top(&h)->due_ms, 10);
	id_of(10, id);
	cr_assert_arr_eq(heap_top(&h)->id, id, 16);
	heap_free(&h);
}

/* Popping everything yields the deadlines in order, whatever the order
 * of the pushes (a pseudo-random permutation with duplicates). */
Test(heap, pops_in_deadline_order)
{
	struct heap h;
	unsigned char id[16];
	int64_t prev = -1;
	unsigned seed = 12345;
	int i, n = 1000;

	heap_init(&h, (size_t)n);
	for (i = 0; i < n; i++) {
		int64_t due;

		seed = seed * 1103515245u + 12345u;
		due = (int64_t)(seed >> 16) % 300;
		id_of((int)due, id);
		cr_assert_eq(heap_push(&h, due, id), 0);
	}
	for (i = 0; i < n; i++) {
		const struct heap_entry *e = heap_top(&h);

		cr_assert_not_null(e);
		cr_assert_geq(e->due_ms, prev, "entry %d out of order", i);
		/* the id travelled with its deadline */
		id_of((int)e->due_ms, id);
		cr_assert_arr_eq(e->id, id, 16);
		prev = e->due_ms;
		heap_pop(&h);
	}
	cr_assert_eq(heap_size(&h), 0);
	cr_assert_null(heap_top(&h));
	heap_free(&h);
}

Test(heap, refuses_a_push_beyond_its_bound)
{
	struct heap h;
	unsigned char id[16];

	heap_init(&h, 2);
	id_of(1, id);
	cr_assert_eq(heap_push(&h, 5, id), 0);
	cr_assert_eq(heap_push(&h, 3, id), 0);
	cr_assert_eq(heap_push(&h, 1, id), -1);
	cr_assert_eq(heap_size(&h), 2);
	cr_assert_eq(heap_top(&h)->due_ms, 3);
	heap_pop(&h);
	cr_assert_eq(heap_push(&h, 1, id), 0);
	cr_assert_eq(heap_top(&h)->due_ms, 1);
	heap_free(&h);
}

Test(heap, is_reusable_after_free)
{
	struct heap h;
	unsigned char id[16];

	heap_init(&h, 2);
	id_of(1, id);
	cr_assert_eq(heap_push(&h, 7, id), 0);
	heap_free(&h);
	cr_assert_eq(heap_size(&h), 0);
	cr_assert_eq(heap_push(&h, 9, id), 0);
	cr_assert_eq(heap_top(&h)->due_ms, 9);
	heap_free(&h);
}
