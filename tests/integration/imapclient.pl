#!/usr/bin/perl
# An everyday session with Perl's Mail::IMAPClient (Debian
# libmail-imapclient-perl), driven by test_mailimapclient.py: login,
# (COMPRESS), list, create, append, select, fetch, search, sort, thread,
# store, idle while another connection delivers, move, logout.  Prints
# key=value lines of what the client saw; any failure dies with its
# LastError.
#   imapclient.pl PORT USER PASSWORD FOLDER compress|plain
use strict;
use warnings;
use Mail::IMAPClient;

my ($port, $user, $pass, $box, $mode) = @ARGV;
$| = 1;

sub connect_as {
	my $c = Mail::IMAPClient->new(
	    Server => '127.0.0.1', Port => $port, User => $user,
	    Password => $pass, Uid => 1, Timeout => 30,
	    Debug => $ENV{IMAPCLIENT_DEBUG} ? 1 : 0)
	    or die "connect: $@\n";
	return $c;
}

sub msg {
	my ($from, $subject, $body) = @_;
	return "From: $from\r\nTo: $user\@example.com\r\n" .
	    "Subject: $subject\r\nDate: Thu, 3 Dec 2026 04:00:00 +0000\r\n" .
	    "Message-ID: <$subject.$box\@example.com>\r\n\r\n$body\r\n";
}

my $imap = connect_as();
if ($mode eq 'compress') {
	$imap->compress or die "compress: " . $imap->LastError . "\n";
	print "compress=on\n";
}
print "capability=", join(' ', $imap->capability), "\n";
$imap->create($box) or die "create: " . $imap->LastError . "\n";
my %have = map { $_ => 1 } $imap->folders;
print "listed=", ($have{$box} ? 1 : 0), "\n";

my @uids;
for my $m ([ 'carol@example.com', 'beta', 'second one' ],
    [ 'alice@example.com', 'alpha', 'first one' ],
    [ 'bob@example.com', 'Re: alpha', 'a reply' ]) {
	my $uid = $imap->append_string($box, msg(@$m))
	    or die "append: " . $imap->LastError . "\n";
	push @uids, $uid;
}
print "appended=", join(',', @uids), "\n";

$imap->select($box) or die "select: " . $imap->LastError . "\n";
print "count=", $imap->message_count($box), "\n";
my $found = $imap->search('SUBJECT', 'alpha')
    or die "search: " . $imap->LastError . "\n";
print "search=", join(',', sort { $a <=> $b } @$found), "\n";
my $sorted = $imap->sort('(SUBJECT)', 'UTF-8', 'ALL')
    or die "sort: " . $imap->LastError . "\n";
print "sort=", join(',', @$sorted), "\n";
my $threads = $imap->thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')
    or die "thread: " . $imap->LastError . "\n";
print "thread=", scalar(@$threads), "\n";
my $text = $imap->message_string($uids[1])
    or die "fetch: " . $imap->LastError . "\n";
print "body=", ($text =~ /first one/ ? 'ok' : 'bad'), "\n";
my $h = $imap->fetch_hash('FLAGS', 'RFC822.SIZE')
    or die "fetch_hash: " . $imap->LastError . "\n";
print "sizes=", join(',', map { $h->{$_}{'RFC822.SIZE'} }
    sort { $a <=> $b } keys %$h), "\n";
$imap->set_flag('\\Flagged', $uids[0])
    or die "store: " . $imap->LastError . "\n";
my $flagged = $imap->search('FLAGGED')
    or die "flagged: " . $imap->LastError . "\n";
print "flagged=", join(',', @$flagged), "\n";

# IDLE: another connection delivers, the idler hears of it
my $tag = $imap->idle or die "idle: " . $imap->LastError . "\n";
my $other = connect_as();
$other->append_string($box, msg('dave@example.com', 'gamma', 'new mail'))
    or die "append2: " . $other->LastError . "\n";
my @heard;
for (1 .. 30) {
	my $data = $imap->idle_data(1) or die "idle_data: " .
	    $imap->LastError . "\n";
	push @heard, grep { /EXISTS/ } @$data;
	last if @heard;
}
$imap->done($tag) or die "done: " . $imap->LastError . "\n";
(my $e = $heard[0] // 'none') =~ s/\r?\n$//;
print "idle=$e\n";

# MOVE (RFC 6851) as the command, and the library's copy-and-delete
$imap->tag_and_run("UID MOVE $uids[2] INBOX")
    or die "move: " . $imap->LastError . "\n";
$imap->move('INBOX', $uids[0]) or die "copy+delete: " .
    $imap->LastError . "\n";
$imap->expunge($box) or die "expunge: " . $imap->LastError . "\n";
print "left=", $imap->message_count($box), "\n";
$other->logout;
$imap->logout or die "logout: " . $imap->LastError . "\n";
print "done=1\n";
