# /etc/default/grub with the Plan's kernel arguments (ENVIRON["ADD"]) appended once to
# GRUB_CMDLINE_LINUX; root= and resume= (the old disk's names) dropped from both
# GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT, quotes normalised.
# Usage: ADD="args" awk -f grub-cmdline.awk /etc/default/grub
function clean(v,    n, t, i, out) {
    gsub(/["\047]/, "", v)
    n = split(v, t, /[ \t]+/)
    out = ""
    for (i = 1; i <= n; i++)
        if (t[i] != "" && t[i] !~ /^(root|resume)=/)
            out = out (out == "" ? "" : " ") t[i]
    return out
}
function merge(v, add,    n, t, i) {
    n = split(add, t, /[ \t]+/)
    for (i = 1; i <= n; i++)
        if (t[i] != "" && index(" " v " ", " " t[i] " ") == 0)
            v = v (v == "" ? "" : " ") t[i]
    return v
}
/^GRUB_CMDLINE_LINUX(_DEFAULT)?=/ {
    key = substr($0, 1, index($0, "=") - 1)
    val = clean(substr($0, index($0, "=") + 1))
    if (key == "GRUB_CMDLINE_LINUX") { val = merge(val, ENVIRON["ADD"]); seen = 1 }
    print key "=\"" val "\""
    next
}
{ print }
END { if (!seen) print "GRUB_CMDLINE_LINUX=\"" merge("", ENVIRON["ADD"]) "\"" }
