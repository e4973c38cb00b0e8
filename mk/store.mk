# The suppression store: prvs (BATV) checks use nettle's HMAC-SHA1
# (nettle-dev; libnettle is already in Exim's process through GnuTLS).
LDLIBS += -lnettle
LDLIBS_STORE = -lnettle
