#!/usr/bin/env bash
# Writes a man page for segscale and for each of its commands (and study subcommands)
# from their --help, so the option texts live in one place: the code's QCommandLineParser.
#   packaging/manpages.sh path/to/segscale OUTDIR VERSION
#   packaging/manpages.sh --single NAME SUMMARY path/to/program OUTDIR VERSION   (one page: segscale-studio)
set -euo pipefail
single=
if [[ ${1:-} == --single ]]; then
  single=$2 summary=$3
  shift 3
fi
cli=$1 out=$2 version=$3
mkdir -p "$out"
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)

escape() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }

page() {  # name summary help-text [command as typed; default: name with spaces]
  local name=$1 summary=$2 text=$3 command=${4:-${1//-/ }} upper
  # Qt prints the program's path in its usage line; a man page names the command.
  text=${text//"Usage: $cli"/"Usage: $command"}
  upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
  {
    echo ".TH $upper 1 \"$date\" \"segscale $version\" \"SegScale\""
    echo ".SH NAME"
    printf '%s \\- %s\n' "$name" "$(printf '%s' "$summary" | escape)"
    echo ".SH DESCRIPTION"
    echo ".nf"
    printf '%s\n' "$text" | escape
    echo ".fi"
    echo ".SH SEE ALSO"
    echo "segscale(1); /usr/share/doc/segscale/README.md"
  } | gzip -9n > "$out/$name.1.gz"
}

if [[ -n $single ]]; then
  page "$single" "$summary" "$("$cli" --help 2>&1)" "$single"
  exit 0
fi

top=$("$cli" --help 2>&1)
page segscale "multi-scale semantic segmentation of large photo collections" "$top"
commands=$(printf '%s\n' "$top" | sed -n '/^Commands:/,$p' | awk 'NF>1 && $1 != "Commands:" {print $1}')
for c in $commands; do
  summary=$(printf '%s\n' "$top" | awk -v c="$c" '$1 == c {$1=""; sub(/^ +/, ""); print; exit}')
  help=$("$cli" "$c" --help 2>&1 || true)
  page "segscale-$c" "$summary" "$help"
  if [[ $c == study ]]; then
    subs=$(printf '%s\n' "$help" | sed -n '/^Subcommands:/,$p' | awk 'NF>1 && $1 != "Subcommands:" {print $1}')
    for s in $subs; do
      ssum=$(printf '%s\n' "$help" | awk -v s="$s" '$1 == s {$1=""; sub(/^ +/, ""); print; exit}')
      page "segscale-study-$s" "$ssum" "$("$cli" study "$s" --help 2>&1 || true)"
    done
  fi
done
