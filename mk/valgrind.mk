# mk/valgrind.mk -- memcheck over the unit tests and the CLI (auto-included).
#
#   make valgrind    every build/tests/test_* and the CLI over a sample of the
#                    corpus under valgrind --leak-check=full; fails on any
#                    memory error or definite leak (tests/run-valgrind.sh);
#                    then local_scan inside a non-setuid copy of exim on a
#                    few reports (tests/valgrind_exim.py, memory errors only),
#                    and the ${dlfunc} entry points in a -bh session and a
#                    -M delivery (tests/valgrind_dlfunc.py, memory errors only).
#                    Third-party suppressions: tests/valgrind.supp.
#                    BG_VG_SAMPLE=1 renders every corpus bounce (slow).

.PHONY: valgrind

valgrind: $(TEST_BIN) $(CLI) $(SO)
	sh tests/run-valgrind.sh $(O) $(CLI) $(TEST_BIN)
