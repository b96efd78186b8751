#!/usr/bin/env bash
# Download the raw parallel corpora that the prepare scripts read.
#
#   bash data/get_data.sh [europarl|multiun|all] [--pair=XX-en[,YY-en...]|--pair=all] [--max_lines N]
#
# europarl: Europarl v7 fr-en (statmt.org tarball, about 190 MB, ~2.0M line pairs)
#           -> data/europarl/raw/europarl-v7.fr-en.en and .fr
#           --pair=de-en (or several, comma-separated, or all 20 with --pair=all): Europarl v7's
#           other pairs with English -> data/europarl-de-en/raw/europarl-v7.de-en.de and .en,
#           prepared by python data/europarl/prepare.py --pair=de-en (dataset europarl-de-en)
# multiun:  MultiUN en-fr (OPUS, Moses-format zip, several GB of text, ~13M line pairs)
#           -> data/multiun/raw/MultiUN.en-fr.en and .fr
# all (the default): both.
#
# --max_lines N keeps the first N line pairs (the original project kept the first 8,030,892
# MultiUN lines: bash data/get_data.sh multiun --max_lines 8030892). Downloads resume where an
# interrupted one stopped; the archives stay in data/<corpus>/raw/ (delete them to save space).
# Sources can be overridden with EUROPARL_URL and MULTIUN_URL (a mirror, or file:///path; the
# other Europarl pairs are fetched from EUROPARL_URL with fr-en.tgz replaced by XX-en.tgz), and the
# destination with DATA_ROOT (default: this script's folder). Then:
#   python data/europarl/prepare.py  and/or  python data/multiun/prepare.py
set -euo pipefail

EUROPARL_URL="${EUROPARL_URL:-https://www.statmt.org/europarl/v7/fr-en.tgz}"
MULTIUN_URL="${MULTIUN_URL:-https://object.pouta.csc.fi/OPUS-MultiUN/v1/moses/en-fr.txt.zip}"
DEFAULT_DATA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_ROOT="${DATA_ROOT:-$DEFAULT_DATA_ROOT}"
CONNECT_TIMEOUT=10

EUROPARL_LANGUAGES="bg cs da de el es et fi fr hu it lt lv nl pl pt ro sk sl sv"

usage() {
    echo "usage: bash data/get_data.sh [europarl|multiun|all] [--pair=XX-en[,YY-en...]|--pair=all] [--max_lines N]" >&2
    exit 2
}

die() {
    echo "get_data.sh: $*" >&2
    exit 1
}

corpus=all
max_lines=""
pairs=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        europarl|multiun|all) corpus="$1" ;;
        --pair=*) pairs="${1#--pair=}" ;;
        --pair) [[ $# -ge 2 ]] || usage; pairs="$2"; shift ;;
        --max_lines=*) max_lines="${1#--max_lines=}" ;;
        --max_lines) [[ $# -ge 2 ]] || usage; max_lines="$2"; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "get_data.sh: unknown argument '$1'" >&2; usage ;;
    esac
    shift
done
if [[ -n "$max_lines" && ! "$max_lines" =~ ^[1-9][0-9]*$ ]]; then
    die "--max_lines needs a positive integer, got '$max_lines'"
fi
if [[ -n "$pairs" ]]; then
    [[ "$corpus" == europarl ]] || die "--pair chooses Europarl language pairs: write bash data/get_data.sh europarl --pair=$pairs"
    if [[ "$pairs" == all ]]; then
        pairs=$(for lang in $EUROPARL_LANGUAGES; do printf '%s-en,' "$lang"; done)
        pairs="${pairs%,}"
    fi
    IFS=, read -r -a pair_list <<< "$pairs"
    for pair in "${pair_list[@]}"; do
        lang="${pair%-en}"
        if [[ "$pair" != *-en || " $EUROPARL_LANGUAGES " != *" $lang "* ]]; then
            die "--pair=$pair is not a Europarl v7 pair: write XX-en with XX one of $EUROPARL_LANGUAGES (or --pair=all)"
        fi
    done
else
    pair_list=(fr-en)
fi

if command -v curl >/dev/null; then
    downloader=curl
elif command -v wget >/dev/null; then
    downloader=wget
else
    die "neither curl nor wget is installed; install one, or download the files by hand (see the top of this script)"
fi

# fail at once, with a message, when the source cannot be reached (no retries, short connect timeout)
check_reachable() {  # url name archive files...
    local url="$1" name="$2" archive="$3"
    shift 3
    local error
    if [[ "$downloader" == curl ]]; then
        error=$(curl -sS -f -L -I -o /dev/null --connect-timeout "$CONNECT_TIMEOUT" --max-time 60 "$url" 2>&1) && return 0
    else
        error=$(wget -q --spider --tries=1 --timeout="$CONNECT_TIMEOUT" "$url" 2>&1) && return 0
    fi
    {
        echo "get_data.sh: cannot reach $url ($name):"
        echo "  ${error:-$downloader failed}"
        local variable="${name%%-*}_URL"  # europarl-de-en: EUROPARL_URL
        echo "Check the internet connection, or set ${variable^^} to a reachable mirror (or file:///path/to/archive)."
        echo "Without internet: fetch $url by other means and put it at"
        echo "  $archive"
        echo "(this script then extracts it), or put its extracted files at"
        for f in "$@"; do echo "  $f"; done
        echo "(one sentence per line, both files with the same number of lines)."
    } >&2
    exit 1
}

download() {  # url dest: resumable, into dest.part, renamed when complete
    local url="$1" dest="$2"
    if [[ -f "$dest" ]]; then
        echo "have $dest"
        return 0
    fi
    echo "downloading $url -> $dest"
    if [[ "$downloader" == curl ]]; then
        curl -f -L -C - --progress-bar --connect-timeout "$CONNECT_TIMEOUT" --retry 5 --retry-delay 5 -o "$dest.part" "$url" \
            || die "download of $url failed or was interrupted; run the same command again to resume"
    else
        wget -c --tries=5 --timeout=60 -O "$dest.part" "$url" \
            || die "download of $url failed or was interrupted; run the same command again to resume"
    fi
    mv "$dest.part" "$dest"
}

line_count() {
    wc -l < "$1" | tr -d ' '
}

extract() {  # archive member dest: one file of a .tgz or .zip, first max_lines lines when asked
    local archive="$1" member="$2" dest="$3"
    local -a cat_member
    case "$archive" in
        *.tgz|*.tar.gz) cat_member=(tar -xzOf "$archive" "$member") ;;
        *.zip) cat_member=(unzip -p "$archive" "$member") ;;
        *) die "do not know how to extract $archive" ;;
    esac
    echo "extracting $member${max_lines:+ (first $max_lines lines)} -> $dest"
    if [[ -n "$max_lines" ]]; then
        # head stops reading early, so the extractor may die of SIGPIPE: judge by the lines written
        set +o pipefail
        "${cat_member[@]}" | head -n "$max_lines" > "$dest.tmp"
        local status=("${PIPESTATUS[@]}")
        set -o pipefail
        if [[ "${status[0]}" -ne 0 && "$(line_count "$dest.tmp")" -ne "$max_lines" ]]; then
            rm -f "$dest.tmp"
            die "could not extract $member from $archive (is the archive complete? delete it to download it again)"
        fi
    else
        "${cat_member[@]}" > "$dest.tmp" || {
            rm -f "$dest.tmp"
            die "could not extract $member from $archive (is the archive complete? delete it to download it again)"
        }
    fi
    mv "$dest.tmp" "$dest"
}

check_aligned() {  # en_file fr_file
    local en fr
    en=$(line_count "$1")
    fr=$(line_count "$2")
    if [[ "$en" -ne "$fr" ]]; then
        die "the two sides are not line-aligned: $1 has $en lines, $2 has $fr lines"
    fi
    echo "ok: $1 and $2 have $en lines each"
}

get_corpus() {  # name url archive_name first_member second_member [prepare command]
    local name="$1" url="$2" archive_name="$3" en_member="$4" fr_member="$5"
    local next="${6:-python data/$name/prepare.py}"
    local raw_dir="$DATA_ROOT/$name/raw"
    local en="$raw_dir/$en_member" fr="$raw_dir/$fr_member"
    local archive="$raw_dir/$archive_name" marker="$raw_dir/.max_lines" want="${max_lines:-all}"
    # raw text already there: placed by hand (no marker), or extracted before with the same --max_lines
    if [[ -f "$en" && -f "$fr" ]] && { [[ ! -f "$marker" ]] || [[ "$(cat "$marker")" == "$want" ]]; }; then
        echo "$name: raw text already in $raw_dir"
        if [[ -n "$max_lines" && "$(line_count "$en")" -gt "$max_lines" ]]; then
            for f in "$en" "$fr"; do
                echo "keeping the first $max_lines lines of $f"
                head -n "$max_lines" "$f" > "$f.tmp" && mv "$f.tmp" "$f"
            done
        fi
        check_aligned "$en" "$fr"
        return 0
    fi
    if [[ ! -f "$archive" ]]; then
        check_reachable "$url" "$name" "$archive" "$en" "$fr"
        mkdir -p "$raw_dir"  # only now: an unreachable source leaves no empty folder behind
        download "$url" "$archive"
    fi
    extract "$archive" "$en_member" "$en"
    extract "$archive" "$fr_member" "$fr"
    echo "$want" > "$marker"
    check_aligned "$en" "$fr"
    # the prepare script reads data/ unless told otherwise
    [[ "$(cd "$DATA_ROOT" && pwd)" == "$DEFAULT_DATA_ROOT" ]] || next="$next --data_root=$(printf '%q' "$DATA_ROOT")"
    echo "$name: done. Next: $next"
}

if [[ "$corpus" == europarl || "$corpus" == all ]]; then
    for pair in "${pair_list[@]}"; do
        if [[ "$pair" == fr-en ]]; then  # the dataset 'europarl', as the original project named it
            get_corpus europarl "$EUROPARL_URL" fr-en.tgz europarl-v7.fr-en.en europarl-v7.fr-en.fr
        else
            lang="${pair%-en}"
            get_corpus "europarl-$pair" "${EUROPARL_URL/fr-en.tgz/$pair.tgz}" "$pair.tgz" \
                "europarl-v7.$pair.$lang" "europarl-v7.$pair.en" "python data/europarl/prepare.py --pair=$pair"
        fi
    done
fi
if [[ "$corpus" == multiun || "$corpus" == all ]]; then
    get_corpus multiun "$MULTIUN_URL" en-fr.txt.zip MultiUN.en-fr.en MultiUN.en-fr.fr
fi
