# tests/dataerr.mk: see the tests it lists.
