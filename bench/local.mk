# bench/: benchmark programs and the short benchmark command.
