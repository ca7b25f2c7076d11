#!/usr/bin/env perl
# bench/make-bench-mmdb.pl - write the geo benchmark's databases: a City
# database in the GeoIP2-City layout and an ASN database in the GeoLite2-ASN
# layout, each with a configurable number of networks, from a fixed seed.
#
# Thread: a one-off command (run.sh calls it before the geo benchmark).
# In: options (--help). Out: DIR/bench-city-N-sS.mmdb and
# DIR/bench-asn-N-sS.mmdb, and their paths on stdout, one per line. Files
# already there are reused unless --force: generation takes tens of seconds
# for the default sizes, the benchmark's runs take a fraction of that.
#
# DESIGN: a tree walk costs what the tree's shape makes it cost, so the
# databases are shaped like the real ones rather than being a few networks.
# The IPv4 unicast space is tiled completely, as GeoLite2 covers nearly all
# of it: every public /8 is split at random leaves (a Yule process, giving
# prefixes from about /10 to /24, most of them /18 to /24) until there are
# N networks; some IPv6 /12 blocks are split the same way down to /32../48.
# The two databases are tiled independently (their networks differ, as the
# real City and ASN files' do), then the same holes (random /20../24, and
# /32../48 in IPv6; about 1.5 % of the IPv4 space with the defaults) are cut
# out of both, so some public addresses are found in neither.
# Records come from a small pool (a few thousand cities and ASNs), drawn
# with a skew so a few records own many networks, like big ISPs and cities;
# the writer stores each distinct record once, as in the real files. City
# records carry the fields of a real GeoIP2-City record (continent, country
# and registered country with names in eight languages, a subdivision, city
# names, location with time zone, postal code), because decoding walks
# those maps key by key.
#
# Needs MaxMind::DB::Writer::Tree (Debian: libmaxmind-db-writer-perl).
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Path qw(make_path);
use Getopt::Long qw(GetOptions);
use Time::HiRes qw(time);

use MaxMind::DB::Writer::Tree;

my %opt = (
	out      => dirname(__FILE__) . '/out',
	networks => 1000000,
	v6       => 10,
	holes    => 3,
	cities   => 5000,
	asns     => 3000,
	seed     => 1,
	force    => 0,
);

sub usage {
	my ($fh) = @_;
	print {$fh} <<'EOF';
usage: bench/make-bench-mmdb.pl [--out DIR] [--networks N] [--v6 PERCENT]
                                [--holes PERCENT] [--cities N] [--asns N]
                                [--seed S] [--force]
  --out DIR        where to write (default: bench/out, git-ignored)
  --networks N     networks per database (default 1000000)
  --v6 PERCENT     share of them that are IPv6 (default 10)
  --holes PERCENT  holes cut out of both databases, as a share of N: the
                   addresses no database answers for (default 3)
  --cities N       distinct City records (default 5000)
  --asns N         distinct ASN records (default 3000)
  --seed S         random seed (default 1); the same seed, the same networks
                   and records
  --force          write even if the files exist
Prints the two paths written (or reused), City first.
EOF
}

GetOptions(
	'out=s'      => \$opt{out},
	'networks=i' => \$opt{networks},
	'v6=i'       => \$opt{v6},
	'holes=i'    => \$opt{holes},
	'cities=i'   => \$opt{cities},
	'asns=i'     => \$opt{asns},
	'seed=i'     => \$opt{seed},
	'force'      => \$opt{force},
	'help|h'     => sub { usage(\*STDOUT); exit 0 },
) or do { usage(\*STDERR); exit 2 };
if ($opt{networks} < 100 || $opt{v6} < 0 || $opt{v6} > 50 || $opt{holes} < 0
	|| $opt{holes} > 50 || $opt{cities} < 1 || $opt{asns} < 1)
{
	usage(\*STDERR);
	exit 2;
}

my $tag  = "$opt{networks}-s$opt{seed}";
my $city = "$opt{out}/bench-city-$tag.mmdb";
my $asn  = "$opt{out}/bench-asn-$tag.mmdb";

# A file is reused when it is newer than this script: a change to the
# generator regenerates.
sub fresh {
	my ($path) = @_;
	return !$opt{force} && -s $path && (-M $path) < (-M __FILE__);
}

if (fresh($city) && fresh($asn)) {
	print "$city\n$asn\n";
	exit 0;
}
make_path($opt{out});

# --- networks ---

# Split roots at random leaves until there are n leaves. A leaf is
# [high 64 bits of the address, prefix length]; 64 bits hold every prefix
# made here (IPv4 as the top 32 of them, IPv6 down to /48).
sub tile {
	my ($roots, $n, $max_len, $width) = @_;
	my @leaves = map { [@$_] } @$roots;
	my $stuck  = 0;
	while (@leaves < $n && $stuck < 1000 * $n) {
		my $i = int(rand(@leaves));
		my ($base, $len) = @{ $leaves[$i] };
		if ($len >= $max_len) {
			$stuck++;
			next;
		}
		$len++;
		$leaves[$i] = [ $base, $len ];
		push @leaves, [ $base | (1 << ($width - $len)), $len ];
	}
	return \@leaves;
}

sub v4_text {
	my ($base, $len) = @_;
	return join('.', map { ($base >> (24 - 8 * $_)) & 255 } 0 .. 3) . "/$len";
}

sub v6_text {
	my ($base, $len) = @_;
	return join(':', map { sprintf '%x', ($base >> (48 - 16 * $_)) & 0xffff } 0 .. 3)
	    . "::/$len";
}

# Every /8 of public unicast space; reserved parts inside them (100.64/10,
# 169.254/16, 172.16/12, 192.168/16 ...) are dropped by the writer.
my @v4_roots = map { [ $_ << 24, 8 ] } grep { $_ != 10 && $_ != 127 } 1 .. 223;

# Regional registries' big IPv6 blocks (APNIC, ARIN, LACNIC, RIPE, AFRINIC);
# 2001::/32 and 2002::/16 alias IPv4 in the real files and stay out.
my @v6_roots = map { [ $_ << 48, 12 ] } 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00;

sub networks {
	my $n_v6 = int($opt{networks} * $opt{v6} / 100);
	my $v4   = tile(\@v4_roots, $opt{networks} - $n_v6, 24, 32);
	my $v6   = $n_v6 ? tile(\@v6_roots, $n_v6, 48, 64) : [];
	return [ (map { v4_text(@$_) } @$v4), (map { v6_text(@$_) } @$v6) ];
}

# Random networks inside the roots, to be removed from both databases.
sub holes {
	my $n    = int($opt{networks} * $opt{holes} / 100);
	my $n_v6 = int($n * $opt{v6} / 100);
	my @holes;
	for my $i (1 .. $n) {
		if ($i <= $n_v6) {
			my ($root) = @{ $v6_roots[ int(rand(@v6_roots)) ] };
			my $len = 32 + int(rand(17));
			my $bits = int(rand(1 << ($len - 12))) << (64 - $len);
			push @holes, v6_text($root | $bits, $len);
		} else {
			my ($root) = @{ $v4_roots[ int(rand(@v4_roots)) ] };
			my $len = 20 + int(rand(5));
			my $bits = int(rand(1 << ($len - 8))) << (32 - $len);
			push @holes, v4_text($root | $bits, $len);
		}
	}
	return \@holes;
}

# An index in [0, n) skewed towards 0: a few records own many networks.
sub skewed {
	my ($n) = @_;
	return int($n * rand()**3);
}

# --- records ---

my @syllables = qw(ba ko ri san to lin mar vel dor an el ka mi no pu ra se ti
    vo zu ber gar hal ket lor mun nor pel quin ros tan ul ven wes yor zan);

sub name {
	my ($words) = @_;
	my @w;
	for (1 .. $words) {
		my $s = join '', map { $syllables[ int(rand(@syllables)) ] } 1 .. 2 + int(rand(2));
		push @w, ucfirst $s;
	}
	return join ' ', @w;
}

# ISO code, continent, rough centre (lat, lon), time zone.
my @countries = (
	[qw(US NA 39 -98 America/Chicago)],       [qw(CA NA 56 -106 America/Toronto)],
	[qw(MX NA 23 -102 America/Mexico_City)],  [qw(BR SA -14 -51 America/Sao_Paulo)],
	[qw(AR SA -38 -63 America/Argentina/Buenos_Aires)], [qw(CL SA -35 -71 America/Santiago)],
	[qw(GB EU 54 -2 Europe/London)],          [qw(IE EU 53 -8 Europe/Dublin)],
	[qw(FR EU 46 2 Europe/Paris)],            [qw(DE EU 51 10 Europe/Berlin)],
	[qw(NL EU 52 5 Europe/Amsterdam)],        [qw(BE EU 50 4 Europe/Brussels)],
	[qw(ES EU 40 -4 Europe/Madrid)],          [qw(PT EU 39 -8 Europe/Lisbon)],
	[qw(IT EU 42 12 Europe/Rome)],            [qw(CH EU 47 8 Europe/Zurich)],
	[qw(AT EU 47 14 Europe/Vienna)],          [qw(PL EU 52 19 Europe/Warsaw)],
	[qw(SE EU 60 18 Europe/Stockholm)],       [qw(NO EU 60 8 Europe/Oslo)],
	[qw(FI EU 64 26 Europe/Helsinki)],        [qw(DK EU 56 10 Europe/Copenhagen)],
	[qw(CZ EU 49 15 Europe/Prague)],          [qw(RO EU 46 25 Europe/Bucharest)],
	[qw(UA EU 49 32 Europe/Kyiv)],            [qw(RU EU 61 105 Europe/Moscow)],
	[qw(TR AS 39 35 Europe/Istanbul)],        [qw(IL AS 31 35 Asia/Jerusalem)],
	[qw(AE AS 24 54 Asia/Dubai)],             [qw(SA AS 24 45 Asia/Riyadh)],
	[qw(IN AS 21 78 Asia/Kolkata)],           [qw(PK AS 30 69 Asia/Karachi)],
	[qw(CN AS 35 105 Asia/Shanghai)],         [qw(HK AS 22 114 Asia/Hong_Kong)],
	[qw(TW AS 24 121 Asia/Taipei)],           [qw(JP AS 36 138 Asia/Tokyo)],
	[qw(KR AS 36 128 Asia/Seoul)],            [qw(VN AS 14 108 Asia/Ho_Chi_Minh)],
	[qw(TH AS 15 101 Asia/Bangkok)],          [qw(SG AS 1 104 Asia/Singapore)],
	[qw(MY AS 4 102 Asia/Kuala_Lumpur)],      [qw(ID AS -1 114 Asia/Jakarta)],
	[qw(PH AS 13 122 Asia/Manila)],           [qw(AU OC -25 134 Australia/Sydney)],
	[qw(NZ OC -41 174 Pacific/Auckland)],     [qw(ZA AF -31 23 Africa/Johannesburg)],
	[qw(NG AF 10 8 Africa/Lagos)],            [qw(EG AF 27 30 Africa/Cairo)],
	[qw(KE AF 0 38 Africa/Nairobi)],          [qw(MA AF 32 -6 Africa/Casablanca)],
);
my %continents = (
	NA => 'North America', SA => 'South America', EU => 'Europe',
	AS => 'Asia', OC => 'Oceania', AF => 'Africa',
);
my @langs = qw(de en es fr ja pt-BR ru zh-CN);

# The same name in every language, as a names map: the record's size and
# shape are what matter here, not translations.
sub names {
	my ($name, $langs) = @_;
	return { map { $_ => $name } @$langs };
}

sub city_records {
	my %country_data;
	my $geoname = 100000;
	for my $c (@countries) {
		my ($iso, $cont, $lat, $lon, $tz) = @$c;
		$country_data{$iso} = {
			continent => {
				code => $cont, geoname_id => $geoname++,
				names => names($continents{$cont}, \@langs),
			},
			country => {
				geoname_id => $geoname++, iso_code => $iso,
				names => names(name(1), \@langs),
			},
		};
	}
	my @records;
	for my $i (0 .. $opt{cities} - 1) {
		my $c = $countries[ skewed(scalar @countries) ];
		my ($iso, $cont, $lat, $lon, $tz) = @$c;
		my $cd = $country_data{$iso};
		my $sub = name(1);
		push @records, {
			continent          => $cd->{continent},
			country            => $cd->{country},
			registered_country => $cd->{country},
			subdivisions       => [ {
				geoname_id => $geoname++,
				iso_code   => uc substr($sub, 0, 2),
				names      => names($sub, [qw(en fr ru)]),
			} ],
			city => {
				geoname_id => $geoname++,
				names      => names(name(1 + int(rand(2))), [qw(de en fr ja ru)]),
			},
			location => {
				accuracy_radius => (5, 10, 20, 50, 100, 200, 500, 1000)[ int(rand(8)) ],
				latitude        => sprintf('%.4f', $lat + rand(8) - 4) + 0,
				longitude       => sprintf('%.4f', $lon + rand(8) - 4) + 0,
				time_zone       => $tz,
			},
			postal => { code => sprintf('%05d', int(rand(100000))) },
		};
	}
	return \@records;
}

sub asn_records {
	my @suffix = (' Communications', ' Telecom', ' Networks LLC', ' Internet Ltd',
		' Hosting', '-AS', ' Cloud', ' Broadband');
	my %seen;
	my @records;
	while (@records < $opt{asns}) {
		my $number = 1000 + int(rand(400000));
		next if $seen{$number}++;
		push @records, {
			autonomous_system_number       => $number,
			autonomous_system_organization => name(1 + int(rand(2))) . $suffix[ int(rand(@suffix)) ],
		};
	}
	return \@records;
}

my %types = (
	continent          => 'map',
	country            => 'map',
	registered_country => 'map',
	subdivisions       => [ 'array', 'map' ],
	city               => 'map',
	location           => 'map',
	postal             => 'map',
	names              => 'map',
	code               => 'utf8_string',
	iso_code           => 'utf8_string',
	geoname_id         => 'uint32',
	accuracy_radius    => 'uint16',
	latitude           => 'double',
	longitude          => 'double',
	time_zone          => 'utf8_string',
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
	map { $_ => 'utf8_string' } @langs,
);

sub write_db {
	my ($path, $type, $record_size, $nets, $holes, $records) = @_;
	my $tree = MaxMind::DB::Writer::Tree->new(
		ip_version            => 6,
		record_size           => $record_size,
		database_type         => $type,
		languages             => ['en'],
		description           => { en => "auditflow benchmark $type ($opt{networks} networks, seed $opt{seed})" },
		map_key_type_callback => sub { $types{ $_[0] } },
		alias_ipv6_to_ipv4    => 1,
	);
	for my $net (@$nets) {
		$tree->insert_network($net, $records->[ skewed(scalar @$records) ]);
	}
	$tree->remove_network($_) for @$holes;
	my $tmp = "$path.tmp$$";
	open my $fh, '>:raw', $tmp or die "make-bench-mmdb: cannot write $tmp: $!\n";
	$tree->write_tree($fh);
	close $fh or die "make-bench-mmdb: cannot write $tmp: $!\n";
	rename $tmp, $path or die "make-bench-mmdb: cannot rename to $path: $!\n";
}

my $t0 = time;
srand($opt{seed});
my $holes = holes();
my $city_nets = networks();
write_db($city, 'GeoIP2-City', 28, $city_nets, $holes, city_records());
my $t1 = time;
srand($opt{seed} + 1);
my $asn_nets = networks();
write_db($asn, 'GeoLite2-ASN', 24, $asn_nets, $holes, asn_records());
my $t2 = time;
printf STDERR "make-bench-mmdb: %s (%d networks) in %.1f s, %s (%d networks) in %.1f s,"
    . " %d holes in both\n",
    $city, scalar @$city_nets, $t1 - $t0, $asn, scalar @$asn_nets, $t2 - $t1, scalar @$holes;
print "$city\n$asn\n";
