/* SPDX-License-Identifier: MIT */
/*
 * The soft device's memory keys (soft-int.h): an lkey and an rkey for
 * every MR, random so that no client can guess another's, unique within
 * the device, and the device's two tables that resolve them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "drivers/soft/soft-int.h"

/*
 * QP numbers and memory keys are random.  One getrandom per 64 of them,
 * not one each: a QP create or an MR registration is a request we want
 * cheap.
 */
uint32_t soft_keys_random32(void)
{
	static uint32_t pool[64];
	static size_t left;
	uint32_t v;

	if (!left) {
		if (getrandom(pool, sizeof(pool), 0) == (ssize_t)sizeof(pool)) {
			left = sizeof(pool) / sizeof(pool[0]);
		} else {
			pool[0] = (uint32_t)random();
			left = 1;
		}
	}
	v = pool[--left];
	pool[left] = 0;		/* used once */
	return v;
}

struct rb_mr *soft_keys_find_lkey(const struct rb_device *dev, uint32_t lkey)
{
	const struct soft_dev *sd = dev->priv;
	struct rb_hnode *n = hash_first(&sd->lkeys, lkey);

	return n ? &container_of(n, struct soft_mr, lnode)->mr : NULL;
}

struct rb_mr *soft_keys_find_rkey(const struct rb_device *dev, uint32_t rkey)
{
	const struct soft_dev *sd = dev->priv;
	struct rb_hnode *n = hash_first(&sd->rkeys, rkey);

	return n ? &container_of(n, struct soft_mr, rnode)->mr : NULL;
}

/* A fresh key: neither an lkey nor an rkey of the device yet. */
static uint32_t soft_keys_new(const struct rb_device *dev)
{
	uint32_t k;

	do {
		k = soft_keys_random32();
	} while (k == 0 || soft_keys_find_lkey(dev, k) || soft_keys_find_rkey(dev, k));
	return k;
}

int soft_keys_reg_mr(struct rb_device *dev, struct rb_mr *mr)
{
	struct soft_dev *sd = dev->priv;
	struct soft_mr *smr = rb_container_of(mr, struct soft_mr, mr);

	mr->lkey = soft_keys_new(dev);
	do
		mr->rkey = soft_keys_new(dev);
	while (mr->rkey == mr->lkey);
	if (hash_insert(&sd->lkeys, &smr->lnode, mr->lkey) < 0)
		return -ENOMEM;
	if (hash_insert(&sd->rkeys, &smr->rnode, mr->rkey) < 0) {
		hash_remove(&sd->lkeys, &smr->lnode);
		return -ENOMEM;
	}
	return 0;
}

void soft_keys_dereg_mr(struct rb_mr *mr)
{
	struct soft_dev *sd = mr->dev->priv;
	struct soft_mr *smr = rb_container_of(mr, struct soft_mr, mr);

	hash_remove(&sd->lkeys, &smr->lnode);
	hash_remove(&sd->rkeys, &smr->rnode);
}
