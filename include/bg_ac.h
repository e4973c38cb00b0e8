/* bg_ac: find many phrases in a text in one pass (Aho-Corasick).
 *
 * Patterns are added, then the automaton is built once; after that it is
 * immutable and can be shared by threads. Matching folds ASCII case on both
 * sides; every other byte (UTF-8 included) compares exactly. The scan costs
 * one table step per input byte whatever the number of patterns. Word
 * boundaries and whitespace are the caller's business (bg_classify
 * normalises the text first and checks boundaries on each hit).
 */
#ifndef BG_AC_H
#define BG_AC_H

#include <stddef.h>

#define BG_AC_PATTERN_MAX 256   /* longest pattern accepted, in bytes */
#define BG_AC_STATES_MAX 65535  /* states (state numbers are 16 bits wide) */

typedef struct bg_ac bg_ac;

#include <stdint.h>

/* A built automaton as plain arrays: what a scan reads. States are
 * numbered breadth first; the children of state s are states first ..
 * first + n - 1, sorted by their edge byte. bg_ac_view gives the arrays of
 * a built automaton (tools/rulesgen writes them out as C); bg_ac_borrow
 * scans with such arrays in place, so a compiled-in rule set costs nothing
 * to load. */
typedef struct bg_ac_state {
    uint16_t first; /* first child */
    uint16_t n;     /* number of children */
    uint16_t fail;  /* failure link */
    uint8_t byte;   /* folded byte on the edge into this state */
    uint8_t hits;   /* 1 when an output is reachable (here or on the suffix chain) */
} bg_ac_state;

typedef struct bg_ac_frozen {
    size_t nnode, npat;
    const uint16_t *root;    /* 256: folded byte -> depth-1 state, 0 = none */
    const bg_ac_state *st;   /* nnode */
    const int32_t *out;      /* nnode: first pattern ending here, -1 */
    const int32_t *dict;     /* nnode: next output state on the suffix chain, 0 */
    const uint32_t *pat_id;  /* npat: the caller's id */
    const uint32_t *pat_len; /* npat */
    const int32_t *pat_next; /* npat: next pattern ending at the same state, -1 */
} bg_ac_frozen;

const bg_ac_frozen *bg_ac_view(const bg_ac *a);
bg_ac *bg_ac_borrow(const bg_ac_frozen *v);

/* A new, empty automaton; NULL when memory runs out. */
bg_ac *bg_ac_new(void);

/* Add a pattern (1..BG_AC_PATTERN_MAX bytes) reported as id. The same
 * text may be added under several ids. Returns 0, or -1 (bad length, no
 * memory, or already built). */
int bg_ac_add(bg_ac *a, const char *pat, size_t len, unsigned id);

/* Compute the failure links and the transition table. Returns 0 or -1. */
int bg_ac_build(bg_ac *a);

/* Called for every occurrence: id of the pattern, and its byte range
 * [start, end) in the text. Return non-zero to stop the scan. */
typedef int (*bg_ac_hit_fn)(unsigned id, size_t start, size_t end, void *ctx);

/* Scan text (len bytes, NUL not needed). Returns the number of hits
 * reported. An unbuilt automaton finds nothing. */
size_t bg_ac_scan(const bg_ac *a, const char *text, size_t len, bg_ac_hit_fn fn, void *ctx);

/* Number of patterns and of automaton states (for tests and the dump). */
size_t bg_ac_patterns(const bg_ac *a);
size_t bg_ac_states(const bg_ac *a);

void bg_ac_free(bg_ac *a);

#endif
