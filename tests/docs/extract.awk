# SPDX-License-Identifier: MIT
# Writes every fenced code block of the Markdown files given to out/NNN.LANG and one index line
# per block to out/index: NNN <tab> LANG <tab> FILE:LINE <tab> SKIP, where SKIP is empty, the
# reason of a `<!-- snippet: skip (reason) -->` comment on the last non-blank line before the
# block, or "?" when that comment gives no reason. Indented fences (in a list) are read too,
# with the fence's indentation taken off every line of the block.
#
#   awk -v out=DIR -f extract.awk README.md docs/*.md
FNR == 1 {
    inblock = 0
    skip = ""
}
!inblock && match($0, /^ *```/) {
    indent = RLENGTH - 3
    lang = tolower(substr($0, RLENGTH + 1))
    sub(/[ \t{].*$/, "", lang)
    if (lang == "c++")
        lang = "cpp"
    else if (lang == "bash" || lang == "shell")
        lang = "sh"
    else if (lang == "")
        lang = "none"
    inblock = 1
    ++n
    file = sprintf("%s/%03d.%s", out, n, lang)
    printf "" > file
    printf "%03d\t%s\t%s:%d\t%s\n", n, lang, FILENAME, FNR, skip >> (out "/index")
    skip = ""
    next
}
inblock && $0 ~ /^ *``` *$/ {
    inblock = 0
    close(file)
    next
}
inblock {
    line = $0
    for (i = 0; i < indent && substr(line, 1, 1) == " "; ++i)
        line = substr(line, 2)
    print line >> file
    next
}
/<!-- *snippet: *skip/ {
    skip = "?"
    if (match($0, /skip *\(.*\)/)) {
        reason = substr($0, RSTART, RLENGTH)
        sub(/^skip *\( */, "", reason)
        sub(/ *\)$/, "", reason)
        if (reason != "")
            skip = reason
    }
    next
}
/[^ \t]/ {
    skip = "" # the comment must come right before its block (blank lines apart)
}
