package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// auditReport is the JSON of edge audit -json.
type auditReport struct {
	Root     string `json:"root"`
	Host     string `json:"host"`
	Findings []struct {
		Check    string `json:"check"`
		Severity string `json:"severity"`
		Title    string `json:"title"`
		Fix      string `json:"fix"`
	} `json:"findings"`
}

// TestAuditThisHost runs edge audit on the machine running the tests and
// prints what it finds. Exit 1 exactly when a finding is HIGH.
func TestAuditThisHost(t *testing.T) {
	out, errOut, code := runEdge(t, nil, "audit", "-json")
	var rep auditReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("edge audit -json: exit %d, not JSON: %v\n%s%s", code, err, out, errOut)
	}
	if rep.Root != "/" || len(rep.Findings) < 7 {
		t.Fatalf("edge audit -json: root %q, %d findings; want / and one or more per check", rep.Root, len(rep.Findings))
	}
	checks := map[string]bool{}
	high := false
	for _, f := range rep.Findings {
		checks[f.Check] = true
		switch f.Severity {
		case "HIGH":
			high = true
		case "MEDIUM", "LOW", "INFO", "ok":
		default:
			t.Errorf("finding with severity %q: %s", f.Severity, f.Title)
		}
		if (f.Severity == "HIGH" || f.Severity == "MEDIUM") && f.Fix == "" {
			t.Errorf("%s finding without a fix line: %s", f.Severity, f.Title)
		}
	}
	for _, c := range []string{"process", "files", "ports", "firewall", "sshd", "upgrades", "unit"} {
		if !checks[c] {
			t.Errorf("no finding of the %s check", c)
		}
	}
	if want := map[bool]int{true: 1, false: 0}[high]; code != want {
		t.Errorf("exit code %d with HIGH findings %v; want %d", code, high, want)
	}

	text, _, textCode := runEdge(t, nil, "audit")
	if textCode != code || !strings.Contains(text, "edge audit of / (host ") || !strings.Contains(text, " ok\n") {
		t.Errorf("edge audit (text): exit %d, output:\n%s", textCode, text)
	}
	t.Logf("edge audit on this host (exit %d):\n%s", textCode, text)
}

// TestAuditFakeRoot: -root reads a fixture tree and runs no commands.
func TestAuditFakeRoot(t *testing.T) {
	out, errOut, code := runEdge(t, nil, "audit", "-root", "../audit/testdata/weak")
	if code != 1 || !strings.Contains(errOut, "HIGH findings") {
		t.Fatalf("edge audit -root weak: exit %d, stderr %q; want 1", code, errOut)
	}
	for _, want := range []string{"HIGH    process   edge runs as root (pid 201)", "fix: ", "host web2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, code := runEdge(t, nil, "audit", "extra"); code != 2 {
		t.Errorf("edge audit extra: exit %d, want 2", code)
	}
	if out, _, code := runEdge(t, nil, "audit", "-h"); code != 0 || !strings.Contains(out, "-root") {
		t.Errorf("edge audit -h: exit %d, output %q", code, out)
	}
}
