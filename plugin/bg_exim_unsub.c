/* bg_exim_unsub: the unsubscribe router's dlfunc entry point.
 *
 *   bg_dlfunc_unsubscribe -- for conf/exim/conf.d/router/160_bounceguide_unsubscribe
 *     (off unless the administrator defines BOUNCEGUIDE_UNSUBSCRIBE, the
 *     List-Unsubscribe mailto: addresses), called once per message that
 *     reaches such an address, never while verifying:
 *       {$local_part@$domain}{$sender_address}{$h_from:}{$sender_host_address}
 *       {$h_message-id:}{$message_exim_id}
 *     6 arguments (Exim 4.96 garbles argc at 8). Yields "yes" always: the
 *     router delivers the request to :blackhole: whatever was decided; the
 *     decision (requester unsubscribed, or why not) is one main-log line.
 *
 * The proof a request needs is bg_feedback_unsubscribe's (bg_feedback.h,
 * docs/security.md): the requester is the envelope sender and the From:,
 * this sending domain mailed it, and the connecting host speaks for the
 * requester's domain. Arguments are remote text: bound as SQL parameters,
 * never expanded. Fails open like every entry point: a store or config
 * problem is one log line, and the mail is not held.
 */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <string.h>

#include "bg_exim_conf.h"
#include "bg_exim_store.h"
#include "bg_feedback.h"
#include "bg_log.h"

#define BG_EXPORT __attribute__((visibility("default")))

BG_EXPORT int bg_dlfunc_unsubscribe(uschar **yield, int argc, uschar *argv[]);

/* Core messages go to Exim's main log. */
static void bg_un_log(bg_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == BG_LOG_DEBUG) {
        if (debug_selector & D_local_scan)
            debug_printf("bounceguide: %s\n", msg);
        return;
    }
    log_write(0, LOG_MAIN, "bounceguide: %s", msg);
}

static const char *bg_un_arg(int argc, uschar *argv[], int i)
{
    return i < argc && argv[i] ? (const char *)argv[i] : "";
}

int bg_dlfunc_unsubscribe(uschar **yield, int argc, uschar *argv[])
{
    *yield = US "yes";
    bg_log_set(bg_un_log, NULL);
    const char *exim_id = bg_un_arg(argc, argv, 5);
    bg_unsub_in in = {
        .list_address = bg_un_arg(argc, argv, 0),
        .env_sender = bg_un_arg(argc, argv, 1),
        .from = bg_un_arg(argc, argv, 2),
        .host = bg_un_arg(argc, argv, 3),
        .message_id = *bg_un_arg(argc, argv, 4) ? bg_un_arg(argc, argv, 4) : exim_id,
        .id = exim_id,
    };
    const bg_config *cfg = bg_exim_conf_for_store();
    if (!cfg)
        return OK;
    /* refusals that need no store are logged without opening it */
    bg_store *s = NULL;
    bg_dns *dns = NULL;
    if (*in.host && *in.env_sender) {
        if (!(s = bg_exim_store_handle(cfg, "unsubscribe request not recorded")))
            return OK;
        dns = bg_exim_inbound_dns(cfg);
    }
    bg_store_status st = BG_STORE_OK;
    long long t0 = bg_exim_store_ms();
    if (bg_feedback_unsubscribe(s, dns, cfg, &in, &st) < 0)
        bg_exim_store_report(st, bg_exim_store_ms() - t0, "unsubscribe request not recorded");
    return OK;
}
