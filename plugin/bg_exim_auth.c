/* bg_exim_auth: placeholder until the authentication diagnosis lands. */
#include "bg_exim_hooks.h"

void *bg_exim_auth_extra(const bg_config *cfg, const bg_bounce *b, const bg_verdict *v,
                         size_t n, bg_render_extra *extra)
{
    (void)cfg;
    (void)b;
    (void)v;
    (void)n;
    (void)extra;
    return NULL;
}

void bg_exim_auth_free(void *handle)
{
    (void)handle;
}
