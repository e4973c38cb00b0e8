/* bg_json: write JSON strings safely (the CLI's --json output). */
#ifndef BG_JSON_H
#define BG_JSON_H

#include "bg_buf.h"

/* Append s as a JSON string literal with quotes; invalid UTF-8 bytes become
 * U+FFFD, control characters are escaped. NULL appends null. */
int bg_json_str(bg_buf *b, const char *s);

#endif
