#!/usr/bin/perl
# make-scenario-mmdb.pl - build the scenario MaxMind databases the tests and
# the demo use (committed under tests/data/geo/scenario/; see README.md here).
#
# Usage: tests/geo/make-scenario-mmdb.pl OUTDIR
# Needs: MaxMind::DB::Writer::Tree (Debian: libmaxmind-db-writer-perl).
# Out: OUTDIR/city.mmdb, city-v2.mmdb, asn.mmdb, anon.mmdb, flat.mmdb.
#
# DESIGN: every network is a documentation range (RFC 5737, RFC 3849) and
# every AS number a documentation ASN (RFC 5398), so nothing here claims a
# fact about a real network. The databases are laid out as MaxMind's are:
# ip_version 6, 24-bit records, IPv4 networks inserted in IPv4 notation
# (the writer puts them under ::/96) and aliased from ::ffff:0:0/96, so a
# reader finds them by either form of an address. The writer's default
# removes reserved networks, which include the documentation ranges, so it
# is switched off. Build epochs are fixed, so that regenerating unchanged
# data gives byte-identical files and no spurious diff.
use strict;
use warnings;

use File::Spec;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV;
die "usage: $0 OUTDIR\n" if !defined $out || @ARGV;
die "$0: $out: not a directory\n" if !-d $out;

# 2025-01-01T00:00:00Z and a day later for the "replaced" version.
my $epoch    = 1735689600;
my $epoch_v2 = $epoch + 86400;

# The places, shared by the City and flat layouts.
my %place = (
    hanoi     => { cc => 'VN', city => 'Hanoi',     lat => 21.0285, lon => 105.8542, radius => 20 },
    ashburn   => { cc => 'US', city => 'Ashburn',   lat => 39.0438, lon => -77.4874, radius => 50 },
    frankfurt => { cc => 'DE', city => 'Frankfurt', lat => 50.1109, lon => 8.6821,   radius => 20 },
    tokyo     => { cc => 'JP', city => 'Tokyo',     lat => 35.6762, lon => 139.6503, radius => 10 },
    amsterdam => { cc => 'NL', city => 'Amsterdam', lat => 52.3676, lon => 4.9041,   radius => 20 },
);

my %as = (
    64500 => 'Example VN Telecom',
    64511 => 'Example Hosting LLC',
    64496 => 'Example Transit',
    64497 => 'Example JP Networks',
);

# Network => [place, ASN].
my @city = (
    [ '203.0.113.0/24',  'hanoi',     64500 ],
    [ '198.51.100.0/24', 'ashburn',   64511 ],
    [ '192.0.2.0/24',    'frankfurt', 64496 ],
    [ '2001:db8:1::/48', 'tokyo',     64497 ],
);

# The same, but the attacker's network has moved: for reload tests.
my @city_v2 = map { [@$_] } @city;
$_->[1] = 'amsterdam' for grep { $_->[0] eq '198.51.100.0/24' } @city_v2;

sub new_tree {
    my ( $type, $description, $build_epoch, %types ) = @_;
    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 24,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => $description },
        alias_ipv6_to_ipv4       => 1,
        remove_reserved_networks => 0,
        map_key_type_callback    => sub {
            my $t = $types{ $_[0] };
            die "$0: no type for key $_[0]\n" if !defined $t;
            return $t;
        },
    );
    # The writer's own hook for reproducible output (its tests use it).
    $tree->_set_build_epoch($build_epoch) if $tree->can('_set_build_epoch');
    return $tree;
}

sub write_tree {
    my ( $tree, $name ) = @_;
    my $path = File::Spec->catfile( $out, $name );
    open my $fh, '>:raw', $path or die "$0: $path: $!\n";
    $tree->write_tree($fh);
    close $fh or die "$0: $path: $!\n";
    print "$path\n";
}

# GeoIP2-City layout: country.iso_code, city.names.en, location.*.
sub city_db {
    my ( $name, $build_epoch, @nets ) = @_;
    my $tree = new_tree(
        'GeoIP2-City', 'auditflow scenario City database', $build_epoch,
        country         => 'map',
        city            => 'map',
        location        => 'map',
        names           => 'map',
        iso_code        => 'utf8_string',
        en              => 'utf8_string',
        latitude        => 'double',
        longitude       => 'double',
        accuracy_radius => 'uint16',
    );
    for my $n (@nets) {
        my $p = $place{ $n->[1] };
        $tree->insert_network(
            $n->[0],
            {
                country  => { iso_code => $p->{cc} },
                city     => { names    => { en => $p->{city} } },
                location => {
                    latitude        => $p->{lat},
                    longitude       => $p->{lon},
                    accuracy_radius => $p->{radius},
                },
            }
        );
    }
    write_tree( $tree, $name );
}

city_db( 'city.mmdb',    $epoch,    @city );
city_db( 'city-v2.mmdb', $epoch_v2, @city_v2 );

# GeoLite2-ASN layout.
{
    my $tree = new_tree(
        'GeoLite2-ASN', 'auditflow scenario ASN database', $epoch,
        autonomous_system_number       => 'uint32',
        autonomous_system_organization => 'utf8_string',
    );
    for my $n (@city) {
        $tree->insert_network(
            $n->[0],
            {
                autonomous_system_number       => $n->[2],
                autonomous_system_organization => $as{ $n->[2] },
            }
        );
    }
    write_tree( $tree, 'asn.mmdb' );
}

# GeoIP2-Anonymous-IP layout: like MaxMind's, a record only for flagged
# networks, and only the flags that are true.
{
    my $tree = new_tree(
        'GeoIP2-Anonymous-IP', 'auditflow scenario Anonymous-IP database', $epoch,
        is_anonymous        => 'boolean',
        is_hosting_provider => 'boolean',
    );
    $tree->insert_network( '198.51.100.0/24', { is_anonymous => 1, is_hosting_provider => 1 } );
    write_tree( $tree, 'anon.mmdb' );
}

# A flat layout, as free redistributions write one: every fact a top-level
# key, the ASN as text with its "AS" prefix ("AS64500"), coordinates as
# doubles, no accuracy radius.
{
    my $tree = new_tree(
        'ipinfo-style-lite', 'auditflow scenario flat-layout database', $epoch,
        country_code => 'utf8_string',
        city         => 'utf8_string',
        latitude     => 'double',
        longitude    => 'double',
        asn          => 'utf8_string',
        as_name      => 'utf8_string',
    );
    for my $n (@city) {
        my $p = $place{ $n->[1] };
        $tree->insert_network(
            $n->[0],
            {
                country_code => $p->{cc},
                city         => $p->{city},
                latitude     => $p->{lat},
                longitude    => $p->{lon},
                asn          => "AS$n->[2]",
                as_name      => $as{ $n->[2] },
            }
        );
    }
    write_tree( $tree, 'flat.mmdb' );
}
