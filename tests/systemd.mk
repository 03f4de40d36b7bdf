# tests for systemd/ and man/: see the files.
