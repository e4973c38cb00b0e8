# mk/valgrind.mk -- memcheck over the unit tests, the CLI and the plugin
# inside Exim (auto-included).
#
#   make valgrind    every build/tests/test_* and the CLI over a sample of the
#                    corpus under valgrind --leak-check=full; fails on any
#                    memory error or definite leak (tests/run-valgrind.sh);
#                    then local_scan inside a non-setuid copy of exim on a
#                    few reports (tests/valgrind_exim.py) and the ${dlfunc}
#                    entry points in a -bh session and a -M delivery
#                    (tests/valgrind_dlfunc.py): there each report is judged
#                    (tests/valgrind_judge.py) and only the plugin's fail,
#                    never Exim's own. Then the must-fail runs: the same
#                    inside Exim with $(VG_PLANT_SO), which carries planted
#                    errors (tests/valgrind_plant.c), must be found.
#                    Third-party suppressions: tests/valgrind.supp.
#                    BG_VG_SAMPLE=1 renders every corpus bounce (slow).
#   make valgrind-exim   only the runs inside Exim, must-fail runs included
#                    (under a minute; make test-trixie runs it on Exim 4.98).
#
# The planted .so: the real plugin's objects plus tests/valgrind_plant.c,
# whose wrappers the linker puts in front of three core functions
# (-Wl,--wrap): the adapter's calls go through them. Never installed.

VG_PLANT_SO   = $(O)/vgplant/bounceguide.so
VG_PLANT_WRAP = -Wl,--wrap=bg_bounce_read,--wrap=bg_classify_reply,--wrap=bg_store_fmt_date

.PHONY: valgrind valgrind-exim

$(O)/vgplant:
	mkdir -p $@

# the planted errors are what the compiler would warn about
$(O)/vgplant/plant.o: tests/valgrind_plant.c $(wildcard include/*.h) | $(O)/vgplant $(O)/gen/bg_embedded.h
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -Wno-array-bounds -Wno-stringop-overread \
	  -Wno-maybe-uninitialized -Wno-uninitialized -c -o $@ $<

$(VG_PLANT_SO): $(EXIM_OBJ) $(IMAGE) $(LIB) $(O)/vgplant/plant.o plugin/bounceguide.map
	$(CC) -shared $(SANLD) -Wl,--version-script=plugin/bounceguide.map $(VG_PLANT_WRAP) \
	  -o $@ $(EXIM_OBJ) $(O)/vgplant/plant.o $(IMAGE) $(LIB) $(LDLIBS)

valgrind: $(TEST_BIN) $(CLI) $(SO) $(VG_PLANT_SO)
	sh tests/run-valgrind.sh $(O) $(CLI) $(TEST_BIN)

valgrind-exim: $(CLI) $(SO) $(VG_PLANT_SO)
	sh tests/run-valgrind.sh --exim-only $(O) $(CLI)
