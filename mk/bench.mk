# make bench helpers: the in-process classifier bench driver
# (bench/bench_classify.sh builds and runs it).
$(O)/bench_classify: bench/bench_classify.c $(IMAGE) $(LIB) | $(O)/obj
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -o $@ $< $(IMAGE) $(LIB) $(SANLD) $(LDLIBS)
