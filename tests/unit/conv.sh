#!/bin/sh
# proto/conv.c round trips (tests/unit/conv.c); no daemon.
exec "$top_builddir/tests/unit/conv"
