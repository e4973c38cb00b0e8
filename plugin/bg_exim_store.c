/* bg_exim_store: placeholder until the suppression store lands. */
#include "bg_exim_hooks.h"

void bg_exim_store_bounce(const bg_config *cfg, const bg_bounce *b, const bg_verdict *v,
                          size_t n, int inbound, const char *message_id)
{
    (void)cfg;
    (void)b;
    (void)v;
    (void)n;
    (void)inbound;
    (void)message_id;
}
