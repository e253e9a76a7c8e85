package alert_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/health/alert"
)

func TestTelegram(t *testing.T) {
	const token = "123:SECRET-token"
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/bot"+token+"/sendMessage" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		got <- body
		_, _ = io.WriteString(w, `{"ok":true,"result":{}}`)
	}))
	defer srv.Close()
	tg := &alert.Telegram{API: srv.URL + "/", Token: token, ChatID: "-10042"}
	if err := tg.Send(t.Context(), testMessage()); err != nil {
		t.Fatal(err)
	}
	body := <-got
	if body["chat_id"] != "-10042" || !strings.Contains(body["text"].(string), "Last error: status 502") ||
		!strings.HasPrefix(body["text"].(string), testMessage().Title) {
		t.Errorf("body %v", body)
	}
	tg.Token = "999:WRONG-token"
	err := tg.Send(t.Context(), testMessage())
	if err == nil || !alert.IsPermanent(err) || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("wrong token: got %v, want a permanent Unauthorized error", err)
	}
	srv.Close()
	err = tg.Send(t.Context(), testMessage())
	if err == nil || strings.Contains(err.Error(), "WRONG-token") {
		t.Fatalf("server down: got %v, want an error without the token", err)
	}
}

func TestWebhookBody(t *testing.T) {
	got := make(chan alert.Payload, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		var p alert.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("decode: %v", err)
		}
		got <- p
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	wh := &alert.Webhook{URL: srv.URL + "/hook?token=s3cret", Topic: "ops"}
	m := testMessage()
	if err := wh.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	p := <-got
	if p.Text != m.Body() || p.Content != m.Body() || p.Title != m.Title || p.Message != m.Text ||
		p.Topic != "ops" || p.Status != "fail" || p.Event != "down" || p.Check != "api" || p.Host != "web1" ||
		p.LastError != "status 502" || p.Since == nil || !p.Since.Equal(m.Since) || !p.At.Equal(m.At) {
		t.Errorf("payload %+v", p)
	}
}

func TestWebhookErrors(t *testing.T) {
	code := http.StatusBadRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "nope")
	}))
	defer srv.Close()
	wh := &alert.Webhook{URL: srv.URL + "/hook?token=s3cret"}
	err := wh.Send(t.Context(), testMessage())
	if err == nil || !alert.IsPermanent(err) {
		t.Fatalf("400: got %v, want permanent", err)
	}
	code = http.StatusServiceUnavailable
	if err := wh.Send(t.Context(), testMessage()); err == nil || alert.IsPermanent(err) {
		t.Fatalf("503: got %v, want a temporary error", err)
	}
	srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := wh.Send(ctx, testMessage()); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("down: got %v, want an error without the URL", err)
	}
}
