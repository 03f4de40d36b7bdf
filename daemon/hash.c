/* SPDX-License-Identifier: MIT */
/* The intrusive key hash (daemon/hash.h). */
#include "config.h"

#include <stdlib.h>

#include "daemon/hash.h"

#define HASH_MIN_BUCKETS	256u

/* Keys are random or sequential; a multiplicative mix spreads both. */
static uint32_t hash_bucket(const struct rb_hash *h, uint32_t key)
{
	return (uint32_t)((key * 0x9e3779b1u) >> 7) & h->mask;
}

static void hash_grow(struct rb_hash *h)
{
	uint32_t nb = (h->mask + 1) * 2;
	struct rb_hnode **b = calloc(nb, sizeof(*b));
	struct rb_hnode **old = h->b;
	uint32_t old_n = h->mask + 1;

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

int hash_init(struct rb_hash *h)
{
	h->b = calloc(HASH_MIN_BUCKETS, sizeof(*h->b));
	h->mask = HASH_MIN_BUCKETS - 1;
	h->n = 0;
	return h->b ? 0 : -1;
}

void hash_insert(struct rb_hash *h, struct rb_hnode *node, uint32_t key)
{
	uint32_t k;

	if (h->n >= (h->mask + 1) * 2)
		hash_grow(h);
	node->key = key;
	k = hash_bucket(h, key);
	node->next = h->b[k];
	h->b[k] = node;
	h->n++;
}

void hash_remove(struct rb_hash *h, struct rb_hnode *node)
{
	struct rb_hnode **p = &h->b[hash_bucket(h, node->key)];

	for (; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			h->n--;
			return;
		}
	}
}

struct rb_hnode *hash_first(const struct rb_hash *h, uint32_t key)
{
	struct rb_hnode *n;

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

void hash_fini(struct rb_hash *h)
{
	free(h->b);
	h->b = NULL;
	h->mask = 0;
	h->n = 0;
}
