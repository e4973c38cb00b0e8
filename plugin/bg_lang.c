/* bg_lang: the language of one bounce and its catalogues (see bg_lang.h).
 *
 * The order of the choice is data in the config (sender_languages,
 * language per [domain], language_from_message, admin_language); this
 * file applies it. Catalogues are loaded through bg_catalog_load_dir and
 * kept per tag for the handle's life (an Exim process, a CLI run). A
 * catalogue that exists but does not load logs one line and the default
 * language is used: a bad translation never stops mail.
 */
#include "bg_lang.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_log.h"

#define BG_LANG_MAX 8            /* catalogues kept per handle */
#define BG_LANG_HDR_SCAN 65536   /* bytes of the returned message's headers read */
#define BG_LANG_VALUE_MAX 300    /* bytes of a language header's value */

typedef struct bg_lang_slot {
    char tag[BG_LANG_TAG_MAX];
    bg_catalog *cat; /* NULL when loading failed (the default is used) */
} bg_lang_slot;

struct bg_lang {
    const bg_config *cfg;
    const char *dflt_override; /* NULL: guidance_file */
    const char *data_dir;
    char dflt[BG_LANG_TAG_MAX];  /* the default language, as loaded */
    bg_catalog *dflt_cat;
    bg_lang_slot cats[BG_LANG_MAX];
    size_t ncats;
};

/* ASCII lower case. */
static char bg_lang_lc(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* A tag as we name files: lower case, '_' as '-'; 0 when not a plain tag
 * (letters, digits, '-', '_'; at most BG_LANG_TAG_MAX - 1). */
static int bg_lang_norm(const char *s, size_t n, char *out)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    out[0] = '\0';
    if (n == 0 || n >= BG_LANG_TAG_MAX)
        return 0;
    char tmp[BG_LANG_TAG_MAX];
    for (size_t i = 0; i < n; i++) {
        char c = bg_lang_lc(s[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
        tmp[i] = c == '_' ? '-' : c;
    }
    memcpy(out, tmp, n);
    out[n] = '\0';
    return 1;
}

/* The override file for a language: guidance_file_LANG, else guidance_file
 * for the default language. */
static const char *bg_lang_override(const bg_lang *l, const char *tag)
{
    char key[BG_LANG_TAG_MAX + 20];
    snprintf(key, sizeof key, "guidance_file_%s", tag);
    int dflt = strcmp(tag, l->dflt) == 0;
    if (dflt && l->dflt_override)
        return l->dflt_override;
    const char *v = bg_config_get(l->cfg, NULL, key, "");
    if (!*v && dflt)
        v = bg_config_get(l->cfg, NULL, "guidance_file", "");
    return v;
}

bg_lang *bg_lang_new(const bg_config *cfg, const char *override, char *err, size_t errlen)
{
    bg_lang *l = calloc(1, sizeof *l);
    if (!l) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory loading the catalogue");
        return NULL;
    }
    l->cfg = cfg;
    l->dflt_override = override;
    l->data_dir = bg_config_get(cfg, NULL, "data_dir", "");
    const char *want = bg_config_get(cfg, NULL, "language", "en");
    char norm[BG_LANG_TAG_MAX];
    if (bg_lang_norm(want, strlen(want), norm))
        want = norm;
    /* a language without a catalogue: bg_catalog_load_dir logs it, uses en */
    snprintf(l->dflt, sizeof l->dflt, "%s", bg_catalog_available(l->data_dir, norm) ? norm : "en");
    char e[512] = "";
    l->dflt_cat = bg_catalog_load_dir(l->data_dir, want, bg_lang_override(l, l->dflt), e, sizeof e);
    if (!l->dflt_cat) {
        if (err && errlen)
            snprintf(err, errlen, "%s", e[0] ? e : "out of memory loading the catalogue");
        free(l);
        return NULL;
    }
    return l;
}

void bg_lang_free(bg_lang *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->ncats; i++)
        bg_catalog_free(l->cats[i].cat);
    bg_catalog_free(l->dflt_cat);
    free(l);
}

/* The catalogue of tag (loaded on first use); the default one when tag
 * has none that loads. *used gets the tag actually used. */
static const bg_catalog *bg_lang_catalog(bg_lang *l, const char *tag, const char **used)
{
    *used = l->dflt;
    if (!*tag || strcmp(tag, l->dflt) == 0)
        return l->dflt_cat;
    for (size_t i = 0; i < l->ncats; i++)
        if (strcmp(l->cats[i].tag, tag) == 0) {
            if (l->cats[i].cat)
                *used = l->cats[i].tag;
            return l->cats[i].cat ? l->cats[i].cat : l->dflt_cat;
        }
    if (!bg_catalog_available(l->data_dir, tag))
        return l->dflt_cat;
    char e[512] = "";
    bg_catalog *c = bg_catalog_load_dir(l->data_dir, tag, bg_lang_override(l, tag), e, sizeof e);
    if (!c)
        bg_logf(BG_LOG_WARN, "guidance: language '%s' not usable (%s); using '%s'", tag, e,
                l->dflt);
    if (l->ncats < BG_LANG_MAX) {
        bg_lang_slot *slot = &l->cats[l->ncats++];
        snprintf(slot->tag, sizeof slot->tag, "%s", tag);
        slot->cat = c;
        if (c)
            *used = slot->tag;
        return c ? c : l->dflt_cat;
    }
    bg_catalog_free(c); /* more languages than slots: a config this rich is not ours */
    return l->dflt_cat;
}

/* 1 when the tag (or its primary subtag) has a catalogue; the usable tag
 * in out. */
static int bg_lang_usable(const char *data_dir, const char *tag, char *out)
{
    if (bg_catalog_available(data_dir, tag)) {
        snprintf(out, BG_LANG_TAG_MAX, "%s", tag);
        return 1;
    }
    const char *dash = strchr(tag, '-');
    if (!dash)
        return 0;
    char primary[BG_LANG_TAG_MAX];
    snprintf(primary, sizeof primary, "%.*s", (int)(dash - tag), tag);
    if (!bg_catalog_available(data_dir, primary))
        return 0;
    snprintf(out, BG_LANG_TAG_MAX, "%s", primary);
    return 1;
}

int bg_lang_glob(const char *p, const char *s)
{
    const char *star = NULL, *back = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            back = s;
        } else if (*p && (*p == '?' || bg_lang_lc(*p) == bg_lang_lc(*s))) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++back;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int bg_lang_from_header(const char *value, int accept, const char *data_dir, char *out,
                        size_t outlen)
{
    double best_q = 0.0;
    int found = 0;
    const char *s = value;
    while (*s) {
        size_t n = strcspn(s, ",");
        size_t tn = strcspn(s, ";");
        if (tn > n)
            tn = n;
        double q = 1.0;
        const char *qp = accept ? memchr(s, ';', n) : NULL;
        if (qp) {
            const char *e = qp + 1;
            while (e < s + n && (*e == ' ' || *e == '\t'))
                e++;
            if (e + 1 < s + n && (e[0] == 'q' || e[0] == 'Q') && e[1] == '=')
                q = strtod(e + 2, NULL);
        }
        char tag[BG_LANG_TAG_MAX], usable[BG_LANG_TAG_MAX];
        /* the first tag wins among equals (Content-Language lists the main one first) */
        if (q > best_q && q <= 1.0 && bg_lang_norm(s, tn, tag) &&
            bg_lang_usable(data_dir, tag, usable)) {
            snprintf(out, outlen, "%s", usable);
            best_q = q;
            found = 1;
            if (!accept)
                break;
        }
        s += n + (s[n] == ',');
    }
    return found;
}

/* The unfolded value of header name in the block [p, end), bounded; 1
 * when found. */
static int bg_lang_header(const char *p, const char *end, const char *name, char *out,
                          size_t outlen)
{
    size_t nlen = strlen(name);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if ((size_t)(le - p) > nlen && strncasecmp(p, name, nlen) == 0) {
            const char *q = p + nlen;
            while (q < le && (*q == ' ' || *q == '\t'))
                q++;
            if (q < le && *q == ':') {
                size_t o = 0;
                for (q++;;) {
                    for (; q < le && o + 1 < outlen; q++)
                        out[o++] = (*q == '\r' || *q == '\t') ? ' ' : *q;
                    if (!eol || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
                        break;
                    q = eol + 1;
                    eol = memchr(q, '\n', (size_t)(end - q));
                    le = eol ? eol : end;
                }
                out[o] = '\0';
                return 1;
            }
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* The returned message's header block inside the report: after the
 * part's own headers, up to the first blank line. 0 when there is none. */
static int bg_lang_orig_headers(const char *msg, size_t len, const bg_bounce *b,
                                const char **start, const char **end)
{
    if (!msg || !b || !b->part_original.len || b->part_original.off > len ||
        b->part_original.len > len - b->part_original.off)
        return 0;
    const char *p = msg + b->part_original.off;
    const char *e = p + b->part_original.len;
    int blocks = 0;
    const char *bstart = p;
    while (p < e) { /* blank lines end the part's headers, then the message's */
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        if (le == p || (le == p + 1 && *p == '\r')) {
            if (++blocks == 2) {
                *start = bstart;
                *end = p;
                return 1;
            }
            bstart = nl ? nl + 1 : e;
        }
        p = nl ? nl + 1 : e;
        if ((size_t)(p - bstart) > BG_LANG_HDR_SCAN)
            return 0;
    }
    if (blocks == 1) { /* headers only (text/rfc822-headers without a body) */
        *start = bstart;
        *end = e;
        return 1;
    }
    return 0;
}

/* The administrator's language, filled into out. */
static void bg_lang_admin(bg_lang *l, const char *domain, bg_lang_pick *out)
{
    const char *a = bg_config_get(l->cfg, domain, "admin_language", "");
    char tag[BG_LANG_TAG_MAX];
    const char *used = out->sender;
    out->admin_catalog = out->catalog;
    if (*a && bg_lang_norm(a, strlen(a), tag) && strcmp(tag, out->sender) != 0) {
        out->admin_catalog = bg_lang_catalog(l, tag, &used);
        if (!bg_catalog_available(l->data_dir, tag))
            bg_logf(BG_LOG_WARN, "guidance: admin_language '%s' has no catalogue; using '%s'",
                    tag, used);
    }
    snprintf(out->admin, sizeof out->admin, "%s", used);
}

/* The domain that picks the config sections. */
static const char *bg_lang_domain(const char *addr, const char *domain)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : domain ? domain : "";
}

/* Fill out for a tag that is known to be usable (or "" = the default). */
static void bg_lang_fill(bg_lang *l, const char *tag, const char *source, const char *domain,
                         bg_lang_pick *out)
{
    const char *used;
    out->catalog = bg_lang_catalog(l, tag, &used);
    out->source = strcmp(used, tag) == 0 ? source : "default";
    snprintf(out->sender, sizeof out->sender, "%s", used);
    bg_lang_admin(l, domain, out);
    bg_logf(BG_LOG_DEBUG, "guidance: language %s (%s), administrator's %s", out->sender,
            out->source, out->admin);
}

void bg_lang_choose(bg_lang *l, const char *sender_addr, const char *sender_domain,
                    const char *msg, size_t len, const bg_bounce *b, bg_lang_pick *out)
{
    memset(out, 0, sizeof *out);
    const char *domain = bg_lang_domain(sender_addr, sender_domain);
    char tag[BG_LANG_TAG_MAX], usable[BG_LANG_TAG_MAX];
    /* 1. an address pattern */
    const char *pats = bg_config_get(l->cfg, domain, "sender_languages", "");
    while (sender_addr && *sender_addr && *pats) {
        size_t n = strcspn(pats, ",");
        char item[300];
        snprintf(item, sizeof item, "%.*s", (int)(n < sizeof item ? n : sizeof item - 1), pats);
        char pat[300], lang[64];
        if (sscanf(item, " %299s %63s", pat, lang) == 2 && bg_lang_glob(pat, sender_addr) &&
            bg_lang_norm(lang, strlen(lang), tag)) {
            if (bg_lang_usable(l->data_dir, tag, usable)) {
                bg_lang_fill(l, usable, "address", domain, out);
                return;
            }
            bg_logf(BG_LOG_WARN, "guidance: sender_languages names '%s', which has no "
                                 "catalogue", tag);
        }
        pats += n + (pats[n] == ',');
    }
    /* 2. the sender's [domain] section (not the global default) */
    const char *dl = *domain ? bg_config_get(l->cfg, domain, "language", NULL) : NULL;
    if (dl && dl != bg_config_get(l->cfg, NULL, "language", NULL) &&
        bg_lang_norm(dl, strlen(dl), tag) && bg_lang_usable(l->data_dir, tag, usable)) {
        bg_lang_fill(l, usable, "domain", domain, out);
        return;
    }
    /* 3. what the returned message says about itself */
    const char *hs, *he;
    if (bg_config_get_bool(l->cfg, domain, "language_from_message", 1) &&
        bg_lang_orig_headers(msg, len, b, &hs, &he)) {
        char v[BG_LANG_VALUE_MAX];
        if (bg_lang_header(hs, he, "Content-Language", v, sizeof v) &&
            bg_lang_from_header(v, 0, l->data_dir, tag, sizeof tag)) {
            bg_lang_fill(l, tag, "content-language", domain, out);
            return;
        }
        if (bg_lang_header(hs, he, "Accept-Language", v, sizeof v) &&
            bg_lang_from_header(v, 1, l->data_dir, tag, sizeof tag)) {
            bg_lang_fill(l, tag, "accept-language", domain, out);
            return;
        }
    }
    /* 4. the default */
    bg_lang_fill(l, l->dflt, "default", domain, out);
}

void bg_lang_force(bg_lang *l, const char *lang, const char *sender_addr,
                   const char *sender_domain, bg_lang_pick *out)
{
    memset(out, 0, sizeof *out);
    char tag[BG_LANG_TAG_MAX], usable[BG_LANG_TAG_MAX] = "";
    if (!bg_lang_norm(lang, strlen(lang), tag) || !bg_lang_usable(l->data_dir, tag, usable))
        bg_logf(BG_LOG_WARN, "guidance: no catalogue for language '%.16s', using '%s'", lang,
                l->dflt);
    bg_lang_fill(l, usable, "forced", bg_lang_domain(sender_addr, sender_domain), out);
}
