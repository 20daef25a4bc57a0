# A fake of what roles/servicedesk/files/servicedesk-rt calls on Request Tracker's Perl
# API (its database) and on Net::LDAP (the directory), for tests/unit/test_servicedesk_rt.py.
#
# The state is a JSON file named by $FAKE_RT_STATE: RT's objects (queues, custom fields,
# groups, users, ACEs, scrips, catalogs, tokens, the configuration) and the directory's
# entries. It is read at RT::Init and written back at exit with every call that changed
# something appended to `writes` and every LDAP bind and search to `ldap`, so a test
# sees what the tool did and that a tool run on the desired state writes nothing.
# Only the methods the tool calls exist; anything else dies.
use strict;
use warnings;
use utf8;

package RT;

use JSON::PP ();

our $STATE;
our $PATH;

# Loaded here, as the tool `require`s them.
$INC{$_} = __FILE__ for qw(Net/LDAP.pm Net/LDAP/Control/Paged.pm Net/LDAP/Constant.pm RT/Authen/Token.pm);

sub LoadConfig { return 1 }

sub Init {
    $PATH = $ENV{FAKE_RT_STATE} or die "FAKE_RT_STATE is not set\n";
    open my $in, '<:raw', $PATH or die "$PATH: $!\n";
    local $/;
    $STATE = JSON::PP->new->utf8->decode(<$in>);
    close $in;
    $STATE->{$_} //= [] for qw(queues custom_fields groups users aces scrips catalogs tokens writes ldap);
    $STATE->{next_id} //= 100;
    return 1;
}

END {
    if ( $STATE && $PATH ) {
        open my $out, '>:raw', $PATH or die "$PATH: $!\n";
        print {$out} JSON::PP->new->utf8->canonical->pretty->encode($STATE);
        close $out;
    }
}

sub state   { return $STATE }
sub next_id { return $STATE->{next_id}++ }

sub note {
    my ( $what, @details ) = @_;
    push @{ $STATE->{writes} }, join( ' ', $what, @details );
    return;
}

sub SystemUser { return bless { id => 1 }, 'RT::CurrentUser' }
sub System     { return bless { id => 1 }, 'RT::System' }
sub Config     { return 'RT::FakeConfig' }

package RT::FakeConfig;
sub Get { my ( $class, $name ) = @_; return $RT::STATE->{config}{$name} }

package RT::System;
sub id { return 1 }

# Objects backed by a hash of the state; a missing record means "not loaded" (id 0).
package RT::FakeRecord;

sub new { my ( $class, $user ) = @_; return bless { record => undef }, $class }
sub id  { my ($self) = @_; return $self->{record} ? $self->{record}{id} : 0 }
sub find {
    my ( $self, $list, %match ) = @_;
    for my $record ( @{ $RT::STATE->{$list} } ) {
        my $all = 1;
        for my $key ( keys %match ) {
            $all = 0 unless defined $record->{$key} && lc $record->{$key} eq lc $match{$key};
        }
        return $self->{record} = $record if $all;
    }
    return $self->{record} = undef;
}
sub field { my ( $self, $name ) = @_; return $self->{record}{$name} }
sub set_field {
    my ( $self, $name, $value ) = @_;
    RT::note( 'set', ref($self), $self->{record}{Name} // $self->{record}{Description}, $name, $value );
    $self->{record}{$name} = $value;
    return ( 1, 'ok' );
}
sub create {
    my ( $self, $list, %fields ) = @_;
    my $record = { id => RT::next_id(), %fields };
    push @{ $RT::STATE->{$list} }, $record;
    RT::note( 'create', ref($self), $fields{Name} // $fields{Description} );
    $self->{record} = $record;
    return ( $record->{id}, 'created' );
}
sub Disabled    { return $_[0]->field('Disabled') ? 1 : 0 }
sub SetDisabled { return $_[0]->set_field( 'Disabled', $_[1] ) }
sub Name        { return $_[0]->field('Name') }
sub Description { return $_[0]->field('Description') }
sub SetDescription { return $_[0]->set_field( 'Description', $_[1] ) }

package RT::Queue;
our @ISA = ('RT::FakeRecord');
sub Load   { my ( $self, $name ) = @_; return $self->find( 'queues', Name => $name ) }
sub Create { my ( $self, %fields ) = @_; return $self->create( 'queues', Disabled => 0, %fields ) }
sub CorrespondAddress    { return $_[0]->field('CorrespondAddress') }
sub CommentAddress       { return $_[0]->field('CommentAddress') }
sub SetCorrespondAddress { return $_[0]->set_field( 'CorrespondAddress', $_[1] ) }
sub SetCommentAddress    { return $_[0]->set_field( 'CommentAddress', $_[1] ) }

package RT::Ticket;
sub CustomFieldLookupType { return 'RT::Queue-RT::Ticket' }

package RT::Asset;
sub CustomFieldLookupType { return 'RT::Catalog-RT::Asset' }

package RT::CustomField;
our @ISA = ('RT::FakeRecord');
sub LoadByName {
    my ( $self, %args ) = @_;
    return $self->find( 'custom_fields', Name => $args{Name}, LookupType => $args{LookupType} );
}
sub Create {
    my ( $self, %fields ) = @_;
    return $self->create( 'custom_fields', Disabled => 0, Values => [], Global => 0, AddedTo => [], %fields );
}
sub Values {
    my ($self) = @_;
    return RT::FakeIterator->new( map { bless { record => $_ }, 'RT::CustomFieldValue' } @{ $self->field('Values') } );
}
sub AddValue {
    my ( $self, %value ) = @_;
    RT::note( 'add value', $self->field('Name'), $value{Name} );
    push @{ $self->{record}{Values} }, {%value};
    return ( 1, 'added' );
}
sub IsGlobal { return $_[0]->field('Global') ? 1 : 0 }
sub IsAdded {
    my ( $self, $id ) = @_;
    return scalar grep { $_ == $id } @{ $self->field('AddedTo') };
}
sub AddToObject {
    my ( $self, $object ) = @_;
    if ( ref $object eq 'RT::Queue' && !$object->id ) {
        return $self->set_field( 'Global', 1 );
    }
    RT::note( 'add', $self->field('Name'), 'to', ref $object, $object->id );
    push @{ $self->{record}{AddedTo} }, $object->id;
    return ( 1, 'added' );
}

package RT::CustomFieldValue;
our @ISA = ('RT::FakeRecord');
sub SortOrder    { return $_[0]->field('SortOrder') }
sub SetSortOrder { return $_[0]->set_field( 'SortOrder', $_[1] ) }

package RT::FakeIterator;
sub new  { my ( $class, @items ) = @_; return bless [@items], $class }
sub Next { my ($self) = @_; return shift @$self }

package RT::Principal;
sub new { my ( $class, $id ) = @_; return bless { id => $id }, $class }
sub id  { return $_[0]{id} }
sub GrantRight {
    my ( $self, %args ) = @_;
    RT::note( 'grant', $args{Right}, 'to', $self->{id}, 'on', ref $args{Object}, $args{Object}->id );
    push @{ $RT::STATE->{aces} },
        { id => RT::next_id(), RightName => $args{Right}, PrincipalId => $self->{id}, ObjectType => ref $args{Object},
          ObjectId => $args{Object}->id };
    return ( 1, 'granted' );
}
sub RevokeRight {
    my ( $self, %args ) = @_;
    RT::note( 'revoke', $args{Right}, 'from', $self->{id} );
    $RT::STATE->{aces} = [ grep {
        !( $_->{RightName} eq $args{Right} && $_->{PrincipalId} == $self->{id} && $_->{ObjectType} eq ref $args{Object} )
    } @{ $RT::STATE->{aces} } ];
    return ( 1, 'revoked' );
}

package RT::Group;
our @ISA = ('RT::FakeRecord');
sub LoadUserDefinedGroup   { my ( $self, $name ) = @_; return $self->find( 'groups', Name => $name, Domain => 'UserDefined' ) }
sub LoadSystemInternalGroup { my ( $self, $name ) = @_; return $self->find( 'groups', Name => $name, Domain => 'SystemInternal' ) }
sub LoadRoleGroup {
    my ( $self, %args ) = @_;
    return $self->find( 'groups', Name => $args{Name}, Domain => 'RT::System-Role' );
}
sub CreateUserDefinedGroup {
    my ( $self, %fields ) = @_;
    return $self->create( 'groups', Domain => 'UserDefined', Members => [], %fields );
}
sub PrincipalId  { return $_[0]->id }
sub PrincipalObj { return RT::Principal->new( $_[0]->id ) }
sub HasMember {
    my ( $self, $principal ) = @_;
    return scalar grep { $_ == $principal->id } @{ $self->field('Members') // [] };
}
sub AddMember {
    my ( $self, $id ) = @_;
    die "AddMember of no principal\n" unless $id;
    RT::note( 'add member', $id, 'to', $self->field('Name') );
    push @{ $self->{record}{Members} }, $id;
    return ( 1, 'added' );
}
sub DeleteMember {
    my ( $self, $id ) = @_;
    RT::note( 'delete member', $id, 'from', $self->field('Name') );
    $self->{record}{Members} = [ grep { $_ != $id } @{ $self->{record}{Members} } ];
    return ( 1, 'deleted' );
}
sub UserMembersObj {
    my ($self) = @_;
    my %member = map { $_ => 1 } @{ $self->field('Members') // [] };
    return RT::FakeIterator->new( map { bless { record => $_ }, 'RT::User' }
            grep { $member{ $_->{id} } } @{ $RT::STATE->{users} } );
}

package RT::ACE;
our @ISA = ('RT::FakeRecord');
sub LoadByCols { my ( $self, %cols ) = @_; return $self->find( 'aces', %cols ) }

package RT::User;
our @ISA = ('RT::FakeRecord');
sub Load   { my ( $self, $name ) = @_; return $self->find( 'users', Name => $name ) }
sub Create { my ( $self, %fields ) = @_; return $self->create( 'users', Disabled => 0, %fields ) }
sub PrincipalId     { return $_[0]->id }
sub PrincipalObj    { return RT::Principal->new( $_[0]->id ) }
sub Privileged      { return $_[0]->field('Privileged') ? 1 : 0 }
sub SetPrivileged   { return $_[0]->set_field( 'Privileged', $_[1] ) }
sub RealName        { return $_[0]->field('RealName') }
sub SetRealName     { return $_[0]->set_field( 'RealName', $_[1] ) }
sub EmailAddress    { return $_[0]->field('EmailAddress') }
sub SetEmailAddress { return $_[0]->set_field( 'EmailAddress', $_[1] ) }
sub IsPassword      { my ( $self, $password ) = @_; return ( $self->field('Password') // '' ) eq $password }
sub SetPassword {
    my ( $self, $password ) = @_;
    RT::note( 'set password of', $self->field('Name') );
    $self->{record}{Password} = $password;
    return ( 1, 'set' );
}

package RT::Scrips;
sub new   { my ( $class, $user ) = @_; return bless { match => {} }, $class }
sub Limit { my ( $self, %args ) = @_; $self->{match}{ $args{FIELD} } = $args{VALUE}; return }
sub First {
    my ($self) = @_;
    my $scrip = RT::Scrip->new;
    return $scrip->find( 'scrips', %{ $self->{match} } ) ? $scrip : undef;
}

package RT::Scrip;
our @ISA = ('RT::FakeRecord');
sub Create              { my ( $self, %fields ) = @_; return $self->create( 'scrips', %fields ) }
sub CustomCommitCode    { return $_[0]->field('CustomCommitCode') }
sub SetCustomCommitCode { return $_[0]->set_field( 'CustomCommitCode', $_[1] ) }

package RT::Catalog;
our @ISA = ('RT::FakeRecord');
sub Load   { my ( $self, $name ) = @_; return $self->find( 'catalogs', Name => $name ) }
sub Create { my ( $self, %fields ) = @_; return $self->create( 'catalogs', %fields ) }

package RT::AuthToken;
sub new { my ( $class, $user ) = @_; return bless {}, $class }
sub Create {
    my ( $self, %args ) = @_;
    my $token = 'fake-token-' . RT::next_id();
    push @{ $RT::STATE->{tokens} }, { Owner => $args{Owner}, Description => $args{Description}, Token => $token };
    RT::note( 'create token for', $args{Owner} );
    return ( 1, 'created', $token );
}

package RT::Authen::Token;
sub UserForAuthString {
    my ( $class, $authstring, $name ) = @_;
    my $user = RT::User->new;
    $user->Load($name) or return;
    my ($token) = grep { $_->{Token} eq $authstring && $_->{Owner} == $user->id } @{ $RT::STATE->{tokens} };
    return $token ? $user : ();
}

# The directory: entries of the state's `directory`, searched with the filters the tool
# sends (parsed as RFC 4515: &, |, !, =, =* and * substrings; values unescaped).
package Net::LDAP::Constant;
sub LDAP_CONTROL_PAGED { return '1.2.840.113556.1.4.319' }

package Net::LDAP::Control::Paged;
sub new    { my ( $class, %args ) = @_; return bless {%args}, $class }
sub cookie { my ( $self, $cookie ) = @_; $self->{cookie} = $cookie if @_ > 1; return $self->{cookie} }

package Net::LDAP::Result;
sub new     { my ( $class, %args ) = @_; return bless { code => 0, error => '', entries => [], %args }, $class }
sub code    { return $_[0]{code} }
sub error   { return $_[0]{error} }
sub entries { return @{ $_[0]{entries} } }
sub control { return () }

package Net::LDAP::Entry;
sub dn { return $_[0]{dn} }
sub get_value {
    my ( $self, $name ) = @_;
    my ($key) = grep { lc $_ eq lc $name } keys %{ $self->{attrs} };
    my @values = $key ? @{ $self->{attrs}{$key} } : ();
    return wantarray ? @values : $values[0];
}

package Net::LDAP;
sub new {
    my ( $class, $server, %args ) = @_;
    push @{ $RT::STATE->{ldap} }, { connect => $server };
    return bless {}, $class;
}
sub bind {
    my ( $self, $user, %args ) = @_;
    my $ok = ( $RT::STATE->{directory}{bind_pw} // '' ) eq ( $args{password} // '' );
    push @{ $RT::STATE->{ldap} }, { bind => $user };
    return Net::LDAP::Result->new( $ok ? () : ( code => 49, error => 'Invalid credentials' ) );
}
sub unbind { return 1 }
sub search {
    my ( $self, %args ) = @_;
    push @{ $RT::STATE->{ldap} }, { search => $args{filter}, base => $args{base} };
    my ( $tree, $rest ) = parse( $args{filter} );
    die "fake directory: cannot parse filter $args{filter}\n" if !$tree || length $rest;
    my @entries = map { bless { dn => $_->{dn}, attrs => $_->{attrs} }, 'Net::LDAP::Entry' }
        grep { matches( $tree, $_->{attrs} ) } @{ $RT::STATE->{directory}{entries} // [] };
    return Net::LDAP::Result->new( entries => \@entries );
}

sub unescape {
    my ($value) = @_;
    $value =~ s/\\([0-9a-fA-F]{2})/chr(hex($1))/ge;
    return $value;
}

# (filter) -> [tree, rest of the text]
sub parse {
    my ($text) = @_;
    $text =~ s/^\(// or return;
    if ( $text =~ s/^([&|])// ) {
        my $op = $1;
        my @parts;
        while ( $text =~ /^\(/ ) {
            ( my $part, $text ) = parse($text);
            return unless $part;
            push @parts, $part;
        }
        $text =~ s/^\)// or return;
        return ( [ $op, @parts ], $text );
    }
    if ( $text =~ s/^!// ) {
        ( my $part, $text ) = parse($text);
        $text =~ s/^\)// or return;
        return ( [ '!', $part ], $text );
    }
    $text =~ s/^([^=()]+)=((?:[^()\\]|\\[0-9a-fA-F]{2})*)\)// or return;
    return ( [ '=', $1, $2 ], $text );
}

sub matches {
    my ( $tree, $attrs ) = @_;
    my ( $op, @args ) = @$tree;
    return !grep { !matches( $_, $attrs ) } @args if $op eq '&';
    return scalar grep { matches( $_, $attrs ) } @args if $op eq '|';
    return !matches( $args[0], $attrs ) if $op eq '!';
    my ( $name, $value ) = @args;
    my ($key) = grep { lc $_ eq lc $name } keys %$attrs;
    return 0 unless $key;
    my $pattern = join '.*', map { quotemeta unescape($_) } split /\*/, $value, -1;
    return scalar grep { /^$pattern$/i } @{ $attrs->{$key} };
}

1;
