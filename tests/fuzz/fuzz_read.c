/* libFuzzer target for the reader: bg_bounce_read on arbitrary bytes.
 *
 * Besides the sanitizers, it checks the reader's promises: every stored
 * string is NUL-terminated inside its field and free of CR/LF, every span
 * lies inside the input, and a Status span starts with "Status". The input
 * buffer is not NUL-terminated, so any read past its end is caught.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"

/* A field holds a terminated string without line ends. */
static void bg_fuzz_field(const char *s, size_t cap)
{
    const char *nul = memchr(s, '\0', cap);
    if (!nul || memchr(s, '\n', (size_t)(nul - s)) || memchr(s, '\r', (size_t)(nul - s)))
        __builtin_trap();
}

static void bg_fuzz_span(bg_span sp, size_t size)
{
    if (sp.off > size || sp.len > size - sp.off)
        __builtin_trap();
}

#define FIELD(x) bg_fuzz_field((x), sizeof(x))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bg_limits lim = {4u << 20, 0, 0, 0};
    bg_read_status st;
    bg_bounce *b = bg_bounce_read((const char *)data, size, &lim, &st);
    if (!b) {
        if (st == BG_READ_OK)
            __builtin_trap();
        return 0;
    }
    FIELD(b->parser);
    FIELD(b->subject);
    FIELD(b->from);
    FIELD(b->message_id);
    FIELD(b->reporting_mta);
    FIELD(b->arrival_date);
    FIELD(b->boundary);
    FIELD(b->orig.subject);
    FIELD(b->orig.to);
    FIELD(b->orig.dkim_domain);
    size_t hl = b->human_text ? strlen(b->human_text) : 0;
    if (!b->human_text || hl >= (64u << 10) || memchr(b->human_text, '\r', hl))
        __builtin_trap();
    bg_fuzz_span(b->headers, size);
    bg_fuzz_span(b->body, size);
    bg_fuzz_span(b->part_human, size);
    bg_fuzz_span(b->part_status, size);
    bg_fuzz_span(b->part_original, size);
    if (b->nrcpt > 1000)
        __builtin_trap();
    for (size_t i = 0; i < b->nrcpt; i++) {
        const bg_rcpt *r = &b->rcpts[i];
        FIELD(r->recipient);
        FIELD(r->original_recipient);
        FIELD(r->action);
        FIELD(r->status);
        FIELD(r->diagnostic);
        FIELD(r->remote_mta);
        bg_fuzz_span(r->status_field, size);
        if (r->status_field.len &&
            (r->status_field.len < 6 ||
             strncasecmp((const char *)data + r->status_field.off, "Status", 6)))
            __builtin_trap();
    }
    bg_bounce_free(b);
    return 0;
}
