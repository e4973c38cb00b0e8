# classify: the status-code registry (conf/status-codes.conf) is compiled
# in with the rules and the catalogues (tools/embed.sh).
EMBED += conf/status-codes.conf
$(GEN_SRC): conf/status-codes.conf
