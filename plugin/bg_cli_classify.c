/* bg_cli_classify: `bounceguide classify [--json] [--rules FILE] [FILE...]`.
 *
 * One JSON object per recipient per line (--json), or a readable table. A
 * file in mbox form (messages after "From " separator lines) is read
 * message by message, in order.
 * A file that cannot be read gives one line on stderr and exit status 1
 * at the end; the other files are still processed. The rules and the
 * classify loop are the engine's (bg_engine), the same as inside Exim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_bounce.h"
#include "bg_bounce_read.h"
#include "bg_buf.h"
#include "bg_classify.h"
#include "bg_cli.h"
#include "bg_engine.h"
#include "bg_header.h"
#include "bg_json.h"

#define BG_CLI_MAX_MESSAGE (32u << 20)

static void bg_cli_json_line(bg_buf *o, const char *file, const bg_bounce *b, const bg_rcpt *rc,
                             const bg_verdict *v)
{
    bg_buf_adds(o, "{\"file\":");
    bg_json_str(o, file);
    bg_buf_adds(o, ",\"kind\":");
    bg_json_str(o, bg_msg_kind_name(b->kind));
    bg_buf_adds(o, ",\"parser\":");
    bg_json_str(o, b->parser);
    bg_buf_adds(o, ",\"recipient\":");
    bg_json_str(o, rc && rc->recipient[0] ? rc->recipient : NULL);
    bg_buf_adds(o, ",\"original_recipient\":");
    bg_json_str(o, rc && rc->original_recipient[0] ? rc->original_recipient : NULL);
    bg_buf_adds(o, ",\"action\":");
    bg_json_str(o, rc ? rc->action : "");
    bg_buf_adds(o, ",\"status\":");
    bg_json_str(o, v->status);
    bg_buf_printf(o, ",\"reply_code\":%d", v->reply_code);
    bg_buf_adds(o, ",\"diagnostic\":");
    bg_json_str(o, rc ? rc->diagnostic : "");
    bg_buf_adds(o, ",\"remote_mta\":");
    bg_json_str(o, rc ? rc->remote_mta : "");
    bg_buf_adds(o, ",\"category\":");
    bg_json_str(o, v->category->id);
    bg_buf_printf(o, ",\"permanent\":%s", v->permanent ? "true" : "false");
    bg_buf_adds(o, ",\"suppress\":");
    bg_json_str(o, bg_suppress_name(v->suppress));
    bg_buf_adds(o, ",\"rule\":");
    bg_json_str(o, v->rule);
    bg_buf_adds(o, ",\"side\":");
    bg_json_str(o, bg_side_name(v->side));
    bg_buf_printf(o, ",\"gave_up\":%s", v->gave_up ? "true" : "false");
    if (v->tried_for > 0)
        bg_buf_printf(o, ",\"tried_since\":%lld,\"tried_for\":%lld", v->tried_since, v->tried_for);
    bg_buf_adds(o, "}\n");
}

/* Replace control characters so a table row stays one line. */
static void bg_cli_table_field(bg_buf *o, const char *s, size_t width)
{
    size_t n = 0;
    for (; *s && (width == 0 || n < width); s++, n++)
        bg_buf_addc(o, (unsigned char)*s < 0x20 ? ' ' : *s);
    for (; width && n < width; n++)
        bg_buf_addc(o, ' ');
}

static void bg_cli_table_line(bg_buf *o, const char *file, const bg_rcpt *rc,
                              const bg_verdict *v)
{
    const char *base = strrchr(file, '/');
    bg_cli_table_field(o, base ? base + 1 : file, 28);
    bg_buf_addc(o, ' ');
    bg_cli_table_field(o, rc && rc->recipient[0] ? rc->recipient : "-", 34);
    bg_buf_addc(o, ' ');
    bg_cli_table_field(o, v->category->id, 20);
    bg_buf_addc(o, ' ');
    bg_cli_table_field(o, v->status[0] ? v->status : "-", 9);
    bg_buf_addc(o, ' ');
    bg_cli_table_field(o, bg_suppress_name(v->suppress), 8);
    bg_buf_addc(o, ' ');
    bg_cli_table_field(o, v->rule, 0);
    bg_buf_addc(o, '\n');
}

/* The end of the message that starts at off in an mbox text: the next
 * "From " line followed by a header line, else len. A text that does not
 * start with "From " is one message. eol: the text's line end ('\n' for
 * LF and CRLF, '\r' for the CR alone of old Mac mailboxes). */
static size_t bg_cli_mbox_next(const char *msg, size_t len, size_t off, char eol)
{
    if (len - off < 5 || memcmp(msg + off, "From ", 5) != 0)
        return len;
    const char sep[6] = {eol, 'F', 'r', 'o', 'm', ' '};
    const char *p = msg + off + 5, *end = msg + len;
    while ((p = memmem(p, (size_t)(end - p), sep, 6)) != NULL) {
        const char *nl = memchr(p + 1, eol, (size_t)(end - p - 1));
        /* a separator line is followed by a header field ("Name:") */
        if (nl && nl + 1 < end) {
            const char *q = nl + 1;
            while (q < end && *q != ':' && *q != ' ' && *q != eol && *q != '\r')
                q++;
            if (q < end && *q == ':' && q > nl + 1)
                return (size_t)(p + 1 - msg);
        }
        p += 6;
    }
    return len;
}

int bg_cli_classify(int argc, char **argv)
{
    int json = 0, rc_exit = 0;
    const char *rules_path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_path = argv[++i];
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "usage: bounceguide classify [--json] [--rules FILE] [FILE...]\n");
            return 2;
        } else
            break;
    }
    /* the engine's rules (the built-in ones, or --rules on top) and its
     * classify loop, as inside Exim */
    bg_engine_opts eo = {.rules_path = rules_path ? rules_path : ""};
    bg_engine *e = bg_engine_new(&eo);
    if (!e || !bg_engine_rules(e)) {
        fprintf(stderr, "bounceguide: out of memory loading rules\n");
        bg_engine_free(e);
        return 1;
    }
    char *stdin_only[] = {"-"};
    char **files = i < argc ? argv + i : stdin_only;
    int nfiles = i < argc ? argc - i : 1;
    bg_buf o;
    bg_buf_init(&o);
    if (!json)
        printf("%-28s %-34s %-20s %-9s %-8s %s\n", "FILE", "RECIPIENT", "CATEGORY", "STATUS",
               "SUPPRESS", "RULE");
    for (int f = 0; f < nfiles; f++) {
        size_t len = 0;
        char *msg = bg_cli_read_file(files[f], BG_CLI_MAX_MESSAGE, &len);
        if (!msg) {
            rc_exit = 1;
            continue;
        }
        char eol = bg_eol_detect(msg, len);
        for (size_t off = 0, next; off < len; off = next) {
            next = bg_cli_mbox_next(msg, len, off, eol);
            bg_read_status st;
            bg_bounce *b = bg_bounce_read(msg + off, next - off, NULL, &st);
            if (!b) {
                fprintf(stderr, "bounceguide: %s: %s\n", files[f], bg_read_status_text(st));
                rc_exit = 1;
                continue;
            }
            bg_buf_reset(&o);
            /* one verdict per recipient; a report without any, one for it */
            bg_verdict *v = calloc(b->nrcpt ? b->nrcpt : 1, sizeof *v);
            size_t nv = v ? bg_engine_classify(e, b, v, NULL) : 0;
            if (!v || nv == 0) {
                fprintf(stderr, "bounceguide: out of memory\n");
                rc_exit = 1;
            }
            for (size_t r = 0; r < nv; r++) {
                const bg_rcpt *rc = b->nrcpt ? &b->rcpts[r] : NULL;
                if (json)
                    bg_cli_json_line(&o, files[f], b, rc, &v[r]);
                else
                    bg_cli_table_line(&o, files[f], rc, &v[r]);
            }
            fwrite(bg_buf_str(&o), 1, o.len, stdout);
            free(v);
            bg_bounce_free(b);
        }
        free(msg);
    }
    bg_buf_free(&o);
    bg_engine_free(e);
    return rc_exit;
}
