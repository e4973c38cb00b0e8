/* bg_auth_org: organisational domains through libpsl.
 *
 * libpsl is opened with dlopen on first use (types from its own header)
 * and its newest list loaded once per process (psl_latest). It never
 * fetches a list from the network. When the library or its data is
 * missing, a conservative rule stands in (see bg_auth_org.h).
 */
#include "bg_auth_org.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "bg_log.h"

#define BG_PSL_SONAME "libpsl.so.5"
#define BG_ORG_NAME_MAX 256

static struct {
    int tried;
    void *lib;
    psl_ctx_t *ctx;
    __typeof__(&psl_latest) latest;
    __typeof__(&psl_free) free_ctx;
    __typeof__(&psl_registrable_domain) registrable;
    __typeof__(&psl_is_public_suffix2) is_suffix2;
} bg_org;

/* Open libpsl and load its list; one log line when that fails. */
static void bg_org_open(void)
{
    if (bg_org.tried)
        return;
    bg_org.tried = 1;
    const char *why = NULL;
    bg_org.lib = dlopen(BG_PSL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!bg_org.lib) {
        why = dlerror();
    } else {
        *(void **)&bg_org.latest = dlsym(bg_org.lib, "psl_latest");
        *(void **)&bg_org.free_ctx = dlsym(bg_org.lib, "psl_free");
        *(void **)&bg_org.registrable = dlsym(bg_org.lib, "psl_registrable_domain");
        *(void **)&bg_org.is_suffix2 = dlsym(bg_org.lib, "psl_is_public_suffix2");
        if (!bg_org.latest || !bg_org.free_ctx || !bg_org.registrable || !bg_org.is_suffix2)
            why = "a libpsl function is missing";
        else if (!(bg_org.ctx = bg_org.latest(NULL)))
            why = "libpsl has no suffix list (install the publicsuffix package)";
    }
    if (why) {
        bg_logf(BG_LOG_WARN, "psl: %s; organisational domains fall back to name comparison",
                why);
        if (bg_org.lib)
            dlclose(bg_org.lib);
        bg_org.lib = NULL;
        bg_org.ctx = NULL;
    }
}

void bg_auth_org_free(void)
{
    if (bg_org.ctx)
        bg_org.free_ctx(bg_org.ctx);
    if (bg_org.lib)
        dlclose(bg_org.lib);
    memset(&bg_org, 0, sizeof bg_org);
}

void bg_auth_org_fallback(void)
{
    bg_auth_org_free();
    bg_org.tried = 1;
}

const char *bg_auth_org_source(void)
{
    bg_org_open();
    return bg_org.ctx ? "libpsl" : "fallback";
}

/* name lower-cased without a trailing dot into d; its length, 0 when
 * empty or too long. */
static size_t bg_org_norm(const char *name, char *d, size_t cap)
{
    size_t n = name ? strlen(name) : 0;
    while (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    d[n] = '\0';
    return n;
}

const char *bg_auth_org_domain(const char *name, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return "";
    out[0] = '\0';
    char d[BG_ORG_NAME_MAX];
    size_t n = bg_org_norm(name, d, sizeof d);
    if (n == 0 || n >= outlen)
        return out;
    bg_org_open();
    const char *reg = bg_org.ctx ? bg_org.registrable(bg_org.ctx, d) : NULL;
    snprintf(out, outlen, "%s", reg ? reg : d);
    return out;
}

/* Is the shorter name equal to the longer one or a parent of it? */
static int bg_org_parent(const char *a, size_t la, const char *b, size_t lb)
{
    if (la < lb)
        return bg_org_parent(b, lb, a, la);
    return la == lb ? strcmp(a, b) == 0 : (a[la - lb - 1] == '.' && strcmp(a + la - lb, b) == 0);
}

int bg_auth_org_aligned(const char *a, const char *b, int strict)
{
    char na[BG_ORG_NAME_MAX], nb[BG_ORG_NAME_MAX];
    size_t la = bg_org_norm(a, na, sizeof na), lb = bg_org_norm(b, nb, sizeof nb);
    if (la == 0 || lb == 0)
        return 0;
    if (la == lb && strcmp(na, nb) == 0)
        return 1;
    if (strict)
        return 0;
    bg_org_open();
    if (!bg_org.ctx) /* no list: only a name and its subdomains */
        return bg_org_parent(na, la, nb, lb) && strchr(la < lb ? na : nb, '.') != NULL;
    const char *oa = bg_org.registrable(bg_org.ctx, na);
    const char *ob = bg_org.registrable(bg_org.ctx, nb);
    return oa && ob && strcmp(oa, ob) == 0;
}

int bg_auth_org_tld_listed(const char *name)
{
    char d[BG_ORG_NAME_MAX];
    if (bg_org_norm(name, d, sizeof d) == 0)
        return 0;
    bg_org_open();
    if (!bg_org.ctx)
        return 1;
    const char *dot = strrchr(d, '.');
    return bg_org.is_suffix2(bg_org.ctx, dot ? dot + 1 : d,
                             PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) == 1;
}
