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
    int32_t *delta;    /* nnode * ncls transitions, NULL until built */
    uint8_t *hits;     /* per state: 1 when some pattern ends there or on its suffix chain */
};

/* ASCII lower case; all other bytes unchanged. */
static inline unsigned char bg_ac_fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Append a zeroed node; returns its index or -1. */
static int32_t bg_ac_node_new(bg_ac *a, unsigned char byte)
{
    if (a->nnode == a->capnode) {
        size_t cap = a->capnode ? a->capnode * 2 : 256;
        if (cap > INT32_MAX / 2)
            return -1;
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
    free(a->node);
    free(a->pat);
    free(a->delta);
    free(a->hits);
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
    if (!a || a->delta || !pat || len == 0 || len > BG_AC_PATTERN_MAX)
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
    if (!a)
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
    int32_t *delta = calloc(a->nnode * a->ncls, sizeof *delta);
    int32_t *queue = malloc(a->nnode * sizeof *queue);
    if (!delta || !queue) {
        free(delta);
        free(queue);
        return -1;
    }
    /* breadth first: a state's failure state is always done before it */
    size_t head = 0, tail = 0;
    for (int32_t k = a->node[0].child; k >= 0; k = a->node[k].sibling) {
        a->node[k].fail = 0;
        a->node[k].dict = 0;
        delta[a->cls[a->node[k].byte]] = k;
        queue[tail++] = k;
    }
    while (head < tail) {
        int32_t s = queue[head++];
        int32_t f = a->node[s].fail;
        int32_t *row = delta + (size_t)s * a->ncls;
        memcpy(row, delta + (size_t)f * a->ncls, a->ncls * sizeof *row);
        for (int32_t k = a->node[s].child; k >= 0; k = a->node[k].sibling) {
            size_t c = a->cls[a->node[k].byte];
            int32_t kf = delta[(size_t)f * a->ncls + c];
            a->node[k].fail = kf;
            a->node[k].dict = a->node[kf].out >= 0 ? kf : a->node[kf].dict;
            row[c] = k;
            queue[tail++] = k;
        }
    }
    free(queue);
    uint8_t *hits = malloc(a->nnode);
    if (!hits) {
        free(delta);
        return -1;
    }
    for (size_t i = 0; i < a->nnode; i++)
        hits[i] = a->node[i].out >= 0 || a->node[i].dict > 0;
    a->hits = hits;
    a->delta = delta;
    return 0;
}

/* One transition per byte; outputs are only looked at in states that
 * have some. */
size_t bg_ac_scan(const bg_ac *a, const char *text, size_t len, bg_ac_hit_fn fn, void *ctx)
{
    if (!a || !a->delta || !text)
        return 0;
    size_t hits = 0;
    int32_t s = 0;
    const size_t ncls = a->ncls;
    for (size_t i = 0; i < len; i++) {
        s = a->delta[(size_t)s * ncls + a->cls[(unsigned char)text[i]]];
        if (!a->hits[s]) /* the common case: one small array, no node touched */
            continue;
        int32_t t = a->node[s].out >= 0 ? s : a->node[s].dict;
        for (; t > 0; t = a->node[t].dict) {
            for (int32_t p = a->node[t].out; p >= 0; p = a->pat[p].next) {
                hits++;
                if (fn && fn(a->pat[p].id, i + 1 - a->pat[p].len, i + 1, ctx))
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
