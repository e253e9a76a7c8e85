package alert

import (
	"net/http"
	"os"

	"github.com/gitcourse/edge/config"
)

// FromConfig returns a target per channel configured in [alerts], in the
// order email, telegram, webhook. client sends the HTTP requests; nil
// means a default client.
func FromConfig(a config.Alerts, client *http.Client) []Target {
	var out []Target
	if e := a.Email; e != nil {
		helo, err := os.Hostname()
		if err != nil || helo == "" {
			helo = "localhost"
		}
		out = append(out, Target{Timeout: e.Timeout.Duration, Channel: &Email{
			Addr: e.SMTP, From: e.From, To: e.To, Username: e.Username, Password: e.Password.Reveal(), Helo: helo,
		}})
	}
	if t := a.Telegram; t != nil {
		out = append(out, Target{Timeout: t.Timeout.Duration, Channel: &Telegram{
			API: t.API, Token: t.Token.Reveal(), ChatID: t.ChatID, Client: client,
		}})
	}
	if w := a.Webhook; w != nil {
		out = append(out, Target{Timeout: w.Timeout.Duration, Channel: &Webhook{
			URL: w.URL.Reveal(), Topic: w.Topic, Client: client,
		}})
	}
	return out
}
