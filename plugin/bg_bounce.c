/* bg_bounce: the bounce type's own helpers (see bg_bounce.h); the reader
 * is bg_bounce_read.c.
 */
#include "bg_bounce.h"

#include <stdlib.h>
#include <string.h>


/* Doubling growth up to the recipient bound (b->rcpt_max, default 1000). */
bg_rcpt *bg_bounce_add_rcpt(bg_bounce *b)
{
    size_t max = b->rcpt_max ? b->rcpt_max : 1000;
    if (b->nrcpt >= max)
        return NULL;
    if (b->nrcpt == b->rcpt_cap) {
        size_t cap = b->rcpt_cap ? b->rcpt_cap * 2 : 4;
        if (cap > max)
            cap = max;
        bg_rcpt *r = realloc(b->rcpts, cap * sizeof *r);
        if (!r)
            return NULL;
        b->rcpts = r;
        b->rcpt_cap = cap;
    }
    bg_rcpt *rc = &b->rcpts[b->nrcpt++];
    memset(rc, 0, sizeof *rc);
    return rc;
}

/* Strings live inside the struct; only the arrays are separate. */
void bg_bounce_free(bg_bounce *b)
{
    if (!b)
        return;
    free(b->rcpts);
    free(b->human_text);
    free(b);
}

static const char *const bg_kind_names[] = {
    [BG_MSG_NOT_BOUNCE] = "not-a-bounce", [BG_MSG_FAILURE] = "failure",
    [BG_MSG_DELAY] = "delay",             [BG_MSG_SUCCESS] = "success",
    [BG_MSG_FEEDBACK] = "feedback",       [BG_MSG_AUTOREPLY] = "autoreply",
};

/* Table lookup; the names are public (CLI JSON "kind"). */
const char *bg_msg_kind_name(bg_msg_kind k)
{
    if ((unsigned)k < sizeof bg_kind_names / sizeof bg_kind_names[0] && bg_kind_names[k])
        return bg_kind_names[k];
    return "unknown";
}
