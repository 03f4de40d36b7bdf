/* SPDX-License-Identifier: MIT */
/*
 * An intrusive hash of 32-bit keys (QP numbers, memory keys): the node
 * lives in the object, so inserting never allocates except to grow the
 * bucket array, and a failed grow only makes chains longer.
 */
#ifndef RB_DRIVERS_HASH_H
#define RB_DRIVERS_HASH_H

#include <stdint.h>

struct rb_hnode {
	struct rb_hnode *next;
	uint32_t key;
};

struct rb_hash {
	struct rb_hnode **b;
	uint32_t mask;			/* buckets - 1 */
	uint32_t n;
};

/* A zeroed rb_hash is empty.  -ENOMEM only when it has no buckets yet. */
int hash_insert(struct rb_hash *h, struct rb_hnode *node, uint32_t key);
void hash_remove(struct rb_hash *h, struct rb_hnode *node);
/* The first node with key, then the next one after node; NULL at the end. */
struct rb_hnode *hash_first(const struct rb_hash *h, uint32_t key);
struct rb_hnode *hash_next(const struct rb_hnode *node);

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - __builtin_offsetof(type, member)))

#endif /* RB_DRIVERS_HASH_H */
