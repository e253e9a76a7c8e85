package audit

import (
	"os"
	"regexp"
	"slices"
	"strings"
)

const upgradesFix = "sudo apt-get install unattended-upgrades && sudo dpkg-reconfigure -f noninteractive -plow unattended-upgrades"

var periodicUpgrade = regexp.MustCompile(`APT::Periodic::Unattended-Upgrade\s+"([^"]*)"`)

// checkUpgrades wants the unattended-upgrades package installed and
// enabled in apt's periodic configuration (Debian/Ubuntu).
func (h *host) checkUpgrades() []Finding {
	status, ok := h.read("/var/lib/dpkg/status")
	if !ok {
		return []Finding{finding("upgrades", Info, "", "no dpkg database: not a Debian/Ubuntu system (automatic updates not checked)")}
	}
	if !dpkgInstalled(status, "unattended-upgrades") {
		return []Finding{finding("upgrades", Medium, upgradesFix, "unattended-upgrades is not installed: security updates wait for you")}
	}
	ents, _ := os.ReadDir(h.path("/etc/apt/apt.conf.d"))
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	value := ""
	for _, n := range names { // apt reads them in order; the last setting wins
		text, _ := h.read("/etc/apt/apt.conf.d/" + n)
		for _, m := range periodicUpgrade.FindAllStringSubmatch(text, -1) {
			value = m[1]
		}
	}
	if value == "" || value == "0" {
		return []Finding{finding("upgrades", Medium, upgradesFix, "unattended-upgrades is installed but not enabled (APT::Periodic::Unattended-Upgrade %q)", value)}
	}
	return []Finding{pass("upgrades", "unattended-upgrades is installed and enabled")}
}

// dpkgInstalled reports whether the dpkg status file lists pkg as installed.
func dpkgInstalled(status, pkg string) bool {
	for stanza := range strings.SplitSeq(status, "\n\n") {
		if !strings.HasPrefix(stanza, "Package: "+pkg+"\n") {
			continue
		}
		for line := range strings.Lines(stanza) {
			if strings.HasPrefix(line, "Status:") && strings.Contains(line, "install ok installed") {
				return true
			}
		}
	}
	return false
}
