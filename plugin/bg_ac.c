/* bg_ac: Aho-Corasick over ASCII-case-folded bytes.
 *
 * Patterns first go into a trie with sparse child lists (cheap to grow);
 * bg_ac_build then numbers the states breadth first, so the children of a
 * state are consecutive states, and keeps per state only what a scan reads
 * (8 bytes: first child, child count, failure link, edge byte, output
 * flag) plus a dense 256-entry row for the root. The whole automaton for
 * the built-in rules is about 60 KB.
 *
 * Why not a full transition table (one lookup per byte)? Exim runs the
 * plugin in a fresh process for every bounce, and there the cost is the
 * memory first touched, not the steps: a dense table for the built-in rules
 * is ~1 MB and a 100-byte scan touched ~100 of its pages (about 300 us on
 * our VMs) where this layout touches a handful. Warm, a scan follows about
 * two links per byte instead of one.
 *
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
    uint8_t byte;    /* folded byte on the edge into this node */
} bg_ac_node;

typedef struct bg_ac_pat {
    unsigned id;
    uint32_t len;
    int32_t next; /* next pattern ending at the same state, -1 */
} bg_ac_pat;

struct bg_ac {
    bg_ac_node *node; /* the trie while patterns are added */
    size_t nnode, capnode;
    bg_ac_pat *pat;
    size_t npat, cappat;
    int built;
    /* the built arrays, owned unless borrowed */
    uint16_t root[256];
    bg_ac_state *st;
    int32_t *out, *dict;
    uint32_t *pat_id, *pat_len;
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
        return -1; /* state numbers are 16 bits wide */
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

/* The built arrays; NULL-safe. */
static void bg_ac_free_built(bg_ac *a)
{
    free(a->st);
    free(a->out);
    free(a->dict);
    free(a->pat_id);
    free(a->pat_len);
    free(a->pat_next);
    a->st = NULL;
    a->out = a->dict = a->pat_next = NULL;
    a->pat_id = a->pat_len = NULL;
}

/* Free it all; NULL is fine. */
void bg_ac_free(bg_ac *a)
{
    if (!a)
        return;
    if (!a->borrowed) {
        free(a->node);
        free(a->pat);
        bg_ac_free_built(a);
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
    if (!a || a->built || a->borrowed || !pat || len == 0 || len > BG_AC_PATTERN_MAX)
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

/* The child of built state s along folded byte c, 0 when none. */
static inline uint32_t bg_ac_next(const bg_ac_frozen *v, uint32_t s, unsigned char c)
{
    if (s == 0)
        return v->root[c];
    const bg_ac_state *x = &v->st[s];
    for (uint32_t k = x->first, end = (uint32_t)x->first + x->n; k < end; k++)
        if (v->st[k].byte == c)
            return k;
    return 0;
}

/* Number the states breadth first (children consecutive, sorted by byte),
 * then failure and dictionary links in that order (a state's failure
 * state is always shallower, so already done), then the output flags. */
int bg_ac_build(bg_ac *a)
{
    if (!a || a->borrowed)
        return -1;
    if (a->built)
        return 0;
    size_t nn = a->nnode, np = a->npat ? a->npat : 1;
    int32_t *order = malloc(nn * sizeof *order); /* new number -> trie node */
    a->st = calloc(nn, sizeof *a->st);
    a->out = malloc(nn * sizeof *a->out);
    a->dict = calloc(nn, sizeof *a->dict);
    a->pat_id = malloc(np * sizeof *a->pat_id);
    a->pat_len = malloc(np * sizeof *a->pat_len);
    a->pat_next = malloc(np * sizeof *a->pat_next);
    if (!order || !a->st || !a->out || !a->dict || !a->pat_id || !a->pat_len || !a->pat_next) {
        free(order);
        bg_ac_free_built(a);
        return -1;
    }
    /* breadth first; each state's children appended together, by byte */
    size_t head = 0, tail = 1;
    order[0] = 0;
    while (head < tail) {
        uint32_t s = (uint32_t)head;
        int32_t t = order[head++];
        a->st[s].first = (uint16_t)tail;
        size_t from = tail;
        for (int32_t k = a->node[t].child; k >= 0; k = a->node[k].sibling) {
            size_t j = tail++; /* insertion sort by byte: lists are short */
            while (j > from && a->node[order[j - 1]].byte > a->node[k].byte) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = k;
        }
        a->st[s].n = (uint16_t)(tail - from);
    }
    memset(a->root, 0, sizeof a->root);
    for (size_t s = 0; s < nn; s++) {
        const bg_ac_node *t = &a->node[order[s]];
        a->st[s].byte = t->byte;
        a->out[s] = t->out;
    }
    for (uint32_t k = a->st[0].first; k < (uint32_t)a->st[0].first + a->st[0].n; k++)
        a->root[a->st[k].byte] = (uint16_t)k;
    a->view = (bg_ac_frozen){.nnode = nn, .npat = a->npat, .root = a->root, .st = a->st,
                             .out = a->out, .dict = a->dict, .pat_id = a->pat_id,
                             .pat_len = a->pat_len, .pat_next = a->pat_next};
    for (uint32_t s = 0; s < nn; s++) {
        for (uint32_t k = a->st[s].first; k < (uint32_t)a->st[s].first + a->st[s].n; k++) {
            unsigned char c = a->st[k].byte;
            uint32_t f = 0;
            if (s != 0) {
                uint32_t g = a->st[s].fail;
                while (g != 0 && bg_ac_next(&a->view, g, c) == 0)
                    g = a->st[g].fail;
                f = bg_ac_next(&a->view, g, c);
            }
            a->st[k].fail = (uint16_t)f;
            a->dict[k] = a->out[f] >= 0 ? (int32_t)f : a->dict[f];
        }
    }
    for (size_t s = 0; s < nn; s++)
        a->st[s].hits = a->out[s] >= 0 || a->dict[s] > 0;
    for (size_t i = 0; i < a->npat; i++) {
        a->pat_id[i] = a->pat[i].id;
        a->pat_len[i] = a->pat[i].len;
        a->pat_next[i] = a->pat[i].next;
    }
    free(order);
    a->built = 1;
    return 0;
}

/* An automaton that scans with v's arrays in place (a compiled-in image);
 * v must outlive it. NULL when memory runs out or v is not usable. */
bg_ac *bg_ac_borrow(const bg_ac_frozen *v)
{
    if (!v || !v->root || !v->st || !v->out || !v->dict || v->nnode == 0 ||
        (v->npat && (!v->pat_id || !v->pat_len || !v->pat_next)))
        return NULL;
    bg_ac *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->view = *v;
    a->borrowed = 1;
    a->built = 1;
    a->nnode = v->nnode;
    a->npat = v->npat;
    return a;
}

/* The built arrays (for writing an image); NULL before bg_ac_build. */
const bg_ac_frozen *bg_ac_view(const bg_ac *a)
{
    return a && a->built ? &a->view : NULL;
}

/* Follow goto, else failure links, per byte; outputs are only looked at in
 * states that have some. */
size_t bg_ac_scan(const bg_ac *a, const char *text, size_t len, bg_ac_hit_fn fn, void *ctx)
{
    if (!a || !a->built || !text)
        return 0;
    const bg_ac_frozen *v = &a->view;
    size_t hits = 0;
    uint32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = bg_ac_fold((unsigned char)text[i]);
        uint32_t t;
        while ((t = bg_ac_next(v, s, c)) == 0 && s != 0)
            s = v->st[s].fail;
        s = t;
        if (!v->st[s].hits) /* the common case */
            continue;
        int32_t o = v->out[s] >= 0 ? (int32_t)s : v->dict[s];
        for (; o > 0; o = v->dict[o]) {
            for (int32_t p = v->out[o]; p >= 0; p = v->pat_next[p]) {
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
