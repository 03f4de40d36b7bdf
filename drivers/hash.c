/* SPDX-License-Identifier: MIT */
/* The intrusive key hash (drivers/hash.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "drivers/hash.h"

#define HASH_MIN_BUCKETS	256u

/* Keys are random or sequential; a multiplicative mix spreads both. */
static uint32_t hash_bucket(const struct rb_hash *h, uint32_t key)
{
	return (uint32_t)((key * 0x9e3779b1u) >> 7) & h->mask;
}

static void hash_grow(struct rb_hash *h)
{
	uint32_t old_n = h->b ? h->mask + 1 : 0;
	uint32_t nb = old_n ? old_n * 2 : HASH_MIN_BUCKETS;
	struct rb_hnode **b = calloc(nb, sizeof(*b));
	struct rb_hnode **old = h->b;

	if (!b)
		return;		/* longer chains, still correct */
	h->b = b;
	h->mask = nb - 1;
	for (uint32_t i = 0; i < old_n; i++) {
		struct rb_hnode *n = old[i], *next;

		for (; n; n = next) {
			uint32_t k = hash_bucket(h, n->key);

			next = n->next;
			n->next = b[k];
			b[k] = n;
		}
	}
	free(old);
}

int hash_insert(struct rb_hash *h, struct rb_hnode *node, uint32_t key)
{
	uint32_t k;

	if (!h->b || h->n >= (h->mask + 1) * 2)
		hash_grow(h);
	if (!h->b)
		return -ENOMEM;
	node->key = key;
	k = hash_bucket(h, key);
	node->next = h->b[k];
	h->b[k] = node;
	h->n++;
	return 0;
}

void hash_remove(struct rb_hash *h, struct rb_hnode *node)
{
	struct rb_hnode **p = &h->b[hash_bucket(h, node->key)];

	for (; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			if (--h->n == 0) {
				/* Empty: give the buckets back (and none at exit). */
				free(h->b);
				h->b = NULL;
				h->mask = 0;
			}
			return;
		}
	}
}

struct rb_hnode *hash_first(const struct rb_hash *h, uint32_t key)
{
	struct rb_hnode *n;

	if (!h->b)
		return NULL;
	for (n = h->b[hash_bucket(h, key)]; n; n = n->next)
		if (n->key == key)
			return n;
	return NULL;
}

struct rb_hnode *hash_next(const struct rb_hnode *node)
{
	struct rb_hnode *n;

	for (n = node->next; n; n = n->next)
		if (n->key == node->key)
			return n;
	return NULL;
}
