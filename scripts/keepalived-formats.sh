#!/usr/bin/env bash
# Derives, from keepalived's own sources, every log format string that feeds an event kind
# the incident detectors use, for every release tag from v1.3.0 to the last v2.3.x, and
# writes them as tests/fixtures/logs/keepalived-formats.tsv (tests/keepalived_wordings.rs
# builds a line from each and checks the rules classify it).
#
# usage: scripts/keepalived-formats.sh KEEPALIVED_GIT_DIR > tests/fixtures/logs/keepalived-formats.tsv
#   KEEPALIVED_GIT_DIR: a clone (bare or not) of github.com/acassen/keepalived with its tags.
#   KEEPALIVED_FORMATS_ALL=1 also lists the wordings that match no kind (kind "-"), to
#   review what the table below leaves out.
#
# What it reads: every `log_message(` / `vlog_message(` call, plus the checkers' own
# wrappers that add a prefix (`dns_final`/`dns_log_message` → "DNS_CHECK (%s) …",
# `smtp_final` → "SMTP_CHECK …"), in keepalived/{check,vrrp,core}/*.c at each tag. A format is
# the concatenation of its string literals (PRIu32 and friends resolved); a `%s` argument
# that is a conditional between string literals (`alive ? "Add" : "Remov"`) gives one
# wording per literal, so every branch is a wording of its own (conditionals are expanded
# independently: where two depend on one condition, a few combinations keepalived never
# prints are listed too, e.g. "Removing service … of VS …"; they must classify the same).
# Each wording is matched against the table below (first match wins) to get the event kind it must produce; those
# matching none do not feed an incident and are left out.
#
# Columns: first tag, last tag (a contiguous run of tags with that exact wording), source
# file, expected kind, the kinds of the format's arguments in order (rs = FMT_RS/FMT_CHK,
# `[ADDR]:proto:PORT`; rs_pair, vs_pair = `[ADDR]:PORT`; vs = FMT_VS; iname = a VRRP
# instance; version = "Keepalived vX (date)"; prog = Keepalived_vrrp…; child = VRRP…; ip,
# ifname, script, signal, num, hex, word), the format.
set -euo pipefail
GIT_DIR=${1:?usage: $0 KEEPALIVED_GIT_DIR}
export GIT_DIR

tags=$(git tag | grep -E '^v(1\.[34]|2\.[0-3])\.[0-9]+$' | sort -V)
[ -n "$tags" ] || { echo "keepalived-formats: no v1.3..v2.3 tags in $GIT_DIR" >&2; exit 1; }

# tag TAB path TAB blob, for every C file of the three directories at every tag
for t in $tags; do
    git ls-tree -r "$t" -- keepalived/check keepalived/vrrp keepalived/core keepalived/bfd lib/scheduler.c |
        awk -v t="$t" '$2 == "blob" && $4 ~ /\.c$/ { print t "\t" $4 "\t" $3 }'
done > "${TMPDIR:-/tmp}/kaformats.$$.blobs"
# How a tag prints a real server and a virtual service: before v1.3.6 FMT_RS/format_vs give
# `[ADDR]:PORT` (inet_sockaddrtopair), since then `[ADDR]:proto:PORT` (inet_sockaddrtotrio).
for t in $tags; do
    if git grep -q 'define FMT_RS.*inet_sockaddrtopair' "$t" -- keepalived/include; then
        printf '%s\tpair\n' "$t"
    fi
done > "${TMPDIR:-/tmp}/kaformats.$$.pair"
trap 'rm -f "${TMPDIR:-/tmp}/kaformats.$$.blobs" "${TMPDIR:-/tmp}/kaformats.$$.pair"' EXIT

perl - "${TMPDIR:-/tmp}/kaformats.$$.blobs" "${TMPDIR:-/tmp}/kaformats.$$.pair" $tags <<'PERL'
use strict;
use warnings;

my ($blobs, $pairs, @tags) = @ARGV;
my %pair;
open my $pf, '<', $pairs or die "$pairs: $!";
while (<$pf>) { chomp; my ($t) = split /\t/; $pair{$t} = 1 }
close $pf;
my %tagidx;
@tagidx{@tags} = (0 .. $#tags);

# wording regex (on the format after the conditional literals are put in) => kind.
# Order matters: first match wins. Anchored on the words keepalived writes.
my @KINDS = (
    # --- real servers, sorry servers, quorum (check/ipwrapper.c) ---
    [qr/^(?:Adding|Enabling) sorry server /, 'sorry_server_on'],
    [qr/^(?:Removing|Disabling) sorry server /, 'sorry_server_off'],
    [qr/^(?:Removing|Disabling) (?:\(inhibited\) |%s)?service %s (?:from|to|of) VS %s$/, 'real_server_down'],
    [qr/^(?:Adding|Enabling) service %s (?:to|of) VS %s$/, 'real_server_up'],
    [qr/^(?:Remov|Disabl)ing service %s (?:from|to|of) VS %s$/, 'real_server_down'],
    [qr/^(?:Add|Enabl)ing service %s (?:to|of) VS %s$/, 'real_server_up'],
    [qr/^Lost quorum /, 'quorum_lost'],
    [qr/^Gained quorum /, 'quorum_gained'],
    [qr/^Starting with quorum down /, 'quorum_down_at_start'],
    # --- checkers: the final failure of a check ---
    [qr/^(?:TCP|HTTP|SSL|SMTP|UDP|DNS|FILE|BFD)_CHECK on service %s (?:of %s )?failed/, 'check_failed'],
    [qr/^ICMP CHECK on service %s (?:of %s )?failed/, 'check_failed'],
    [qr/^Check on service %s failed(?: after %\w+ retr(?:y|ies))?\.$/, 'check_failed'],
    [qr/^BFD check of \[%s\] RS\(%s\) is DOWN$/, 'check_failed'],
    [qr/^Misc check (?:for|to) .*(?:failed|timed out)(?!, will do| on retry)/, 'check_failed'],
    [qr/^DNS_CHECK \(%s\) %s$/, 'check_failed'],
    [qr/^SMTP_CHECK (?!%s [<>] |Remote SMTP server %s connected|Buffer overflow|connection failed|socket bind failed|host block)/, 'check_failed'],
    # --- VRRP state ---
    [qr/^(?:VRRP_Instance)?\(%s\):? Entering MASTER STATE/, 'vrrp_master'],
    [qr/^(?:VRRP_Instance)?\(%s\):? Entering BACKUP STATE/, 'vrrp_backup'],
    [qr/^(?:VRRP_Instance)?\(%s\):? Entering FAULT STATE/, 'vrrp_fault'],
    [qr/^(?:VRRP_Instance)?\(%s\):? entering FAULT state/, 'vrrp_fault_reason'],
    [qr/sent 0 priority$/, 'vrrp_priority_zero_sent'],
    [qr/^VRRP_Script\(%s\) (?:failed|timed.out)/, 'vrrp_script_failed'],
    [qr/^(?:Kernel is reporting: interface %s DOWN|Netlink reports %s down|Linkbeat reports %s down|\(%s\) interface %s is down)$/, 'link_down'],
    # --- VRRP adverts and peers ---
    [qr/(?:receive(?:d)? an invalid passwd|received a %\w+ auth(?: from %s)?, expecting|Invalid auth type(?: from %s)?:|invalid authentication HMAC|IPSEC-AH : invalid|No AH header but auth type is AH|Received AH header but auth type not AH)/, 'vrrp_auth_mismatch'],
    [qr/(?:ip address associated with VRID.* not present in|received an unexpected ip number count|expected %\w+ VIPs but received|invalid ip number count|one or more VIP associated with VRID mismatch)/, 'vrrp_vip_mismatch'],
    [qr/(?:^Unknown VRID\(|duplicate VRID conflict|VRID conflict between|both use VRID|VRID %\w+ is duplicated|VRID %\w+ for IPv%\w+ is currently duplicated|received VRID mismatch)/, 'vrrp_vrid_conflict'],
    [qr/advertisement interval mismatch/, 'vrrp_advert_interval_mismatch'],
    [qr/(?:equal priority advert received from remote host with our IP address|are both configured as address owner|is still advertising as address owner)/, 'vrrp_owner_conflict'],
    [qr/(?:(?:received|Received) lower prio(?:rity)? |with lower priority )/, 'vrrp_lower_priority_advert'],
    [qr/(?:Received higher prio advert|advert (?:from %s )?with higher priority|with same priority %\w+ but higher IP address)/, 'vrrp_higher_priority_advert'],
    # --- the daemon ---
    [qr/^Starting Keepalived v/, 'keepalived_started'],
    [qr/^(?:Stopped|Stopping) Keepalived v/, 'keepalived_stopped'],
    [qr/^Starting %s(?:, git commit %s)?$/, 'keepalived_started', qr/^version\b/],
    [qr/^(?:Stopped|Stopping) %s(?:, git commit %s)?$/, 'keepalived_stopped', qr/^version\b/],
    [qr/^\((?:%s: )?Line %\w+\) /, 'keepalived_config_error'],
    [qr/child process\(%\w+\) died: /, 'keepalived_child_died'],
    [qr/^%s exited with permanent error CONFIG\./, 'keepalived_config_error'],
    [qr/^%s exited (?:with permanent error|with status|due to signal|due to segmentation)/, 'keepalived_child_exited'],
    [qr/^pid %\w+ exited (?:with permanent error|with status|due to signal|due to segmentation)/, 'keepalived_child_exited'],
    [qr/^New config failed validation/, 'keepalived_config_error'],
);

# PRI* macros of <inttypes.h> as their conversion letters
my %PRI = (PRIu32 => 'u', PRIu64 => 'lu', PRId32 => 'd', PRId64 => 'ld', PRIx32 => 'x',
           PRIx64 => 'lx', PRIu16 => 'u', PRIu8 => 'u', PRIi64 => 'ld', PRIuMAX => 'ju', PRIdMAX => 'jd',
           PRIuPTR => 'lu', PRIxPTR => 'lx');

sub strip_comments {
    my ($s) = @_;
    my $out = '';
    pos($s) = 0;
    while (pos($s) < length $s) {
        if ($s =~ /\G("(?:[^"\\\n]|\\.)*")/gc) { $out .= $1 }
        elsif ($s =~ /\G('(?:[^'\\\n]|\\.)*')/gc) { $out .= $1 }
        elsif ($s =~ m{\G/\*.*?\*/}gcs) { $out .= ' ' }
        elsif ($s =~ m{\G//[^\n]*}gc) { $out .= ' ' }
        elsif ($s =~ /\G([^"'\/]+|.)/gcs) { $out .= $1 }
    }
    return $out;
}

# The text of the call's arguments starting at offset $i (just after "("): up to the
# matching ")".
sub call_args {
    my ($s, $i) = @_;
    my $depth = 1;
    my $start = $i;
    while ($i < length $s) {
        my $c = substr($s, $i, 1);
        if ($c eq '"' || $c eq "'") {
            my $q = $c; $i++;
            while ($i < length $s) {
                my $d = substr($s, $i, 1);
                if ($d eq '\\') { $i += 2; next }
                last if $d eq $q;
                $i++;
            }
        } elsif ($c eq '(') { $depth++ }
        elsif ($c eq ')') { $depth--; return substr($s, $start, $i - $start) if $depth == 0 }
        $i++;
    }
    return undef;
}

# Split at top-level commas.
sub split_args {
    my ($s) = @_;
    my @out; my $cur = ''; my $depth = 0;
    my $i = 0;
    while ($i < length $s) {
        my $c = substr($s, $i, 1);
        if ($c eq '"' || $c eq "'") {
            my $q = $c; my $j = $i + 1;
            while ($j < length $s) {
                my $d = substr($s, $j, 1);
                if ($d eq '\\') { $j += 2; next }
                last if $d eq $q;
                $j++;
            }
            $cur .= substr($s, $i, $j - $i + 1); $i = $j + 1; next;
        }
        if ($c =~ /[(\[{]/) { $depth++ }
        elsif ($c =~ /[)\]}]/) { $depth-- }
        if ($c eq ',' && $depth == 0) { push @out, $cur; $cur = ''; $i++; next }
        $cur .= $c; $i++;
    }
    push @out, $cur if $cur =~ /\S/;
    s/^\s+|\s+$//g for @out;
    return @out;
}

# A format argument: string literals and PRI macros, concatenated; undef if not literal.
sub literal_format {
    my ($a) = @_;
    my $f = '';
    my $any = 0;
    pos($a) = 0;
    while (pos($a) < length $a) {
        if ($a =~ /\G\s+/gc) { next }
        if ($a =~ /\G"((?:[^"\\]|\\.)*)"/gc) { $f .= $1; $any = 1; next }
        if ($a =~ /\G(PRI\w+)/gc) { return undef unless exists $PRI{$1}; $f .= $PRI{$1}; next }
        return undef;
    }
    return $any ? $f : undef;
}

sub unescape {
    my ($s) = @_;
    $s =~ s/\\n/ /g; $s =~ s/\\t/ /g; $s =~ s/\\"/"/g; $s =~ s/\\'/'/g; $s =~ s/\\\\/\\/g;
    return $s;
}

sub strip_parens {
    my ($e) = @_;
    $e =~ s/^\s+|\s+$//g;
    while ($e =~ /^\((.*)\)$/s) {
        my $inner = $1;
        # only when the outer parens match each other
        my $d = 0; my $ok = 1;
        for my $c (split //, $inner) { $d++ if $c eq '('; $d-- if $c eq ')'; if ($d < 0) { $ok = 0; last } }
        last unless $ok && $d == 0;
        $e = $inner; $e =~ s/^\s+|\s+$//g;
    }
    return $e;
}

# The alternatives of a conditional expression whose leaves are string literals:
# a list of literals, or undef when a leaf is not one.
sub alternatives {
    my ($e) = @_;
    $e = strip_parens($e);
    return [unescape($1)] if $e =~ /^"((?:[^"\\]|\\.)*)"$/;
    # top-level '?' and its matching ':'
    my ($depth, $q, $nest) = (0, -1, 0);
    my @ch = split //, $e;
    my $i = 0;
    my $in = '';
    for ($i = 0; $i < @ch; $i++) {
        my $c = $ch[$i];
        if ($in) { if ($c eq '\\') { $i++; next } $in = '' if $c eq $in; next }
        if ($c eq '"' || $c eq "'") { $in = $c; next }
        $depth++ if $c =~ /[(\[]/; $depth-- if $c =~ /[)\]]/;
        next if $depth;
        if ($c eq '?') { if ($q < 0) { $q = $i } else { $nest++ } }
        elsif ($c eq ':' && $q >= 0) {
            if ($nest) { $nest--; next }
            my $then = substr($e, $q + 1, $i - $q - 1);
            my $else = substr($e, $i + 1);
            my $a = alternatives($then); my $b = alternatives($else);
            return undef unless $a && $b;
            return [@$a, @$b];
        }
    }
    return undef;
}

sub arg_class {
    my ($e) = @_;
    return 'version' if $e =~ /\bversion_string\b/;
    return 'rs_pair' if $e =~ /\bFMT_SMTP_RS\b/;   # always inet_sockaddrtopair
    return 'rs' if $e =~ /\bFMT_(?:RS|CHK|TCP_RS|HTTP_RS|DNS_RS)\b/;
    return 'vs' if $e =~ /\bFMT_VS\b/;
    return 'iname' if $e =~ /\biname\b/ || $e =~ /->gname\b/;
    return 'script' if $e =~ /\b(?:sname|script)\b/;
    return 'ifname' if $e =~ /ifname|IF_NAME|ifp->/;
    return 'ip' if $e =~ /sockaddr|saddr|ipaddresstos|inet_ntop|inet_ntoa|_addr|addr_str|->addr\b|src_addr/;
    return 'signal' if $e =~ /strsignal/;
    return 'prog' if $e =~ /^prog_id$|prog_type|progname/;
    return 'child' if $e =~ /^process$/;
    return 'word';
}

# Conversions of a printf format: list of conversion letters ('*' for a star argument).
sub conversions {
    my ($f) = @_;
    my @c;
    while ($f =~ /%([-+ #0']*)(\*|\d+)?(?:\.(\*|\d+))?(hh|h|ll|l|L|z|j|t|q)?([diouxXeEfgGcspn%])/g) {
        next if $5 eq '%';
        push @c, '*' if defined $2 && $2 eq '*';
        push @c, '*' if defined $3 && $3 eq '*';
        push @c, $5;
    }
    return @c;
}

sub kind_of {
    my ($w, $cls) = @_;
    for my $k (@KINDS) {
        next if $k->[2] && $cls !~ $k->[2];
        return $k->[1] if $w =~ $k->[0];
    }
    return undef;
}

# From one call: list of [wording, classes].
my %VARALTS;   # in the function being read: variable => [[text, [classes]], ...]
our $DEPTH = 0;
my $ALL = $ENV{KEEPALIVED_FORMATS_ALL};   # also list the wordings no kind is expected of
our $CALLPOS = 1e12;   # only what is assigned before the call counts
sub wordings {
    my ($fmt, $prefix, @args) = @_;
    $fmt = $prefix . $fmt;
    # walk the conversions and their arguments; a literal conditional is put in the
    # wording, every branch its own wording
    my $ai = 0;
    my @pieces = split /(%[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|L|z|j|t|q)?[diouxXeEfgGcspn%])/, $fmt;
    my @acc = (['', []]);
    my $odd = 1;
    for my $p (@pieces) {
        $odd = !$odd;   # split with a capture: text, conversion, text, ...
        if (!$odd || $p eq '%%') {
            $_->[0] .= $p for @acc;
            next;
        }
        my @stars = ($p =~ /\*/g);
        for (@stars) { $ai++ }
        my $arg = $args[$ai++] // '';
        my ($letter) = $p =~ /([diouxXeEfgGcspn])$/;
        my $alts = $letter eq 's' ? alternatives($arg) : undef;
        my $var = $letter eq 's' ? strip_parens($arg) : '';
        if (!$alts && $var =~ /^\w+$/ && $VARALTS{$var} && $DEPTH < 2) {
            my @n;
            for my $a (@acc) {
                for my $alt (grep { $_->[2] < $CALLPOS } @{$VARALTS{$var}}) {
                    push @n, [$a->[0] . $alt->[0], [@{$a->[1]}, @{$alt->[1]}]];
                }
            }
            @acc = @n;
        } elsif ($alts) {
            my @n;
            for my $a (@acc) {
                for my $lit (@$alts) {
                    (my $l = $lit) =~ s/%/%%/g;
                    push @n, [$a->[0] . $l, [@{$a->[1]}]];
                }
            }
            @acc = @n;
        } else {
            my $cls = $letter eq 's' ? arg_class($arg)
                    : $letter =~ /[diouc]/ ? 'num' : $letter =~ /[xX]/ ? 'hex'
                    : $letter =~ /[eEfgG]/ ? 'float' : 'word';
            for my $a (@acc) { $a->[0] .= $p; push @{$a->[1]}, $cls }
        }
    }
    return @acc;
}

# Read every distinct blob once.
my (%blob_of, %files_of_blob);
open my $bl, '<', $blobs or die "$blobs: $!";
my @rows;
while (<$bl>) {
    chomp;
    my ($t, $path, $sha) = split /\t/;
    push @rows, [$t, $path, $sha];
}
close $bl;
my %seen; my @uniq = grep { !$seen{$_}++ } map { $_->[2] } @rows;

my %calls_of;   # sha => [[wording, classes-string, kind], ...]
open my $cat, '-|', 'sh', '-c', 'git cat-file --batch < "$0"', do {
    my $f = "$blobs.ids";
    open my $o, '>', $f or die; print $o "$_\n" for @uniq; close $o; $f
} or die "git cat-file: $!";
binmode $cat;
while (my $hdr = <$cat>) {
    my ($sha, $type, $size) = split ' ', $hdr;
    my $body = '';
    read($cat, $body, $size) == $size or die "short read of $sha";
    my $nl; read($cat, $nl, 1);
    my @out;
    # one function at a time (keepalived's style closes each with "}" alone on a line), so
    # that a variable's literals are those of the function using it
    for my $src (split /\n\}\n/, strip_comments($body)) {
    %VARALTS = ();
    while ($src =~ /\b(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;=]*\?[^;]*)\s*;/g) {
        my ($v, $rhs) = ($1, $2);
        my $alts = alternatives($rhs) or next;
        my $at = pos($src);
        push @{$VARALTS{$v}}, map { [do { (my $l = $_) =~ s/%/%%/g; $l }, [], $at] } @$alts;
    }
    while ($src =~ /\b(\w+)\[0\]\s*=\s*(?:'\\0'|0)\s*;/g) { push @{$VARALTS{$1}}, ['', [], pos($src)] }
    while ($src =~ /\bstrcpy(?:_safe)?\s*\(\s*(\w+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)/g) {
        push @{$VARALTS{$1}}, [unescape($2) =~ s/%/%%/gr, [], pos($src)];
    }
    while ($src =~ /\bsnprintf\s*\(/g) {
        my $a = call_args($src, pos($src));
        next unless defined $a;
        my @args = split_args($a);
        next unless @args >= 3 && $args[0] =~ /^(\w+)$/;
        my $v = $1;
        my $f = literal_format($args[2]);
        next unless defined $f;
        local $DEPTH = $DEPTH + 1;
        local $CALLPOS = pos($src);
        my $at = pos($src);
        push @{$VARALTS{$v}}, map { [unescape($_->[0]), $_->[1], $at] } wordings($f, '', @args[3 .. $#args]);
    }
    while ($src =~ /\b(v?log_message|dns_final|dns_log_message|smtp_final|log_rate_limited_error|report_config_error)\s*\(/g) {
        my ($fn, $at) = ($1, pos($src));
        local $CALLPOS = $at;
        my $a = call_args($src, $at);
        next unless defined $a;
        my @args = split_args($a);
        my ($fmt, $prefix, @rest);
        if ($fn eq 'log_message' || $fn eq 'vlog_message') {
            next unless @args >= 2;
            $fmt = literal_format($args[1]); @rest = @args[2 .. $#args]; $prefix = '';
        } elsif ($fn eq 'log_rate_limited_error') {
            next unless @args >= 3;
            $fmt = literal_format($args[2]); @rest = @args[3 .. $#args]; $prefix = '';
        } elsif ($fn eq 'report_config_error') {
            # printed with the line it was found on while the configuration is read
            next unless @args >= 2;
            $fmt = literal_format($args[1]); @rest = @args[2 .. $#args]; $prefix = '(Line %zu) ';
            unshift @rest, 'current_line_no';
        } elsif ($fn eq 'smtp_final') {
            next unless @args >= 2;
            $fmt = literal_format($args[1]); @rest = @args[2 .. $#args]; $prefix = 'SMTP_CHECK ';
        } else {
            # dns_final(thread, error, fmt, ...), dns_log_message(thread, level, fmt, ...):
            # logged as "DNS_CHECK (%s) %s" with FMT_CHK; dns_final appends " after %u retries"
            # on the last attempt.
            next unless @args >= 3;
            $fmt = literal_format($args[2]); @rest = @args[3 .. $#args];
            next unless defined $fmt;
            $prefix = '';
            $fmt = "DNS_CHECK (%s) $fmt"; unshift @rest, 'FMT_CHK(checker)';
            if ($fn eq 'dns_final') {
                # the last attempt's failure gets " after N retries" where dns_final adds it
                my @suffixed = $body =~ /" after %u retries"/
                    ? wordings("$fmt after %u retries", '', @rest, 'checker->retry') : ();
                for my $w (wordings($fmt, '', @rest), @suffixed) {
                    my $u = unescape($w->[0]);
                    my $k = $u =~ /^DNS_CHECK \(%s\) / ? 'check_failed' : undef;
                    push @out, [$u, join(',', @{$w->[1]}) || '-', $k] if $k;
                }
            }
            next;
        }
        next unless defined $fmt;
        for my $w (wordings($fmt, $prefix, @rest)) {
            my $u = unescape($w->[0]);
            my $cls = join(',', @{$w->[1]}) || '-';
            my $k = kind_of($u, $cls) // ($ALL ? '-' : undef);
            push @out, [$u, $cls, $k] if $k;
        }
    }
    }
    $calls_of{$sha} = \@out;
}
close $cat;
unlink "$blobs.ids";

# (file, kind, classes, wording) => set of tag indexes
my %tagset;
for my $r (@rows) {
    my ($t, $path, $sha) = @$r;
    for my $c (@{$calls_of{$sha} || []}) {
        my ($w, $cls, $k) = @$c;
        if ($pair{$t}) { $cls = join ',', map { /^(?:rs|vs)$/ ? "${_}_pair" : $_ } split /,/, $cls }
        $tagset{join("\t", $path, $k, $cls, $w)}{$tagidx{$t}} = 1;
    }
}
print "# keepalived log formats that feed lvsmon's incident detectors, derived by\n";
print "# scripts/keepalived-formats.sh from github.com/acassen/keepalived tags $tags[0]..$tags[-1]\n";
print "# (" . scalar(@tags) . " tags). Columns: first_tag last_tag file kind args format\n";
print "# (a wording present in a contiguous run of tags; args: what each conversion prints).\n";
my @out;
for my $key (keys %tagset) {
    my @idx = sort { $a <=> $b } keys %{$tagset{$key}};
    my ($file, $kind, $cls, $w) = split /\t/, $key, 4;
    my $start = $idx[0]; my $prev = $idx[0];
    for my $i (@idx[1 .. $#idx], undef) {
        if (defined $i && $i == $prev + 1) { $prev = $i; next }
        push @out, [$start, $prev, $file, $kind, $cls, $w];
        last unless defined $i;
        $start = $prev = $i;
    }
}
for my $o (sort { $a->[3] cmp $b->[3] || $a->[2] cmp $b->[2] || $a->[0] <=> $b->[0] || $a->[5] cmp $b->[5] } @out) {
    print join("\t", $tags[$o->[0]], $tags[$o->[1]], @$o[2 .. 5]), "\n";
}
PERL
