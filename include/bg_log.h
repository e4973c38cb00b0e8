/* bg_log: how the core reports problems without knowing who listens.
 *
 * The core never prints and never exits. The adapter (Exim's log_write) or
 * the CLI (stderr) installs a sink; without one, messages are dropped.
 */
#ifndef BG_LOG_H
#define BG_LOG_H

typedef enum { BG_LOG_DEBUG, BG_LOG_INFO, BG_LOG_WARN, BG_LOG_ERROR } bg_log_level;

typedef void (*bg_log_fn)(bg_log_level level, const char *msg, void *ctx);

/* Install the sink (NULL drops messages). Not thread-safe: call at start-up. */
void bg_log_set(bg_log_fn fn, void *ctx);
/* Format one line (no newline needed; CR/LF in the text become spaces) and
 * hand it to the sink. Lines are bounded to 1,000 bytes. */
void bg_logf(bg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
