package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// telegramMaxText is the Bot API's limit on a message's text.
const telegramMaxText = 4096

// Telegram sends messages with the Bot API's sendMessage.
type Telegram struct {
	// API is the Bot API base URL, such as "https://api.telegram.org".
	API string
	// Token is the bot token; it never appears in errors.
	Token string
	// ChatID is the chat the bot writes to.
	ChatID string
	// Client sends the requests; nil means a default client.
	Client *http.Client
}

var _ Channel = (*Telegram)(nil)

// Name returns "telegram".
func (t *Telegram) Name() string { return "telegram" }

// Send posts m to the chat.
func (t *Telegram) Send(ctx context.Context, m Message) error {
	text := m.Body()
	if len(text) > telegramMaxText {
		text = truncate(text, telegramMaxText-3) + "..."
	}
	body, err := json.Marshal(map[string]any{
		"chat_id": t.ChatID, "text": text, "disable_web_page_preview": true,
	})
	if err != nil {
		return Permanent(fmt.Errorf("telegram: encode: %w", err))
	}
	endpoint := strings.TrimRight(t.API, "/") + "/bot" + t.Token + "/sendMessage"
	resp, raw, err := postJSON(ctx, t.Client, endpoint, body)
	if err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	var reply struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	_ = json.Unmarshal(raw, &reply)
	if resp.StatusCode/100 == 2 && reply.OK {
		return nil
	}
	err = fmt.Errorf("telegram: sendMessage: %s: %s", resp.Status, oneLine(reply.Description))
	return statusErr(resp.StatusCode, err)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
