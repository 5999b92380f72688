# Aliases for ./dev.py, which does the real work (and needs only Python).
.PHONY: run test bench
run:
	./dev.py run
test:
	./dev.py test $(ARGS)
bench:
	./dev.py bench
