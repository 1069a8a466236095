# /etc/default/grub with the Plan's kernel arguments (ENVIRON["ADD"]) in GRUB_CMDLINE_LINUX once;
# root= and resume= (the old disk's names) dropped, quotes normalised.
# One line per key, at its last place, with the value the shell gives it (a later line wins;
# "$KEY" in a value is the earlier value): a distribution's file has its own GRUB_CMDLINE_LINUX_DEFAULT and
# DIB's bootloader appends another. grub-mkconfig puts both keys on the kernel line, so the Plan's
# arguments are taken out of GRUB_CMDLINE_LINUX_DEFAULT.
# Usage: ADD="args" awk -f grub-cmdline.awk /etc/default/grub
function clean(v, key,    n, t, i, out) {
    gsub(/["\047]/, "", v)
    n = split(v, t, /[ \t]+/)
    out = ""
    for (i = 1; i <= n; i++) {
        if (t[i] == "$" key || t[i] == "${" key "}")
            t[i] = val[key]
        if (t[i] != "" && t[i] !~ /^(root|resume)=/)
            out = out (out == "" ? "" : " ") t[i]
    }
    return out
}
function merge(v, add,    n, t, i) {
    n = split(add, t, /[ \t]+/)
    for (i = 1; i <= n; i++)
        if (t[i] != "" && index(" " v " ", " " t[i] " ") == 0)
            v = v (v == "" ? "" : " ") t[i]
    return v
}
function without(v, drop,    n, t, i, out) {
    n = split(v, t, /[ \t]+/)
    out = ""
    for (i = 1; i <= n; i++)
        if (t[i] != "" && index(" " drop " ", " " t[i] " ") == 0 && index(" " out " ", " " t[i] " ") == 0)
            out = out (out == "" ? "" : " ") t[i]
    return out
}
{ line[NR] = $0 }
/^GRUB_CMDLINE_LINUX(_DEFAULT)?=/ {
    key = substr($0, 1, index($0, "=") - 1)
    val[key] = clean(substr($0, index($0, "=") + 1), key)
    last[key] = NR
}
END {
    linux = merge(val["GRUB_CMDLINE_LINUX"], ENVIRON["ADD"])
    dflt = without(val["GRUB_CMDLINE_LINUX_DEFAULT"], linux)
    for (i = 1; i <= NR; i++) {
        if (line[i] ~ /^GRUB_CMDLINE_LINUX(_DEFAULT)?=/) {
            key = substr(line[i], 1, index(line[i], "=") - 1)
            if (i == last[key])
                print key "=\"" (key == "GRUB_CMDLINE_LINUX" ? linux : dflt) "\""
            continue
        }
        print line[i]
    }
    if (!("GRUB_CMDLINE_LINUX" in last))
        print "GRUB_CMDLINE_LINUX=\"" linux "\""
}
