# man/: see its files.
