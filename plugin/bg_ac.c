/* bg_ac: Aho-Corasick over ASCII-case-folded bytes.
 *
 * Patterns first go into a trie with sparse child lists (cheap to grow);
 * bg_ac_build then turns it into a dense transition table over byte classes
 * (only bytes that occur in some pattern get a class of their own, all
 * others share class 0), so a scan is one table lookup per input byte.
 * Each state keeps the first pattern ending there and a "dictionary" link
 * to the next shorter state on its suffix chain that ends a pattern.
 * This module knows nothing of rules or words; see bg_classify.
 */
#include "bg_ac.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct bg_ac_node {
    int32_t child;   /* first child (sparse trie, before build) */
    int32_t sibling; /* next sibling */
    int32_t out;     /* first pattern ending here, -1 when none */
    int32_t dict;    /* next state on the suffix chain with an output, 0 = none */
    int32_t fail;
    uint8_t byte;    /* folded byte on the edge into this node */
} bg_ac_node;

typedef struct bg_ac_pat {
    unsigned id;
    uint32_t len;
    int32_t next; /* next pattern ending at the same state, -1 */
} bg_ac_pat;

struct bg_ac {
    bg_ac_node *node;
    size_t nnode, capnode;
    bg_ac_pat *pat;
    size_t npat, cappat;
    uint16_t cls[256]; /* byte -> class (after folding) */
    size_t ncls;
    uint16_t *delta;   /* nnode * ncls transitions, NULL until built */
    uint8_t *hits;     /* per state: 1 when some pattern ends there or on its suffix chain */
    int32_t *out, *dict;            /* per state, copied from node[] at build */
    uint32_t *pat_id, *pat_len;     /* per pattern, copied from pat[] at build */
    int32_t *pat_next;
    bg_ac_frozen view; /* what a scan reads: these arrays, or a compiled-in image */
    int borrowed;      /* 1 = view points at constant data we do not own */
};

/* ASCII lower case; all other bytes unchanged. */
static inline unsigned char bg_ac_fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Append a zeroed node; returns its index or -1. */
static int32_t bg_ac_node_new(bg_ac *a, unsigned char byte)
{
    if (a->nnode >= BG_AC_STATES_MAX)
        return -1; /* transitions are 16-bit state numbers */
    if (a->nnode == a->capnode) {
        size_t cap = a->capnode ? a->capnode * 2 : 256;
        bg_ac_node *n = realloc(a->node, cap * sizeof *n);
        if (!n)
            return -1;
        a->node = n;
        a->capnode = cap;
    }
    bg_ac_node *n = &a->node[a->nnode];
    n->child = n->sibling = -1;
    n->out = -1;
    n->dict = 0;
    n->fail = 0;
    n->byte = byte;
    return (int32_t)a->nnode++;
}

/* An automaton with only its root state. */
bg_ac *bg_ac_new(void)
{
    bg_ac *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (bg_ac_node_new(a, 0) < 0) {
        free(a);
        return NULL;
    }
    return a;
}

/* Free it all; NULL is fine. */
void bg_ac_free(bg_ac *a)
{
    if (!a)
        return;
    if (!a->borrowed) {
        free(a->node);
        free(a->pat);
        free(a->delta);
        free(a->hits);
        free(a->out);
        free(a->dict);
        free(a->pat_id);
        free(a->pat_len);
        free(a->pat_next);
    }
    free(a);
}

/* The child of s along byte c, or -1 (sparse walk, build time only). */
static int32_t bg_ac_child(const bg_ac *a, int32_t s, unsigned char c)
{
    for (int32_t k = a->node[s].child; k >= 0; k = a->node[k].sibling)
        if (a->node[k].byte == c)
            return k;
    return -1;
}

/* Walk or grow the trie along the folded pattern; chain the id on the
 * state where it ends. */
int bg_ac_add(bg_ac *a, const char *pat, size_t len, unsigned id)
{
    if (!a || a->delta || a->borrowed || !pat || len == 0 || len > BG_AC_PATTERN_MAX)
        return -1;
    if (a->npat == a->cappat) {
        size_t cap = a->cappat ? a->cappat * 2 : 64;
        bg_ac_pat *p = realloc(a->pat, cap * sizeof *p);
        if (!p)
            return -1;
        a->pat = p;
        a->cappat = cap;
    }
    int32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = bg_ac_fold((unsigned char)pat[i]);
        int32_t k = bg_ac_child(a, s, c);
        if (k < 0) {
            k = bg_ac_node_new(a, c);
            if (k < 0)
                return -1;
            a->node[k].sibling = a->node[s].child;
            a->node[s].child = k;
        }
        s = k;
    }
    bg_ac_pat *p = &a->pat[a->npat];
    p->id = id;
    p->len = (uint32_t)len;
    p->next = a->node[s].out;
    a->node[s].out = (int32_t)a->npat++;
    return 0;
}

/* Byte classes, then failure links and transitions breadth first, then
 * the per-state "an output is reachable" flags. */
int bg_ac_build(bg_ac *a)
{
    if (!a || a->borrowed)
        return -1;
    if (a->delta)
        return 0;
    /* byte classes: one per folded byte that labels some edge */
    memset(a->cls, 0, sizeof a->cls);
    a->ncls = 1;
    for (size_t i = 1; i < a->nnode; i++) {
        unsigned char c = a->node[i].byte;
        if (!a->cls[c])
            a->cls[c] = (uint16_t)a->ncls++;
    }
    for (int c = 'A'; c <= 'Z'; c++)
        a->cls[c] = a->cls[c + 32];
    if (a->nnode > SIZE_MAX / sizeof(int32_t) / a->ncls)
        return -1;
    size_t ncls = a->ncls, nn = a->nnode;
    int32_t *work = calloc(nn * ncls, sizeof *work);
    int32_t *queue = malloc(nn * sizeof *queue);
    int32_t *perm = malloc(nn * sizeof *perm);
    uint16_t *delta = malloc(nn * ncls * sizeof *delta);
    uint8_t *hits = malloc(nn);
    a->out = malloc(nn * sizeof *a->out);
    a->dict = malloc(nn * sizeof *a->dict);
    size_t np = a->npat ? a->npat : 1;
    a->pat_id = malloc(np * sizeof *a->pat_id);
    a->pat_len = malloc(np * sizeof *a->pat_len);
    a->pat_next = malloc(np * sizeof *a->pat_next);
    if (!work || !queue || !perm || !delta || !hits || !a->out || !a->dict || !a->pat_id ||
        !a->pat_len || !a->pat_next) {
        free(work);
        free(queue);
        free(perm);
        free(delta);
        free(hits);
        free(a->out);
        free(a->dict);
        free(a->pat_id);
        free(a->pat_len);
        free(a->pat_next);
        a->out = a->dict = a->pat_next = NULL;
        a->pat_id = a->pat_len = NULL;
        return -1;
    }
    /* breadth first: a state's failure state is always done before it */
    size_t head = 0, tail = 0;
    for (int32_t k = a->node[0].child; k >= 0; k = a->node[k].sibling) {
        a->node[k].fail = 0;
        a->node[k].dict = 0;
        work[a->cls[a->node[k].byte]] = k;
        queue[tail++] = k;
    }
    while (head < tail) {
        int32_t s = queue[head++];
        int32_t f = a->node[s].fail;
        int32_t *row = work + (size_t)s * ncls;
        memcpy(row, work + (size_t)f * ncls, ncls * sizeof *row);
        for (int32_t k = a->node[s].child; k >= 0; k = a->node[k].sibling) {
            size_t c = a->cls[a->node[k].byte];
            int32_t kf = work[(size_t)f * ncls + c];
            a->node[k].fail = kf;
            a->node[k].dict = a->node[kf].out >= 0 ? kf : a->node[kf].dict;
            row[c] = k;
            queue[tail++] = k;
        }
    }
    /* Renumber the states breadth first: the shallow states, where a scan
     * spends nearly all its steps, share a few pages of the table (which
     * matters for a compiled-in image read cold by a fresh process). */
    perm[0] = 0;
    for (size_t i = 0; i < tail; i++)
        perm[queue[i]] = (int32_t)(i + 1);
    for (size_t s = 0; s < nn; s++) {
        size_t t = (size_t)perm[s];
        for (size_t c = 0; c < ncls; c++)
            delta[t * ncls + c] = (uint16_t)perm[work[s * ncls + c]];
        hits[t] = a->node[s].out >= 0 || a->node[s].dict > 0;
        a->out[t] = a->node[s].out;
        a->dict[t] = a->node[s].dict > 0 ? perm[a->node[s].dict] : 0;
    }
    free(work);
    free(queue);
    free(perm);
    for (size_t i = 0; i < a->npat; i++) {
        a->pat_id[i] = a->pat[i].id;
        a->pat_len[i] = a->pat[i].len;
        a->pat_next[i] = a->pat[i].next;
    }
    a->hits = hits;
    a->delta = delta;
    a->view = (bg_ac_frozen){.nnode = a->nnode, .npat = a->npat, .ncls = a->ncls,
                             .cls = a->cls, .delta = delta, .hits = hits, .out = a->out,
                             .dict = a->dict, .pat_id = a->pat_id, .pat_len = a->pat_len,
                             .pat_next = a->pat_next};
    return 0;
}

/* An automaton that scans with v's arrays in place (a compiled-in image);
 * v must outlive it. NULL when memory runs out or v is not usable. */
bg_ac *bg_ac_borrow(const bg_ac_frozen *v)
{
    if (!v || !v->cls || !v->delta || !v->hits || !v->out || !v->dict || v->nnode == 0 ||
        v->ncls == 0 || (v->npat && (!v->pat_id || !v->pat_len || !v->pat_next)))
        return NULL;
    bg_ac *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->view = *v;
    a->borrowed = 1;
    a->nnode = v->nnode;
    a->npat = v->npat;
    a->ncls = v->ncls;
    return a;
}

/* The built arrays (for writing an image); NULL before bg_ac_build. */
const bg_ac_frozen *bg_ac_view(const bg_ac *a)
{
    return a && (a->delta || a->borrowed) ? &a->view : NULL;
}

/* One transition per byte; outputs are only looked at in states that
 * have some. */
size_t bg_ac_scan(const bg_ac *a, const char *text, size_t len, bg_ac_hit_fn fn, void *ctx)
{
    if (!a || !a->view.delta || !text)
        return 0;
    const bg_ac_frozen *v = &a->view;
    size_t hits = 0;
    int32_t s = 0;
    const size_t ncls = v->ncls;
    for (size_t i = 0; i < len; i++) {
        s = v->delta[(size_t)s * ncls + v->cls[(unsigned char)text[i]]];
        if (!v->hits[s]) /* the common case: one small array, no node touched */
            continue;
        int32_t t = v->out[s] >= 0 ? s : v->dict[s];
        for (; t > 0; t = v->dict[t]) {
            for (int32_t p = v->out[t]; p >= 0; p = v->pat_next[p]) {
                hits++;
                if (fn && fn(v->pat_id[p], i + 1 - v->pat_len[p], i + 1, ctx))
                    return hits;
            }
        }
    }
    return hits;
}

/* Counts for tests and the dump. */
size_t bg_ac_patterns(const bg_ac *a)
{
    return a ? a->npat : 0;
}

size_t bg_ac_states(const bg_ac *a)
{
    return a ? a->nnode : 0;
}
