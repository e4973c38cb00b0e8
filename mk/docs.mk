# mk/docs.mk -- the docs' own check (auto-included by the Makefile).
#
#   make doc-links   fail when README.md, docs/*.md, man/* or a comment
#                    under conf/ links or names a repository file that does
#                    not exist, or holds a merge conflict marker
#                    (tools/check-doc-links.py; first it proves, on a tree
#                    with planted faults, that it finds them); and when a
#                    verb of the command is missing from its --help or from
#                    bounceguide(8) (tools/check-cli-docs.py); and when
#                    docs/categories.md is not what `make docs` makes from
#                    today's rules (tests/pkg/categories.sh, also run by the
#                    pkg suite). In make check.

.PHONY: doc-links
doc-links: $(CLI)
	python3 tools/check-doc-links.py --self-test
	python3 tools/check-doc-links.py
	python3 tools/check-cli-docs.py $(CLI) man/bounceguide.8
	sh tests/pkg/categories.sh
