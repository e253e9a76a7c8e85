package audit

import (
	"regexp"
	"slices"
	"strings"
)

// nftComment strips `comment "..."` from a rule.
var nftComment = regexp.MustCompile(`comment\s+"[^"]*"`)

// nftChain is the state of the chain being read.
type nftChain struct {
	input bool // a base chain on the input hook
	hook  bool // a base chain on another hook: its rules do not matter here
}

// parseNft reads an nftables ruleset ("nft list ruleset" or a file for
// "nft -f"): input base chains, their policy, and the TCP ports that
// rules accept or rate-limit. Rules of regular chains count too (they are
// jumped to from input). Variables (define) are not expanded.
func parseNft(text, tool string) *firewall {
	fw := newFirewall(tool)
	var stack []string // block kinds: table, chain, set, ...
	var ch nftChain
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
			continue
		case line == "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		case strings.HasSuffix(line, "{") && !strings.Contains(line, "dport"):
			kind := strings.Fields(line)[0]
			stack = append(stack, kind)
			if kind == "chain" {
				ch = nftChain{}
			}
			continue
		}
		if len(stack) == 0 || stack[len(stack)-1] != "chain" {
			continue
		}
		for stmt := range strings.SplitSeq(line, ";") {
			nftStatement(fw, &ch, strings.TrimSpace(stmt))
		}
	}
	return fw
}

// nftStatement applies one statement of a chain.
func nftStatement(fw *firewall, ch *nftChain, stmt string) {
	stmt = strings.TrimSpace(nftComment.ReplaceAllString(stmt, ""))
	f := strings.Fields(stmt)
	switch {
	case len(f) == 0:
		return
	case f[0] == "type":
		ch.input = slices.Contains(f, "input") && slices.Contains(f, "hook")
		ch.hook = !ch.input && slices.Contains(f, "hook")
		if ch.input {
			fw.active = true
		}
		return
	case f[0] == "policy":
		if ch.input && len(f) > 1 && f[1] == "drop" {
			fw.defaultDrop = true
		}
		return
	case ch.hook:
		return
	}
	verdict := f[len(f)-1]
	ports := nftPorts(stmt)
	if verdict == "accept" && !strings.Contains(stmt, "saddr") {
		for _, p := range nftUDPPorts(stmt) {
			fw.openUDP[p] = true
		}
	}
	limited := strings.Contains(stmt, "limit rate") || slices.Contains(f, "meter") || strings.Contains(stmt, "ct count")
	for _, p := range ports {
		if verdict == "accept" && !strings.Contains(stmt, "saddr") {
			fw.open[p] = true
		}
		if limited {
			fw.limited[p] = true
		}
	}
	if len(ports) > 0 {
		return
	}
	bare := slices.DeleteFunc(slices.Clone(f), func(s string) bool {
		return s == "counter" || s == "packets" || s == "bytes" || isDigits(s)
	})
	switch {
	case ch.input && len(bare) == 1 && (bare[0] == "drop" || bare[0] == "reject"):
		fw.defaultDrop = true
	case len(bare) == 1 && bare[0] == "accept":
		fw.allOpen = stmt
	}
}

// nftDport finds "tcp dport 22" or "tcp dport { 80, 443 }".
var nftDport = regexp.MustCompile(`\b(?:tcp|th) dport (\{[^}]*\}|\S+)`)

// nftPorts returns the TCP destination ports a rule matches.
func nftPorts(stmt string) []int {
	m := nftDport.FindStringSubmatch(stmt)
	if m == nil {
		return nil
	}
	return parsePorts(strings.ReplaceAll(strings.Trim(m[1], "{}"), " ", ""))
}

// nftUDPDport finds "udp dport 443" or "th dport { 80, 443 }".
var nftUDPDport = regexp.MustCompile(`\b(?:udp|th) dport (\{[^}]*\}|\S+)`)

// nftUDPPorts returns the UDP destination ports a rule matches.
func nftUDPPorts(stmt string) []int {
	m := nftUDPDport.FindStringSubmatch(stmt)
	if m == nil {
		return nil
	}
	return parsePorts(strings.ReplaceAll(strings.Trim(m[1], "{}"), " ", ""))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
