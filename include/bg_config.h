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
 * docs/ and conf/bounceguide.conf list them all.
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

#endif
