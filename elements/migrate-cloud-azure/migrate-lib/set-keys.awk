# A Key=value configuration file (the first file given, the Plan's cloud/waagent) applied to
# another (/etc/waagent.conf): each key's line replaced where it is, missing keys appended
# in the Plan's order. A key outside [A-Za-z0-9_.] fails.
# Usage: awk -F= -f set-keys.awk SETTINGS CONF >NEW_CONF
NR == FNR {
    if ($1 !~ /^[A-Za-z0-9_.]+$/) {
        print "migrate-cloud-azure: bad key '" $1 "'" >"/dev/stderr"
        bad = 1
        exit 1
    }
    val[$1] = substr($0, length($1) + 2)
    order[++n] = $1
    next
}
($1 in val) { print $1 "=" val[$1]; done[$1] = 1; next }
{ print }
END {
    if (bad)
        exit 1
    for (i = 1; i <= n; i++)
        if (!(order[i] in done))
            print order[i] "=" val[order[i]]
}
