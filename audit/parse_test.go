package audit

import (
	"maps"
	"os"
	"slices"
	"testing"
)

func TestParseProcNetLine(t *testing.T) {
	tests := []struct {
		line string
		want string // "" when not a listener
	}{
		{"   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000   997        0 2003 1 0 100 0 0 10 0", "127.0.0.1:8000"},
		{"   1: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 0 100 0 0 10 0", "0.0.0.0:443"},
		{"   2: 0100007F:1F40 0100007F:D3A2 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0 100 0 0 10 0", ""},
		{"   0: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 105 0 2999 1 0 100 0 0 10 0", "[::1]:5432"},
		{"   0: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 9 1", "127.0.0.1:80"},
		{"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", ""},
		{"   0: zz:0050 00000000:0000 0A 0 0 0 0 0 0 0", ""},
	}
	for _, tc := range tests {
		l, ok := parseProcNetLine(tc.line)
		got := ""
		if ok {
			got = l.String()
		}
		if got != tc.want {
			t.Errorf("parseProcNetLine(%.40q): got %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	tests := map[string][]int{
		"22": {22}, "80,443": {80, 443}, "6000:6002": {6000, 6001, 6002}, "1000-1001": {1000, 1001},
		"ssh": {22}, "https": {443}, "x": nil, "5-1": nil,
	}
	for spec, want := range tests {
		if got := parsePorts(spec); !slices.Equal(got, want) {
			t.Errorf("parsePorts(%q): got %v, want %v", spec, got, want)
		}
	}
}

// TestParseNftShipped: the ruleset in deploy/firewall passes the audit.
func TestParseNftShipped(t *testing.T) {
	text, err := os.ReadFile("../deploy/firewall/edge.nft")
	if err != nil {
		t.Fatal(err)
	}
	fw := parseNft(string(text), "nftables")
	checkFirewall(t, fw, true, true, []int{22, 80, 443}, []int{22}, "")
	if got := judgeFirewall(fw); len(got) != 1 || got[0].Severity != OK {
		t.Errorf("judgeFirewall of the shipped ruleset: %+v", got)
	}
}

func TestParseNftListRuleset(t *testing.T) {
	// As "nft list ruleset" prints it, with another table on the forward hook.
	out := `table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 ct state new limit rate over 10/minute drop comment "ssh limit"
		tcp dport ssh accept
		tcp dport { http, https, 8080-8081 } counter packets 10 bytes 600 accept
		ip saddr 10.0.0.0/8 tcp dport 5432 accept
		counter packets 3 bytes 180 drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		tcp dport 9999 accept
	}
}
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}
}
`
	fw := parseNft(out, "nftables")
	checkFirewall(t, fw, true, true, []int{22, 80, 443, 8080, 8081}, []int{22}, "")

	open := parseNft("table inet f {\n chain input {\n  type filter hook input priority 0; policy accept;\n  accept\n }\n}\n", "nftables")
	checkFirewall(t, open, true, false, nil, nil, "accept")
	if got := judgeFirewall(open); len(got) != 1 || got[0].Severity != High {
		t.Errorf("judgeFirewall of an accept-all ruleset: %+v", got)
	}
	if none := parseNft("table inet f {\n}\n", "nftables"); none.active {
		t.Errorf("a ruleset without an input chain counts as active")
	}
}

func TestParseUFWStatus(t *testing.T) {
	out := `Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     LIMIT IN    Anywhere
80,443/tcp                 ALLOW IN    Anywhere
3000/udp                   ALLOW IN    Anywhere
5432                       DENY IN     Anywhere
Anywhere                   ALLOW IN    192.0.2.7
22/tcp (v6)                LIMIT IN    Anywhere (v6)
25/tcp                     ALLOW OUT   Anywhere
`
	fw := parseUFWStatus(out)
	checkFirewall(t, fw, true, true, []int{22, 80, 443}, []int{22}, "Anywhere                   ALLOW IN    192.0.2.7")
	if inactive := parseUFWStatus("Status: inactive\n"); inactive.active {
		t.Errorf("inactive ufw counts as active")
	}
}

func checkFirewall(t *testing.T, fw *firewall, active, drop bool, open, limited []int, allOpen string) {
	t.Helper()
	gotOpen := slices.Sorted(maps.Keys(fw.open))
	gotLimited := slices.Sorted(maps.Keys(fw.limited))
	if fw.active != active || fw.defaultDrop != drop || !slices.Equal(gotOpen, open) || !slices.Equal(gotLimited, limited) || fw.allOpen != allOpen {
		t.Errorf("firewall: got active %v drop %v open %v limited %v allOpen %q;\nwant active %v drop %v open %v limited %v allOpen %q",
			fw.active, fw.defaultDrop, gotOpen, gotLimited, fw.allOpen, active, drop, open, limited, allOpen)
	}
}

func TestSSHDConfig(t *testing.T) {
	root := fakeRoot(t, "hardened", nil)
	h := newHost(Options{Root: root})
	s := map[string]string{}
	h.readSSHDConfig("/etc/ssh/sshd_config", s, 0)
	want := map[string]string{"permitrootlogin": "no", "passwordauthentication": "no", "kbdinteractiveauthentication": "no", "usepam": "yes"}
	if !maps.Equal(s, want) {
		t.Errorf("settings: got %v, want %v (first value wins, Include followed, Match ends)", s, want)
	}
}

func FuzzParsers(f *testing.F) {
	f.Add("table inet x {\nchain input {\ntype filter hook input priority 0; policy drop;\ntcp dport { 1-3 } accept\n}\n}\n")
	f.Add("Status: active\n--\n22/tcp LIMIT IN Anywhere\n")
	f.Add("   0: 00000000:0016 00000000:0000 0A 0 0 0 0 0 0 1")
	f.Fuzz(func(t *testing.T, s string) {
		parseNft(s, "nftables")
		parseUFWStatus(s)
		parseProcNetLine(s)
		for _, p := range parsePorts(s) {
			if p < 0 {
				t.Fatalf("negative port from %q", s)
			}
		}
	})
}
