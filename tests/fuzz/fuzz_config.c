/* libFuzzer target for the config loader: arbitrary bytes as
 * bounceguide.conf through bg_config_parse, then the options the plugin
 * reads looked up globally and for a few sender domains.
 *
 * The text is handed over without a terminating NUL. Checks: a rejected
 * file says why ("origin:line: reason"); an accepted one answers every
 * lookup with a terminated string (the default when the key is absent),
 * numbers and booleans never read past their value, and the section
 * walker visits as many domains as it reports.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bg_config.h"

static const char *const bg_fuzz_keys[] = {
    "enabled", "rewrite", "rewrite_inbound", "max_size", "log_rewrites", "language",
    "guidance_file", "organisation", "helpdesk", "rules_file", "suppress", "suppress_db",
    "suppress_timeout_ms", "suppress_soft_threshold", "suppress_exempt", "diagnose_budget",
    "diagnose_domains", "diagnose_dns_servers", "prvs_secret", "", NULL,
};

static const char *const bg_fuzz_domains[] = {
    NULL, "", "example.com", "mail.example.com", "example.org", ".", "EXAMPLE.COM", NULL,
};

/* Section walker callback: counts, and reads the name to its end. */
static void bg_fuzz_domain(const char *domain, void *ctx)
{
    if (!domain || !domain[0])
        __builtin_trap();
    *(size_t *)ctx += strlen(domain) > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300];
    memset(err, 'x', sizeof err);
    bg_config *c = bg_config_parse((const char *)data, size, "fuzz", err, sizeof err);
    if (!c) {
        if (!memchr(err, '\0', sizeof err) || strncmp(err, "fuzz", 4) != 0)
            __builtin_trap();
        return 0;
    }
    static const char dflt[] = "default-value";
    for (size_t d = 0; d < sizeof bg_fuzz_domains / sizeof *bg_fuzz_domains; d++) {
        const char *dom = bg_fuzz_domains[d];
        for (size_t k = 0; bg_fuzz_keys[k]; k++) {
            const char *v = bg_config_get(c, dom, bg_fuzz_keys[k], dflt);
            if (!v)
                __builtin_trap();
            (void)strlen(v);
            long long n = bg_config_get_num(c, dom, bg_fuzz_keys[k], -7);
            long long parsed;
            if (v != dflt && bg_config_parse_num(v, &parsed) == 0 && n != parsed)
                __builtin_trap();
            int bl = bg_config_get_bool(c, dom, bg_fuzz_keys[k], 2);
            if (bl != 0 && bl != 1 && bl != 2)
                __builtin_trap();
        }
    }
    size_t seen = 0;
    size_t n = bg_config_domains(c, bg_fuzz_domain, &seen);
    if (n != seen)
        __builtin_trap();
    bg_config_free(c);
    return 0;
}
