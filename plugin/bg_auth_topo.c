/* bg_auth_topo: topology and signing settings from bounceguide.conf and
 * Debian's Exim configuration files.
 *
 * Debian's files are read as data, never run or expanded: shell-style
 * "key='value'" lines of update-exim4.conf.conf, and "NAME = value" macro
 * lines. A macro whose value is an expansion is not evaluated; only
 * plain values and the common "From: domain" idiom are understood. Files
 * that cannot be read leave the fields unknown.
 */
#include "bg_auth_topo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_buf.h"

#define BG_TOPO_FILE_MAX (256u << 10)

static const char *const bg_topo_kind_names[] = {"unknown", "direct", "smarthost"};

const char *bg_auth_topo_kind_name(bg_topo_kind k)
{
    return (unsigned)k < 3 ? bg_topo_kind_names[k] : "unknown";
}

/* Debian's configtype values and what they mean for outgoing mail. */
static const struct {
    const char *configtype;
    bg_topo_kind kind;
} bg_topo_debian[] = {
    {"internet", BG_TOPO_DIRECT},
    {"smarthost", BG_TOPO_SMARTHOST},
    {"satellite", BG_TOPO_SMARTHOST},
    {"local", BG_TOPO_UNKNOWN}, /* no mail leaves */
    {"none", BG_TOPO_UNKNOWN},
    {NULL, BG_TOPO_UNKNOWN},
};

/* Copy the value of one shell assignment's right side: 'x', "x" or x. */
static void bg_topo_shell_value(const char *v, char *out, size_t cap)
{
    size_t o = 0;
    char q = (*v == '\'' || *v == '"') ? *v++ : 0;
    for (; *v && *v != '\n' && o + 1 < cap; v++) {
        if (q ? *v == q : (*v == ' ' || *v == '\t' || *v == '#'))
            break;
        out[o++] = *v;
    }
    out[o] = '\0';
}

/* The first host of an Exim host list ("mx.example::587 : b.example",
 * "[2001:db8::1]::25"), without its port. */
static void bg_topo_first_host(const char *list, char *out, size_t cap)
{
    while (*list == ' ' || *list == '\t')
        list++;
    size_t n;
    if (*list == '[') {
        list++;
        n = strcspn(list, "]");
    } else {
        n = strcspn(list, ": \t");
    }
    if (n >= cap)
        n = 0;
    memcpy(out, list, n);
    out[n] = '\0';
}

void bg_auth_topo_parse_debconf(const char *text, bg_auth_topo *out)
{
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        while (*line == ' ' || *line == '\t')
            line++;
        char val[512];
        if (strncmp(line, "dc_eximconfig_configtype=", 25) == 0) {
            bg_topo_shell_value(line + 25, val, sizeof val);
            snprintf(out->configtype, sizeof out->configtype, "%.31s", val);
            out->kind = BG_TOPO_UNKNOWN;
            for (int i = 0; bg_topo_debian[i].configtype; i++)
                if (strcmp(val, bg_topo_debian[i].configtype) == 0)
                    out->kind = bg_topo_debian[i].kind;
            out->source = BG_TOPO_SRC_DEBIAN;
        } else if (strncmp(line, "dc_smarthost=", 13) == 0) {
            bg_topo_shell_value(line + 13, val, sizeof val);
            bg_topo_first_host(val, out->smarthost, sizeof out->smarthost);
        }
        line = nl ? nl + 1 : NULL;
    }
    if (out->kind != BG_TOPO_SMARTHOST)
        out->smarthost[0] = '\0';
}

/* A macro value Exim would use as it is: no expansion, no blanks. */
static int bg_topo_plain(const char *v)
{
    if (!*v)
        return 0;
    for (; *v; v++)
        if (*v == '$' || *v == '{' || *v == '}' || *v == '\\' || isspace((unsigned char)*v))
            return 0;
    return 1;
}

void bg_auth_topo_parse_macros(const char *text, bg_auth_topo *out)
{
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[512];
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            char *p = buf;
            while (*p == ' ' || *p == '\t')
                p++;
            char *eq = strchr(p, '=');
            if (eq && (strncmp(p, "DKIM_DOMAIN", 11) == 0 || strncmp(p, "DKIM_SELECTOR", 13) == 0)) {
                int is_dom = p[5] == 'D';
                char *name_end = p + (is_dom ? 11 : 13);
                while (*name_end == ' ' || *name_end == '\t')
                    name_end++;
                if (name_end == eq) {
                    char *v = eq + 1;
                    while (*v == ' ' || *v == '\t')
                        v++;
                    size_t vl = strlen(v);
                    while (vl > 0 && isspace((unsigned char)v[vl - 1]))
                        v[--vl] = '\0';
                    if (is_dom) {
                        out->dkim_domain_from = 0;
                        out->dkim_domain[0] = '\0';
                        if (bg_topo_plain(v)) {
                            for (char *c = v; *c; c++)
                                *c = (char)tolower((unsigned char)*c);
                            snprintf(out->dkim_domain, sizeof out->dkim_domain, "%s", v);
                        } else if (strstr(v, "$h_from:") || strstr(v, "$header_from:") ||
                                   strstr(v, "$h_From:")) {
                            out->dkim_domain_from = 1;
                        }
                    } else {
                        snprintf(out->dkim_selector, sizeof out->dkim_selector, "%s",
                                 bg_topo_plain(v) ? v : "");
                    }
                    out->dkim_source = BG_TOPO_SRC_DEBIAN;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
}

/* Read dir/name into b; 0, or -1 when it cannot be read. */
static int bg_topo_read(const char *dir, const char *name, bg_buf *b)
{
    char path[1200];
    const char *why;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bg_buf_reset(b);
    return bg_buf_read_file(b, path, BG_TOPO_FILE_MAX, &why) < 0 ? -1 : 0;
}

void bg_auth_topo_load(const bg_config *cfg, const char *sender_domain, bg_auth_topo *out)
{
    memset(out, 0, sizeof *out);
    const char *dom = sender_domain && *sender_domain ? sender_domain : NULL;
    const char *dir = cfg ? bg_config_get(cfg, dom, "diagnose_exim_dir", BG_AUTH_EXIM_DIR)
                          : BG_AUTH_EXIM_DIR;
    bg_buf b;
    bg_buf_init(&b);
    if (*dir) {
        if (bg_topo_read(dir, "update-exim4.conf.conf", &b) == 0)
            bg_auth_topo_parse_debconf(bg_buf_str(&b), out);
        /* the non-split file, then the split one (Debian reads one of them;
         * the values agree on hosts that keep both) */
        if (bg_topo_read(dir, "exim4.conf.localmacros", &b) == 0)
            bg_auth_topo_parse_macros(bg_buf_str(&b), out);
        if (bg_topo_read(dir, "conf.d/main/000_localmacros", &b) == 0)
            bg_auth_topo_parse_macros(bg_buf_str(&b), out);
    }
    bg_buf_free(&b);
    if (!cfg)
        return;
    const char *t = bg_config_get(cfg, dom, "diagnose_topology", "auto");
    int said_direct = strcasecmp(t, "direct") == 0;
    if (said_direct || strcasecmp(t, "smarthost") == 0) {
        out->kind = said_direct ? BG_TOPO_DIRECT : BG_TOPO_SMARTHOST;
        out->source = BG_TOPO_SRC_CONFIG;
    }
    const char *sh = bg_config_get(cfg, dom, "diagnose_smarthost", "");
    if (*sh && !said_direct) { /* naming a smarthost says mail goes through it */
        bg_topo_first_host(sh, out->smarthost, sizeof out->smarthost);
        out->kind = BG_TOPO_SMARTHOST;
        out->source = BG_TOPO_SRC_CONFIG;
    }
    if (out->kind != BG_TOPO_SMARTHOST)
        out->smarthost[0] = '\0';
    /* what the transport signs with; a selector alone means the From:
     * domain (dkim_domain = ${lc:${domain:$h_from:}} is the usual setting) */
    const char *dd = bg_config_get(cfg, dom, "diagnose_dkim_domain", "");
    const char *ds = bg_config_get(cfg, dom, "diagnose_dkim_selector", "");
    if (*dd || *ds) {
        out->dkim_source = BG_TOPO_SRC_CONFIG;
        snprintf(out->dkim_domain, sizeof out->dkim_domain, "%s", dd);
        for (char *c = out->dkim_domain; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        out->dkim_domain_from = !*dd;
        snprintf(out->dkim_selector, sizeof out->dkim_selector, "%s", ds);
    }
}
