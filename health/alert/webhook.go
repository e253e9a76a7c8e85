package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Webhook POSTs every message as JSON. The body works as is for Slack
// ("text"), Discord ("content"), ntfy's JSON publishing ("topic",
// "title", "message") and generic receivers:
//
//	{"text": "TITLE\n\nTEXT", "content": "TITLE\n\nTEXT", "message": "TEXT",
//	 "title": "TITLE", "topic": "...", "status": "fail", "event": "down",
//	 "check": "api", "host": "web1", "since": "2026-11-25T03:00:00Z",
//	 "last_error": "...", "at": "2026-11-25T03:01:30Z"}
type Webhook struct {
	// URL receives the POST; it never appears in errors.
	URL string
	// Topic, when set, is sent as "topic" (ntfy).
	Topic string
	// Client sends the requests; nil means a default client.
	Client *http.Client
}

var _ Channel = (*Webhook)(nil)

// Name returns "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Payload is the JSON body a webhook receives.
type Payload struct {
	// Text is the title and the text (Slack).
	Text string `json:"text"`
	// Content is Text cut to 2000 characters (Discord).
	Content string `json:"content"`
	// Message is the text without the title (ntfy).
	Message string `json:"message"`
	// Title is the one-line summary (ntfy, email subject).
	Title string `json:"title"`
	// Topic is the ntfy topic, when configured.
	Topic string `json:"topic,omitempty"`
	// Status is "ok" or "fail".
	Status string `json:"status"`
	// Event is "down", "repeat", "resolved", "warn" or "manual".
	Event string `json:"event"`
	// Check is the check's name; absent for "edge notify".
	Check string `json:"check,omitempty"`
	// Host is the machine that sent the alert.
	Host string `json:"host"`
	// Since is when the check entered its state; absent when unknown.
	Since *time.Time `json:"since,omitempty"`
	// LastError is the check's last error.
	LastError string `json:"last_error,omitempty"`
	// At is when the alert was raised.
	At time.Time `json:"at"`
}

// NewPayload builds the webhook body of m.
func NewPayload(m Message, topic string) Payload {
	p := Payload{Text: m.Body(), Content: truncate(m.Body(), 2000), Message: m.Text, Title: m.Title,
		Topic: topic, Status: m.Status(), Event: m.Event, Check: m.Check, Host: m.Host,
		LastError: m.LastError, At: m.At.UTC()}
	if p.Message == "" {
		p.Message = m.Title
	}
	if !m.Since.IsZero() {
		s := m.Since.UTC()
		p.Since = &s
	}
	return p
}

// Send posts m; any 2xx answer is success.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(NewPayload(m, w.Topic))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	resp, raw, err := postJSON(ctx, w.Client, w.URL, body)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return statusErr(resp.StatusCode, fmt.Errorf("webhook: answer %s: %.200s", resp.Status, oneLine(string(raw))))
}

// postJSON posts body to endpoint and reads up to 64 KiB of the answer.
// Errors never contain the endpoint, which may hold a secret.
func postJSON(ctx context.Context, c *http.Client, endpoint string, body []byte) (*http.Response, []byte, error) {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, nil, Permanent(errors.New("build request: invalid URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "edge-alert")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return nil, nil, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp, raw, nil
}

// statusErr marks err permanent for a 4xx answer other than 408 and 429.
func statusErr(code int, err error) error {
	if code/100 == 4 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}
