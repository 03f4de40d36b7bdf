/* SPDX-License-Identifier: MIT */
/*
 * The intrusive hash of 32-bit keys (drivers/hash.c) that holds QP
 * numbers and memory keys, linked from daemon/librbd.la: an empty (zeroed)
 * hash, insert and find, keys that collide, equal keys, growth, removal
 * in any order, and a walk over one key's nodes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/hash.h"
#include "tests/lib/rng.h"

struct item {
	int id;
	struct rb_hnode node;		/* not first: container_of must work */
};

static struct item *find(const struct rb_hash *h, uint32_t key)
{
	struct rb_hnode *n = hash_first(h, key);

	return n ? container_of(n, struct item, node) : NULL;
}

static unsigned int count_key(const struct rb_hash *h, uint32_t key)
{
	unsigned int n = 0;

	for (struct rb_hnode *x = hash_first(h, key); x; x = hash_next(x)) {
		assert_int_equal(x->key, key);
		n++;
	}
	return n;
}

static void test_empty(void **state)
{
	struct rb_hash h = { 0 };

	(void)state;
	assert_null(hash_first(&h, 0));
	assert_null(hash_first(&h, 0xffffffff));
	assert_int_equal(h.n, 0);
}

static void test_insert_find_remove(void **state)
{
	enum { N = 10000 };
	struct rb_hash h = { 0 };
	static struct item it[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		it[i].id = i;
		/* Keys that share their low bits, as QP numbers do. */
		assert_int_equal(hash_insert(&h, &it[i].node, (uint32_t)i << 12 | 0x11), 0);
	}
	assert_int_equal(h.n, N);
	/* The bucket array grew, a power of two, to at most two keys a
	 * bucket. */
	assert_true(h.n <= 2 * (h.mask + 1));
	assert_int_equal((h.mask + 1) & h.mask, 0);
	for (int i = 0; i < N; i++) {
		assert_ptr_equal(find(&h, (uint32_t)i << 12 | 0x11), &it[i]);
		assert_null(find(&h, (uint32_t)i << 12 | 0x12));
	}
	/* Remove every third, then check what is left. */
	for (int i = 0; i < N; i += 3)
		hash_remove(&h, &it[i].node);
	for (int i = 0; i < N; i++) {
		struct item *f = find(&h, (uint32_t)i << 12 | 0x11);

		if (i % 3 == 0)
			assert_null(f);
		else
			assert_ptr_equal(f, &it[i]);
	}
	for (int i = 0; i < N; i++)
		if (i % 3)
			hash_remove(&h, &it[i].node);
	assert_int_equal(h.n, 0);
	assert_null(h.b);		/* empty: the buckets are given back */
	assert_null(find(&h, 1u << 12 | 0x11));
}

/* Equal keys: all found by a walk, each removable alone. */
static void test_equal_keys(void **state)
{
	struct rb_hash h = { 0 };
	struct item it[5];

	(void)state;
	for (int i = 0; i < 5; i++) {
		it[i].id = i;
		assert_int_equal(hash_insert(&h, &it[i].node, 7), 0);
	}
	assert_int_equal(count_key(&h, 7), 5);
	assert_int_equal(count_key(&h, 8), 0);
	hash_remove(&h, &it[2].node);
	hash_remove(&h, &it[0].node);
	assert_int_equal(count_key(&h, 7), 3);
	for (struct rb_hnode *x = hash_first(&h, 7); x; x = hash_next(x)) {
		int id = container_of(x, struct item, node)->id;

		assert_true(id == 1 || id == 3 || id == 4);
	}
	hash_remove(&h, &it[1].node);
	hash_remove(&h, &it[3].node);
	hash_remove(&h, &it[4].node);
	assert_int_equal(count_key(&h, 7), 0);
	free(h.b);
}

/* Random keys against a reference array: the hash answers as the array. */
static void test_random(void **state)
{
	enum { N = 2000 };
	struct rb_hash h = { 0 };
	static struct item it[N];
	static bool in[N];
	(void)state;
	rng_state = 15;
	for (int i = 0; i < N; i++)
		it[i].id = i;
	for (int round = 0; round < 20000; round++) {
		int i = (int)(rng() % N);

		if (in[i])
			hash_remove(&h, &it[i].node);
		else
			assert_int_equal(hash_insert(&h, &it[i].node, (uint32_t)i * 2654435761u), 0);
		in[i] = !in[i];
	}
	for (int i = 0; i < N; i++)
		assert_ptr_equal(find(&h, (uint32_t)i * 2654435761u), in[i] ? &it[i] : NULL);
	free(h.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_insert_find_remove),
		cmocka_unit_test(test_equal_keys),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
