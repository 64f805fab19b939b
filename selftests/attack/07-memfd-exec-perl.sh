#!/usr/bin/env bash
# attack: T1620 Fileless execution with perl's memfd_create syscall
. "$(dirname "$0")/lib/common.sh"
perl -e 'my $fd = syscall(319, "x", 0); open(my $fh, ">&=", $fd) or die; open(my $b, "<", "/bin/true") or die; binmode $b; my $d = do { local $/; <$b> }; print {$fh} $d; close $fh; exec {"/proc/$$/fd/$fd"} "x"'
