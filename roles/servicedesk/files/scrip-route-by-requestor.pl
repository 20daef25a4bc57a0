# Scrip action (User Defined, commit stage) on the central queue: a ticket mailed to the
# city-wide helpdesk address moves to the queue of its requestor's organisation, found
# by the directory group <CODE>-Personal the requestor is in (servicedesk-rt
# directory-sync). Requestors of no organisation stay in the central queue.
my $ticket = RT::Ticket->new( RT->SystemUser );
$ticket->Load( $self->TicketObj->id );
my $requestor = $ticket->Requestors->UserMembersObj->First or return 1;
my $groups = $requestor->OwnGroups;
while ( my $group = $groups->Next ) {
    next unless $group->Name =~ /^([A-Z]+)-Personal$/;
    my $queue = RT::Queue->new( RT->SystemUser );
    $queue->Load($1);
    next unless $queue->id && !$queue->Disabled;
    my ( $ok, $message ) = $ticket->SetQueue( $queue->id );
    RT->Logger->error("Could not move ticket #" . $ticket->id . " to $1: $message") unless $ok;
    last;
}
return 1;
