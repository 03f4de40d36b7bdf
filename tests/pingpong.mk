# tests/pingpong.mk: see the tests it lists.
