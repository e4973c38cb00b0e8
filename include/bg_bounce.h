/* bg_bounce: the parsed form of a bounce (the type and its small helpers).
 *
 * The reader that fills it is bg_bounce_read (bg_bounce_read.h), with its
 * parts bg_dsn (delivery-status fields) and bg_scrape (plain-text formats),
 * which depend on this module and not the other way round. Every string
 * field is bounded, has its CR, LF and other control characters removed,
 * and is "" when absent (never NULL).
 */
#ifndef BG_BOUNCE_H
#define BG_BOUNCE_H

#include <stddef.h>
#include "bg_addr.h"
#include "bg_status.h"

#define BG_DIAG_MAX 2048  /* diagnostic text kept per recipient */
#define BG_FIELD_MAX 256  /* MTA names, dates, actions */
#define BG_HDR_MAX 1024   /* decoded header values of the original message */

/* What the message is, as a whole. */
typedef enum {
    BG_MSG_NOT_BOUNCE = 0, /* none of the below */
    BG_MSG_FAILURE,        /* at least one recipient failed */
    BG_MSG_DELAY,          /* only delays (Action: delayed): a warning */
    BG_MSG_SUCCESS,        /* only delivered/relayed/expanded */
    BG_MSG_FEEDBACK,       /* ARF feedback report (complaint) */
    BG_MSG_AUTOREPLY       /* RFC 3834 auto-reply, vacation */
} bg_msg_kind;

/* Which structure the recipients were read from. */
typedef enum {
    BG_FMT_NONE = 0,
    BG_FMT_DSN,    /* message/delivery-status or message/global-delivery-status */
    BG_FMT_ARF,    /* message/feedback-report */
    BG_FMT_TEXT,   /* scraped from the human-readable text (non-RFC 3464) */
    BG_FMT_HEADERS /* auto-reply recognised from headers alone */
} bg_format;

/* A byte range inside the input message. len 0 = absent. */
typedef struct bg_span {
    size_t off;
    size_t len;
} bg_span;

/* One recipient of a report. */
typedef struct bg_rcpt {
    char recipient[BG_ADDR_MAX];          /* Final-Recipient, bare address (Original-Recipient
                                             when Final-Recipient is no RFC 822 address) */
    char original_recipient[BG_ADDR_MAX]; /* Original-Recipient, bare address */
    char action[32];                      /* failed, delayed, delivered, relayed, expanded; "" */
    char status[BG_STATUS_MAX];           /* Status: as written ("5.0.0" for Exim) */
    char diag_type[32];                   /* "smtp", "x-unix", ... */
    char diagnostic[BG_DIAG_MAX];         /* the reply text, unfolded, without the type prefix */
    char remote_mta[BG_FIELD_MAX];        /* Remote-MTA without "dns;" */
    char last_attempt[BG_FIELD_MAX];      /* Last-Attempt-Date */
    char will_retry_until[BG_FIELD_MAX];  /* Will-Retry-Until */
    bg_span status_field;                 /* raw "Status:" header line inside the input (for correction) */
    int final_not_rfc822;                 /* Final-Recipient was X.400 or an IMCEA encapsulation */
} bg_rcpt;

/* The returned original message (message/rfc822 or text/rfc822-headers). */
typedef struct bg_original {
    int present;                    /* 1 when a returned message or its headers were found */
    char subject[BG_HDR_MAX];       /* RFC 2047 decoded, UTF-8 */
    char from[BG_HDR_MAX];
    char to[BG_HDR_MAX];
    char cc[BG_HDR_MAX];
    char date[BG_FIELD_MAX];
    char message_id[BG_FIELD_MAX];
    char return_path[BG_ADDR_MAX];  /* bare address, "" when absent */
    char dkim_domain[BG_FIELD_MAX]; /* d= of the first DKIM-Signature, "" when none */
    char dkim_selector[BG_FIELD_MAX];
    char received[BG_FIELD_MAX];    /* date of the topmost Received: (when it reached the reporting server) */
} bg_original;

/* The reader's result. */
typedef struct bg_bounce {
    bg_msg_kind kind;
    bg_format format;
    char parser[32];               /* which reader found the recipients: "dsn", "arf", "exim", "postfix", ... */

    /* the report's own headers, decoded */
    char subject[BG_HDR_MAX];
    char from[BG_HDR_MAX];
    char message_id[BG_FIELD_MAX];
    char auto_submitted[BG_FIELD_MAX];
    char date[BG_FIELD_MAX];       /* the report's Date: (when the server wrote it) */

    /* per-message DSN fields */
    char reporting_mta[BG_FIELD_MAX];
    char received_from_mta[BG_FIELD_MAX];
    char arrival_date[BG_FIELD_MAX];
    char envelope_id[BG_FIELD_MAX];

    bg_rcpt *rcpts;                /* nrcpt entries, in the order they appear */
    size_t nrcpt;
    size_t rcpt_cap;

    bg_original orig;

    /* The decoded human-readable text (first text/plain part, or the body of
     * a non-MIME bounce), UTF-8 where the charset allowed, NUL-terminated,
     * at most 64 KiB. "" when none. Owned by the bounce. */
    char *human_text;

    /* Structure for the rewriter (bg_render). Offsets into the input. */
    char boundary[80];             /* top-level multipart boundary, "" when not multipart */
    bg_span headers;               /* the top-level header block, without the blank line */
    bg_span body;                  /* everything after the blank line */
    bg_span part_human;            /* the first part of a multipart/report (headers + body) */
    bg_span part_status;           /* message/(global-)delivery-status part (headers + body) */
    bg_span part_original;         /* message/rfc822, message/global or text/rfc822-headers part */
    int crlf;                      /* 1 when the input uses CRLF line ends */

    size_t rcpt_max;               /* bg_bounce_add_rcpt stops here; 0 = 1000 */
} bg_bounce;

/* Free a bounce. NULL is fine. */
void bg_bounce_free(bg_bounce *b);

/* Name of a message kind ("failure", "delay", ...). */
const char *bg_msg_kind_name(bg_msg_kind k);

/* Append a recipient (used by the readers); returns it zeroed, or NULL when
 * the recipient limit or memory is exhausted. */
bg_rcpt *bg_bounce_add_rcpt(bg_bounce *b);

#endif
