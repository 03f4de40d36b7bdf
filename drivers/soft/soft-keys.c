/* SPDX-License-Identifier: MIT */
/*
 * The soft device's memory keys (soft-int.h): an lkey and an rkey for
 * every MR, random so that no client can guess another's, unique within
 * the device, and the device's two tables that resolve them.  Memory
 * windows have keys of their own half of the space (SOFT_KEY_MW set): an
 * index of 23 random bits the device picks, unique, and a key byte below
 * it that the client changes at each bind (ibv_inc_rkey), so one table by
 * index finds a window whatever its current byte.
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
		k = soft_keys_random32() & ~SOFT_KEY_MW;
	} while (k == 0 || soft_keys_find_lkey(dev, k) || soft_keys_find_rkey(dev, k));
	return k;
}

struct soft_mw *soft_keys_find_mw(const struct rb_device *dev, uint32_t rkey)
{
	const struct soft_dev *sd = dev->priv;
	struct rb_hnode *n;

	if (!(rkey & SOFT_KEY_MW))
		return NULL;
	n = hash_first(&sd->mws, rkey >> 8);
	return n ? container_of(n, struct soft_mw, node) : NULL;
}

int soft_keys_alloc_mw(struct rb_device *dev, struct rb_mw *mw)
{
	struct soft_dev *sd = dev->priv;
	struct soft_mw *smw = rb_container_of(mw, struct soft_mw, mw);
	uint32_t r;

	do
		r = soft_keys_random32() | SOFT_KEY_MW;
	while (soft_keys_find_mw(dev, r));
	mw->rkey = r;
	return hash_insert(&sd->mws, &smw->node, r >> 8) < 0 ? -ENOMEM : 0;
}

void soft_keys_dealloc_mw(struct rb_mw *mw)
{
	struct soft_dev *sd = mw->dev->priv;

	hash_remove(&sd->mws, &rb_container_of(mw, struct soft_mw, mw)->node);
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
