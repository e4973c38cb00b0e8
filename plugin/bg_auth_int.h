/* bg_auth_int: between the two halves of the diagnosis -- bg_auth.c (the
 * facts) and bg_auth_build.c (the findings made from them). Not a
 * public header. */
#ifndef BG_AUTH_INT_H
#define BG_AUTH_INT_H

#include "bg_auth.h"

/* Turn the facts in f into its findings (f->items). 0, or -1 when they
 * did not fit (BG_AUTH_ITEMS_MAX, BG_AUTH_POOL). */
int bg_auth_build(bg_auth_findings *f, const bg_auth_input *in);

#endif
