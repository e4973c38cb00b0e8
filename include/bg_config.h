/* bg_config: the plugin's own config file (/etc/exim4/bounceguide.conf).
 *
 * Syntax: "key = value" lines; '#' starts a comment line; a line
 * "[domain example.com]" starts a section whose keys apply to mail whose
 * envelope sender is in that domain (or a subdomain of it when written
 * "[domain .example.com]"). Keys outside any section are the global
 * defaults. Values run to the end of the line, surrounding blanks trimmed;
 * a value may be quoted with "..." to keep blanks. Later lines win.
 *
 * The config is read-only once loaded. Each module reads the keys it owns;
 * every key the plugin knows is in one table (bg_config_keys_table: name,
 * type, default, scope), which bg_config_keys_check holds a file against
 * (unknown keys, values of the wrong type, global keys in a [domain]
 * section) and which conf/bounceguide.conf, docs/ and the man page follow.
 */
#ifndef BG_CONFIG_H
#define BG_CONFIG_H

#include <stddef.h>

typedef struct bg_config bg_config;

/* An empty config: every lookup gives its default. Never NULL unless
 * memory runs out. */
bg_config *bg_config_new(void);

/* Parse text. Returns NULL and writes "origin:line: reason" into err on a
 * syntax error (a line without '=', an unterminated section or quote). */
bg_config *bg_config_parse(const char *text, size_t len, const char *origin,
                           char *err, size_t errlen);

/* Read and parse a file. NULL with err filled when it cannot be read or
 * parsed; the caller logs err once and uses bg_config_new() instead. */
bg_config *bg_config_load(const char *path, char *err, size_t errlen);

void bg_config_free(bg_config *c);

/* The value of key for a sender domain (NULL or "" = global): the most
 * specific matching section first, then the global value, then dflt. */
const char *bg_config_get(const bg_config *c, const char *domain, const char *key,
                          const char *dflt);

/* Integer value with an optional suffix: K, M, G (x1024) for sizes;
 * s, m, h, d, w for durations (result in seconds). dflt when absent or
 * malformed (a malformed value logs one warning). */
long long bg_config_get_num(const bg_config *c, const char *domain, const char *key,
                            long long dflt);

/* Boolean: yes/no, true/false, on/off, 1/0. */
int bg_config_get_bool(const bg_config *c, const char *domain, const char *key, int dflt);

/* Call fn for every section domain name ("" excluded). Returns the count. */
size_t bg_config_domains(const bg_config *c, void (*fn)(const char *domain, void *ctx),
                         void *ctx);

/* Parse a number with suffix as above: 0 and *out set, or -1. */
int bg_config_parse_num(const char *s, long long *out);

/* Every line of the file in order: fn(section ("" = global), key (lower
 * case), value, line number, ctx). Returns the count. */
typedef void (*bg_config_entry_fn)(const char *section, const char *key, const char *value,
                                   unsigned line, void *ctx);
size_t bg_config_entries(const bg_config *c, bg_config_entry_fn fn, void *ctx);

/* ---- the key table (plugin/bg_config_keys.c) ---- */

typedef enum {
    BG_CFG_BOOL,     /* yes/no, true/false, on/off, 1/0 */
    BG_CFG_COUNT,    /* a plain integer >= 0 */
    BG_CFG_SIZE,     /* an integer with K, M, G */
    BG_CFG_DURATION, /* seconds, or with s, min, h, d, w; 0 = never where it says so */
    BG_CFG_MS,       /* milliseconds: "500ms", or a duration ("2s") */
    BG_CFG_MODE,     /* none, count, address, domain */
    BG_CFG_STRING,   /* any text */
    BG_CFG_PATH,     /* a file or directory */
    BG_CFG_LIST,     /* items separated by blanks or commas */
    BG_CFG_PERCENT   /* a share: "5%", "0.5%" (0 = off where it says so) */
} bg_config_type;

typedef enum {
    BG_CFG_GLOBAL, /* read outside any [domain] section only */
    BG_CFG_DOMAIN  /* a global default that a [domain] section may change */
} bg_config_scope;

typedef struct bg_config_key {
    const char *name;      /* "suppress_db"; a name ending in '*' is a family
                            * ("suppress.*": suppress.<category id>) */
    bg_config_type type;
    const char *dflt;      /* the built-in default as written in the file; "" = unset */
    bg_config_scope scope;
    const char *area;      /* the part of the plugin that reads it */
    const char *what;      /* one line */
} bg_config_key;

/* The table (every key the plugin reads) and its length. */
const bg_config_key *bg_config_keys_table(size_t *n);
/* The entry for a key name (families matched), NULL when unknown. */
const bg_config_key *bg_config_keys_find(const char *name);
/* "bool", "count", ... */
const char *bg_config_type_name(bg_config_type t);
/* A BG_CFG_PERCENT value: "5%", "0.5%", "0" -> 0.05, 0.005, 0 into *out
 * (may be NULL). 0, or -1 when it is none (a bare number other than 0). */
int bg_config_parse_percent(const char *v, double *out);
/* 0 when value is a valid value of key's type (an unknown key: 0), else -1
 * with why (a short reason) set. */
int bg_config_keys_value_ok(const bg_config_key *key, const char *value, const char **why);

typedef enum { BG_CFG_WARNING, BG_CFG_ERROR } bg_config_severity;
/* One problem: severity, the line it is on, one line of text. */
typedef void (*bg_config_issue_fn)(bg_config_severity sev, unsigned line, const char *msg,
                                   void *ctx);
/* Hold c against the table: a key the plugin does not know or a global key
 * in a [domain] section is a warning (the line is ignored); a value of the
 * wrong type is an error (a config with errors is broken: the adapter
 * leaves suppression and rewriting off, the CLI refuses it). Returns the
 * number of errors; fn (may be NULL) gets every problem in file order. */
int bg_config_keys_check(const bg_config *c, bg_config_issue_fn fn, void *ctx);

#endif
