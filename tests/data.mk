# tests/data.mk: see the tests it lists.
